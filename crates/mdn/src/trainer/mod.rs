//! Training: mini-batch Adam with a validation split, early stopping, roll-back on non-finite
//! losses, per-epoch checkpoints and exact resumption.

mod burn_steps;
mod checkpoint;
mod config;
mod cpu_steps;
mod history;
mod pass;
mod progress;
mod state;

pub use config::TrainConfig;
pub use history::{EpochRecord, History};

use std::path::PathBuf;
use std::time::{Duration, Instant};

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::backbone::BackboneConfig;
use crate::dataset::Dataset;
use crate::engine::Engine;
use crate::error::{MdnError, Result};
use crate::model::{Model, ModelMeta};
use crate::network::NetworkConfig;
use crate::normalize::Standardizer;
use mdn_cpu::Session;
use pass::{PassTotals, residual_std};
use state::{State, Weights, Which};

use checkpoint::{Checkpoint, CheckpointSchedule, DEFAULT_CHECKPOINT_INTERVAL, RunProgress};
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
    /// The implementation that computed the training steps ([`Engine::Burn`] or
    /// [`Engine::Cpu`]); models written before engines existed were trained by Burn.
    #[serde(default = "burn_engine")]
    pub engine: Engine,
}

fn burn_engine() -> Engine {
    Engine::Burn
}

/// The result of [`Trainer::fit`].
#[derive(Debug, Clone)]
pub struct Trained {
    /// The model with the kept weights.
    pub model: Model,
    /// Per-epoch metrics.
    pub history: History,
    /// What the caller should be told about the data or the options (training went ahead).
    pub warnings: Vec<TrainingWarning>,
}

/// Something about a training run worth telling the user, though training went ahead.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainingWarning {
    /// The batch size exceeds the training rows, so each step uses all of them.
    BatchLargerThanData {
        /// The batch size asked for.
        batch_size: usize,
        /// The training rows, which each step uses.
        rows: usize,
    },
    /// Nearly every value of an input column lies within a tiny fraction of the column's
    /// standard deviation of the others: a few extreme values set its scale, and the network
    /// sees the rest as one value.
    DominatedInput {
        /// The column's name.
        column: String,
        /// The share of rows in the narrow band.
        share: f64,
    },
}

impl std::fmt::Display for TrainingWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainingWarning::BatchLargerThanData { batch_size, rows } => write!(
                f,
                "the batch size {batch_size} is larger than the {rows} training rows; each \
                 step uses all {rows}"
            ),
            TrainingWarning::DominatedInput { column, share } => write!(
                f,
                "input '{column}': {:.1}% of the training rows lie within 1e-6 standard \
                 deviations of each other, so a few extreme values set its scale and the \
                 network can hardly tell the others apart; consider removing the outliers or \
                 transforming the column (e.g. its logarithm)",
                100.0 * share
            ),
        }
    }
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
    checkpoint_interval: Duration,
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
    /// Input columns whose scale a few extreme values set: (column, share of rows in the
    /// narrow band).
    dominated_inputs: Vec<(usize, f64)>,
}

impl Prepared {
    fn train_rows(&self) -> usize {
        self.train_t.len() / self.target_dim
    }

