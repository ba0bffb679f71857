//! A backbone followed by an output layer: the MDN head or a linear least-squares layer.

use burn::nn::Linear;
use burn::prelude::*;
use mdn_mixture::CovarianceKind;

use crate::backbone::{Backbone, BackboneConfig};
use crate::error::{MdnError, Result};
use crate::head::{MdnHead, MdnHeadConfig, MixtureOutput, Scale};
use crate::init::{self, param_rng};

/// The most mixture components a network may have.
pub const MAX_COMPONENTS: usize = 1000;
/// The most units (or channels) a layer may have.
pub const MAX_WIDTH: usize = 65_536;
/// The most trainable parameters a network may have (2²⁸, 1 GiB of f32 weights; training
/// needs about four times that).
pub const MAX_PARAMETERS: usize = 1 << 28;

/// Configuration of the least-squares output layer: a linear map to the target, trained by
/// mean squared error (the comparison network of Bishop's experiments).
#[derive(Config, Debug, PartialEq)]
pub struct LeastSquaresConfig {
    /// Number of input features (the backbone's output width).
    pub input: usize,
    /// Dimension of the target.
    pub target_dim: usize,
}

/// Which output layer sits on the backbone.
#[derive(Config, Debug, PartialEq)]
pub enum HeadConfig {
    /// A mixture density head, trained by negative log-likelihood.
    Mixture(MdnHeadConfig),
    /// A linear layer, trained by mean squared error.
    LeastSquares(LeastSquaresConfig),
}

/// Architecture of a whole network.
#[derive(Config, Debug, PartialEq)]
pub struct NetworkConfig {
    /// The feature extractor.
    pub backbone: BackboneConfig,
    /// The output layer; its `input` equals the backbone's output width.
    pub head: HeadConfig,
}

impl NetworkConfig {
    /// An MDN with `components` isotropic components (σ floor 1e-3) on `backbone`.
    pub fn mdn(backbone: BackboneConfig, target_dim: usize, components: usize) -> Self {
        let head = MdnHeadConfig::new(backbone.output_width(), target_dim, components);
        Self {
            backbone,
            head: HeadConfig::Mixture(head),
        }
    }

    /// The least-squares network with the same backbone.
    pub fn least_squares(backbone: BackboneConfig, target_dim: usize) -> Self {
        let head = LeastSquaresConfig::new(backbone.output_width(), target_dim);
        Self {
            backbone,
            head: HeadConfig::LeastSquares(head),
        }
    }

    /// Sets the covariance kind of an MDN's components (no effect on least squares).
    pub fn with_covariance(mut self, covariance: CovarianceKind) -> Self {
        if let HeadConfig::Mixture(head) = &mut self.head {
            head.covariance = covariance;
        }
        self
    }

    /// Sets an MDN's standard-deviation floor in standardised target units (no effect on
    /// least squares).
    pub fn with_min_sigma(mut self, min_sigma: f64) -> Self {
        if let HeadConfig::Mixture(head) = &mut self.head {
            head.min_sigma = min_sigma;
        }
        self
    }

    /// Checks every part of the architecture, saying which value to change: sizes must be
    /// positive and within [`MAX_COMPONENTS`], [`MAX_WIDTH`] and [`MAX_PARAMETERS`], so that
    /// no size reaches an allocation unchecked.
    pub fn check(&self) -> Result<()> {
        self.backbone.check()?;
        self.check_caps()?;
        let (input, target_dim) = match &self.head {
            HeadConfig::Mixture(head) => {
                head.check()?;
                (head.input, head.target_dim)
            }
            HeadConfig::LeastSquares(head) => (head.input, head.target_dim),
        };
        if target_dim == 0 {
            return Err(MdnError::invalid(
                "targets",
                0,
                "a network needs at least one target",
            ));
        }
        if input != self.backbone.output_width() {
            return Err(MdnError::invalid(
                "head.input",
                input,
                format!(
                    "the backbone produces {} features; the head must take that many",
                    self.backbone.output_width()
                ),
            ));
        }
        Ok(())
    }

    fn check_caps(&self) -> Result<()> {
        if let HeadConfig::Mixture(head) = &self.head
            && head.components > MAX_COMPONENTS
        {
            return Err(MdnError::invalid(
                "components",
                head.components,
                format!("at most {MAX_COMPONENTS} components are supported"),
            ));
        }
        let widths: Vec<usize> = match &self.backbone {
            BackboneConfig::Mlp(mlp) => mlp.hidden.clone(),
            BackboneConfig::Cnn(cnn) => cnn.channels.iter().chain([&cnn.hidden]).copied().collect(),
        };
        if let Some(&wide) = widths.iter().find(|&&w| w > MAX_WIDTH) {
            return Err(MdnError::invalid(
                "hidden",
                wide,
                format!("a layer can have at most {MAX_WIDTH} units"),
            ));
        }
        match self.parameter_count() {
            Some(count) if count <= MAX_PARAMETERS => Ok(()),
            count => Err(MdnError::invalid(
                "hidden",
                format!("{widths:?}"),
                format!(
                    "the network would have {} parameters; at most {MAX_PARAMETERS} are \
                     supported",
                    count.map_or("more than 2^64".to_string(), |c| c.to_string())
                ),
            )),
        }
    }

