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

/// The CSV header of [`History::to_csv`], without the line end.
const CSV_HEADER: &str =
    "epoch,train_loss,train_nll,validation_loss,validation_nll,learning_rate,seconds";

/// One epoch's CSV cells, as [`CSV_HEADER`] names them.
fn csv_row(r: &EpochRecord) -> String {
    format!(
        "{},{},{},{},{},{},{}",
        r.epoch,
        r.train_loss,
        r.train_nll,
        cell(r.validation_loss),
        cell(r.validation_nll),
        r.learning_rate,
        r.seconds
    )
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, bytes).map_err(|source| MdnError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl History {
    /// The metrics as CSV, one row per epoch (empty cells where there is no validation).
    pub fn to_csv(&self) -> String {
        let mut out = format!("{CSV_HEADER}\n");
        for r in &self.epochs {
            let _ = writeln!(out, "{}", csv_row(r));
        }
        out
    }

    /// Writes [`History::to_csv`] to `path` atomically.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        write(path, self.to_csv().as_bytes())
    }

    /// Writes the metrics as a JSON array to `path` atomically.
    pub fn write_json(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(&self.epochs).expect("metrics serialise");
        write(path, json.as_bytes())
    }

    /// The histories of an ensemble's members as CSV: a `member` column (from 0) before
    /// [`History::to_csv`]'s columns, the members one after another.
    pub fn members_to_csv(members: &[History]) -> String {
        let mut out = format!("member,{CSV_HEADER}\n");
        for (k, history) in members.iter().enumerate() {
            for r in &history.epochs {
                let _ = writeln!(out, "{k},{}", csv_row(r));
            }
        }
        out
    }

    /// Writes [`History::members_to_csv`] to `path` atomically.
    pub fn write_members_csv(members: &[History], path: &Path) -> Result<()> {
        write(path, Self::members_to_csv(members).as_bytes())
    }

    /// Writes the members' metrics as one JSON array to `path` atomically: each epoch's
    /// record with a `member` field (from 0), the members one after another.
    pub fn write_members_json(members: &[History], path: &Path) -> Result<()> {
        let records: Vec<serde_json::Value> = members
            .iter()
            .enumerate()
            .flat_map(|(k, history)| {
                history.epochs.iter().map(move |r| {
                    let mut value = serde_json::to_value(r).expect("metrics serialise");
                    if let serde_json::Value::Object(fields) = &mut value {
                        fields.insert("member".into(), k.into());
                    }
                    value
                })
            })
            .collect();
        let json = serde_json::to_string_pretty(&records).expect("metrics serialise");
        write(path, json.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(losses: &[f64]) -> History {
        History {
            epochs: losses
                .iter()
                .enumerate()
                .map(|(i, &loss)| EpochRecord {
                    epoch: i + 1,
                    train_loss: loss,
                    train_nll: loss,
                    validation_loss: None,
                    validation_nll: None,
                    learning_rate: 1e-3,
                    seconds: 0.5,
                })
                .collect(),
        }
    }

    #[test]
    fn members_are_written_one_after_another_with_their_index() {
        let members = [history(&[2.0, 1.0]), history(&[3.0])];
        let csv = History::members_to_csv(&members);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], format!("member,{CSV_HEADER}"));
        assert_eq!(lines[1], "0,1,2,2,,,0.001,0.5");
        assert_eq!(lines[2], "0,2,1,1,,,0.001,0.5");
        assert_eq!(lines[3], "1,1,3,3,,,0.001,0.5");
        assert_eq!(lines.len(), 4);

        let dir = std::env::temp_dir().join(format!("mdn-history-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("h.json");
        History::write_members_json(&members, &path).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let records = json.as_array().unwrap();
        let pairs: Vec<(u64, u64)> = records
            .iter()
            .map(|r| (r["member"].as_u64().unwrap(), r["epoch"].as_u64().unwrap()))
            .collect();
        assert_eq!(pairs, [(0, 1), (0, 2), (1, 1)]);
        assert_eq!(records[2]["train_loss"], 3.0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
