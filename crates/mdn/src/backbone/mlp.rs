//! The multi-layer perceptron backbone.

use burn::nn::Linear;
use burn::prelude::*;

use crate::activation::Activation;
use crate::error::{MdnError, Result};
use crate::init::{self, ParamRng};

/// Configuration of an [`Mlp`]: `input → hidden[0] → … → hidden[k−1]`, each hidden layer
/// followed by `activation`.
#[derive(Config, Debug, PartialEq)]
pub struct MlpConfig {
    /// Number of input features.
    pub input: usize,
    /// Widths of the hidden layers, first to last. Empty means the features are the inputs
    /// themselves (a linear MDN).
    pub hidden: Vec<usize>,
    /// Non-linearity after each hidden layer.
    #[config(default = "Activation::Tanh")]
    pub activation: Activation,
}

impl MlpConfig {
    /// Checks the configuration, saying which value to change.
    pub fn check(&self) -> Result<()> {
        if self.input == 0 {
            return Err(MdnError::invalid(
                "inputs",
                0,
                "a network needs at least one input feature",
            ));
        }
        if let Some(position) = self.hidden.iter().position(|&w| w == 0) {
            return Err(MdnError::invalid(
                "hidden",
                format!("{:?}", self.hidden),
                format!(
                    "hidden layer {} has width 0; every layer needs at least one unit",
                    position + 1
                ),
            ));
        }
        Ok(())
    }

    /// Width of the features the backbone hands to the output layer.
    pub fn output_width(&self) -> usize {
        self.hidden.last().copied().unwrap_or(self.input)
    }

    /// Builds the MLP with parameters drawn from `rng`.
    pub fn init(&self, device: &Device, rng: &mut ParamRng) -> Result<Mlp> {
        self.check()?;
        let mut layers = Vec::with_capacity(self.hidden.len());
        let mut width = self.input;
        for &next in &self.hidden {
            layers.push(init::linear(width, next, 1.0, rng, device));
            width = next;
        }
        Ok(Mlp {
            layers,
            activation: self.activation,
        })
    }
}

/// A stack of fully connected layers, each followed by the activation.
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    #[module(skip)]
    activation: Activation,
}

impl Mlp {
    /// Computes the features.
    ///
    /// # Shapes
    /// - `input`: `[batch, input]`
    /// - output: `[batch, output_width]` (the last hidden width, or `input` without hidden
    ///   layers)
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        self.layers
            .iter()
            .fold(input, |x, layer| self.activation.apply(layer.forward(x)))
    }
}
