//! Per-epoch training metrics.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

use crate::atomic::write_atomically;
use crate::error::{MdnError, Result};

/// Metrics of one epoch. Negative log-likelihoods are in nats per example in the data's
/// original units; losses are what the optimiser minimised (NLL for an MDN, the mean squared
/// error of standardised targets for least squares).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's mini-batches.
    pub train_loss: f64,
    /// Mean training negative log-likelihood over the epoch's mini-batches.
    pub train_nll: f64,
    /// Validation loss after the epoch (`None` without a validation split).
    pub validation_loss: Option<f64>,
    /// Validation negative log-likelihood after the epoch.
    pub validation_nll: Option<f64>,
    /// Learning rate used in the epoch.
    pub learning_rate: f64,
    /// Wall-clock seconds the epoch took, validation included.
    pub seconds: f64,
}

/// All epochs of a training run, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// One record per completed epoch.
    pub epochs: Vec<EpochRecord>,
}

fn cell(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

impl History {
    /// The metrics as CSV, one row per epoch (empty cells where there is no validation).
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "epoch,train_loss,train_nll,validation_loss,validation_nll,learning_rate,seconds\n",
        );
        for r in &self.epochs {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{}",
                r.epoch,
                r.train_loss,
                r.train_nll,
                cell(r.validation_loss),
                cell(r.validation_nll),
                r.learning_rate,
                r.seconds
            );
        }
        out
    }

    /// Writes [`History::to_csv`] to `path` atomically.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        write_atomically(path, self.to_csv().as_bytes()).map_err(|source| MdnError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Writes the metrics as a JSON array to `path` atomically.
    pub fn write_json(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(&self.epochs).expect("metrics serialise");
        write_atomically(path, json.as_bytes()).map_err(|source| MdnError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}
