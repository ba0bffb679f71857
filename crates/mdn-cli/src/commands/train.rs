//! `mdn train`: fit an MDN (or the least-squares network) to columns of a CSV file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use mdn::{
    Activation, BackboneConfig, CovarianceKind, Dataset, MdnError, MlpConfig, NetworkConfig,
    TrainConfig, Trainer,
};

use super::engine::EngineArg;
use crate::columns;
use crate::errors::cli_error;
use crate::output::{check_writable, parent_dir};
use crate::table::read_columns;

/// Which network to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelType {
    /// A mixture density network, trained by negative log-likelihood.
    Mdn,
    /// The least-squares network with the same backbone (predicts the conditional mean; its
    /// density is a Gaussian with σ fitted to the training residuals).
    Mse,
}

/// Covariance of each mixture component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CovarianceArg {
    /// One σ per component (Bishop's choice).
    Isotropic,
    /// One σ per component and target.
    Diagonal,
    /// A full covariance matrix per component (Cholesky-parameterised).
    Full,
}

impl From<CovarianceArg> for CovarianceKind {
    fn from(value: CovarianceArg) -> Self {
        match value {
            CovarianceArg::Isotropic => CovarianceKind::Isotropic,
            CovarianceArg::Diagonal => CovarianceKind::Diagonal,
            CovarianceArg::Full => CovarianceKind::Full,
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
Example (Bishop's toy inverse problem):
  mdn data toy --n 1000 --out toy.csv
  mdn train --data toy.csv --inputs x --targets t --components 5 --out toy.mdn

Writes the model to --out, per-epoch metrics to --history (default MODEL.history.csv), and a
checkpoint after every epoch to --checkpoint (default MODEL.ckpt, removed after a successful
run unless given explicitly). Resume an interrupted run with the same options plus
--resume MODEL.ckpt.")]
pub struct TrainArgs {
    /// CSV file with a header row.
    #[arg(long, value_name = "FILE.csv")]
    data: PathBuf,
    /// Input columns, comma-separated header names.
    #[arg(long, value_name = "COLS")]
    inputs: String,
    /// Target columns, comma-separated header names.
    #[arg(long, value_name = "COLS")]
    targets: String,
    /// Where to write the trained model.
    #[arg(long, value_name = "MODEL")]
    out: PathBuf,
    /// Number of mixture components.
    #[arg(long, default_value_t = 5, allow_negative_numbers = true)]
    components: usize,
    /// Covariance of each component.
    #[arg(long, value_enum, default_value_t = CovarianceArg::Isotropic)]
    covariance: CovarianceArg,
    /// Hidden layer widths, comma-separated (empty for a linear model).
    #[arg(long, default_value = "32,32", value_name = "WIDTHS")]
    hidden: String,
    /// Hidden-unit activation (Bishop used tanh).
    #[arg(long, default_value = "tanh", value_parser = ["tanh", "relu", "gelu"])]
    activation: String,
    /// Maximum number of epochs.
    #[arg(long, default_value_t = TrainConfig::default().epochs, allow_negative_numbers = true)]
    epochs: usize,
    /// Examples per optimisation step.
    #[arg(long, default_value_t = TrainConfig::default().batch_size, allow_negative_numbers = true)]
    batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = TrainConfig::default().learning_rate, allow_negative_numbers = true)]
    lr: f64,
    /// L2 weight decay.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    weight_decay: f64,
    /// Fraction of rows held out for validation and early stopping, in [0, 1).
    #[arg(long, default_value_t = TrainConfig::default().validation_fraction, allow_negative_numbers = true)]
    val_fraction: f64,
    /// Stop after this many epochs without improvement on the validation rows.
    #[arg(long, default_value_t = 100, allow_negative_numbers = true)]
    patience: usize,
    /// Halve the learning rate after every N epochs without improvement on the validation
    /// rows (off by default; pick N well below --patience).
    #[arg(long, value_name = "N")]
    lr_plateau: Option<usize>,
    /// Never stop early (train all --epochs).
    #[arg(long, conflicts_with = "patience")]
    no_early_stopping: bool,
    /// Seed for initialisation, validation split and shuffling.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    seed: u64,
    /// `mdn` for a mixture density network, `mse` for the least-squares network.
    #[arg(long, value_enum, default_value_t = ModelType::Mdn)]
    model_type: ModelType,
    /// Floor on every standard deviation, in units of the target's standard deviation.
    #[arg(long, default_value_t = 1e-3, allow_negative_numbers = true)]
    min_sigma: f64,
    /// Clip each parameter's gradient to this L2 norm.
    #[arg(long, value_name = "NORM", allow_negative_numbers = true)]
    grad_clip: Option<f64>,
    /// Continue the run saved in this checkpoint.
    #[arg(long, value_name = "CHECKPOINT")]
    resume: Option<PathBuf>,
    /// Where to write the per-epoch checkpoint (kept after success when given).
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Where to write per-epoch metrics (.csv or .json).
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
    /// Which implementation trains the network (the results agree to f32 rounding; `auto` is
    /// several times faster on the CPU). A checkpoint resumes on the engine that wrote it.
    #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
    engine: EngineArg,
    /// No progress bar or summary.
    #[arg(long, short)]
    quiet: bool,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    parent_dir(path).join(name)
}

pub fn run(args: TrainArgs) -> Result<()> {
    let (input_names, target_names) = columns::inputs_and_targets(&args.inputs, &args.targets)?;
    let hidden = if args.hidden.trim().is_empty() {
        Vec::new()
    } else {
        columns::parse_numbers::<usize>("--hidden", &args.hidden)?
    };
    let activation: Activation = args.activation.parse().map_err(anyhow::Error::msg)?;
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.lr,
        weight_decay: args.weight_decay,
        validation_fraction: args.val_fraction,
        patience: (!args.no_early_stopping).then_some(args.patience),
        seed: args.seed,
        grad_clip_norm: args.grad_clip,
        lr_plateau: args.lr_plateau,
        engine: args.engine.into(),
        ..TrainConfig::default()
    };
    let backbone =
        BackboneConfig::Mlp(MlpConfig::new(input_names.len(), hidden).with_activation(activation));
    let network = match args.model_type {
        ModelType::Mdn => NetworkConfig::mdn(backbone, target_names.len(), args.components)
            .with_covariance(args.covariance.into())
            .with_min_sigma(args.min_sigma),
        ModelType::Mse => NetworkConfig::least_squares(backbone, target_names.len()),
    };
    // Every option is checked before the data is read or a minute is spent training.
    config.check().map_err(cli_error)?;
    network.check().map_err(cli_error)?;
    let history_path = args
        .history
        .clone()
        .unwrap_or_else(|| with_suffix(&args.out, ".history.csv"));
    let checkpoint_path = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| with_suffix(&args.out, ".ckpt"));
    for path in [&args.out, &history_path, &checkpoint_path] {
        check_writable(path)?;
    }
    if let Some(resume) = &args.resume {
        std::fs::metadata(resume)
            .with_context(|| format!("{}: cannot read the checkpoint", resume.display()))?;
    }

