//! Per-epoch checkpoints: everything needed to continue a run exactly where it stopped.

use std::path::Path;
use std::time::{Duration, Instant};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::state::{State, Weights, Which};
use super::{EpochRecord, History, Prepared, Recovery, TrainConfig};
use crate::container::Container;
use crate::engine::Engine;
use crate::error::{MdnError, ModelFileError, Result};
use crate::model::{CHECKPOINT_SECTION, MODEL_SECTION, WEIGHTS_SECTION, load_weights};
use crate::network::{Network, NetworkConfig};

const BEST_WEIGHTS_SECTION: &str = "best_weights";
/// Burn's optimizer record (the Burn engine).
const OPTIMIZER_SECTION: &str = "optimizer";
/// The CPU engine's Adam state, in [`adam_bytes`]' format.
const ADAM_SECTION: &str = "adam";

/// The serialisable part of a run's state: counters, learning rate, early-stopping
/// bookkeeping and history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct RunProgress {
    pub epochs_done: usize,
    pub learning_rate: f64,
    /// Epoch (from 1) of the kept weights; 0 before the first epoch.
    pub best_epoch: usize,
    /// Lowest validation loss so far (`None` before the first epoch or without validation).
    pub best_loss: Option<f64>,
    pub epochs_since_best: usize,
    pub stopped_early: bool,
    pub recoveries: Vec<Recovery>,
    pub history: History,
}

impl RunProgress {
    pub fn new(learning_rate: f64) -> Self {
        Self {
            epochs_done: 0,
            learning_rate,
            best_epoch: 0,
            best_loss: None,
            epochs_since_best: 0,
            stopped_early: false,
            recoveries: Vec::new(),
            history: History::default(),
        }
    }

    /// Records a finished epoch; returns whether its weights are the new best. Without a
    /// validation split every epoch is the new best (the last weights are kept). Halves the
    /// learning rate at every `lr_plateau` epochs without improvement.
    pub fn observe(
        &mut self,
        record: EpochRecord,
        patience: Option<usize>,
        lr_plateau: Option<usize>,
    ) -> bool {
        self.epochs_done = record.epoch;
        let improved = match (record.validation_loss, self.best_loss) {
            (None, _) => true,
            (Some(loss), None) => {
                self.best_loss = Some(loss);
                true
            }
            (Some(loss), Some(best)) if loss < best => {
                self.best_loss = Some(loss);
                true
            }
            _ => false,
        };
        if improved {
            self.best_epoch = record.epoch;
            self.epochs_since_best = 0;
        } else {
            self.epochs_since_best += 1;
            if lr_plateau.is_some_and(|n| self.epochs_since_best.is_multiple_of(n)) {
                self.learning_rate *= 0.5;
            }
            if patience.is_some_and(|p| self.epochs_since_best >= p) {
                self.stopped_early = true;
            }
        }
        self.history.epochs.push(record);
        improved
    }
}

/// The least time between two checkpoints unless the caller sets another.
pub(crate) const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(5);

/// When to write a checkpoint: after an epoch once `interval` has passed since the last write
/// (or since the start), and after the last epoch if that one was not written — so that a run
/// of many short epochs writes a few files, not one per epoch.
pub(super) struct CheckpointSchedule {
    interval: Duration,
    last_write: Instant,
    written_epoch: Option<usize>,
}

