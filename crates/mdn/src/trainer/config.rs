//! Training hyper-parameters.

use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::{MdnError, Result};

/// How to train a network. Every field is checked by [`TrainConfig::check`] before training
/// starts.
///
/// # Examples
/// ```
/// use mdn::TrainConfig;
/// let config = TrainConfig { epochs: 300, learning_rate: 3e-3, ..TrainConfig::default() };
/// assert!(config.check().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Maximum number of passes over the training rows.
    pub epochs: usize,
    /// Examples per optimisation step.
    pub batch_size: usize,
    /// Adam step size.
    pub learning_rate: f64,
    /// L2 penalty added to the gradient by Adam (0 for none).
    pub weight_decay: f64,
    /// Fraction of rows held out for validation and early stopping, in [0, 1). With 0 there
    /// is no early stopping and the last epoch's weights are kept.
    pub validation_fraction: f64,
    /// Stop after this many epochs without a lower validation loss (`None`: never).
    pub patience: Option<usize>,
    /// Halve the learning rate each time this many epochs pass without a lower validation
    /// loss (`None`: a constant learning rate). Lets Adam settle into a minimum that a
    /// constant step only rattles around; pick it well below `patience`.
    #[serde(default)]
    pub lr_plateau: Option<usize>,
    /// Seed of initialisation, validation split and shuffling: same seed, same model.
    pub seed: u64,
    /// Clip each parameter tensor's gradient to this L2 norm (`None`: no clipping).
    pub grad_clip_norm: Option<f64>,
    /// How many times a non-finite loss may be met by rolling back the epoch and halving the
    /// learning rate before training gives up.
    pub max_recoveries: usize,
    /// Which implementation computes the training steps: the CPU kernels wherever they run
    /// (the default), or Burn's tensor operations.
    #[serde(default)]
    pub engine: Engine,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 500,
            batch_size: 128,
            learning_rate: 3e-3,
            weight_decay: 0.0,
            validation_fraction: 0.1,
            patience: Some(100),
            lr_plateau: None,
            seed: 0,
            grad_clip_norm: None,
            max_recoveries: 3,
            engine: Engine::Auto,
        }
    }
}

impl TrainConfig {
    /// Checks every hyper-parameter, saying which one to change.
    pub fn check(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(MdnError::invalid(
                "epochs",
                0,
                "train for at least one epoch",
            ));
        }
        if self.batch_size == 0 {
            return Err(MdnError::invalid(
                "batch_size",
                0,
                "a batch needs at least one example (e.g. 128)",
            ));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(MdnError::invalid(
                "learning_rate",
                self.learning_rate,
                "the learning rate must be a positive finite number (e.g. 1e-3)",
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(MdnError::invalid(
                "weight_decay",
                self.weight_decay,
                "weight decay must be 0 or a positive finite number",
            ));
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return Err(MdnError::invalid(
                "validation_fraction",
                self.validation_fraction,
                "the validation fraction must be in [0, 1) (e.g. 0.1; 0 disables early stopping)",
            ));
        }
        if self.patience == Some(0) {
            return Err(MdnError::invalid(
                "patience",
                0,
                "patience must be at least 1 epoch (no patience at all never stops early)",
            ));
        }
        if self.lr_plateau == Some(0) {
            return Err(MdnError::invalid(
                "lr_plateau",
                0,
                "the plateau must be at least 1 epoch (none keeps the learning rate constant)",
            ));
        }
        if let Some(plateau) = self.lr_plateau
            && self.validation_fraction == 0.0
        {
            return Err(MdnError::invalid(
                "lr_plateau",
                plateau,
                "a plateau is watched on the validation rows, and a validation fraction of 0 \
                 holds out none; hold some out or drop the plateau",
            ));
        }
        if let Some(norm) = self.grad_clip_norm
            && !(norm.is_finite() && norm > 0.0)
        {
            return Err(MdnError::invalid(
                "grad_clip_norm",
                norm,
                "the clipping norm must be a positive finite number",
            ));
        }
        Ok(())
    }

    /// Number of validation rows for a dataset of `rows` rows.
    pub fn validation_rows(&self, rows: usize) -> usize {
        (rows as f64 * self.validation_fraction).round() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_value_names_its_parameter() {
        let bad = [
            TrainConfig {
                epochs: 0,
                ..Default::default()
            },
            TrainConfig {
                batch_size: 0,
                ..Default::default()
            },
            TrainConfig {
                learning_rate: -1e-3,
                ..Default::default()
            },
            TrainConfig {
                learning_rate: f64::NAN,
                ..Default::default()
            },
            TrainConfig {
                weight_decay: -1.0,
                ..Default::default()
            },
            TrainConfig {
                validation_fraction: 1.0,
                ..Default::default()
            },
            TrainConfig {
                lr_plateau: Some(0),
                ..Default::default()
            },
            TrainConfig {
                validation_fraction: -0.1,
                ..Default::default()
            },
            TrainConfig {
                patience: Some(0),
                ..Default::default()
            },
            TrainConfig {
                grad_clip_norm: Some(0.0),
                ..Default::default()
            },
            TrainConfig {
                lr_plateau: Some(3),
                validation_fraction: 0.0,
                ..Default::default()
            },
        ];
        let names = [
            "epochs",
            "batch_size",
            "learning_rate",
            "learning_rate",
            "weight_decay",
            "validation_fraction",
            "lr_plateau",
            "validation_fraction",
            "patience",
            "grad_clip_norm",
            "lr_plateau",
        ];
        assert_eq!(bad.len(), names.len());
        for (config, name) in bad.iter().zip(names) {
            match config.check() {
                Err(MdnError::InvalidParameter { parameter, .. }) => assert_eq!(parameter, name),
                other => panic!("{config:?} gave {other:?}"),
            }
        }
        assert!(TrainConfig::default().check().is_ok());
    }
}