    let (x, t, _) = read_columns(&args.data, &input_names, &target_names)?;
    let data = Dataset::new(x, input_names.len(), t, target_names.len())
        .and_then(|d| d.with_names(input_names, target_names))
        .with_context(|| args.data.display().to_string())?;

    let mut trainer = Trainer::new(config)
        .with_progress(!args.quiet)
        .with_checkpoint(&checkpoint_path);
    if let Some(resume) = &args.resume {
        trainer = trainer.resume_from(resume);
    }
    let trained = trainer.fit(&network, &data).map_err(|error| match error {
        // Say which file the unusable data came from.
        MdnError::InvalidData(_) => {
            anyhow::Error::from(error).context(args.data.display().to_string())
        }
        other => cli_error(other),
    })?;
    trained.model.save(&args.out)?;
    if history_path.extension().is_some_and(|e| e == "json") {
        trained.history.write_json(&history_path)?;
    } else {
        trained.history.write_csv(&history_path)?;
    }
    if args.checkpoint.is_none() {
        // The default checkpoint only exists to survive interruptions.
        let _ = std::fs::remove_file(&checkpoint_path);
    }

    let summary = trained
        .model
        .meta()
        .training
        .as_ref()
        .expect("set by training");
    for recovery in &summary.recoveries {
        eprintln!(
            "warning: epoch {} had a non-finite loss; it was rolled back and the learning rate \
             lowered to {:e}",
            recovery.epoch, recovery.learning_rate
        );
    }
    if !args.quiet {
        let validation = summary
            .validation_nll
            .map(|v| format!(", validation NLL {v:.4}"))
            .unwrap_or_default();
        let stop = if summary.stopped_early {
            ", stopped early"
        } else {
            ""
        };
        eprintln!(
            "trained {} epochs (kept epoch {}{stop}): train NLL {:.4}{validation} nats/row; \
             model written to {}",
            summary.epochs_run,
            summary.best_epoch,
            summary.train_nll,
            args.out.display()
        );
    }
    Ok(())
}
