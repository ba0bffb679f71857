//! Training: mini-batch Adam with a validation split, early stopping, roll-back on non-finite
//! losses, per-epoch checkpoints and exact resumption.

mod checkpoint;
mod config;
mod history;
mod pass;
mod progress;

pub use config::TrainConfig;
pub use history::{EpochRecord, History};

use std::path::PathBuf;
use std::time::Instant;

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::backbone::BackboneConfig;
use crate::dataset::Dataset;
use crate::error::{MdnError, Result};
use crate::model::{Model, ModelMeta};
use crate::network::{Network, NetworkConfig, Prediction};
use crate::normalize::Standardizer;
use pass::{PassTotals, gaussian_nll, pass_totals, residual_std};

use checkpoint::{Checkpoint, RunProgress};
use progress::EpochBar;

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
}

/// The result of [`Trainer::fit`].
#[derive(Debug, Clone)]
pub struct Trained {
    /// The model with the kept weights.
    pub model: Model,
    /// Per-epoch metrics.
    pub history: History,
}

/// Trains networks. See [`TrainConfig`] for the hyper-parameters.
///
/// # Examples
/// ```no_run
/// use mdn::{BackboneConfig, Dataset, MlpConfig, NetworkConfig, TrainConfig, Trainer};
/// # fn main() -> Result<(), mdn::MdnError> {
/// let data = Dataset::new(vec![0.0, 0.5, 1.0], 1, vec![1.0, 0.2, 0.9], 1)?;
/// let backbone = BackboneConfig::Mlp(MlpConfig::new(1, vec![32, 32]));
/// let trained = Trainer::new(TrainConfig::default())
///     .fit(&NetworkConfig::mdn(backbone, 1, 5), &data)?;
/// let mixture = trained.model.predict_one(&[0.5])?;
/// println!("most probable branch: {:?}", mixture.best_mean());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Trainer {
    config: TrainConfig,
    checkpoint: Option<PathBuf>,
    resume: Option<PathBuf>,
    show_progress: bool,
    device: Device,
}

/// The data prepared for training: split, standardised, as f32.
struct Prepared {
    train_x: Vec<f32>,
    train_t: Vec<f32>,
    val_x: Vec<f32>,
    val_t: Vec<f32>,
    input_scaler: Standardizer,
    target_scaler: Standardizer,
    input_dim: usize,
    target_dim: usize,
    fingerprint: u64,
}

impl Prepared {
    fn train_rows(&self) -> usize {
        self.train_t.len() / self.target_dim
    }

    fn val_rows(&self) -> usize {
        self.val_t.len() / self.target_dim
    }
}

/// The evolving state of a run; everything needed to continue it exactly.
#[derive(Clone)]
struct State {
    network: Network,
    optimizer: ModuleOptimizer,
    best: Network,
    progress: RunProgress,
}

/// A non-finite loss met in a training step or validation pass.
struct NonFinite;

impl Trainer {
    /// A trainer with `config`, on the Flex CPU device, showing a progress bar when stderr is
    /// a terminal.
    pub fn new(config: TrainConfig) -> Self {
        Self {
            config,
            checkpoint: None,
            resume: None,
            show_progress: true,
            device: Device::flex(),
        }
    }

