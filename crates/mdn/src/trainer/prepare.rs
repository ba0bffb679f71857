//! The data as training sees it: split into training and validation rows, standardised, f32.

use mdn_engine::{Backbone, ValidArchitecture};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::config::ValidTrainConfig;
use crate::dataset::Dataset;
use crate::error::{MdnError, Parameter, Result};
use crate::normalize::Standardizer;

use super::noise::BatchNoise;

/// Standardised rows of one part of the data.
#[derive(Clone)]
pub(super) struct Rows {
    /// Features, standardised, row-major.
    pub x: Vec<f32>,
    /// Modelled targets (log t for log targets), standardised, row-major.
    pub t: Vec<f32>,
    /// Row weights, where the data has them (or a bootstrap sample set them).
    pub w: Option<Vec<f32>>,
    /// The (weighted) mean over rows of Σ log t_j over the log targets: what turns the NLL
    /// of log t into the NLL of t.
    pub log_jacobian: f64,
    /// Σ log t_j over the log targets, per row (empty without log targets).
    log_sums: Vec<f64>,
}

impl Rows {
    fn new(data: &Dataset, inputs: &Standardizer, targets: &Standardizer, log: &[bool]) -> Self {
        let modelled = modelled_targets(data, log);
        let log_sums: Vec<f64> = if log.iter().any(|&l| l) {
            modelled
                .chunks_exact(log.len())
                .map(|z| z.iter().zip(log).filter(|(_, l)| **l).map(|(z, _)| z).sum())
                .collect()
        } else {
            Vec::new()
        };
        let w = data
            .weights()
            .map(|w| w.iter().map(|&v| v as f32).collect());
        let mut rows = Self {
            x: inputs.transform(data.inputs()),
            t: targets.transform(&modelled),
            w,
            log_jacobian: 0.0,
            log_sums,
        };
        rows.log_jacobian = rows.mean_log_sum();
        rows
    }

    /// The weighted mean of the per-row log sums (0 without log targets).
    fn mean_log_sum(&self) -> f64 {
        if self.log_sums.is_empty() {
            return 0.0;
        }
        let weight = |i: usize| self.w.as_ref().map_or(1.0, |w| f64::from(w[i]));
        let total: f64 = (0..self.log_sums.len()).map(weight).sum();
        let sum: f64 = self
            .log_sums
            .iter()
            .enumerate()
            .map(|(i, s)| s * weight(i))
            .sum();
        sum / total.max(f64::MIN_POSITIVE)
    }

    /// These `n` rows as a bootstrap sample drawn with `rng`: `n` draws with replacement,
    /// each row's weight multiplied by the times it was drawn (a row never drawn weighs 0),
    /// so the loss is that of the resampled rows.
    pub fn bootstrapped(&self, n: usize, rng: &mut impl rand::Rng) -> Self {
        use rand::RngExt;
        let mut counts = vec![0u32; n];
        for _ in 0..n {
            counts[rng.random_range(0..n)] += 1;
        }
        let w = (0..n)
            .map(|i| counts[i] as f32 * self.w.as_ref().map_or(1.0, |w| w[i]))
            .collect();
        let mut rows = Self {
            w: Some(w),
            ..self.clone()
        };
        rows.log_jacobian = rows.mean_log_sum();
        rows
    }
}

/// The rows training holds out for validation (a shuffle seeded by `seed`, its first
/// `val_rows`) and the rest, as (validation, training) row indices.
pub(crate) fn validation_split(
    seed: u64,
    rows: usize,
    val_rows: usize,
) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..rows).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let train = order.split_off(val_rows.min(rows));
    (order, train)
}

/// The targets as the network models them: log t for the log targets.
fn modelled_targets(data: &Dataset, log: &[bool]) -> Vec<f64> {
    let mut t = data.targets().to_vec();
    if log.iter().any(|&l| l) {
        for row in t.chunks_exact_mut(log.len()) {
            for (v, &l) in row.iter_mut().zip(log) {
                if l {
                    *v = v.ln();
                }
            }
        }
    }
    t
}

