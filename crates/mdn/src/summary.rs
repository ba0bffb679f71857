//! How a model was trained, as its model file records it.

use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;

/// A roll-back after a non-finite loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// The epoch (from 1) that was rolled back and repeated.
    pub epoch: usize,
    /// The learning rate used from then on.
    pub learning_rate: f64,
}

/// How a model was trained, stored in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// The hyper-parameters.
    pub config: TrainConfig,
    /// Epochs completed.
    pub epochs_run: usize,
    /// The epoch whose weights were kept (lowest validation loss, or the last one).
    pub best_epoch: usize,
    /// Whether training stopped because the validation loss stopped improving.
    pub stopped_early: bool,
    /// Rows used for fitting.
    pub train_rows: usize,
    /// Rows held out for validation.
    pub validation_rows: usize,
    /// Mean negative log-likelihood of the kept model on the training rows (nats, original
    /// units).
    pub train_nll: f64,
    /// The same on the validation rows.
    pub validation_nll: Option<f64>,
    /// Roll-backs after non-finite losses.
    pub recoveries: Vec<Recovery>,
    /// Wall-clock seconds spent training (over all resumed runs).
    pub seconds: f64,
    /// The standard deviation of the noise added to the numeric inputs, in standardised
    /// units (what `noise_x` came to for this data; 0 for none).
    #[serde(default)]
    pub noise_x_sd: f64,
    /// The same for the targets.
    #[serde(default)]
    pub noise_y_sd: f64,
    /// How the number of components was chosen, when it was
    /// ([`Trainer::fit_components`](crate::Trainer::fit_components)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_selection: Option<crate::trainer::ComponentSelection>,
}
