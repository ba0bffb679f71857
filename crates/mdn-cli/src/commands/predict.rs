//! `mdn predict`: what a model says about p(t|x) for each row of a CSV file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use mdn::mdn_mixture::{ModeOptions, Temperature};
use mdn::{CovarianceKind, EncodeOptions, Model, PREDICT_CHUNK_ROWS, Prediction};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{MissingArg, UnknownArg};
use crate::columns::parse_numbers;
use crate::output::{Lines, Sink, check_writable};
use crate::parallel;
use crate::paths::{self, named};
use crate::table::{Chunk, Origin, Rows, Table, model_columns};

/// What to predict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputKind {
    /// Mixture parameters: alpha_K, mean_K_<target>, sigma_K_<target> (and cov_K_<a>_<b>
    /// for full covariance); for a log target, of its logarithm (mean_K_log_<target>, …).
    Params,
    /// The conditional mean (what least squares estimates).
    Mean,
    /// The mean of the component with the largest alpha: the most probable branch.
    Best,
    /// The modes of the density, highest first: mode_J_<target>, density_J.
    Modes,
    /// Random draws (long format: row, sample, targets); needs --samples.
    Samples,
    /// Marginal quantiles q<level>_<target>; needs --quantiles.
    Quantiles,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mdn predict --model toy.mdn --data grid.csv --output best
  mdn predict --model toy.mdn --data grid.csv --output modes --out modes.csv
  mdn predict --model toy.mdn --data grid.csv --output samples --samples 100 --temperature 0.5
  mdn predict --model toy.mdn --data grid.csv --output quantiles --quantiles 0.05,0.5,0.95
  mdn predict --model mnist_mdn.mdn --images t10k-images-idx3-ubyte.gz --output modes

One output row per input row, in order, with a `row` column counting data rows from 0 (a row
left out by --missing skip has empty cells). The data needs the model's input columns; other
columns are ignored. Every output is in the targets' own units, log targets included (only
--output params describes their logarithm).")]
pub struct PredictArgs {
    /// The trained model.
    #[arg(long, value_name = "MODEL")]
    model: PathBuf,
    /// CSV file holding the model's input columns.
    #[arg(long, value_name = "FILE.csv", required_unless_present = "images")]
    data: Option<PathBuf>,
    /// Instead of --data: an IDX image file, gzipped or not (e.g. MNIST's
    /// t10k-images-idx3-ubyte.gz); each image's grey levels, row-major, are one input row.
    #[arg(long, value_name = "FILE.idx[.gz]", conflicts_with = "data")]
    images: Option<PathBuf>,
    /// What to predict.
    #[arg(long, value_enum)]
    output: OutputKind,
    /// Write to this CSV file instead of standard output.
    #[arg(long, value_name = "OUT.csv")]
    out: Option<PathBuf>,
    /// Draws per row (with --output samples).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    samples: Option<usize>,
    /// Sampling temperature (with --output samples): weights α^(1/T) renormalised and
    /// covariances scaled by T; below 1 sharpens towards the most probable branch.
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    temperature: Option<f64>,
    /// Seed for sampling (with --output samples); row r uses stream r, so results do not
    /// depend on how the file is processed.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    seed: u64,
    /// Quantile levels in (0, 1), comma-separated (with --output quantiles).
    #[arg(long, value_name = "LEVELS", allow_hyphen_values = true)]
    quantiles: Option<String>,
    /// Rows with a missing input cell: an error, or written with empty output cells (so the
    /// output stays aligned with the input).
    #[arg(long, value_enum, default_value_t = MissingArg::Error)]
    missing: MissingArg,
    /// Categories training never saw: an error, or encoded as no category at all.
    #[arg(long, value_enum, default_value_t = UnknownArg::Error)]
    unknown_category: UnknownArg,
}

/// The most draws `--samples` may ask for per row (the draws of a row are held in memory).
pub const MAX_SAMPLES: usize = 1_000_000;

/// Options checked up front, before any row is read.
struct Plan {
    samples: usize,
    temperature: Temperature,
    quantiles: Vec<(String, f64)>,
}

