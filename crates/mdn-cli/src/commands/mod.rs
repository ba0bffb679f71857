//! One module per subcommand.

pub mod data;
pub mod eval;
pub mod experiment;
pub mod info;
pub mod predict;
pub mod train;

use clap::ValueEnum;

/// What to do with a row that has a missing cell, when predicting or evaluating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MissingArg {
    /// Stop with an error naming the cell.
    Error,
    /// Leave the row out: predict writes it with empty cells (the rows stay aligned), eval
    /// counts it in n_skipped.
    Skip,
}

impl From<MissingArg> for mdn::MissingPolicy {
    fn from(value: MissingArg) -> Self {
        match value {
            MissingArg::Error => mdn::MissingPolicy::Error,
            MissingArg::Skip => mdn::MissingPolicy::Omit,
        }
    }
}

/// What to do with a category that training never saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UnknownArg {
    /// Stop with an error naming the cell.
    Error,
    /// Encode it as no category at all (every one-hot feature 0).
    Zero,
}

impl From<UnknownArg> for mdn::UnknownCategory {
    fn from(value: UnknownArg) -> Self {
        match value {
            UnknownArg::Error => mdn::UnknownCategory::Error,
            UnknownArg::Zero => mdn::UnknownCategory::Zero,
        }
    }
}
