//! `mdn train`: fit an MDN (or the least-squares network) to columns of a CSV file.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use mdn::{
    Activation, Architecture, Backbone, CovarianceKind, Dataset, History, MdnError, MissingPolicy,
    Noise, Schema, TableSpec, TrainConfig, Trainer,
};

use super::UnknownArg;
use crate::columns;
use crate::errors::cli_error;
use crate::output::check_writable;
use crate::paths::{self, named};
use crate::table::{Chunk, ColumnRead, Hints, Rows, Table, model_columns};

/// What to do with a training row that has a missing cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrainMissing {
    /// Stop with an error naming the cell.
    Error,
    /// Leave such rows out (and say how many).
    Drop,
}

/// Which network to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelType {
    /// A mixture density network, trained by negative log-likelihood.
    Mdn,
    /// The least-squares network with the same backbone (predicts the conditional mean; its
    /// density is a Gaussian with σ fitted to the training residuals).
    Mse,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Example (Bishop's toy inverse problem):
  mdn data toy --n 1000 --out toy.csv
  mdn train --data toy.csv --inputs x --targets t --components 5 --out toy.mdn

Writes the model to --out and nothing else, unless asked: --history FILE writes per-epoch
metrics, --checkpoint FILE a checkpoint every --checkpoint-interval seconds and at the end.
Resume an interrupted run with the same options plus --resume FILE (and --checkpoint FILE to
keep checkpointing into the same file).")]
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
    /// Number of mixture components; or `auto` (tries 1,2,3,5,8) or a comma-separated list
    /// of candidates, of which training keeps the smallest whose held-out NLL is within one
    /// standard error of the best (on the validation rows, or by --cv), and prints the table.
    #[arg(
        long,
        default_value_t = mdn::defaults::COMPONENTS.to_string(),
        value_name = "M|auto|M1,M2,…",
        allow_negative_numbers = true
    )]
    components: String,
    /// Choose among the --components candidates by k-fold cross-validation on --data (for
    /// small data), then refit the chosen one on every row.
    #[arg(long, value_name = "FOLDS", allow_negative_numbers = true)]
    cv: Option<usize>,
    /// Covariance of each component.
    #[arg(long, value_enum, default_value_t = mdn::defaults::COVARIANCE)]
    covariance: CovarianceKind,
    /// Hidden layer widths, comma-separated (empty for a linear model).
    #[arg(long, default_value_t = mdn::defaults::hidden_text(), value_name = "WIDTHS")]
    hidden: String,
    /// Hidden-unit activation (Bishop used tanh).
    #[arg(long, value_enum, default_value_t = mdn::defaults::ACTIVATION)]
    activation: Activation,
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
    #[arg(long, default_value_t = TrainConfig::default().weight_decay, allow_negative_numbers = true)]
    weight_decay: f64,
    /// Fraction of rows held out for validation and early stopping, in [0, 1).
    #[arg(long, default_value_t = TrainConfig::default().validation_fraction, allow_negative_numbers = true)]
    val_fraction: f64,
    /// Stop after this many epochs without improvement on the validation rows.
    #[arg(long, default_value_t = TrainConfig::default().patience.unwrap_or(100), allow_negative_numbers = true)]
    patience: usize,
    /// Halve the learning rate after every N epochs without improvement on the validation
    /// rows (off by default; pick N well below --patience).
    #[arg(long, value_name = "N")]
    lr_plateau: Option<usize>,
    /// Never stop early (train all --epochs).
    #[arg(long, conflicts_with = "patience")]
    no_early_stopping: bool,
    /// Seed for initialisation, validation split and shuffling.
    #[arg(long, default_value_t = TrainConfig::default().seed, allow_negative_numbers = true)]
    seed: u64,
    /// `mdn` for a mixture density network, `mse` for the least-squares network.
    #[arg(long, value_enum, default_value_t = ModelType::Mdn)]
    model_type: ModelType,
    /// Floor on every standard deviation, in units of the target's standard deviation.
    #[arg(long, default_value_t = mdn::defaults::MIN_SIGMA, allow_negative_numbers = true)]
    min_sigma: f32,
    /// Gaussian noise added to the numeric inputs of every training batch (standard
    /// deviation in standardised units, drawn afresh each batch; never to one-hot columns,
    /// validation or prediction): a standard deviation, `auto` (n^(-1/(4+d)) for n training
    /// rows and d numeric inputs) or `off`.
    #[arg(long, value_name = "SD|auto", default_value_t = TrainConfig::default().noise_x, allow_negative_numbers = true)]
    noise_x: Noise,
    /// Gaussian noise added to the standardised targets of every training batch (log targets:
    /// to their logarithm), as --noise-x (auto: d is the number of targets).
    #[arg(long, value_name = "SD|auto", default_value_t = TrainConfig::default().noise_y, allow_negative_numbers = true)]
    noise_y: Noise,
    /// Train a deep ensemble of K networks (seeds --seed, --seed+1, …; side by side on the
    /// available cores) and save them as one model predicting their equal-weight mixture of
    /// K × --components components; 1 trains a single network. Default: 5, or 1 with
    /// --checkpoint or --resume (which cover a single network; not with K above 1).
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    ensemble: Option<usize>,
    /// Train each ensemble member on a bootstrap sample of the training rows.
    #[arg(long, conflicts_with_all = ["checkpoint", "resume"])]
    bootstrap: bool,
    /// Clip each parameter's gradient to this L2 norm.
    #[arg(long, value_name = "NORM", allow_negative_numbers = true)]
    grad_clip: Option<f64>,
    /// Continue the run saved in this checkpoint.
    #[arg(long, value_name = "CHECKPOINT")]
    resume: Option<PathBuf>,
    /// Write a checkpoint to this file during training, to resume from if interrupted
    /// (none by default).
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Seconds between two checkpoints (0: after every epoch); the last epoch is always
    /// written.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 5.0,
        requires = "checkpoint",
        allow_negative_numbers = true
    )]
    checkpoint_interval: f64,
    /// Write per-epoch metrics to this file (.csv, or .json by its extension; none by
    /// default). An ensemble's file holds every member's epochs, member by member, with a
    /// `member` column (from 0).
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
    /// Input columns to treat as categories although their cells are numbers (e.g. a 1/2/3
    /// region code), comma-separated; columns whose cells are not all numbers are
    /// categorical anyway. Categories are one-hot encoded and stored in the model.
    #[arg(long, value_name = "COLS")]
    categorical: Option<String>,
    /// Rows with a missing cell (empty, NA, NaN, null) in a column used: an error, or left
    /// out.
    #[arg(long, value_enum, default_value_t = TrainMissing::Error)]
    missing: TrainMissing,
    /// Targets to model as their logarithm (each value must be positive), comma-separated;
    /// densities, quantiles, modes and samples stay in the target's units.
    #[arg(long, value_name = "COLS")]
    log_targets: Option<String>,
    /// A column of row weights (0 or more): the loss is the weighted mean NLL.
    #[arg(long, value_name = "COL")]
    weights: Option<String>,
    /// Validate (early stopping, --lr-plateau) on this file instead of a random split of
    /// --data, which is then trained on whole (for time-ordered data).
    #[arg(long, value_name = "FILE.csv", conflicts_with = "val_fraction")]
    val_data: Option<PathBuf>,
    /// Categories of --val-data that training never saw: an error, or no category at all.
    #[arg(long, value_enum, default_value_t = UnknownArg::Error, requires = "val_data")]
    unknown_category: UnknownArg,
    /// No progress bar or summary.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: TrainArgs) -> Result<()> {
    let (input_names, target_names) = columns::inputs_and_targets(&args.inputs, &args.targets)?;
    let listed = |flag: &str, value: &Option<String>, among: &[String], what: &str| {
        let names = match value {
            Some(v) => columns::parse_list(flag, v)?,
            None => Vec::new(),
        };
        if let Some(name) = names.iter().find(|n| !among.contains(n)) {
            bail!("{flag} names '{name}', which is not {what}");
        }
        Ok(names)
    };
    let categorical = listed(
        "--categorical",
        &args.categorical,
        &input_names,
        "an input (--inputs)",
    )?;
    let log_targets = listed(
        "--log-targets",
        &args.log_targets,
        &target_names,
        "a target (--targets)",
    )?;
    if let Some(w) = &args.weights
        && (input_names.contains(w) || target_names.contains(w))
    {
        bail!("--weights {w} is also an input or a target; a column can only be one of them");
    }
    let hidden = if args.hidden.trim().is_empty() {
        Vec::new()
    } else {
        columns::parse_numbers::<usize>("--hidden", &args.hidden)?
    };
    let checkpointed = args.checkpoint.is_some() || args.resume.is_some();
    let ensemble = match args.ensemble {
        Some(k) if k > 1 && checkpointed => bail!(
            "--ensemble {k}: --checkpoint and --resume cover a single network; train the \
             ensemble without them, or give --ensemble 1"
        ),
        Some(k) => k,
        None if checkpointed => 1,
        None => TrainConfig::default().ensemble,
    };
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.lr,
        weight_decay: args.weight_decay,
        patience: (!args.no_early_stopping).then_some(args.patience),
        seed: args.seed,
        grad_clip_norm: args.grad_clip,
        lr_plateau: args.lr_plateau,
        noise_x: args.noise_x,
        noise_y: args.noise_y,
        ensemble,
        bootstrap: args.bootstrap,
        // With --val-data every row of --data trains.
        validation_fraction: if args.val_data.is_some() {
            0.0
        } else {
            args.val_fraction
        },
        ..TrainConfig::default()
    };
    // The network's inputs are the features of the table's inputs, known once it is read
    // (a category is one feature per value); every option is checked before that, on as many
    // inputs as there are columns, and the architecture again once the features are known.
    let candidates: Vec<usize> = match args.components.trim() {
        "auto" => mdn::AUTO_COMPONENTS.to_vec(),
        list => columns::parse_numbers::<usize>("--components", list)?,
    };
    let choose = candidates.len() > 1 || args.components.trim() == "auto";
    if args.cv.is_some() && !choose {
        bail!(
            "--cv chooses among candidate numbers of components; give --components auto or a \
             list such as 1,2,3,5,8"
        );
    }
    if choose && args.model_type == ModelType::Mse {
        bail!(
            "--components {}: a least-squares network has no components to choose",
            args.components
        );
    }
    if choose && (args.checkpoint.is_some() || args.resume.is_some()) {
        bail!(
            "--components {} trains one network per candidate; --checkpoint and --resume cover \
             one: give a single number of components with them",
            args.components
        );
    }
    let architecture = |features: usize| {
        let backbone = Backbone::mlp(features, hidden.clone()).with_activation(args.activation);
        let architecture = match args.model_type {
            ModelType::Mdn => Architecture::mdn(backbone, target_names.len(), candidates[0])
                .with_covariance(args.covariance)
                .with_min_sigma(args.min_sigma),
            ModelType::Mse => Architecture::least_squares(backbone, target_names.len()),
        };
        architecture
            .check()
            .map_err(|e| cli_error(MdnError::from(e)))
    };
    let config = config.check().map_err(cli_error)?;
    architecture(input_names.len())?;
    let interval = args.checkpoint_interval;
    if !(interval.is_finite() && interval >= 0.0) {
        bail!("invalid --checkpoint-interval {interval}: give a number of seconds, 0 or more");
    }
    let mut inputs = vec![named("--data", &args.data)];
    if let Some(resume) = &args.resume {
        inputs.push(named("--resume", resume));
    }
    if let Some(val) = &args.val_data {
        inputs.push(named("--val-data", val));
    }
    let mut outputs = vec![named("--out", &args.out)];
    outputs.extend(args.history.as_deref().map(|p| named("--history", p)));
    outputs.extend(args.checkpoint.as_deref().map(|p| named("--checkpoint", p)));
    // A checkpoint is read whole before it is first written again.
    paths::check_outputs(&inputs, &outputs, &[("--resume", "--checkpoint")])?;
    for path in [
        Some(&args.out),
        args.history.as_ref(),
        args.checkpoint.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        check_writable(path)?;
    }
    if let Some(resume) = &args.resume {
        std::fs::metadata(resume)
            .with_context(|| format!("{}: cannot read the checkpoint", resume.display()))?;
    }

    let spec = TableSpec {
        inputs: input_names.clone(),
        targets: target_names.clone(),
        categorical: categorical.clone(),
        log_targets,
        weights: args.weights.clone(),
        missing: match args.missing {
            TrainMissing::Error => MissingPolicy::Error,
            TrainMissing::Drop => MissingPolicy::Omit,
        },
    };
    let mut columns: Vec<(String, ColumnRead)> = input_names
        .iter()
        .map(|name| {
            let read = if categorical.contains(name) {
                ColumnRead::Text
            } else {
                ColumnRead::Auto
            };
            (name.clone(), read)
        })
        .collect();
    columns.extend(
        target_names
            .iter()
            .map(|t| (t.clone(), ColumnRead::Number { target: true })),
    );
    columns.extend(
        args.weights
            .iter()
            .map(|w| (w.clone(), ColumnRead::Number { target: false })),
    );
    let chunk = Table::open(&args.data, &columns, None)?.read_all()?;
    let Rows::Frame(frame) = &chunk.rows else {
        bail!("{}: not a table", args.data.display());
    };
    let (data, dropped) =
        Dataset::from_frame(frame, &spec).map_err(|e| chunk.error(&args.data, e, Hints::Train))?;
    if dropped > 0 && !args.quiet {
        eprintln!(
            "note: {}: dropped {dropped} of {} rows with a missing cell (--missing drop)",
            args.data.display(),
            frame.rows()
        );
    }
    let architecture = architecture(data.schema().feature_count())?;
    let validation = match &args.val_data {
        Some(path) => Some(read_validation(
            path,
            data.schema(),
            &spec,
            args.unknown_category,
        )?),
        None => None,
    };

    let mut trainer = Trainer::new(config).with_progress(!args.quiet);
    if let Some(validation) = validation {
        trainer = trainer.with_validation(validation);
    }
    if let Some(path) = &args.checkpoint {
        trainer = trainer
            .with_checkpoint(path)
            .with_checkpoint_interval(Duration::from_secs_f64(interval));
    }
    if let Some(resume) = &args.resume {
        trainer = trainer.resume_from(resume);
    }
    if !args.quiet && (ensemble > 1 || args.bootstrap) {
        eprintln!("training {ensemble} networks side by side (no progress bar) …");
    }
    let trained = if choose {
        trainer.fit_components(&architecture, &candidates, args.cv, &data)
    } else {
        trainer.fit(&architecture, &data)
    };
    let trained = trained.map_err(|error| match error {
        // Say which file the unusable data came from.
        MdnError::InvalidData(_) => {
            anyhow::Error::from(error).context(args.data.display().to_string())
        }
        other => cli_error(other),
    })?;
    for warning in &trained.warnings {
        eprintln!("warning: {}: {warning}", args.data.display());
    }
    trained.model.save(&args.out)?;
    if let Some(path) = &args.history {
        let json = path.extension().is_some_and(|e| e == "json");
        let members = &trained.member_histories;
        match (members.is_empty(), json) {
            (true, true) => trained.history.write_json(path)?,
            (true, false) => trained.history.write_csv(path)?,
            (false, true) => History::write_members_json(members, path)?,
            (false, false) => History::write_members_csv(members, path)?,
        }
    }

    let summary = trained.model.training();
    if let Some(selection) = &summary.component_selection
        && !args.quiet
    {
        let held_out = match selection.folds {
            Some(k) => format!("{k}-fold cross-validation, {} rows", selection.rows),
            None => format!("{} validation rows", selection.rows),
        };
        eprintln!("components  held-out NLL  standard error   ({held_out})");
        for c in &selection.candidates {
            let mark = if c.components == selection.chosen {
                "  <- chosen (smallest within one standard error of the best)"
            } else {
                ""
            };
            eprintln!(
                "{:>10}  {:>12.4}  {:>14.4}{mark}",
                c.components, c.nll, c.standard_error
            );
        }
    }
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
        let noise = if summary.noise_x_sd > 0.0 || summary.noise_y_sd > 0.0 {
            format!(
                " with noise sd {:.3} on inputs, {:.3} on targets",
                summary.noise_x_sd, summary.noise_y_sd
            )
        } else {
            String::new()
        };
        if let Some(ensemble) = &trained.model.meta().ensemble {
            for (k, member) in ensemble.members.iter().enumerate() {
                let validation = member
                    .validation_nll
                    .map(|v| format!(", validation NLL {v:.4}"))
                    .unwrap_or_default();
                eprintln!(
                    "member {k} (seed {}): {} epochs (kept epoch {}): train NLL {:.4}{validation}",
                    member.config.seed, member.epochs_run, member.best_epoch, member.train_nll
                );
            }
            eprintln!(
                "trained an ensemble of {} networks{noise}; model written to {} (score the \
                 ensemble with `mdn eval`)",
                ensemble.members.len(),
                args.out.display()
            );
        } else {
            eprintln!(
                "trained {} epochs{noise} (kept epoch {}{stop}): train NLL {:.4}{validation} \
                 nats/row; model written to {}",
                summary.epochs_run,
                summary.best_epoch,
                summary.train_nll,
                args.out.display()
            );
        }
    }
    Ok(())
}

/// The rows of `path` encoded by the training data's `schema`, for validation.
fn read_validation(
    path: &std::path::Path,
    schema: &Schema,
    spec: &TableSpec,
    unknown: UnknownArg,
) -> Result<Dataset> {
    let columns = model_columns(schema, true, spec.weights.as_deref());
    let chunk: Chunk = Table::open(path, &columns, None)?.read_all()?;
    let Rows::Frame(frame) = &chunk.rows else {
        bail!("{}: not a table", path.display());
    };
    Dataset::encode(
        frame,
        schema.clone(),
        spec.weights.as_deref(),
        spec.missing,
        unknown.into(),
    )
    .map_err(|e| chunk.error(path, e, Hints::Train))
}
