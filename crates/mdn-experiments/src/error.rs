//! The experiments' error type.

use std::path::PathBuf;

/// What can stop an experiment.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// Training or prediction failed.
    #[error(transparent)]
    Model(#[from] mdn::MdnError),
    /// Mixture maths refused a value.
    #[error(transparent)]
    Mixture(#[from] mdn::mdn_mixture::MixtureError),
    /// A figure could not be drawn or written.
    #[error("figure: {0}")]
    Plot(#[from] crate::plot::PlotError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An IDX (MNIST) file is missing, truncated or malformed.
    #[error(transparent)]
    Idx(#[from] mdn::idx::IdxError),
    /// A data file is malformed.
    #[error("{path}: {message}")]
    Data {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The experiments' result type.
pub type Result<T, E = ExperimentError> = std::result::Result<T, E>;
