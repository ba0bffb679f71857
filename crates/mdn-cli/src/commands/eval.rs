//! `mdn eval`: score a model on a CSV file.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use mdn::{EncodeOptions, MdnError, Model, PREDICT_CHUNK_ROWS, ScoreAccumulator};

use super::{MissingArg, UnknownArg};
use crate::output::{Lines, Sink, check_writable, print_json};
use crate::parallel;
use crate::paths::{self, named};
use crate::table::{Chunk, Hints, Rows, Table, model_columns};

/// The most (x, t) points of the data kept for the density figure of --report.
const REPORT_POINTS: usize = 4000;

#[derive(Debug, Args)]
#[command(after_help = "\
Example:
  mdn eval --model toy.mdn --data toy-test.csv --per-row scores.csv --report calibration/

Prints one JSON object: n (rows scored) and n_skipped (rows left out by --missing skip); nll
(mean negative log-likelihood, nats per row, in the data's units); rmse_mean and rmse_best
(root mean squared error of the conditional mean and of the best component's mean, pooled over
targets); crps (mean continuous ranked probability score of each target's marginal, averaged
over targets); coverage (observed coverage of the central 50, 80, 90 and 95% intervals of the
marginals; coverage_90 is the 90% one) and pit_ks (Kolmogorov-Smirnov distance of the PIT
values F(t) from uniform, from a 1,000-bin histogram); and the same per target. With
--weights every score is a weighted mean.")]
pub struct EvalArgs {
    /// The trained model.
    #[arg(long, value_name = "MODEL")]
    model: PathBuf,
    /// CSV file holding the model's input and target columns.
    #[arg(long, value_name = "FILE.csv")]
    data: PathBuf,
    /// Also write `row,log_lik,pit_<target>…,crps_<target>…` for every data row (row counts
    /// from 0) to this CSV file.
    #[arg(long, value_name = "OUT.csv")]
    per_row: Option<PathBuf>,
    /// Write calibration figures (PNG and SVG) into this directory: the PIT histogram,
    /// nominal against observed coverage, and for a model of one input and one target the
    /// density over the data.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Rows with a missing cell: an error, or left out (and counted in n_skipped).
    #[arg(long, value_enum, default_value_t = MissingArg::Error)]
    missing: MissingArg,
    /// Categories training never saw: an error, or encoded as no category at all.
    #[arg(long, value_enum, default_value_t = UnknownArg::Error)]
    unknown_category: UnknownArg,
    /// A column of row weights (0 or more): every score becomes a weighted mean.
    #[arg(long, value_name = "COL")]
    weights: Option<String>,
}

/// What one chunk scored.
struct Part {
    scores: ScoreAccumulator,
    lines: Lines,
    skipped: usize,
    points: Vec<(f64, f64)>,
}

pub fn run(args: EvalArgs) -> Result<()> {
    if let Some(path) = &args.per_row {
        paths::check_outputs(
            &[named("--model", &args.model), named("--data", &args.data)],
            &[named("--per-row", path)],
            &[],
        )?;
        check_writable(path)?;
    }
    if let Some(dir) = &args.report
        && dir.exists()
        && !dir.is_dir()
    {
        bail!("--report {}: exists and is not a directory", dir.display());
    }
    let model = Model::load(&args.model)?;
    if let Some(w) = &args.weights
        && model
            .schema()
            .input_names()
            .iter()
            .chain(&model.target_names())
            .any(|n| n == w)
    {
        bail!("--weights {w} is one of the model's inputs or targets");
    }
    let schema = model.schema();
    let columns = model_columns(schema, true, args.weights.as_deref());
    let mut table = Table::open(&args.data, &columns, Some(&args.model))?;
    let names = model.target_names();
    let mut per_row = args
        .per_row
        .as_deref()
        .map(|p| Sink::create(Some(p)))
        .transpose()?;
    if let Some(sink) = &mut per_row {
        let mut header = vec!["row".to_string(), "log_lik".to_string()];
        header.extend(names.iter().map(|t| format!("pit_{t}")));
        header.extend(names.iter().map(|t| format!("crps_{t}")));
        sink.row(header)?;
    }
    let options = EncodeOptions {
        targets: true,
        weights: args.weights.as_deref(),
        missing: args.missing.into(),
        unknown: args.unknown_category.into(),
    };
    // The density figure needs one numeric input and one target: its (x, t) pairs.
    let keep_points = args.report.is_some() && schema.all_numeric() && schema.inputs.len() == 1;

    // Chunks are scored on all cores, each into its own accumulator, and merged in file
    // order: the same totals on any number of threads.
    let mut scores = ScoreAccumulator::new(names.clone());
    let (mut skipped, mut points) = (0, Vec::new());
    let per_row_wanted = per_row.is_some();
    let width = 2 + 2 * names.len();
    parallel::in_order(
        || table.next_chunk(PREDICT_CHUNK_ROWS),
        |chunk: Chunk| {
            let Rows::Frame(frame) = &chunk.rows else {
                bail!("{}: not a table", args.data.display());
            };
            let error = |e: MdnError| chunk.error(&args.data, e, Hints::Query);
            let encoded = schema.encode(frame, options).map_err(error)?;
            let predictions = model.predict(&encoded.features).map_err(|e| match e {
                MdnError::InvalidPrediction { row, reason } => error(MdnError::InvalidPrediction {
                    row: encoded.rows[row],
                    reason,
                }),
                other => error(other),
            })?;
            let c = names.len();
            let mut part = Part {
                scores: ScoreAccumulator::new(names.clone()),
                lines: Lines::default(),
                skipped: frame.rows() - encoded.rows.len(),
                points: Vec::new(),
            };
            let mut kept = encoded.rows.iter().enumerate().peekable();
            for i in 0..frame.rows() {
                let Some((k, _)) = kept.next_if(|(_, r)| **r == i) else {
                    if per_row_wanted {
                        part.lines.index(chunk.first_row + i);
                        (1..width).for_each(|_| _ = part.lines.empty());
                        part.lines.end();
                    }
                    continue;
                };
                let t = &encoded.targets[k * c..(k + 1) * c];
                let weight = encoded.weights.as_ref().map_or(1.0, |w| w[k]);
                let row = part
                    .scores
                    .add(&predictions[k], t, weight)
                    .with_context(|| chunk.at(&args.data, i))?;
                if per_row_wanted {
                    part.lines
                        .index(chunk.first_row + i)
                        .number(row.log_lik)
                        .numbers(&row.pit)
                        .numbers(&row.crps)
                        .end();
                }
                if keep_points && c == 1 {
                    part.points.push((encoded.features[k], t[0]));
                }
            }
            Ok(part)
        },
        |part| {
            scores.merge(&part.scores);
            skipped += part.skipped;
            let room = REPORT_POINTS.saturating_sub(points.len());
            points.extend(part.points.into_iter().take(room));
            match &mut per_row {
                Some(sink) => sink.write_lines(part.lines.as_bytes()),
                None => Ok(()),
            }
        },
    )?;
    table.require_rows()?;
    if scores.is_empty() {
        bail!(
            "{}: every row has a missing cell; nothing to score",
            args.data.display()
        );
    }
    if let Some(sink) = per_row {
        sink.finish()?;
    }
    if let Some(dir) = &args.report {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--report {}: cannot create the directory", dir.display()))?;
        let pit: Vec<&[f64]> = (0..names.len()).map(|j| scores.pit_histogram(j)).collect();
        let calibration = mdn_experiments::calibration::Calibration {
            targets: &names,
            pit,
            points: &points,
        };
        mdn_experiments::calibration::write_figures(dir, &model, &calibration)?;
    }
    let mut result = scores.finish();
    result.n_skipped = skipped;
    print_json(&result)
}
