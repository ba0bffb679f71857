//! Training: mini-batch Adam with a validation split, early stopping, roll-back on non-finite
//! losses, checkpoints and exact resumption.

mod checkpoint;
mod history;
mod noise;
mod pass;
mod prepare;
mod progress;
mod rollback;
mod run;
mod selection;
mod stopping;

pub use history::{EpochRecord, History};
pub use selection::{AUTO_COMPONENTS, CandidateScore, ComponentSelection};

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mdn_engine::ValidArchitecture;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use rayon::prelude::*;

use crate::config::{TrainConfig, ValidTrainConfig};
use crate::dataset::Dataset;
use crate::error::{MdnError, Parameter, Result};
use crate::model::{Model, ModelMeta};
use crate::summary::{Recovery, TrainingSummary};
use checkpoint::{CheckpointSchedule, DEFAULT_CHECKPOINT_INTERVAL};
use pass::{NonFinite, PassTotals, residual_std};
use prepare::Prepared;
use progress::EpochBar;
use rollback::Rollback;
use run::{Run, Which};

/// Mixed into the seed of the noise's random numbers (any constant would do).
const NOISE_SEED: u64 = 0x6e6f_6973_6520_7264;
/// Mixed into a member's seed for its bootstrap sample.
const BOOTSTRAP_SEED: u64 = 0x626f_6f74_7374_7270;

/// The result of [`Trainer::fit`].
#[derive(Debug, Clone)]
pub struct Trained {
    /// The model with the kept weights.
    pub model: Model,
    /// Per-epoch metrics (of an ensemble, its first member's).
    pub history: History,
    /// Of an ensemble, every member's per-epoch metrics, in member order (the first is
    /// `history`); empty for a single network.
    pub member_histories: Vec<History>,
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

/// Trains networks. See [`crate::TrainConfig`] for the hyper-parameters.
///
/// # Examples
/// ```no_run
/// use mdn::{Architecture, Backbone, Dataset, TrainConfig, Trainer};
/// # fn main() -> Result<(), mdn::MdnError> {
/// let data = Dataset::new(vec![0.0, 0.5, 1.0], 1, vec![1.0, 0.2, 0.9], 1)?;
/// let architecture = Architecture::mdn(Backbone::mlp(1, vec![32, 32]), 1, 5).check()?;
/// let trained = Trainer::new(TrainConfig::default().check()?).fit(&architecture, &data)?;
/// let mixture = trained.model.predict_one(&[0.5])?;
/// println!("most probable branch: {:?}", mixture.best_mean());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Trainer {
    config: ValidTrainConfig,
    checkpoint: Option<PathBuf>,
    checkpoint_interval: Duration,
    resume: Option<PathBuf>,
    show_progress: bool,
    validation: Option<Dataset>,
    stop: Option<Arc<AtomicBool>>,
}

impl Trainer {
    /// A trainer with `config`, showing a progress bar when stderr is a terminal.
    pub fn new(config: ValidTrainConfig) -> Self {
        Self {
            config,
            checkpoint: None,
            checkpoint_interval: DEFAULT_CHECKPOINT_INTERVAL,
            resume: None,
            show_progress: true,
            validation: None,
            stop: None,
        }
    }

