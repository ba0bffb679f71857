//! Mixture Density Networks (Bishop, 1994): models, training, model files and scores.
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
//! - [`Architecture`] (re-exported from `mdn-engine`, which computes everything): an MLP or a
//!   small CNN [`Backbone`], then a mixture density [`Head`] or the least-squares comparison
//!   layer; [`Architecture::check`] makes it a [`ValidArchitecture`];
//! - [`Trainer`] / [`TrainConfig`]: Adam, validation split, early stopping, roll-back on
//!   non-finite losses, checkpoints and exact resumption; noise regularisation ([`Noise`]),
//!   deep ensembles ([`TrainConfig::ensemble`]) and the choice of the number of components
//!   ([`Trainer::fit_components`]); [`defaults`] says what is used when nothing is given;
//! - [`Model`]: a trained network (or ensemble) with its normalisation, saved to and loaded
//!   from one safetensors file, whose predictions are [`mdn_mixture::GaussianMixture`]s in
//!   the data's units;
//! - [`Frame`] / [`Schema`]: tables as users have them (numbers and text, missing cells) and
//!   how their columns become the network's numbers (one-hot categories, log targets);
//! - [`Prediction`]: p(t|x) for one row in the targets' own units;
//! - [`Scores`]: NLL, RMSE, CRPS, interval coverage and PIT calibration against targets.
//!
//! # Examples
//! ```no_run
//! use mdn::{Architecture, Backbone, Dataset, TrainConfig, Trainer};
//! # fn main() -> Result<(), mdn::MdnError> {
//! // t|x of Bishop's toy inverse problem: three branches for x near 0.5.
//! let (x, t): (Vec<f64>, Vec<f64>) = (0..1000)
//!     .map(|i| {
//!         let t = i as f64 / 1000.0;
//!         (t + 0.3 * (2.0 * std::f64::consts::PI * t).sin(), t)
//!     })
//!     .unzip();
//! let data = Dataset::new(x, 1, t, 1)?;
//! let architecture = Architecture::mdn(Backbone::mlp(1, vec![32, 32]), 1, 5).check()?;
//! let trained = Trainer::new(TrainConfig::default().check()?).fit(&architecture, &data)?;
//! let mixture = trained.model.predict_one(&[0.5])?;
//! for mode in mixture.modes(&Default::default()) {
//!     println!("mode at t = {:.3}, density {:.3}", mode.location[0], mode.density());
//! }
//! trained.model.save("toy.mdn")?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod atomic;
mod config;
mod dataset;
pub mod defaults;
mod error;
mod file;
mod frame;
pub mod idx;
mod mixtures;
mod model;
mod normalize;
mod prediction;
mod schema;
mod scores;
mod summary;
pub mod trainer;

pub use atomic::{AtomicFile, write_atomically};
pub use config::{Noise, TrainConfig, ValidTrainConfig};
pub use dataset::Dataset;
pub use error::{MdnError, ModelFileError, Parameter, Result};
pub use file::FORMAT_VERSION;
pub use frame::{Cells, Frame, MISSING_TOKENS, is_missing_token};
pub use mdn_engine::{
    Activation, Architecture, ArchitectureError, ArchitectureParameter, Backbone, CovarianceKind,
    Head, MAX_COMPONENTS, MAX_KERNEL, MAX_PARAMETERS, MAX_WIDTH, ValidArchitecture,
};
pub use mdn_mixture;
pub use mdn_mixture::GaussianMixture;
pub use model::{EnsembleSummary, Model, ModelMeta, PREDICT_CHUNK_ROWS};
pub use normalize::Standardizer;
pub use prediction::Prediction;
pub use schema::{
    CellProblem, EncodeOptions, Encoded, InputColumn, MissingPolicy, Schema, TableSpec,
    TargetColumn, UnknownCategory,
};
pub use scores::{COVERAGE_LEVELS, PIT_BINS, RowScores, ScoreAccumulator, Scores, TargetScores};
pub use summary::{Recovery, TrainingSummary};
pub use trainer::{
    AUTO_COMPONENTS, CandidateScore, ComponentSelection, EpochRecord, History, Trained, Trainer,
    TrainingWarning,
};