fn plan(args: &PredictArgs) -> Result<Plan> {
    let only =
        |flag: &str, kind: &str| -> Result<()> { bail!("{flag} only applies to --output {kind}") };
    if args.output != OutputKind::Samples {
        if args.samples.is_some() {
            only("--samples", "samples")?;
        }
        if args.temperature.is_some() {
            only("--temperature", "samples")?;
        }
    }
    if args.output != OutputKind::Quantiles && args.quantiles.is_some() {
        only("--quantiles", "quantiles")?;
    }
    let samples = match (args.output, args.samples) {
        (OutputKind::Samples, None) => bail!("--output samples needs --samples N"),
        (_, Some(0)) => bail!("invalid --samples 0: draw at least one sample per row"),
        (_, Some(n)) if n > MAX_SAMPLES => {
            bail!("invalid --samples {n}: at most {MAX_SAMPLES} draws per row are supported")
        }
        (_, n) => n.unwrap_or(0),
    };
    let t = args.temperature.unwrap_or(1.0);
    let temperature =
        Temperature::new(t).map_err(|e| anyhow::anyhow!("invalid --temperature {t}: {e}"))?;
    let quantiles = match (args.output, &args.quantiles) {
        (OutputKind::Quantiles, None) => {
            bail!("--output quantiles needs --quantiles LEVELS (e.g. 0.05,0.5,0.95)")
        }
        (_, Some(list)) => {
            let texts: Vec<String> = list.split(',').map(|s| s.trim().to_string()).collect();
            let levels = parse_numbers::<f64>("--quantiles", list)?;
            for (i, &p) in levels.iter().enumerate() {
                if !(p > 0.0 && p < 1.0) {
                    bail!("invalid --quantiles {list}: level {p} is outside (0, 1)");
                }
                if levels[..i].contains(&p) {
                    bail!("invalid --quantiles {list}: level {p} appears twice");
                }
            }
            texts.into_iter().zip(levels).collect()
        }
        _ => Vec::new(),
    };
    Ok(Plan {
        samples,
        temperature,
        quantiles,
    })
}

fn header(model: &Model, kind: OutputKind, plan: &Plan) -> Vec<String> {
    let targets = model.target_names();
    let m = model.components();
    let mut columns = vec!["row".to_string()];
    match kind {
        OutputKind::Params => {
            // The parameters are those of the modelled targets: log_<t> for log targets.
            let modelled: Vec<String> = model
                .schema()
                .targets
                .iter()
                .map(|t| {
                    if t.log {
                        format!("log_{}", t.name)
                    } else {
                        t.name.clone()
                    }
                })
                .collect();
            for k in 0..m {
                columns.push(format!("alpha_{k}"));
                columns.extend(modelled.iter().map(|t| format!("mean_{k}_{t}")));
                columns.extend(modelled.iter().map(|t| format!("sigma_{k}_{t}")));
                if full_covariance(model) {
                    for (a, ta) in modelled.iter().enumerate() {
                        for tb in &modelled[a + 1..] {
                            columns.push(format!("cov_{k}_{ta}_{tb}"));
                        }
                    }
                }
            }
        }
        OutputKind::Mean | OutputKind::Best => columns.extend(targets.iter().cloned()),
        OutputKind::Modes => {
            for j in 0..m {
                columns.extend(targets.iter().map(|t| format!("mode_{j}_{t}")));
                columns.push(format!("density_{j}"));
            }
        }
        OutputKind::Samples => {
            columns.push("sample".into());
            columns.extend(targets.iter().cloned());
        }
        OutputKind::Quantiles => {
            for (text, _) in &plan.quantiles {
                columns.extend(targets.iter().map(|t| format!("q{text}_{t}")));
            }
        }
    }
    columns
}

fn full_covariance(model: &Model) -> bool {
    matches!(
        model.architecture().head,
        mdn::Head::Mixture {
            covariance: CovarianceKind::Full,
            ..
        }
    )
}

/// Appends the output lines of one input row to `lines`.
fn render_row(
    lines: &mut Lines,
    model: &Model,
    kind: OutputKind,
    plan: &Plan,
    row: usize,
    prediction: &Prediction,
    seed: u64,
) -> Result<()> {
    let c = model.target_dim();
    let m = model.components();
    if kind != OutputKind::Samples {
        lines.index(row);
    }
    match kind {
        OutputKind::Params => {
            // The parameters of the modelled targets (log t for log targets).
            let mixture = prediction.mixture();
            let full = full_covariance(model);
            for (k, &log_weight) in mixture.log_weights().iter().enumerate() {
                lines.number(log_weight.exp());
                lines.numbers(mixture.component_mean(k));
                lines.numbers(&mixture.component_std(k));
                if full {
                    let cov = mixture.component_covariance(k);
                    for a in 0..c {
                        lines.numbers(&cov[a * c + a + 1..(a + 1) * c]);
                    }
                }
            }
        }
        OutputKind::Mean => _ = lines.numbers(&prediction.mean()),
        OutputKind::Best => _ = lines.numbers(&prediction.best_mean()),
        OutputKind::Modes => {
            let modes = prediction.modes(&ModeOptions::default());
            for j in 0..m {
                match modes.get(j) {
                    Some(mode) => _ = lines.numbers(&mode.location).number(mode.density()),
                    None => (0..=c).for_each(|_| _ = lines.empty()),
                }
            }
        }
        OutputKind::Samples => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(row as u64);
            let draws = prediction.sample_n(plan.samples, &mut rng, plan.temperature);
            for (s, draw) in draws.iter().enumerate() {
                lines.index(row).index(s).numbers(draw).end();
            }
            return Ok(());
        }
        OutputKind::Quantiles => {
            for &(_, p) in &plan.quantiles {
                for j in 0..c {
                    lines.number(prediction.marginal_quantile(j, p)?);
                }
            }
        }
    }
    lines.end();
    Ok(())
}

