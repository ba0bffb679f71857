//! A small convolutional backbone for single-channel images such as MNIST.

use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::prelude::*;

use crate::activation::Activation;
use crate::error::{MdnError, Result};
use crate::init::{self, ParamRng};

/// Configuration of a [`Cnn`]: for each entry of `channels` a block
/// `conv(kernel × kernel, same padding) → activation → 2 × 2 max-pool`, then a fully connected
/// layer of width `hidden` with the activation.
///
/// The input arrives flat (row-major `height × width` pixels per example), as every model
/// input in this crate does, and is reshaped to `[batch, 1, height, width]`.
#[derive(Config, Debug, PartialEq)]
pub struct CnnConfig {
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Output channels of each convolution block.
    #[config(default = "vec![16, 32]")]
    pub channels: Vec<usize>,
    /// Side of the square convolution kernels (odd, so that "same" padding is symmetric).
    #[config(default = 5)]
    pub kernel: usize,
    /// Width of the fully connected layer after the convolutions.
    #[config(default = 128)]
    pub hidden: usize,
    /// Non-linearity after each convolution and the fully connected layer.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
}

impl CnnConfig {
    /// Number of flat input features (`height × width`).
    pub fn input(&self) -> usize {
        self.height * self.width
    }

    /// Spatial size after all pooling steps.
    fn pooled_size(&self) -> (usize, usize) {
        let halvings = self.channels.len() as u32;
        (self.height >> halvings, self.width >> halvings)
    }

    /// Checks the configuration, saying which value to change.
    pub fn check(&self) -> Result<()> {
        if self.channels.is_empty() {
            return Err(MdnError::invalid(
                "channels",
                "[]",
                "a CNN needs at least one convolution block",
            ));
        }
        if self.channels.contains(&0) {
            return Err(MdnError::invalid(
                "channels",
                format!("{:?}", self.channels),
                "every convolution needs at least one output channel",
            ));
        }
        if self.kernel.is_multiple_of(2) {
            return Err(MdnError::invalid(
                "kernel",
                self.kernel,
                "the kernel side must be odd (3, 5, 7, ...) so that padding is symmetric",
            ));
        }
        if self.hidden == 0 {
            return Err(MdnError::invalid(
                "hidden",
                0,
                "the dense layer needs at least one unit",
            ));
        }
        let (h, w) = self.pooled_size();
        if h == 0 || w == 0 {
            return Err(MdnError::invalid(
                "channels",
                format!("{:?}", self.channels),
                format!(
                    "{} pooling steps shrink a {}x{} image to nothing; use fewer blocks or larger images",
                    self.channels.len(),
                    self.height,
                    self.width
                ),
            ));
        }
        Ok(())
    }

    /// Width of the features the backbone hands to the output layer.
    pub fn output_width(&self) -> usize {
        self.hidden
    }

    /// Builds the CNN with parameters drawn from `rng`.
    pub fn init(&self, device: &Device, rng: &mut ParamRng) -> Result<Cnn> {
        self.check()?;
        let mut convs = Vec::with_capacity(self.channels.len());
        let mut channels_in = 1;
        for &channels_out in &self.channels {
            convs.push(init::conv2d(
                channels_in,
                channels_out,
                self.kernel,
                rng,
                device,
            ));
            channels_in = channels_out;
        }
        let (h, w) = self.pooled_size();
        let flat = channels_in * h * w;
        Ok(Cnn {
            convs,
            pool: MaxPool2dConfig::new([2, 2]).init(),
            dense: init::linear(flat, self.hidden, 1.0, rng, device),
            height: self.height,
            width: self.width,
            activation: self.activation,
        })
    }
}

/// Convolution blocks followed by one fully connected layer.
#[derive(Module, Debug)]
pub struct Cnn {
    convs: Vec<Conv2d>,
    pool: MaxPool2d,
    dense: Linear,
    #[module(skip)]
    height: usize,
    #[module(skip)]
    width: usize,
    #[module(skip)]
    activation: Activation,
}

impl Cnn {
    /// Computes the features.
    ///
    /// # Shapes
    /// - `input`: `[batch, height × width]` (row-major pixels)
    /// - output: `[batch, hidden]`
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        let [batch, _] = input.dims();
        let mut x: Tensor<4> = input.reshape([batch, 1, self.height, self.width]);
        for conv in &self.convs {
            x = self.pool.forward(self.activation.apply(conv.forward(x)));
        }
        let flat: Tensor<2> = x.flatten(1, 3);
        self.activation.apply(self.dense.forward(flat))
    }
}
