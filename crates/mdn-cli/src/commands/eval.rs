//! `mdn eval`: score a model on a CSV file.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use mdn::{Model, PREDICT_CHUNK_ROWS, ScoreAccumulator};

use crate::output::{Lines, Sink, check_writable, print_json};
use crate::parallel;
use crate::paths::{self, named};
use crate::table::{Chunk, Table};

#[derive(Debug, Args)]
#[command(after_help = "\
Example:
  mdn eval --model toy.mdn --data toy-test.csv --per-row scores.csv

Prints one JSON object: n; nll (mean negative log-likelihood, nats per row, in the data's
units); rmse_mean and rmse_best (root mean squared error of the conditional mean and of the
best component's mean, pooled over targets); coverage_90 (fraction of target values inside the
central 90% interval of their marginal, averaged over targets); and the same per target.")]
pub struct EvalArgs {
    /// The trained model.
    #[arg(long, value_name = "MODEL")]
    model: PathBuf,
    /// CSV file holding the model's input and target columns.
    #[arg(long, value_name = "FILE.csv")]
    data: PathBuf,
    /// Also write `row,log_lik` for every data row (row counts from 0) to this CSV file.
    #[arg(long, value_name = "OUT.csv")]
    per_row: Option<PathBuf>,
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
    let model = Model::load(&args.model)?;
    let (d, c) = (model.input_dim(), model.target_dim());
    let columns: Vec<String> = model
        .input_names()
        .iter()
        .chain(model.target_names())
        .cloned()
        .collect();
    let mut table = Table::open_for(&args.data, &columns, Some(&args.model))?;
    let mut per_row = args
        .per_row
        .as_deref()
        .map(|p| Sink::create(Some(p)))
        .transpose()?;
    if let Some(sink) = &mut per_row {
        sink.row(["row", "log_lik"])?;
    }

    // Chunks are scored on all cores, each into its own accumulator, and merged in file
    // order: the same totals on any number of threads.
    let names = model.target_names().to_vec();
    let mut scores = ScoreAccumulator::new(names.clone());
    let per_row_wanted = per_row.is_some();
    parallel::in_order(
        || table.next_chunk(PREDICT_CHUNK_ROWS),
        |chunk: Chunk| {
            let (inputs, targets) = split_rows(&chunk.values, d, c);
            let mut part = ScoreAccumulator::new(names.clone());
            let mut lines = Lines::default();
            let mixtures = chunk.mixtures(&model, &inputs, &args.data)?;
            for (i, (mixture, t)) in mixtures.iter().zip(targets.chunks_exact(c)).enumerate() {
                let log_lik = part
                    .add(mixture, t)
                    .with_context(|| chunk.at(&args.data, i))?;
                if per_row_wanted {
                    lines.index(chunk.first_row + i).number(log_lik).end();
                }
            }
            Ok((part, lines))
        },
        |(part, lines)| {
            scores.merge(&part);
            match &mut per_row {
                Some(sink) => sink.write_lines(lines.as_bytes()),
                None => Ok(()),
            }
        },
    )?;
    table.require_rows()?;
    if let Some(sink) = per_row {
        sink.finish()?;
    }
    print_json(&scores.finish())
}

/// Splits row-major `[inputs | targets]` rows into the two matrices.
pub fn split_rows(values: &[f64], d: usize, c: usize) -> (Vec<f64>, Vec<f64>) {
    let mut inputs = Vec::with_capacity(values.len() / (d + c) * d);
    let mut targets = Vec::with_capacity(values.len() / (d + c) * c);
    for row in values.chunks_exact(d + c) {
        inputs.extend_from_slice(&row[..d]);
        targets.extend_from_slice(&row[d..]);
    }
    (inputs, targets)
}