/// The output line of a row that was left out for a missing cell: its row number and empty
/// cells, so the output stays aligned with the input.
fn render_skipped(lines: &mut Lines, row: usize, width: usize) {
    lines.index(row);
    (1..width).for_each(|_| _ = lines.empty());
    lines.end();
}

/// The output lines of a chunk of input rows from `source` (named in errors).
fn render_chunk(
    args: &PredictArgs,
    plan: &Plan,
    model: &Model,
    source: &Path,
    chunk: Chunk,
) -> Result<Lines> {
    let mut lines = Lines::default();
    let options = EncodeOptions {
        missing: args.missing.into(),
        unknown: args.unknown_category.into(),
        ..EncodeOptions::default()
    };
    let (predictions, kept) = chunk.predictions(model, options, source)?;
    let width = header(model, args.output, plan).len();
    let mut kept = kept.iter().zip(&predictions).peekable();
    for i in 0..chunk.len(model.input_dim()) {
        let row = chunk.first_row + i;
        match kept.next_if(|(k, _)| **k == i) {
            Some((_, prediction)) => render_row(
                &mut lines,
                model,
                args.output,
                plan,
                row,
                prediction,
                args.seed,
            )
            .with_context(|| chunk.at(source, i))?,
            None => render_skipped(&mut lines, row, width),
        }
    }
    Ok(lines)
}

/// Predicts chunk after chunk from `next` on all cores and writes the lines in row order;
/// returns the sink for the caller to finish once the input is known to be complete.
fn stream(
    args: &PredictArgs,
    plan: &Plan,
    model: &Model,
    source: &Path,
    next: impl FnMut() -> Result<Option<Chunk>>,
) -> Result<Sink> {
    let mut sink = Sink::create(args.out.as_deref())?;
    sink.row(header(model, args.output, plan))?;
    parallel::in_order(
        next,
        |chunk| render_chunk(args, plan, model, source, chunk),
        |lines| sink.write_lines(lines.as_bytes()),
    )?;
    Ok(sink)
}

pub fn run(args: PredictArgs) -> Result<()> {
    let plan = plan(&args)?;
    let (source, source_flag) = match (&args.data, &args.images) {
        (Some(data), _) => (data.as_path(), "--data"),
        (None, Some(images)) => (images.as_path(), "--images"),
        (None, None) => bail!("give the rows to predict with --data FILE.csv or --images FILE"),
    };
    if let Some(out) = &args.out {
        paths::check_outputs(
            &[named("--model", &args.model), named(source_flag, source)],
            &[named("--out", out)],
            &[],
        )?;
        check_writable(out)?;
    }
    let model = Model::load(&args.model)?;
    if args.images.is_some() {
        return predict_images(&args, &plan, &model, source);
    }
    let columns = model_columns(model.schema(), false, None);
    let mut table = Table::open(source, &columns, Some(&args.model))?;
    let sink = stream(&args, &plan, &model, source, || {
        table.next_chunk(PREDICT_CHUNK_ROWS)
    })?;
    table.require_rows()?;
    sink.finish()
}

/// `--images`: one input row per image of an IDX file, its grey levels row-major.
fn predict_images(args: &PredictArgs, plan: &Plan, model: &Model, path: &Path) -> Result<()> {
    let images = mdn::idx::read_images(path)?;
    let pixels = images.pixels_per_image();
    if pixels != model.input_dim() {
        bail!(
            "{}: images of {}x{} = {pixels} pixels, but {} takes {} inputs",
            path.display(),
            images.rows,
            images.cols,
            args.model.display(),
            model.input_dim()
        );
    }
    if let mdn::Backbone::Cnn { height, width, .. } = model.architecture().backbone
        && (height, width) != (images.rows, images.cols)
    {
        bail!(
            "{}: images of {}x{} pixels, but {} was trained on {}x{} images",
            path.display(),
            images.rows,
            images.cols,
            args.model.display(),
            height,
            width
        );
    }
    let mut chunks = images
        .pixels
        .chunks(PREDICT_CHUNK_ROWS * pixels)
        .enumerate();
    let sink = stream(args, plan, model, path, || {
        Ok(chunks.next().map(|(i, chunk)| Chunk {
            first_row: i * PREDICT_CHUNK_ROWS,
            origin: Origin::Images,
            rows: Rows::Features(chunk.iter().map(|&p| f64::from(p)).collect()),
        }))
    })?;
    sink.finish()
}