/// The data prepared for training: split, standardised, as f32.
#[derive(Clone)]
pub(super) struct Prepared {
    pub train: Rows,
    pub val: Rows,
    pub input_scaler: Standardizer,
    pub target_scaler: Standardizer,
    pub input_dim: usize,
    pub target_dim: usize,
    /// Identifies the data, so that a checkpoint is resumed on the data it was made on.
    pub fingerprint: u64,
    /// Input columns whose scale a few extreme values set: (column, share of rows in the
    /// narrow band).
    pub dominated_inputs: Vec<(usize, f64)>,
    /// The noise every training batch gets.
    pub noise: BatchNoise,
}

impl Prepared {
    /// Splits `data` into validation rows (a seeded shuffle's first
    /// `config.validation_rows(n)`) and training rows — or, given `validation`, trains on
    /// all of `data` and validates on that — refuses targets that never vary or log targets
    /// that are not positive, fits the standardisation on the training rows and applies it
    /// to both.
    pub fn new(
        architecture: &ValidArchitecture,
        config: &ValidTrainConfig,
        data: &Dataset,
        validation: Option<&Dataset>,
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
        let schema = data.schema();
        let log = schema.log_targets();
        for (j, name) in data
            .target_names()
            .iter()
            .enumerate()
            .filter(|(j, _)| log[*j])
        {
            if let Some(i) = (0..data.len()).find(|&i| data.target(i)[j] <= 0.0) {
                return Err(MdnError::InvalidData(format!(
                    "target '{name}' is {} in row {i}; a log target must be positive",
                    data.target(i)[j]
                )));
            }
        }
        let rows = data.len();
        let (train, val) = match validation {
            Some(val) => {
                if val.schema() != schema {
                    return Err(MdnError::InvalidData(
                        "the validation data has other columns or categories than the \
                         training data; encode it with the training data's schema"
                            .into(),
                    ));
                }
                (data.clone(), val.clone())
            }
            None => {
                let val_rows = config.validation_rows(rows);
                if config.validation_fraction > 0.0 && val_rows == 0 {
                    return Err(MdnError::invalid(
                        Parameter::ValidationFraction,
                        config.validation_fraction,
                        format!(
                            "holds out no row of {rows}; raise it, add data, or set it to 0 to \
                             train without validation"
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
                let (val_idx, train_idx) = validation_split(config.seed, rows, val_rows);
                (data.subset(&train_idx), data.subset(&val_idx))
            }
        };
        let train_targets = modelled_targets(&train, &log);
        if let Some(&col) = Standardizer::constant_columns(&train_targets, c).first() {
            return Err(MdnError::InvalidData(format!(
                "target '{}' has the same value ({}) in every training row; there is no \
                 distribution to learn",
                data.target_names()[col],
                train.target(0)[col]
            )));
        }
        let numeric = schema.numeric_features();
        let (input_scaler, dominated_inputs) = match architecture.backbone {
            // Pixels share one scale; per-pixel statistics would blow up near-constant borders.
            Backbone::Cnn { .. } => (Standardizer::fit_global(train.inputs(), d), Vec::new()),
            Backbone::Mlp { .. } => (
                Standardizer::fit_numeric(train.inputs(), d, &numeric),
                Standardizer::dominated_columns(train.inputs(), d)
                    .into_iter()
                    .filter(|(column, _)| numeric[*column])
                    .collect(),
            ),
        };
        let target_scaler = Standardizer::fit(&train_targets, c);
        let noise = BatchNoise::new(config, train.len(), &numeric, c);
        Ok(Prepared {
            train: Rows::new(&train, &input_scaler, &target_scaler, &log),
            val: Rows::new(&val, &input_scaler, &target_scaler, &log),
            input_scaler,
            target_scaler,
            input_dim: d,
            target_dim: c,
            fingerprint: data
                .fingerprint()
                .wrapping_mul(31)
                .wrapping_add(validation.map_or(0, Dataset::fingerprint)),
            dominated_inputs,
            noise,
        })
    }

    pub fn train_rows(&self) -> usize {
        self.train.t.len() / self.target_dim
    }

    pub fn val_rows(&self) -> usize {
        self.val.t.len() / self.target_dim
    }
}
