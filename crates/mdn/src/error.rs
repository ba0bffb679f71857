//! The crate's error type, and the parameters its errors can be about.

use std::fmt;
use std::path::PathBuf;

use mdn_engine::{ArchitectureError, ArchitectureParameter};

/// A parameter a user sets: of the architecture, or of training.
///
/// Errors carry it as this type, not as text, so that a front end can say it in its own terms
/// (the command line maps each to its flag in one exhaustive `match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Parameter {
    /// A parameter of the network's architecture.
    Architecture(ArchitectureParameter),
    /// [`TrainConfig::epochs`](crate::TrainConfig::epochs).
    Epochs,
    /// [`TrainConfig::batch_size`](crate::TrainConfig::batch_size).
    BatchSize,
    /// [`TrainConfig::learning_rate`](crate::TrainConfig::learning_rate).
    LearningRate,
    /// [`TrainConfig::weight_decay`](crate::TrainConfig::weight_decay).
    WeightDecay,
    /// [`TrainConfig::validation_fraction`](crate::TrainConfig::validation_fraction).
    ValidationFraction,
    /// [`TrainConfig::patience`](crate::TrainConfig::patience).
    Patience,
    /// [`TrainConfig::lr_plateau`](crate::TrainConfig::lr_plateau).
    LrPlateau,
    /// [`TrainConfig::seed`](crate::TrainConfig::seed).
    Seed,
    /// [`TrainConfig::grad_clip_norm`](crate::TrainConfig::grad_clip_norm).
    GradClipNorm,
    /// [`TrainConfig::max_recoveries`](crate::TrainConfig::max_recoveries).
    MaxRecoveries,
    /// [`TrainConfig::noise_x`](crate::TrainConfig::noise_x).
    NoiseX,
    /// [`TrainConfig::noise_y`](crate::TrainConfig::noise_y).
    NoiseY,
    /// [`TrainConfig::ensemble`](crate::TrainConfig::ensemble).
    Ensemble,
    /// The number of cross-validation folds of [`Trainer::fit_components`](crate::Trainer::fit_components).
    Folds,
}

impl Parameter {
    /// The parameter's name, as the library calls it (`learning_rate`, `components`, …).
    pub fn name(self) -> &'static str {
        match self {
            Parameter::Architecture(p) => p.name(),
            Parameter::Epochs => "epochs",
            Parameter::BatchSize => "batch_size",
            Parameter::LearningRate => "learning_rate",
            Parameter::WeightDecay => "weight_decay",
            Parameter::ValidationFraction => "validation_fraction",
            Parameter::Patience => "patience",
            Parameter::LrPlateau => "lr_plateau",
            Parameter::Seed => "seed",
            Parameter::GradClipNorm => "grad_clip_norm",
            Parameter::MaxRecoveries => "max_recoveries",
            Parameter::NoiseX => "noise_x",
            Parameter::NoiseY => "noise_y",
            Parameter::Ensemble => "ensemble",
            Parameter::Folds => "folds",
        }
    }
}

impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that can go wrong when configuring, training, saving or loading a model.
///
/// Every message names the offending parameter, file or value and, where it helps, what to
/// change.
#[derive(Debug, thiserror::Error)]
pub enum MdnError {
    /// A hyper-parameter or architecture value is out of range.
    #[error("invalid {parameter} = {value}: {reason}")]
    InvalidParameter {
        /// The parameter at fault.
        parameter: Parameter,
        /// The rejected value, formatted.
        value: String,
        /// What is wrong and what would be accepted.
        reason: String,
    },
    /// Data handed to the library is inconsistent or not finite.
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// A cell of a table cannot be used: missing, not a number, an unseen category, ….
    #[error("row {row}, column '{column}': {problem}")]
    InvalidCell {
        /// The row (from 0) of the table.
        row: usize,
        /// The column's name.
        column: String,
        /// What is wrong with the cell.
        problem: crate::schema::CellProblem,
    },
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
         learning_rate, a grad_clip_norm, or a larger min_sigma"
    )]
    Diverged {
        /// The epoch (1-based) in which the last non-finite loss appeared.
        epoch: usize,
        /// How many times the trainer rolled back before giving up.
        recoveries: usize,
        /// The learning rate of the last attempt.
        learning_rate: f64,
    },
    /// Training was asked to stop ([`Trainer::with_stop`](crate::Trainer::with_stop)) and
    /// did, between two epochs, without a model.
    #[error("training was interrupted after {epochs} epochs")]
    Interrupted {
        /// The epochs completed (of the network being trained when the stop came).
        epochs: usize,
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
        parameter: Parameter,
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
    /// The file is not a model file of any version (nor a safetensors file).
    #[error("not an mdn model file")]
    NotAModelFile,
    /// A safetensors file that `mdn` did not write.
    #[error("a safetensors file, but not an mdn model file (its metadata has no mdn format)")]
    ForeignSafetensors,
    /// A model file in the format of an older `mdn`, which this one no longer reads.
    #[error(
        "written by an older mdn (model file format {found}), which this version no longer \
         reads (it writes format {supported}): train the model again with this version"
    )]
    OlderFormat {
        /// The version found in the file.
        found: u32,
        /// The version this build writes (the newest it reads).
        supported: u32,
    },
    /// The file was written by a newer (or unknown) version of the format.
    #[error(
        "model file format version {found} is not supported (this build reads versions up to \
         {supported}); use a matching mdn version"
    )]
    UnsupportedVersion {
        /// The version found in the file.
        found: String,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// The file ends before its declared contents do.
    #[error("file is truncated: {0}")]
    Truncated(String),
    /// The checksum does not match or a part cannot be decoded.
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
        parameter: Parameter,
        value: impl fmt::Display,
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

impl From<ArchitectureError> for MdnError {
    fn from(error: ArchitectureError) -> Self {
        MdnError::InvalidParameter {
            parameter: Parameter::Architecture(error.parameter),
            value: error.value,
            reason: error.reason,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = MdnError> = std::result::Result<T, E>;
