//! Mixture Density Networks (Bishop, 1994) on [Burn](https://burn.dev).
//!
//! An MDN is a network whose outputs parameterise a Gaussian mixture over the target `t`
//! given the input `x`:
//!
//! ```text
//! p(t|x) = Σ_i α_i(x) N(t; μ_i(x), Σ_i(x)),   α = softmax(z_α),   σ = σ_min + softplus(z_σ)
//! ```
//!
//! trained by minimising −mean log p(t|x), computed with logsumexp. Unlike least squares,
//! which learns only the conditional mean, it learns the whole conditional density, so
//! one-to-many (inverse) problems get every branch.
//!
//! The pieces:
//! - [`MdnHeadConfig`] / [`MdnHead`]: the head and its loss ([`MixtureOutput`]), the hot path;
//! - [`BackboneConfig`]: an [`Mlp`] or a small [`Cnn`];
//! - [`NetworkConfig`] / [`Network`]: backbone + MDN head, or the least-squares comparison
//!   network with the same backbone;
//! - [`Trainer`] / [`TrainConfig`]: Adam, validation split, early stopping, checkpoints;
//! - [`Model`]: a trained network with its normalisation, saved to and loaded from one file,
//!   whose predictions are [`mdn_mixture::GaussianMixture`]s in the data's units;
//! - [`Engine`]: who computes it. On the CPU the trainer and the model hand the arithmetic to
//!   the hand-written kernels of [`mdn_cpu`] (fused head and loss, GEMM, threads), which are
//!   several times faster than Burn's tensor operations there and agree with them to f32
//!   rounding; on other devices (e.g. wgpu) Burn does it all.
//!
//! # Examples
//! ```no_run
//! use mdn::{BackboneConfig, Dataset, MlpConfig, NetworkConfig, TrainConfig, Trainer};
//! # fn main() -> Result<(), mdn::MdnError> {
//! // t|x of Bishop's toy inverse problem: three branches for x near 0.5.
//! let (x, t): (Vec<f64>, Vec<f64>) = (0..1000)
//!     .map(|i| {
//!         let t = i as f64 / 1000.0;
//!         (t + 0.3 * (2.0 * std::f64::consts::PI * t).sin(), t)
//!     })
//!     .unzip();
//! let data = Dataset::new(x, 1, t, 1)?;
//! let backbone = BackboneConfig::Mlp(MlpConfig::new(1, vec![32, 32]));
//! let trained = Trainer::new(TrainConfig::default())
//!     .fit(&NetworkConfig::mdn(backbone, 1, 5), &data)?;
//! let mixture = trained.model.predict_one(&[0.5])?;
//! for mode in mixture.modes(&Default::default()) {
//!     println!("mode at t = {:.3}, density {:.3}", mode.location[0], mode.density());
//! }
//! trained.model.save("toy.mdn")?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod activation;
pub mod atomic;
pub mod backbone;
mod container;
mod convert;
mod dataset;
mod engine;
mod error;
pub mod head;
mod init;
mod kernels;
mod model;
mod network;
mod normalize;
mod scores;
pub mod trainer;

pub use activation::Activation;
pub use atomic::{AtomicFile, write_atomically};
pub use backbone::{BackboneConfig, Cnn, CnnConfig, Mlp, MlpConfig};
pub use container::FORMAT_VERSION;
pub use dataset::Dataset;
pub use engine::Engine;
pub use error::{MdnError, ModelFileError, Result};
pub use head::{MdnHead, MdnHeadConfig, MixtureOutput, Scale};
pub use init::{ParamRng, param_rng};
pub use mdn_cpu;
pub use mdn_mixture;
pub use mdn_mixture::{CovarianceKind, GaussianMixture};
pub use model::{Model, ModelMeta, PREDICT_CHUNK_ROWS};
pub use network::{
    HeadConfig, LeastSquaresConfig, MAX_COMPONENTS, MAX_PARAMETERS, MAX_WIDTH, Network,
    NetworkConfig, Output, Prediction,
};
pub use normalize::Standardizer;
pub use scores::{ScoreAccumulator, Scores, TargetScores};
pub use trainer::{
    EpochRecord, History, Recovery, TrainConfig, Trained, Trainer, TrainingSummary, TrainingWarning,
};

/// The default CPU device (Burn's Flex backend).
pub fn cpu() -> burn::prelude::Device {
    burn::prelude::Device::flex()
}
