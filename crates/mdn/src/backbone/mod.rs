//! Feature extractors that feed the output layer: an MLP for tabular inputs and a small CNN
//! for images.

mod cnn;
mod mlp;

pub use cnn::{Cnn, CnnConfig};
pub use mlp::{Mlp, MlpConfig};

use burn::prelude::*;

use crate::error::Result;
use crate::init::ParamRng;

/// Which backbone a network uses.
#[derive(Config, Debug, PartialEq)]
pub enum BackboneConfig {
    /// A multi-layer perceptron over a feature vector.
    Mlp(MlpConfig),
    /// A convolutional network over a single-channel image.
    Cnn(CnnConfig),
}

impl BackboneConfig {
    /// Checks the configuration, saying which value to change.
    pub fn check(&self) -> Result<()> {
        match self {
            BackboneConfig::Mlp(c) => c.check(),
            BackboneConfig::Cnn(c) => c.check(),
        }
    }

    /// Number of flat input features per example.
    pub fn input(&self) -> usize {
        match self {
            BackboneConfig::Mlp(c) => c.input,
            BackboneConfig::Cnn(c) => c.input(),
        }
    }

    /// Width of the features handed to the output layer.
    pub fn output_width(&self) -> usize {
        match self {
            BackboneConfig::Mlp(c) => c.output_width(),
            BackboneConfig::Cnn(c) => c.output_width(),
        }
    }

    /// Builds the backbone with parameters drawn from `rng`.
    pub fn init(&self, device: &Device, rng: &mut ParamRng) -> Result<Backbone> {
        Ok(match self {
            BackboneConfig::Mlp(c) => Backbone::Mlp(c.init(device, rng)?),
            BackboneConfig::Cnn(c) => Backbone::Cnn(c.init(device, rng)?),
        })
    }
}

/// A feature extractor.
#[derive(Module, Debug)]
// One backbone per model; boxing would gain nothing.
#[allow(clippy::large_enum_variant)]
pub enum Backbone {
    /// See [`Mlp`].
    Mlp(Mlp),
    /// See [`Cnn`].
    Cnn(Cnn),
}

impl Backbone {
    /// Computes the features.
    ///
    /// # Shapes
    /// - `input`: `[batch, input]` (images flattened row-major)
    /// - output: `[batch, output_width]`
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        match self {
            Backbone::Mlp(m) => m.forward(input),
            Backbone::Cnn(m) => m.forward(input),
        }
    }
}