    /// Number of trainable parameters (weights and biases), `None` if it overflows `usize`.
    pub fn parameter_count(&self) -> Option<usize> {
        let dense =
            |inputs: usize, outputs: usize| inputs.checked_mul(outputs)?.checked_add(outputs);
        let mut total: usize = 0;
        let features = match &self.backbone {
            BackboneConfig::Mlp(mlp) => {
                let mut width = mlp.input;
                for &next in &mlp.hidden {
                    total = total.checked_add(dense(width, next)?)?;
                    width = next;
                }
                width
            }
            BackboneConfig::Cnn(cnn) => {
                let mut channels_in = 1usize;
                for &channels_out in &cnn.channels {
                    let kernel = cnn.kernel.checked_mul(cnn.kernel)?;
                    total = total
                        .checked_add(dense(channels_in.checked_mul(kernel)?, channels_out)?)?;
                    channels_in = channels_out;
                }
                let halvings = u32::try_from(cnn.channels.len()).ok()?;
                let flat = channels_in
                    .checked_mul(cnn.height.checked_shr(halvings)?)?
                    .checked_mul(cnn.width.checked_shr(halvings)?)?;
                total = total.checked_add(dense(flat, cnn.hidden)?)?;
                cnn.hidden
            }
        };
        let outputs = match &self.head {
            HeadConfig::Mixture(head) => head.output_width_checked()?,
            HeadConfig::LeastSquares(head) => head.target_dim,
        };
        total.checked_add(dense(features, outputs)?)
    }

    /// Number of flat input features per example.
    pub fn input(&self) -> usize {
        self.backbone.input()
    }

    /// Dimension of the target.
    pub fn target_dim(&self) -> usize {
        match &self.head {
            HeadConfig::Mixture(head) => head.target_dim,
            HeadConfig::LeastSquares(head) => head.target_dim,
        }
    }

    /// Whether the output is a mixture density head.
    pub fn is_mixture(&self) -> bool {
        matches!(self.head, HeadConfig::Mixture(_))
    }

    /// Number of mixture components (1 for least squares, whose predictive density is one
    /// Gaussian).
    pub fn components(&self) -> usize {
        match &self.head {
            HeadConfig::Mixture(head) => head.components,
            HeadConfig::LeastSquares(_) => 1,
        }
    }

    /// Builds the network on `device`, every parameter drawn from a generator seeded with
    /// `seed`: the same seed gives the same network.
    pub fn init(&self, device: &Device, seed: u64) -> Result<Network> {
        self.check()?;
        let mut rng = param_rng(seed);
        let backbone = self.backbone.init(device, &mut rng)?;
        let output = match &self.head {
            HeadConfig::Mixture(head) => Output::Mixture(head.init(device, &mut rng)?),
            HeadConfig::LeastSquares(head) => Output::LeastSquares(init::linear(
                head.input,
                head.target_dim,
                1.0,
                &mut rng,
                device,
            )),
        };
        Ok(Network { backbone, output })
    }
}

/// The output layer of a [`Network`].
#[derive(Module, Debug)]
pub enum Output {
    /// See [`MdnHead`].
    Mixture(MdnHead),
    /// A linear layer predicting the conditional mean.
    LeastSquares(Linear),
}

/// What a network computes for a batch.
#[derive(Debug, Clone)]
// Burn's tensor handle is large; one value per forward pass, so boxing gains nothing.
#[allow(clippy::large_enum_variant)]
pub enum Prediction {
    /// The mixture p(t|x) of an MDN.
    Mixture(MixtureOutput),
    /// The point prediction of a least-squares network, `[batch, c]`.
    Point(Tensor<2>),
}

impl Prediction {
    /// The predictive density as a mixture: an MDN's own, or for a point prediction one
    /// Gaussian per example with per-dimension standard deviations `residual_std` (fitted to
    /// the training residuals).
    pub fn into_mixture(self, residual_std: &[f64]) -> MixtureOutput {
        match self {
            Prediction::Mixture(mixture) => mixture,
            Prediction::Point(mean) => {
                let [batch, c] = mean.dims();
                let device = mean.device();
                let sigma: Vec<f32> = residual_std.iter().map(|&s| s as f32).collect();
                let sigma = Tensor::<1>::from_data(TensorData::new(sigma, [c]), &device)
                    .reshape([1, 1, c])
                    .expand([batch, 1, c]);
                MixtureOutput {
                    log_alpha: Tensor::zeros([batch, 1], &device),
                    means: mean.reshape([batch, 1, c]),
                    scale: Scale::Diagonal { sigma },
                }
            }
        }
    }
}

/// A backbone and an output layer. Build one with [`NetworkConfig::init`].
#[derive(Module, Debug)]
pub struct Network {
    backbone: Backbone,
    output: Output,
}

impl Network {
    /// Runs the network.
    ///
    /// # Shapes
    /// - `input`: `[batch, input]` (standardised features; images flattened row-major)
    /// - output: a [`MixtureOutput`] over `c` target dimensions, or a `[batch, c]` point
    ///   prediction
    pub fn forward(&self, input: Tensor<2>) -> Prediction {
        let features = self.backbone.forward(input);
        match &self.output {
            Output::Mixture(head) => Prediction::Mixture(head.forward(features)),
            Output::LeastSquares(linear) => Prediction::Point(linear.forward(features)),
        }
    }
}