    /// Validates on `data` (for early stopping and learning-rate plateaus) instead of a random
    /// split of the training data, which then is trained on whole: for time-ordered data,
    /// whose later rows must not leak into training through a shuffled split. `data` must
    /// have the training data's schema (encode it with [`Dataset::encode`]).
    pub fn with_validation(mut self, data: Dataset) -> Self {
        self.validation = Some(data);
        self
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

    /// Stops training, with [`MdnError::Interrupted`], before the next epoch once `flag` is
    /// set (by another thread: a signal handler, a user interface). Every network of an
    /// ensemble or of a choice of components watches the same flag.
    pub fn with_stop(mut self, flag: Arc<AtomicBool>) -> Self {
        self.stop = Some(flag);
        self
    }

    /// Shows (the default) or hides the progress bar.
    pub fn with_progress(mut self, show: bool) -> Self {
        self.show_progress = show;
        self
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &ValidTrainConfig {
        &self.config
    }

    /// Trains a network of `architecture` on `data` and returns the model with the lowest
    /// validation loss — or, with [`TrainConfig::ensemble`](crate::TrainConfig::ensemble)
    /// above 1 or `bootstrap`, the deep ensemble of its members, trained side by side on
    /// rayon's threads (`history` and the warnings are the first member's,
    /// `member_histories` every member's).
    pub fn fit(&self, architecture: &ValidArchitecture, data: &Dataset) -> Result<Trained> {
        let config = &self.config;
        let prepared = Prepared::new(architecture, config, data, self.validation.as_ref())?;
        if config.ensemble == 1 && !config.bootstrap {
            return self.fit_prepared(architecture, data, &prepared);
        }
        if self.checkpoint.is_some() || self.resume.is_some() {
            return Err(MdnError::invalid(
                Parameter::Ensemble,
                config.ensemble,
                "checkpoints and resuming cover a single network; train an ensemble without \
                 them",
            ));
        }
        let members = (0..config.ensemble)
            .into_par_iter()
            .map(|k| {
                let seed = config.seed.wrapping_add(k as u64);
                let member = TrainConfig {
                    seed,
                    ..config.config().clone()
                };
                let trainer = Trainer {
                    config: member.check()?,
                    show_progress: false,
                    ..self.clone()
                };
                let mut rows = prepared.clone();
                if config.bootstrap {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ BOOTSTRAP_SEED);
                    rows.train = prepared.train.bootstrapped(prepared.train_rows(), &mut rng);
                }
                trainer.fit_prepared(architecture, data, &rows)
            })
            .collect::<Result<Vec<Trained>>>()?;
        let member_histories: Vec<History> = members.iter().map(|m| m.history.clone()).collect();
        let mut members = members.into_iter();
        let first = members.next().expect("an ensemble has at least one member");
        let models = std::iter::once(first.model)
            .chain(members.map(|m| m.model))
            .collect();
        Ok(Trained {
            model: Model::ensemble(models, config.bootstrap),
            history: first.history,
            member_histories,
            warnings: first.warnings,
        })
    }

    /// [`Trainer::fit`] of one network on prepared rows (split and standardised; the split's
    /// seed need not be this trainer's).
    fn fit_prepared(
        &self,
        architecture: &ValidArchitecture,
        data: &Dataset,
        prepared: &Prepared,
    ) -> Result<Trained> {
        let config = &self.config;
        let mut run = match &self.resume {
            Some(path) => checkpoint::resume(path, architecture, config, prepared)?,
            None => Run::fresh(architecture, config),
        };
        let bar = EpochBar::new(config.epochs, self.show_progress);
        bar.resume_at(&run.progress.history);
        let mut rollback = Rollback::new(config.max_recoveries);
        let mut schedule = CheckpointSchedule::new(self.checkpoint_interval);

        while run.progress.epochs_done < config.epochs && !run.progress.stopping.stopped() {
            if self
                .stop
                .as_ref()
                .is_some_and(|flag| flag.load(Ordering::Relaxed))
            {
                bar.finish(&run.progress.history, run.progress.stopping.best_epoch);
                return Err(MdnError::Interrupted {
                    epochs: run.progress.epochs_done,
                });
            }
            let epoch = run.progress.epochs_done + 1;
            let start = run.clone();
            match self.epoch(&mut run, prepared, epoch) {
                Ok(record) => {
                    bar.epoch_done(&record);
                    self.observe(&mut run, record);
                    rollback.succeeded(start);
                    if let Some(path) = &self.checkpoint
                        && schedule.due()
                    {
                        checkpoint::write(path, config, prepared, &run)?;
                        schedule.written(epoch);
                    }
                }
                Err(NonFinite) => {
                    let progress = &run.progress;
                    let (recoveries, lr) = (progress.recoveries.clone(), progress.learning_rate);
                    let Some(restart) = rollback.failed(start, recoveries.len()) else {
                        bar.finish(&progress.history, progress.stopping.best_epoch);
                        return Err(MdnError::Diverged {
                            epoch,
                            recoveries: recoveries.len(),
                            learning_rate: lr,
                        });
                    };
                    run = restart;
                    run.session.reset_optimizer();
                    let redo = run.progress.epochs_done + 1;
                    let lower = lr * 0.5;
                    run.progress.recoveries = recoveries;
                    run.progress.recoveries.push(Recovery {
                        epoch: redo,
                        learning_rate: lower,
                    });
                    run.progress.learning_rate = lower;
                    bar.warn(&format!(
                        "warning: non-finite loss in epoch {epoch}; rolled back to the start of \
                         epoch {redo} and lowered the learning rate to {lower:e}"
                    ));
                }
            }
        }
        bar.finish(&run.progress.history, run.progress.stopping.best_epoch);
        if let Some(path) = &self.checkpoint
            && schedule.pending(run.progress.epochs_done)
        {
            checkpoint::write(path, config, prepared, &run)?;
        }
        self.finish(architecture, data, prepared, run)
    }

    /// Trains one epoch and scores it on the validation rows: the epoch's record, or
    /// [`NonFinite`] where a loss was not finite.
    fn epoch(
        &self,
        run: &mut Run,
        data: &Prepared,
        epoch: usize,
    ) -> std::result::Result<EpochRecord, NonFinite> {
        let started = Instant::now();
        // Each epoch's order depends only on (seed, epoch), so a resumed run shuffles exactly
        // as the uninterrupted one would have.
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        rng.set_stream(epoch as u64);
        // A batch larger than the data is the whole data (said so by `finish`'s warnings).
        let batch_size = self.config.batch_size.min(data.train_rows());
        // One batch of all rows is the same batch in any order (but for rounding): its rows
        // stay in place (`None`), and the step reads them without a copy.
        let order = (batch_size < data.train_rows()).then(|| {
            let mut order: Vec<usize> = (0..data.train_rows()).collect();
            order.shuffle(&mut rng);
            order
        });
        // The noise has a stream of its own, so that a run without noise shuffles as before.
        let mut noise_rng = ChaCha8Rng::seed_from_u64(self.config.seed ^ NOISE_SEED);
        noise_rng.set_stream(epoch as u64);
        let train = run.train_epoch(data, order.as_deref(), batch_size, &mut noise_rng)?;
        let val = if data.val_rows() == 0 {
            None
        } else {
            // Least-squares NLL uses σ fitted to the epoch's training residuals.
            let residual = train.squared.as_ref().map(|_| residual_std(&train));
            Some(
                run.totals(Which::Current, &data.val, residual.as_deref())
                    .finite()?,
            )
        };
        // NLLs in the targets' own units: the scaling's Jacobian, and that of the logarithm
        // of log targets.
        let jacobian = data.target_scaler.log_jacobian();
        Ok(EpochRecord {
            epoch,
            train_loss: train.mean_loss(),
            train_nll: train.mean_nll() + jacobian + data.train.log_jacobian,
            validation_loss: val.as_ref().map(PassTotals::mean_loss),
            validation_nll: val
                .as_ref()
                .map(|v| v.mean_nll() + jacobian + data.val.log_jacobian),
            learning_rate: run.progress.learning_rate,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Records a finished epoch: keeps its weights if they are the best so far, lowers the
    /// learning rate on a plateau, and stops once patience runs out.
    fn observe(&self, run: &mut Run, record: EpochRecord) {
        let progress = &mut run.progress;
        let verdict = progress.stopping.observe(
            record.epoch,
            record.validation_loss,
            self.config.patience,
            self.config.lr_plateau,
        );
        progress.epochs_done = record.epoch;
        if verdict.halve_learning_rate {
            progress.learning_rate *= 0.5;
        }
        progress.history.epochs.push(record);
        if verdict.improved {
            run.mark_best();
        }
    }

    /// Builds the model from the kept weights, fitting the least-squares residual σ and
    /// measuring the final NLLs.
    fn finish(
        &self,
        architecture: &ValidArchitecture,
        data: &Dataset,
        prepared: &Prepared,
        run: Run,
    ) -> Result<Trained> {
        let residual_std = if architecture.is_mixture() {
            None
        } else {
            Some(residual_std(&run.totals(
                Which::Best,
                &prepared.train,
                None,
            )))
        };
        let jacobian = prepared.target_scaler.log_jacobian();
        let nll = |rows: &prepare::Rows| {
            run.totals(Which::Best, rows, residual_std.as_deref())
                .mean_nll()
                + jacobian
                + rows.log_jacobian
        };
        let progress = &run.progress;
        let summary = TrainingSummary {
            config: self.config.config().clone(),
            epochs_run: progress.epochs_done,
            best_epoch: progress.stopping.best_epoch,
            stopped_early: progress.stopping.stopped(),
            train_rows: prepared.train_rows(),
            validation_rows: prepared.val_rows(),
            train_nll: nll(&prepared.train),
            validation_nll: (prepared.val_rows() > 0).then(|| nll(&prepared.val)),
            recoveries: progress.recoveries.clone(),
            seconds: progress.history.epochs.iter().map(|e| e.seconds).sum(),
            noise_x_sd: prepared.noise.x_sd,
            noise_y_sd: prepared.noise.y_sd,
            component_selection: None,
        };
        let meta = ModelMeta {
            architecture: architecture.clone(),
            schema: data.schema().clone(),
            input_scaler: prepared.input_scaler.clone(),
            target_scaler: prepared.target_scaler.clone(),
            residual_std,
            training: summary,
            created_by: format!("mdn {}", env!("CARGO_PKG_VERSION")),
            ensemble: None,
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
            model: Model::new(run.network(Which::Best), meta),
            history: run.progress.history,
            member_histories: Vec::new(),
            warnings,
        })
    }
}