    fn val_rows(&self) -> usize {
        self.val_t.len() / self.target_dim
    }
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
            checkpoint_interval: DEFAULT_CHECKPOINT_INTERVAL,
            resume: None,
            show_progress: true,
            device: Device::flex(),
        }
    }

    /// Writes a checkpoint to `path` (atomically) during training — after an epoch once at
    /// least the checkpoint interval has passed since the last one (see
    /// [`Trainer::with_checkpoint_interval`]) — and after the last epoch. Without it, nothing
    /// is written while training.
    pub fn with_checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(path.into());
        self
    }

    /// The least time between two checkpoints (default 5 s; zero writes one after every
    /// epoch). A run interrupted loses at most this much work, plus an epoch.
    pub fn with_checkpoint_interval(mut self, interval: Duration) -> Self {
        self.checkpoint_interval = interval;
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
        let engine = self.config.engine.resolve(&self.device, network)?;
        let prepared = self.prepare(network, data)?;
        let train_device = self.device.clone().autodiff();
        let mut state = match &self.resume {
            Some(path) => {
                let checkpoint = Checkpoint::read(path)?;
                checkpoint.check_compatible(path, network, &self.config, &prepared)?;
                checkpoint.into_state(
                    path,
                    engine,
                    &self.device,
                    || self.optimizer(),
                    self.cpu_adam(),
                )?
            }
            None => State {
                weights: self.fresh_weights(engine, network)?,
                progress: RunProgress::new(self.config.learning_rate),
            },
        };

        let bar = EpochBar::new(self.config.epochs, self.show_progress);
        bar.resume_at(&state.progress.history);
        let jacobian = prepared.target_scaler.log_jacobian();
        // The state at the start of the previous epoch, to redo that epoch when it left
        // weights whose loss is already non-finite.
        let mut previous: Option<State> = None;
        let mut failures_in_a_row = 0;
        let mut schedule = CheckpointSchedule::new(self.checkpoint_interval);

        while state.progress.epochs_done < self.config.epochs && !state.progress.stopped_early {
            let epoch = state.progress.epochs_done + 1;
            let started = Instant::now();
            let snapshot = state.clone();
            let outcome = self
                .train_epoch(&mut state, &prepared, epoch, &train_device)
                .and_then(|train| {
                    let val = self.evaluate(&state, &prepared, &train)?;
                    Ok((train, val))
                });
            let (train, val) = match outcome {
                Ok(totals) => totals,
                Err(NonFinite) => {
                    let lr = state.progress.learning_rate * 0.5;
                    if state.progress.recoveries.len() >= self.config.max_recoveries {
                        bar.finish(&state.progress.history, state.progress.best_epoch);
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
                    state.reset_optimizer(|| self.optimizer());
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
                state.mark_best();
            }
            if let Some(path) = &self.checkpoint
                && schedule.due()
            {
                Checkpoint::capture(network, &self.config, &prepared, &state).write(path)?;
                schedule.written(epoch);
            }
            previous = Some(snapshot);
            failures_in_a_row = 0;
        }
        bar.finish(&state.progress.history, state.progress.best_epoch);
        if let Some(path) = &self.checkpoint
            && schedule.pending(state.progress.epochs_done)
        {
            Checkpoint::capture(network, &self.config, &prepared, &state).write(path)?;
        }
        self.finish(network, data, &prepared, state, engine)
    }

    /// A freshly initialised run (the same initial weights on either engine).
    fn fresh_weights(&self, engine: Engine, network: &NetworkConfig) -> Result<Weights> {
        Ok(match engine {
            Engine::Cpu => {
                let fresh = network.init(&self.device, self.config.seed)?;
                let adam = self.cpu_adam();
                Weights::cpu(&fresh, None, network, |network| Session::new(network, adam))
            }
            _ => {
                let fresh = network.init(&self.device.clone().autodiff(), self.config.seed)?;
                Weights::Burn {
                    best: fresh.clone(),
                    network: fresh,
                    optimizer: self.optimizer(),
                }
            }
        })
    }

    /// The CPU engine's Adam, configured as [`Trainer::optimizer`] configures Burn's.
    fn cpu_adam(&self) -> mdn_cpu::AdamConfig {
        mdn_cpu::AdamConfig {
            weight_decay: (self.config.weight_decay > 0.0)
                .then_some(self.config.weight_decay as f32),
            clip_norm: self.config.grad_clip_norm.map(|n| n as f32),
            ..mdn_cpu::AdamConfig::default()
        }
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
        let (input_scaler, dominated_inputs) = match network.backbone {
            // Pixels share one scale; per-pixel statistics would blow up near-constant borders.
            BackboneConfig::Cnn(_) => (Standardizer::fit_global(train.inputs(), d), Vec::new()),
            BackboneConfig::Mlp(_) => (
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

    /// One pass of mini-batch Adam over the shuffled training rows.
    fn train_epoch(
        &self,
        state: &mut State,
        data: &Prepared,
        epoch: usize,
        device: &Device,
    ) -> std::result::Result<PassTotals, NonFinite> {
        // Each epoch's order depends only on (seed, epoch), so a resumed run shuffles exactly
        // as the uninterrupted one would have.
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        rng.set_stream(epoch as u64);
        let mut order: Vec<usize> = (0..data.train_rows()).collect();
        order.shuffle(&mut rng);
        // A batch larger than the data is the whole data (said so by `fit`'s warnings).
        let batch_size = self.config.batch_size.min(data.train_rows());
        state.train_epoch(data, &order, batch_size, device)
    }

    /// Loss totals of the current weights on the validation rows, `None` without a validation
    /// split. Least-squares NLL uses σ fitted to the epoch's training residuals (`train`).
    fn evaluate(
        &self,
        state: &State,
        data: &Prepared,
        train: &PassTotals,
    ) -> std::result::Result<Option<PassTotals>, NonFinite> {
        if data.val_rows() == 0 {
            return Ok(None);
        }
        let residual = train.squared.as_ref().map(|_| residual_std(train));
        let rows = (&data.val_x[..], &data.val_t[..]);
        let totals = state.loss_totals(
            Which::Current,
            rows,
            data,
            &self.device,
            residual.as_deref(),
        );
        totals.finite().map(Some)
    }

    /// Builds the model from the kept weights, fitting the least-squares residual σ and
    /// measuring the final NLLs.
    fn finish(
        &self,
        network: &NetworkConfig,
        data: &Dataset,
        prepared: &Prepared,
        state: State,
        engine: Engine,
    ) -> Result<Trained> {
        let device = &self.device;
        let train = (&prepared.train_x[..], &prepared.train_t[..]);
        let residual_std = if network.is_mixture() {
            None
        } else {
            let totals = state.loss_totals(Which::Best, train, prepared, device, None);
            Some(residual_std(&totals))
        };
        let jacobian = prepared.target_scaler.log_jacobian();
        let nll = |x: &[f32], t: &[f32]| {
            let totals = state.loss_totals(
                Which::Best,
                (x, t),
                prepared,
                device,
                residual_std.as_deref(),
            );
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
            engine,
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
        let mut warnings = Vec::new();
        if self.config.batch_size > prepared.train_rows() {
            warnings.push(TrainingWarning::BatchLargerThanData {
                batch_size: self.config.batch_size,
                rows: prepared.train_rows(),
            });
        }
        for &(column, share) in &prepared.dominated_inputs {
            warnings.push(TrainingWarning::DominatedInput {
                column: data.input_names()[column].clone(),
                share,
            });
        }
        Ok(Trained {
            model: Model::new(state.network(Which::Best), meta, self.device.clone()),
            history: state.progress.history,
            warnings,
        })
    }
}
