//! Checkpoints: everything needed to continue a run exactly where it stopped, in the model
//! file's format (see the `file` module), and when to write them.

use std::path::Path;
use std::time::{Duration, Instant};

use mdn_engine::{Adam, AdamState, Session, ValidArchitecture};
use serde::{Deserialize, Serialize};

use super::prepare::Prepared;
use super::run::{Progress, Run, adam};
use crate::config::{TrainConfig, ValidTrainConfig};
use crate::error::{MdnError, ModelFileError, Parameter, Result};
use crate::file::{FileKind, Tensor, TensorFile};
use crate::model::{named_tensors, network_from};

/// Name prefix of the current weights in a checkpoint.
const WEIGHTS: &str = "weights.";
/// Name prefix of the best weights so far.
const BEST: &str = "best.";
/// Adam's first and second moments, each one flat vector over all parameters.
const MOMENT_1: &str = "adam.moment_1";
const MOMENT_2: &str = "adam.moment_2";

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

/// The `mdn` metadata of a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointMeta {
    architecture: ValidArchitecture,
    train_config: TrainConfig,
    data_fingerprint: u64,
    progress: Progress,
    /// Adam's step count.
    adam_steps: u64,
    created_by: String,
}

/// Writes the state of `run` to `path` atomically.
pub(super) fn write(
    path: &Path,
    config: &ValidTrainConfig,
    data: &Prepared,
    run: &Run,
) -> Result<()> {
    let network = run.session.network();
    let adam = run.session.optimizer().state();
    let meta = CheckpointMeta {
        architecture: network.architecture().clone(),
        train_config: config.config().clone(),
        data_fingerprint: data.fingerprint,
        progress: run.progress.clone(),
        adam_steps: adam.time,
        created_by: format!("mdn {}", env!("CARGO_PKG_VERSION")),
    };
    let mut tensors = named_tensors(network, WEIGHTS);
    let best = run.network(super::run::Which::Best);
    tensors.extend(named_tensors(&best, BEST));
    for (name, moment) in [(MOMENT_1, &adam.moment_1), (MOMENT_2, &adam.moment_2)] {
        tensors.push(Tensor {
            name: name.into(),
            dims: vec![moment.len()],
            values: moment.clone(),
        });
    }
    let file = TensorFile {
        kind: FileKind::Checkpoint,
        meta: serde_json::to_string(&meta).expect("checkpoint metadata serialises"),
        tensors,
    };
    file.write(path).map_err(|kind| MdnError::file(path, kind))
}

/// The run saved in the checkpoint at `path`, to continue with `architecture`, `config` and
/// `data` — which must be those of the interrupted run (only `epochs` and `patience` may
/// differ, and `epochs` not below the epochs already run).
pub(super) fn resume(
    path: &Path,
    architecture: &ValidArchitecture,
    config: &ValidTrainConfig,
    data: &Prepared,
) -> Result<Run> {
    let fail = |kind| MdnError::file(path, kind);
    let mut file = TensorFile::read(path).map_err(fail)?;
    if file.kind == FileKind::Model {
        return Err(fail(ModelFileError::WrongKind(
            "this is a trained model, not a training checkpoint; resume from the checkpoint \
             file written during training"
                .into(),
        )));
    }
    let meta: CheckpointMeta = serde_json::from_str(&file.meta)
        .map_err(|e| fail(ModelFileError::Corrupt(format!("checkpoint metadata: {e}"))))?;
    check_compatible(path, &meta, architecture, config, data)?;
    let network = network_from(&mut file, WEIGHTS, architecture).map_err(fail)?;
    let best = network_from(&mut file, BEST, architecture).map_err(fail)?;
    let len = network.params().len();
    let mut moment = |name: &str| -> std::result::Result<Vec<f32>, ModelFileError> {
        let tensor = file.take(name)?;
        if tensor.values.len() != len {
            return Err(ModelFileError::Corrupt(format!(
                "'{name}' holds {} values; the network has {len} parameters",
                tensor.values.len()
            )));
        }
        Ok(tensor.values)
    };
    let state = AdamState {
        time: meta.adam_steps,
        moment_1: moment(MOMENT_1).map_err(fail)?,
        moment_2: moment(MOMENT_2).map_err(fail)?,
    };
    let optimizer = Adam::from_state(adam(config), state);
    Ok(Run {
        session: Session::with_optimizer(network, optimizer),
        best: best.params().to_vec(),
        progress: meta.progress,
    })
}

/// Refuses to continue a run on another architecture, other data or other hyper-parameters,
/// naming what differs.
fn check_compatible(
    path: &Path,
    meta: &CheckpointMeta,
    architecture: &ValidArchitecture,
    config: &ValidTrainConfig,
    data: &Prepared,
) -> Result<()> {
    let mismatch = |what: &str| {
        Err(MdnError::file(
            path,
            ModelFileError::Mismatch(format!("cannot resume: {what}")),
        ))
    };
    if &meta.architecture != architecture {
        return mismatch("the checkpoint was made with another network architecture");
    }
    if meta.data_fingerprint != data.fingerprint {
        return mismatch("the checkpoint was made on different data");
    }
    let (saved, now) = (&meta.train_config, config.config());
    let fields: [(Parameter, String, String); 10] = [
        (
            Parameter::BatchSize,
            shown(saved.batch_size),
            shown(now.batch_size),
        ),
        (
            Parameter::LearningRate,
            shown(saved.learning_rate),
            shown(now.learning_rate),
        ),
        (
            Parameter::WeightDecay,
            shown(saved.weight_decay),
            shown(now.weight_decay),
        ),
        (
            Parameter::ValidationFraction,
            shown(saved.validation_fraction),
            shown(now.validation_fraction),
        ),
        (
            Parameter::LrPlateau,
            shown(saved.lr_plateau),
            shown(now.lr_plateau),
        ),
        (Parameter::Seed, shown(saved.seed), shown(now.seed)),
        (
            Parameter::GradClipNorm,
            shown(saved.grad_clip_norm),
            shown(now.grad_clip_norm),
        ),
        (
            Parameter::MaxRecoveries,
            shown(saved.max_recoveries),
            shown(now.max_recoveries),
        ),
        (
            Parameter::NoiseX,
            saved.noise_x.to_string(),
            now.noise_x.to_string(),
        ),
        (
            Parameter::NoiseY,
            saved.noise_y.to_string(),
            now.noise_y.to_string(),
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
    let done = meta.progress.epochs_done;
    if now.epochs < done {
        return Err(MdnError::invalid(
            Parameter::Epochs,
            now.epochs,
            format!(
                "the checkpoint {} has already run {done} epochs; ask for at least that many",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// A hyper-parameter's value as messages show it: the number, or `none`.
fn shown<T: std::fmt::Debug>(value: T) -> String {
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
    fn values_are_shown_as_typed() {
        assert_eq!(shown(0.003), "0.003");
        assert_eq!(shown(Some(3usize)), "3");
        assert_eq!(shown(None::<f64>), "none");
    }
}
