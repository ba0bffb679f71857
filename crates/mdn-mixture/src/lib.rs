//! Gaussian mixture densities over c-dimensional targets, in f64, with no ML framework.
//!
//! This is the mathematics behind a Mixture Density Network's predictions: once a network has
//! produced mixing coefficients, means and scales for an input x, a [`GaussianMixture`]
//! answers every question about p(t|x) — its log density (via logsumexp), the conditional mean
//! and covariance, the most probable branch ([`GaussianMixture::best_mean`]), the true modes,
//! samples at a temperature, and marginal CDFs and quantiles. For many targets at once (a
//! density grid, a data set), [`GaussianMixture::prob_batch`] and
//! [`GaussianMixture::log_prob_batch`] evaluate a whole row-major array in vectorised blocks,
//! several times faster than one call per target.
//!
//! ```
//! use mdn_mixture::{Covariance, GaussianMixture, Temperature};
//! use rand::SeedableRng;
//!
//! let mixture = GaussianMixture::from_log_weights(
//!     2,
//!     vec![0.0, 1.0],                         // unnormalised: α = softmax
//!     vec![0.0, 0.0, 3.0, 1.0],               // μ_0 = (0, 0), μ_1 = (3, 1)
//!     Covariance::Diagonal(vec![1.0, 0.5, 0.2, 0.2]),
//! )?;
//! let log_density = mixture.log_prob(&[3.0, 1.0]);
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
//! let draws = mixture.sample_n(100, &mut rng, Temperature::ONE);
//! let median_t0 = mixture.marginal_quantile(0, 0.5)?;
//! # assert!(log_density.is_finite() && draws.len() == 100 && median_t0 > 0.0);
//! # Ok::<(), mdn_mixture::MixtureError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batch;
mod covariance;
mod crps;
mod error;
mod marginal;
mod mixture;
mod modes;
mod sampling;
mod tilt;
mod vexp;

pub use covariance::{Covariance, CovarianceKind};
pub use error::MixtureError;
pub use mixture::{GaussianMixture, WEIGHT_SUM_TOLERANCE};
pub use modes::{Mode, ModeOptions};
pub use sampling::Temperature;

/// log Σ_i exp(x_i), computed as max + log Σ_i exp(x_i − max) so that it neither overflows
/// nor underflows. Returns −∞ for an empty slice or when every x_i is −∞.
pub fn logsumexp(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY || max.is_nan() {
        return max;
    }
    if max == f64::INFINITY {
        return max;
    }
    max + values.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}
