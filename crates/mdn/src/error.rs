//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong when configuring, training, saving or loading a model.
///
/// Every message names the offending parameter, file or value and, where it helps, what to
/// change.
#[derive(Debug, thiserror::Error)]
pub enum MdnError {
    /// A hyper-parameter or configuration value is out of range.
    #[error("invalid {parameter} = {value}: {reason}")]
    InvalidParameter {
        /// The parameter's name as the user wrote it (e.g. `components`, `learning_rate`).
        parameter: &'static str,
        /// The rejected value, formatted.
        value: String,
        /// What is wrong and what would be accepted.
        reason: String,
    },
    /// Data handed to the library is inconsistent or not finite.
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// The network's output for an input row is not a valid mixture (the input is likely far
    /// outside the training range).
    #[error(
        "the network's output for input row {row} is not a valid mixture ({reason}); the input \
         may be far outside the training range"
    )]
    InvalidPrediction {
        /// Index (from 0) of the row among those passed to the prediction.
        row: usize,
        /// What is wrong with the output.
        reason: String,
    },
    /// Training produced a non-finite loss too many times, even after rolling back and
    /// lowering the learning rate.
    #[error(
        "training diverged: the loss became non-finite in epoch {epoch} and stayed so after \
         {recoveries} roll-backs (learning rate lowered to {learning_rate:e}); try a smaller \
         --lr, gradient clipping, or more --min-sigma"
    )]
    Diverged {
        /// The epoch (1-based) in which the last non-finite loss appeared.
        epoch: usize,
        /// How many times the trainer rolled back before giving up.
        recoveries: usize,
        /// The learning rate of the last attempt.
        learning_rate: f64,
    },
    /// A run cannot be resumed from a checkpoint with a different value of `parameter`.
    #[error(
        "{path}: cannot resume: {parameter} is {requested} here but {checkpoint} in the \
         checkpoint; only epochs and patience may change when resuming"
    )]
    ResumeMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// The parameter that differs.
        parameter: &'static str,
        /// Its value in the checkpoint.
        checkpoint: String,
        /// The value asked for now.
        requested: String,
    },
    /// A model or checkpoint file could not be read or written.
    #[error("{path}: {kind}")]
    ModelFile {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        kind: ModelFileError,
    },
    /// An I/O error while writing an output such as a metrics file.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// What is wrong with a model or checkpoint file.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    /// The file could not be opened, read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file does not start with the model-file magic bytes.
    #[error("not an mdn model file (wrong magic bytes)")]
    NotAModelFile,
    /// The file was written by a newer (or unknown) version of the format.
    #[error(
        "model file format version {found} is not supported (this build reads version {supported}); use a matching mdn version"
    )]
    UnsupportedVersion {
        /// The version found in the file.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// The file ends before its declared contents do.
    #[error("file is truncated: {0}")]
    Truncated(String),
    /// The checksum does not match or a section cannot be decoded.
    #[error("file is corrupt: {0}")]
    Corrupt(String),
    /// The file is valid but holds the other kind of contents (a checkpoint where a model was
    /// expected, or the reverse).
    #[error("{0}")]
    WrongKind(String),
    /// The file is valid but does not fit what it is used for (e.g. resuming on other data).
    #[error("{0}")]
    Mismatch(String),
}

impl MdnError {
    /// Shorthand for [`MdnError::InvalidParameter`].
    pub fn invalid(
        parameter: &'static str,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        MdnError::InvalidParameter {
            parameter,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`MdnError::ModelFile`].
    pub fn file(path: impl Into<PathBuf>, kind: ModelFileError) -> Self {
        MdnError::ModelFile {
            path: path.into(),
            kind,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = MdnError> = std::result::Result<T, E>;