impl CheckpointSchedule {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last_write: Instant::now(),
            written_epoch: None,
        }
    }

    /// Whether the epoch just finished should be written.
    pub fn due(&self) -> bool {
        self.last_write.elapsed() >= self.interval
    }

    /// Records that `epoch` was written.
    pub fn written(&mut self, epoch: usize) {
        self.last_write = Instant::now();
        self.written_epoch = Some(epoch);
    }

    /// Whether the state after `epochs_done` epochs still needs writing at the end of a run.
    pub fn pending(&self, epochs_done: usize) -> bool {
        self.written_epoch != Some(epochs_done)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointMeta {
    network: NetworkConfig,
    train_config: TrainConfig,
    data_fingerprint: u64,
    progress: RunProgress,
    created_by: String,
}

/// The optimiser's state in a checkpoint, in the format of the engine that wrote it.
enum OptimizerBytes {
    /// Burn's optimizer record.
    Burn(Vec<u8>),
    /// The CPU engine's Adam state.
    Cpu(Vec<u8>),
}

/// A run's state as stored on disk.
pub(super) struct Checkpoint {
    meta: CheckpointMeta,
    weights: Vec<u8>,
    best_weights: Vec<u8>,
    optimizer: OptimizerBytes,
}

/// The CPU engine's Adam state as bytes: step count and length (u64 little-endian), then the
/// first and second moments (f32 little-endian).
fn adam_bytes(state: &mdn_cpu::AdamState) -> Vec<u8> {
    let len = state.moment_1.len();
    let mut bytes = Vec::with_capacity(16 + 8 * len);
    bytes.extend_from_slice(&state.time.to_le_bytes());
    bytes.extend_from_slice(&(len as u64).to_le_bytes());
    for v in state.moment_1.iter().chain(&state.moment_2) {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes
}

/// Reads [`adam_bytes`]' format for a network of `len` parameters.
fn adam_state(bytes: &[u8], len: usize) -> std::result::Result<mdn_cpu::AdamState, String> {
    let word = |i: usize| -> u64 {
        u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"))
    };
    if bytes.len() < 16 {
        return Err("the optimizer state is truncated".into());
    }
    let (time, stored) = (word(0), word(1));
    if stored != len as u64 || bytes.len() != 16 + 8 * len {
        return Err(format!(
            "the optimizer state holds {stored} parameters in {} bytes; the network has {len}",
            bytes.len()
        ));
    }
    let floats: Vec<f32> = bytes[16..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
        .collect();
    let (moment_1, moment_2) = floats.split_at(len);
    Ok(mdn_cpu::AdamState {
        time,
        moment_1: moment_1.to_vec(),
        moment_2: moment_2.to_vec(),
    })
}

impl Checkpoint {
    pub fn capture(
        network: &NetworkConfig,
        config: &TrainConfig,
        data: &Prepared,
        state: &State,
    ) -> Self {
        Self {
            meta: CheckpointMeta {
                network: network.clone(),
                train_config: config.clone(),
                data_fingerprint: data.fingerprint,
                progress: state.progress.clone(),
                created_by: format!("mdn {}", env!("CARGO_PKG_VERSION")),
            },
            weights: state.weights_bytes(Which::Current),
            best_weights: state.weights_bytes(Which::Best),
            optimizer: match &state.weights {
                Weights::Burn { optimizer, .. } => OptimizerBytes::Burn(
                    optimizer
                        .into_bytes()
                        .expect("an in-memory optimizer record always serialises")
                        .to_vec(),
                ),
                Weights::Cpu { session, .. } => {
                    OptimizerBytes::Cpu(adam_bytes(session.optimizer().state()))
                }
            },
        }
    }

    /// Writes the checkpoint atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut container = Container::default();
        let meta = serde_json::to_vec_pretty(&self.meta).expect("checkpoint metadata serialises");
        container.push(CHECKPOINT_SECTION, meta);
        container.push(WEIGHTS_SECTION, self.weights.clone());
        container.push(BEST_WEIGHTS_SECTION, self.best_weights.clone());
        match &self.optimizer {
            OptimizerBytes::Burn(bytes) => container.push(OPTIMIZER_SECTION, bytes.clone()),
            OptimizerBytes::Cpu(bytes) => container.push(ADAM_SECTION, bytes.clone()),
        }
        container
            .write(path)
            .map_err(|kind| MdnError::file(path, kind))
    }

    pub fn read(path: &Path) -> Result<Self> {
        let fail = |kind| MdnError::file(path, kind);
        let container = Container::read(path).map_err(fail)?;
        if !container.has_section(CHECKPOINT_SECTION) && container.has_section(MODEL_SECTION) {
            return Err(fail(ModelFileError::WrongKind(
                "this is a trained model, not a training checkpoint; resume from the \
                 checkpoint file written during training"
                    .into(),
            )));
        }
        let section = |name| container.section(name).map(<[u8]>::to_vec).map_err(fail);
        let meta = serde_json::from_slice(&section(CHECKPOINT_SECTION)?)
            .map_err(|e| fail(ModelFileError::Corrupt(format!("checkpoint metadata: {e}"))))?;
        let optimizer = if container.has_section(ADAM_SECTION) {
            OptimizerBytes::Cpu(section(ADAM_SECTION)?)
        } else {
            OptimizerBytes::Burn(section(OPTIMIZER_SECTION)?)
        };
        Ok(Self {
            meta,
            weights: section(WEIGHTS_SECTION)?,
            best_weights: section(BEST_WEIGHTS_SECTION)?,
            optimizer,
        })
    }

    /// Refuses to continue a run on another architecture, other data or other
    /// hyper-parameters (only `epochs` and `patience` may change, and `epochs` not below the
    /// epochs already run), naming what differs.
    pub fn check_compatible(
        &self,
        path: &Path,
        network: &NetworkConfig,
        config: &TrainConfig,
        data: &Prepared,
    ) -> Result<()> {
        let mismatch = |what: String| {
            Err(MdnError::file(
                path,
                ModelFileError::Mismatch(format!("cannot resume: {what}")),
            ))
        };
        if &self.meta.network != network {
            return mismatch("the checkpoint was made with another network architecture".into());
        }
        if self.meta.data_fingerprint != data.fingerprint {
            return mismatch("the checkpoint was made on different data".into());
        }
        let saved = &self.meta.train_config;
        // The engine is checked by `into_state`, on what it resolves to: `auto` and `cpu` both
        // continue a checkpoint of the CPU engine.
        let fields: [(&'static str, String, String); 8] = [
            ("batch_size", fmt(saved.batch_size), fmt(config.batch_size)),
            (
                "learning_rate",
                fmt(saved.learning_rate),
                fmt(config.learning_rate),
            ),
            (
                "weight_decay",
                fmt(saved.weight_decay),
                fmt(config.weight_decay),
            ),
            (
                "validation_fraction",
                fmt(saved.validation_fraction),
                fmt(config.validation_fraction),
            ),
            ("lr_plateau", fmt(saved.lr_plateau), fmt(config.lr_plateau)),
            ("seed", fmt(saved.seed), fmt(config.seed)),
            (
                "grad_clip_norm",
                fmt(saved.grad_clip_norm),
                fmt(config.grad_clip_norm),
            ),
            (
                "max_recoveries",
                fmt(saved.max_recoveries),
                fmt(config.max_recoveries),
            ),
        ];
        if let Some((parameter, checkpoint, requested)) =
            fields.into_iter().find(|(_, saved, now)| saved != now)
        {
            return Err(MdnError::ResumeMismatch {
                path: path.to_path_buf(),
                parameter,
                checkpoint,
                requested,
            });
        }
        let done = self.meta.progress.epochs_done;
        if config.epochs < done {
            return Err(MdnError::invalid(
                "epochs",
                config.epochs,
                format!(
                    "the checkpoint {} has already run {done} epochs; ask for at least that many",
                    path.display()
                ),
            ));
        }
        Ok(())
    }

    /// The training state stored in the checkpoint read from `path` (named in errors), for
    /// `engine` ([`Engine::Burn`] or [`Engine::Cpu`]) on `device`. A checkpoint continues on
    /// the engine that wrote it: the two keep Adam's state in different forms.
    pub fn into_state(
        self,
        path: &Path,
        engine: Engine,
        device: &Device,
        burn_optimizer: impl FnOnce() -> ModuleOptimizer,
        cpu_adam: mdn_cpu::AdamConfig,
    ) -> Result<State> {
        let corrupt = |e: ModelFileError| MdnError::file(path, e);
        let wrong_engine = |written: Engine| {
            Err(MdnError::file(
                path,
                ModelFileError::Mismatch(format!(
                    "cannot resume: the checkpoint was written by the {written} engine and this \
                     run uses the {engine} engine; resume with engine {written} (`--engine \
                     {written}`)"
                )),
            ))
        };
        // The current and the best weights, as networks on `device`.
        let networks = |device: &Device| -> Result<(Network, Network)> {
            let fresh = self.meta.network.init(device, 0)?;
            let best = load_weights(fresh.clone(), &self.best_weights).map_err(corrupt)?;
            Ok((load_weights(fresh, &self.weights).map_err(corrupt)?, best))
        };
        let weights = match (self.optimizer, engine) {
            (OptimizerBytes::Burn(bytes), Engine::Burn) => {
                let (network, best) = networks(&device.clone().autodiff())?;
                let optimizer = burn_optimizer()
                    .from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
                    .map_err(|e| {
                        corrupt(ModelFileError::Corrupt(format!("optimizer state: {e}")))
                    })?;
                Weights::Burn {
                    network,
                    optimizer,
                    best,
                }
            }
            (OptimizerBytes::Cpu(bytes), Engine::Cpu) => {
                let (network, best) = networks(device)?;
                let state = adam_state(&bytes, network.num_params())
                    .map_err(|e| corrupt(ModelFileError::Corrupt(e)))?;
                let adam = mdn_cpu::Adam::from_state(cpu_adam, state);
                Weights::cpu(&network, Some(&best), &self.meta.network, |network| {
                    mdn_cpu::Session::with_optimizer(network, adam)
                })
            }
            (OptimizerBytes::Burn(_), _) => return wrong_engine(Engine::Burn),
            (OptimizerBytes::Cpu(_), _) => return wrong_engine(Engine::Cpu),
        };
        Ok(State {
            weights,
            progress: self.meta.progress,
        })
    }
}

/// A hyper-parameter's value as messages show it: the number, or `none`.
fn fmt<T: std::fmt::Debug>(value: T) -> String {
    let text = format!("{value:?}");
    match text.strip_prefix("Some(").and_then(|t| t.strip_suffix(')')) {
        Some(inner) => inner.to_string(),
        None if text == "None" => "none".to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: usize, validation_loss: f64) -> EpochRecord {
        EpochRecord {
            epoch,
            train_loss: 1.0,
            train_nll: 1.0,
            validation_loss: Some(validation_loss),
            validation_nll: Some(validation_loss),
            learning_rate: 0.0,
            seconds: 0.0,
        }
    }

    #[test]
    fn checkpoints_are_spaced_out_and_the_last_epoch_is_always_written() {
        let schedule = CheckpointSchedule::new(Duration::from_secs(3600));
        assert!(!schedule.due(), "an hour has not passed");
        assert!(
            schedule.pending(1),
            "an unwritten last epoch is written at the end"
        );
        let mut every_epoch = CheckpointSchedule::new(Duration::ZERO);
        assert!(every_epoch.due());
        every_epoch.written(1);
        assert!(
            !every_epoch.pending(1),
            "the last epoch was already written"
        );
        assert!(every_epoch.pending(0) && every_epoch.due());
    }

    #[test]
    fn plateaus_halve_the_learning_rate_and_patience_stops() {
        let mut progress = RunProgress::new(0.8);
        assert!(progress.observe(record(1, 1.0), Some(7), Some(3)));
        let mut rates = Vec::new();
        for epoch in 2..=8 {
            assert!(!progress.observe(record(epoch, 2.0), Some(7), Some(3)));
            rates.push(progress.learning_rate);
        }
        // Halved after 3 and 6 epochs without improvement; stopped after 7.
        assert_eq!(rates, [0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2]);
        assert!(progress.stopped_early);
        // An improvement resets the count but keeps the lowered rate.
        let mut progress = RunProgress::new(0.8);
        progress.observe(record(1, 1.0), None, Some(2));
        progress.observe(record(2, 2.0), None, Some(2));
        progress.observe(record(3, 0.5), None, Some(2));
        progress.observe(record(4, 2.0), None, Some(2));
        assert_eq!(progress.learning_rate, 0.8);
        progress.observe(record(5, 2.0), None, Some(2));
        assert_eq!(progress.learning_rate, 0.4);
        assert!(!progress.stopped_early);
    }
}
