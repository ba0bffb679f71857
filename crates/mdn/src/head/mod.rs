//! The MDN head and its loss: the hot path of training.
//!
//! [`MdnHead`] maps backbone features to the parameters of a Gaussian mixture
//! ([`MixtureOutput`]); [`MixtureOutput::log_likelihood`] scores targets under it with
//! logsumexp. This is the Burn engine's version; on the CPU the trainer and models use the
//! fused, hand-written version of the same head and loss in `mdn_cpu::head` (forward and
//! backward in one pass), and `kernels/agreement.rs` checks that the two give the same
//! losses and gradients.

mod output;

pub(crate) use output::lower_index;
pub use output::{MixtureOutput, Scale};

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softplus};
use mdn_mixture::CovarianceKind;

use crate::error::{MdnError, Result};
use crate::init::{self, ParamRng};

/// Configuration of an [`MdnHead`]: a linear layer from `input` features to the parameters of
/// an `components`-component Gaussian mixture over a `target_dim`-dimensional target.
///
/// # Parameterisation
/// - mixing coefficients α = softmax(z_α) (the head returns log α via log-softmax);
/// - means μ = z_μ (unconstrained);
/// - standard deviations σ = `min_sigma` + softplus(z_σ): positive, floored so that a
///   component cannot collapse onto a single training point, and growing only linearly for
///   large z_σ (no overflow, unlike exp);
/// - full covariance: a lower-triangular Cholesky factor L with diagonal `min_sigma` +
///   softplus(z) and unconstrained entries below it, Σ = L Lᵀ.
///
/// `min_sigma` is in the units the head sees, which in a trained model are standardised target
/// units (multiples of the training target's standard deviation).
#[derive(Config, Debug, PartialEq)]
pub struct MdnHeadConfig {
    /// Number of input features (the backbone's output width).
    pub input: usize,
    /// Dimension c of the target.
    pub target_dim: usize,
    /// Number of mixture components m.
    pub components: usize,
    /// Covariance of each component.
    #[config(default = "CovarianceKind::Isotropic")]
    pub covariance: CovarianceKind,
    /// Floor added to every standard deviation (and Cholesky diagonal entry).
    #[config(default = 1e-3)]
    pub min_sigma: f64,
}

impl MdnHeadConfig {
    /// Checks every hyper-parameter, saying which one to change.
    pub fn check(&self) -> Result<()> {
        if self.input == 0 {
            return Err(MdnError::invalid(
                "input",
                0,
                "the head needs at least one feature",
            ));
        }
        if self.target_dim == 0 {
            return Err(MdnError::invalid(
                "targets",
                0,
                "a mixture needs at least one target dimension",
            ));
        }
        if self.components == 0 {
            return Err(MdnError::invalid(
                "components",
                0,
                "a mixture needs at least one component (Bishop's toy problem uses 3 or 5)",
            ));
        }
        if !(self.min_sigma.is_finite() && self.min_sigma > 0.0) {
            return Err(MdnError::invalid(
                "min_sigma",
                self.min_sigma,
                "the standard-deviation floor must be a positive finite number (e.g. 1e-3)",
            ));
        }
        Ok(())
    }

    /// Number of scale parameters per component.
    pub fn scale_width(&self) -> usize {
        let c = self.target_dim;
        match self.covariance {
            CovarianceKind::Isotropic => 1,
            CovarianceKind::Diagonal => c,
            CovarianceKind::Full => c * (c + 1) / 2,
        }
    }

    /// Number of raw outputs of the linear layer: m logits, m·c means and the scales.
    pub fn output_width(&self) -> usize {
        self.components * (1 + self.target_dim + self.scale_width())
    }

    /// [`MdnHeadConfig::output_width`], `None` where it overflows.
    pub(crate) fn output_width_checked(&self) -> Option<usize> {
        let c = self.target_dim;
        let scales = match self.covariance {
            CovarianceKind::Isotropic => 1,
            CovarianceKind::Diagonal => c,
            CovarianceKind::Full => c.checked_mul(c.checked_add(1)?)? / 2,
        };
        self.components
            .checked_mul(c.checked_add(1)?.checked_add(scales)?)
    }

    /// Builds the head with parameters drawn from `rng`.
    pub fn init(&self, device: &Device, rng: &mut ParamRng) -> Result<MdnHead> {
        self.check()?;
        Ok(MdnHead {
            linear: init::linear(self.input, self.output_width(), 1.0, rng, device),
            target_dim: self.target_dim,
            components: self.components,
            covariance: self.covariance,
            min_sigma: self.min_sigma,
        })
    }
}

/// A linear layer whose outputs parameterise a Gaussian mixture. See [`MdnHeadConfig`].
#[derive(Module, Debug)]
pub struct MdnHead {
    linear: Linear,
    #[module(skip)]
    target_dim: usize,
    #[module(skip)]
    components: usize,
    #[module(skip)]
    covariance: CovarianceKind,
    #[module(skip)]
    min_sigma: f64,
}

impl MdnHead {
    /// Computes the mixture parameters for each example.
    ///
    /// # Shapes
    /// - `features`: `[batch, input]`
    /// - output: see [`MixtureOutput`] — `log_alpha` `[batch, m]`, `means` `[batch, m, c]`,
    ///   and the scales of the configured covariance kind.
    pub fn forward(&self, features: Tensor<2>) -> MixtureOutput {
        let raw = self.linear.forward(features);
        let [batch, _] = raw.dims();
        let (m, c) = (self.components, self.target_dim);

        let logits = raw.clone().slice([0..batch, 0..m]);
        let means = raw
            .clone()
            .slice([0..batch, m..m + m * c])
            .reshape([batch, m, c]);
        let scale_start = m + m * c;
        let positive = |z: Tensor<2>| softplus(z, 1.0).add_scalar(self.min_sigma);

        let scale = match self.covariance {
            CovarianceKind::Isotropic => Scale::Isotropic {
                sigma: positive(raw.slice([0..batch, scale_start..scale_start + m])),
            },
            CovarianceKind::Diagonal => Scale::Diagonal {
                sigma: positive(raw.slice([0..batch, scale_start..scale_start + m * c]))
                    .reshape([batch, m, c]),
            },
            CovarianceKind::Full => {
                let lower_count = c * (c - 1) / 2;
                let diag_end = scale_start + m * c;
                let diagonal = positive(raw.clone().slice([0..batch, scale_start..diag_end]))
                    .reshape([batch, m, c]);
                let lower = raw
                    .slice([0..batch, diag_end..diag_end + m * lower_count])
                    .reshape([batch, m, lower_count]);
                Scale::Cholesky { diagonal, lower }
            }
        };

        MixtureOutput {
            log_alpha: log_softmax(logits, 1),
            means,
            scale,
        }
    }

    /// Number of mixture components.
    pub fn components(&self) -> usize {
        self.components
    }

    /// Dimension of the target.
    pub fn target_dim(&self) -> usize {
        self.target_dim
    }

    /// Covariance kind of the components.
    pub fn covariance(&self) -> CovarianceKind {
        self.covariance
    }
}
