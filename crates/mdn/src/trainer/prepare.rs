//! The data as training sees it: split into training and validation rows, standardised, f32.

use mdn_engine::{Backbone, ValidArchitecture};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::config::ValidTrainConfig;
use crate::dataset::Dataset;
use crate::error::{MdnError, Parameter, Result};
use crate::normalize::Standardizer;

/// The data prepared for training: split, standardised, as f32.
pub(super) struct Prepared {
    pub train_x: Vec<f32>,
    pub train_t: Vec<f32>,
    pub val_x: Vec<f32>,
    pub val_t: Vec<f32>,
    pub input_scaler: Standardizer,
    pub target_scaler: Standardizer,
    pub input_dim: usize,
    pub target_dim: usize,
    /// Identifies the data, so that a checkpoint is resumed on the data it was made on.
    pub fingerprint: u64,
    /// Input columns whose scale a few extreme values set: (column, share of rows in the
    /// narrow band).
    pub dominated_inputs: Vec<(usize, f64)>,
}

impl Prepared {
    /// Splits `data` into validation rows (a seeded shuffle's first
    /// `config.validation_rows(n)`) and training rows, refuses targets that never vary, fits
    /// the standardisation on the training rows and applies it to both.
    pub fn new(
        architecture: &ValidArchitecture,
        config: &ValidTrainConfig,
        data: &Dataset,
    ) -> Result<Self> {
        let (d, c) = (data.input_dim(), data.target_dim());
        if d != architecture.input_dim() || c != architecture.target_dim() {
            return Err(MdnError::InvalidData(format!(
                "the data has {d} input and {c} target columns but the network takes {} inputs \
                 and {} targets",
                architecture.input_dim(),
                architecture.target_dim()
            )));
        }
        let rows = data.len();
        let val_rows = config.validation_rows(rows);
        if config.validation_fraction > 0.0 && val_rows == 0 {
            return Err(MdnError::invalid(
                Parameter::ValidationFraction,
                config.validation_fraction,
                format!(
                    "holds out no row of {rows}; raise it, add data, or set it to 0 to train \
                     without validation"
                ),
            ));
        }
        if val_rows >= rows {
            return Err(MdnError::invalid(
                Parameter::ValidationFraction,
                config.validation_fraction,
                format!("leaves no training row of {rows}"),
            ));
        }
        let mut order: Vec<usize> = (0..rows).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(config.seed));
        let (val_idx, train_idx) = order.split_at(val_rows);
        let train = data.subset(train_idx);
        let val = data.subset(val_idx);

        if let Some(&col) = Standardizer::constant_columns(train.targets(), c).first() {
            return Err(MdnError::InvalidData(format!(
                "target '{}' has the same value ({}) in every training row; there is no \
                 distribution to learn",
                data.target_names()[col],
                train.target(0)[col]
            )));
        }
        let (input_scaler, dominated_inputs) = match architecture.backbone {
            // Pixels share one scale; per-pixel statistics would blow up near-constant borders.
            Backbone::Cnn { .. } => (Standardizer::fit_global(train.inputs(), d), Vec::new()),
            Backbone::Mlp { .. } => (
                Standardizer::fit(train.inputs(), d),
                Standardizer::dominated_columns(train.inputs(), d),
            ),
        };
        let target_scaler = Standardizer::fit(train.targets(), c);
        Ok(Prepared {
            train_x: input_scaler.transform(train.inputs()),
            train_t: target_scaler.transform(train.targets()),
            val_x: input_scaler.transform(val.inputs()),
            val_t: target_scaler.transform(val.targets()),
            input_scaler,
            target_scaler,
            input_dim: d,
            target_dim: c,
            fingerprint: data.fingerprint(),
            dominated_inputs,
        })
    }

    pub fn train_rows(&self) -> usize {
        self.train_t.len() / self.target_dim
    }

    pub fn val_rows(&self) -> usize {
        self.val_t.len() / self.target_dim
    }
}