    /// Writes a checkpoint to `path` (atomically) after every epoch.
    pub fn with_checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(path.into());
        self
    }

    /// Continues the run saved in the checkpoint at `path` instead of starting afresh. The
    /// network, data and hyper-parameters must be those of the interrupted run, except
    /// `epochs` and `patience`, which may be raised.
    pub fn resume_from(mut self, path: impl Into<PathBuf>) -> Self {
        self.resume = Some(path.into());
        self
    }

    /// Shows (the default) or hides the progress bar.
    pub fn with_progress(mut self, show: bool) -> Self {
        self.show_progress = show;
        self
    }

    /// Trains on `device` instead of the Flex CPU device (e.g. a wgpu device with the `wgpu`
    /// feature). Pass a plain device; autodiff is enabled internally.
    pub fn with_device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Trains `network` on `data` and returns the model with the lowest validation loss.
    pub fn fit(&self, network: &NetworkConfig, data: &Dataset) -> Result<Trained> {
        self.config.check()?;
        network.check()?;
        let prepared = self.prepare(network, data)?;
        let train_device = self.device.clone().autodiff();
        let mut state = match &self.resume {
            Some(path) => {
                let checkpoint = Checkpoint::read(path)?;
                checkpoint.check_compatible(path, network, &self.config, &prepared)?;
                checkpoint.into_state(path, &train_device, self.optimizer())?
            }
            None => {
                let fresh = network.init(&train_device, self.config.seed)?;
                State {
                    best: fresh.clone(),
                    network: fresh,
                    optimizer: self.optimizer(),
                    progress: RunProgress::new(self.config.learning_rate),
                }
            }
        };

        let bar = EpochBar::new(self.config.epochs, self.show_progress);
        bar.resume_at(&state.progress.history);
        let jacobian = prepared.target_scaler.log_jacobian();
        // The state at the start of the previous epoch, to redo that epoch when it left
        // weights whose loss is already non-finite.
        let mut previous: Option<State> = None;
        let mut failures_in_a_row = 0;

        while state.progress.epochs_done < self.config.epochs && !state.progress.stopped_early {
            let epoch = state.progress.epochs_done + 1;
            let started = Instant::now();
            let snapshot = state.clone();
            let outcome = self
                .train_epoch(&mut state, &prepared, epoch, &train_device)
                .and_then(|train| {
                    let val = self.evaluate(&state.network, &prepared, &train)?;
                    Ok((train, val))
                });
            let (train, val) = match outcome {
                Ok(totals) => totals,
                Err(NonFinite) => {
                    let lr = state.progress.learning_rate * 0.5;
                    if state.progress.recoveries.len() >= self.config.max_recoveries {
                        bar.finish();
                        return Err(MdnError::Diverged {
                            epoch,
                            recoveries: state.progress.recoveries.len(),
                            learning_rate: state.progress.learning_rate,
                        });
                    }
                    let mut recoveries = std::mem::take(&mut state.progress.recoveries);
                    // An epoch that fails again from the same start, at a lower learning rate,
                    // most likely starts from weights the previous epoch left on the edge of
                    // overflow: redo the previous epoch as well.
                    failures_in_a_row += 1;
                    state = match previous.take() {
                        Some(earlier) if failures_in_a_row >= 2 => {
                            failures_in_a_row = 0;
                            earlier
                        }
                        earlier => {
                            previous = earlier;
                            snapshot
                        }
                    };
                    // A diverging step can leave inf or NaN in Adam's moment estimates, which
                    // would poison every later step whatever the learning rate: start them anew.
                    state.optimizer = self.optimizer();
                    let redo = state.progress.epochs_done + 1;
                    recoveries.push(Recovery {
                        epoch: redo,
                        learning_rate: lr,
                    });
                    state.progress.recoveries = recoveries;
                    state.progress.learning_rate = lr;
                    bar.warn(&format!(
                        "warning: non-finite loss in epoch {epoch}; rolled back to the start of \
                         epoch {redo} and lowered the learning rate to {lr:e}"
                    ));
                    continue;
                }
            };
            let record = EpochRecord {
                epoch,
                train_loss: train.mean_loss(),
                train_nll: train.mean_nll() + jacobian,
                validation_loss: val.as_ref().map(PassTotals::mean_loss),
                validation_nll: val.as_ref().map(|v| v.mean_nll() + jacobian),
                learning_rate: state.progress.learning_rate,
                seconds: started.elapsed().as_secs_f64(),
            };
            bar.epoch_done(&record);
            if state
                .progress
                .observe(record, self.config.patience, self.config.lr_plateau)
            {
                state.best = state.network.clone();
            }
            if let Some(path) = &self.checkpoint {
                Checkpoint::capture(network, &self.config, &prepared, &state).write(path)?;
            }
            previous = Some(snapshot);
            failures_in_a_row = 0;
        }
        bar.finish();
        self.finish(network, data, &prepared, state)
    }

    fn optimizer(&self) -> ModuleOptimizer {
        let weight_decay = (self.config.weight_decay > 0.0)
            .then(|| WeightDecayConfig::new(self.config.weight_decay as f32));
        AdamConfig::new()
            // PyTorch's value: Burn's default 1e-5 damps steps when gradients are tiny.
            .with_epsilon(1e-8)
            .with_weight_decay(weight_decay)
            .with_grad_clipping(
                self.config
                    .grad_clip_norm
                    .map(|n| GradientClippingConfig::Norm(n as f32)),
            )
            .init()
    }

    /// Splits, checks and standardises the data.
    fn prepare(&self, network: &NetworkConfig, data: &Dataset) -> Result<Prepared> {
        let (d, c) = (data.input_dim(), data.target_dim());
        if d != network.input() || c != network.target_dim() {
            return Err(MdnError::InvalidData(format!(
                "the data has {d} input and {c} target columns but the network takes {} inputs \
                 and {} targets",
                network.input(),
                network.target_dim()
            )));
        }
        let rows = data.len();
        let val_rows = self.config.validation_rows(rows);
        if self.config.validation_fraction > 0.0 && val_rows == 0 {
            return Err(MdnError::invalid(
                "validation_fraction",
                self.config.validation_fraction,
                format!(
                    "holds out no row of {rows}; raise it, add data, or set it to 0 to train \
                     without validation"
                ),
            ));
        }
        if val_rows >= rows {
            return Err(MdnError::invalid(
                "validation_fraction",
                self.config.validation_fraction,
                format!("leaves no training row of {rows}"),
            ));
        }
        let mut order: Vec<usize> = (0..rows).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(self.config.seed));
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
        let input_scaler = match network.backbone {
            // Pixels share one scale; per-pixel statistics would blow up near-constant borders.
            BackboneConfig::Cnn(_) => Standardizer::fit_global(train.inputs(), d),
            BackboneConfig::Mlp(_) => Standardizer::fit(train.inputs(), d),
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
        })
    }

    /// One pass of mini-batch Adam over the shuffled training rows.
    fn train_epoch(
        &self,
        state: &mut State,
        data: &Prepared,
        epoch: usize,
        device: &Device,
    ) -> std::result::Result<PassTotals, NonFinite> {
        let (d, c) = (data.input_dim, data.target_dim);
        // Each epoch's order depends only on (seed, epoch), so a resumed run shuffles exactly
        // as the uninterrupted one would have.
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        rng.set_stream(epoch as u64);
        let mut order: Vec<usize> = (0..data.train_rows()).collect();
        order.shuffle(&mut rng);

        let mut loss_sum = 0.0;
        // Least squares: squared residuals per target, summed on the device to avoid a
        // second host round-trip per step.
        let mut squared_sum: Option<Tensor<2>> = None;
        let lr = state.progress.learning_rate;
        for batch in order.chunks(self.config.batch_size) {
            let x = gather(&data.train_x, d, batch, device);
            let t = gather(&data.train_t, c, batch, device);
            let loss = match state.network.forward(x) {
                Prediction::Mixture(mixture) => mixture.nll(t),
                Prediction::Point(mean) => {
                    let squared = (mean - t).powi_scalar(2);
                    let per_dim = squared.clone().detach().sum_dim(0);
                    squared_sum = Some(match squared_sum.take() {
                        Some(sum) => sum + per_dim,
                        None => per_dim,
                    });
                    squared.mean()
                }
            };
            let value = f64::from(loss.clone().into_scalar::<f32>());
            if !value.is_finite() {
                return Err(NonFinite);
            }
            loss_sum += value * batch.len() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &state.network);
            let network = state.network.clone();
            state.network = state.optimizer.step(lr, network, grads);
        }
        let mut totals = PassTotals {
            loss: loss_sum,
            nll: loss_sum,
            squared: None,
            rows: order.len(),
        };
        if let Some(sum) = squared_sum {
            totals.squared = Some(sum.into_data().iter::<f64>().collect());
            totals.nll = gaussian_nll(&totals, &residual_std(&totals)) * totals.rows as f64;
        }
        if totals.loss.is_finite() && totals.nll.is_finite() {
            Ok(totals)
        } else {
            Err(NonFinite)
        }
    }

    /// Loss totals of `network` on the validation rows, `None` without a validation split.
    /// Least-squares NLL uses σ fitted to the epoch's training residuals (`train`).
    fn evaluate(
        &self,
        network: &Network,
        data: &Prepared,
        train: &PassTotals,
    ) -> std::result::Result<Option<PassTotals>, NonFinite> {
        if data.val_rows() == 0 {
            return Ok(None);
        }
        let residual = train.squared.as_ref().map(|_| residual_std(train));
        let totals = pass_totals(
            &network.valid(),
            (&data.val_x, &data.val_t),
            data,
            &self.device,
            residual.as_deref(),
        );
        if totals.loss.is_finite() && totals.nll.is_finite() {
            Ok(Some(totals))
        } else {
            Err(NonFinite)
        }
    }

    /// Builds the model from the kept weights, fitting the least-squares residual σ and
    /// measuring the final NLLs.
    fn finish(
        &self,
        network: &NetworkConfig,
        data: &Dataset,
        prepared: &Prepared,
        state: State,
    ) -> Result<Trained> {
        let best = state.best.valid();
        let device = &self.device;
        let residual_std = if network.is_mixture() {
            None
        } else {
            let train = (&prepared.train_x[..], &prepared.train_t[..]);
            Some(residual_std(&pass_totals(
                &best, train, prepared, device, None,
            )))
        };
        let jacobian = prepared.target_scaler.log_jacobian();
        let nll = |x: &[f32], t: &[f32]| {
            let totals = pass_totals(&best, (x, t), prepared, device, residual_std.as_deref());
            totals.mean_nll() + jacobian
        };
        let progress = &state.progress;
        let summary = TrainingSummary {
            config: self.config.clone(),
            epochs_run: progress.epochs_done,
            best_epoch: progress.best_epoch,
            stopped_early: progress.stopped_early,
            train_rows: prepared.train_rows(),
            validation_rows: prepared.val_rows(),
            train_nll: nll(&prepared.train_x, &prepared.train_t),
            validation_nll: (prepared.val_rows() > 0)
                .then(|| nll(&prepared.val_x, &prepared.val_t)),
            recoveries: progress.recoveries.clone(),
            seconds: progress.history.epochs.iter().map(|e| e.seconds).sum(),
        };
        let meta = ModelMeta {
            network: network.clone(),
            input_names: data.input_names().to_vec(),
            target_names: data.target_names().to_vec(),
            input_scaler: prepared.input_scaler.clone(),
            target_scaler: prepared.target_scaler.clone(),
            residual_std,
            training: Some(summary),
            created_by: format!("mdn {}", env!("CARGO_PKG_VERSION")),
        };
        Ok(Trained {
            model: Model::new(best, meta, self.device.clone()),
            history: state.progress.history,
        })
    }
}

/// Rows `rows` of a row-major f32 matrix with `width` columns, as a tensor on `device`.
fn gather(values: &[f32], width: usize, rows: &[usize], device: &Device) -> Tensor<2> {
    let mut batch = Vec::with_capacity(rows.len() * width);
    for &r in rows {
        batch.extend_from_slice(&values[r * width..(r + 1) * width]);
    }
    Tensor::from_data(TensorData::new(batch, [rows.len(), width]), device)
}
