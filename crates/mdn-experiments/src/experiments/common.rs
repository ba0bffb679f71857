//! What every experiment shares: training with a label, scoring, and the report files.

use std::path::Path;

use mdn::mdn_mixture::GaussianMixture;
use mdn::{Architecture, Dataset, History, Model, Noise, Scores, TrainConfig, Trainer};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{ExperimentError, Result};
use crate::plot::palette::series;
use crate::plot::panel::{LegendAt, Mark, Panel, PanelGrid, Series};

/// The training options every experiment starts from: plain mini-batch Adam on a single
/// network, whatever `mdn train`'s defaults for real data add (noise, weight decay, an
/// ensemble), so that the experiments keep the settings and results of Bishop's report.
pub fn plain_training() -> TrainConfig {
    TrainConfig {
        weight_decay: 0.0,
        noise_x: Noise::Off,
        noise_y: Noise::Off,
        ensemble: 1,
        bootstrap: false,
        ..TrainConfig::default()
    }
}

/// A trained model with its name, test scores and training record.
pub struct Fitted {
    /// Short name used in tables and legends (e.g. "MDN m=5").
    pub name: String,
    /// The model.
    pub model: Model,
    /// Scores on the test set.
    pub scores: Scores,
    /// Per-epoch metrics.
    pub history: History,
}

/// One row of a metrics table.
#[derive(Debug, Clone, Serialize)]
pub struct ModelMetrics {
    /// Model name.
    pub name: String,
    /// Test scores.
    pub test: Scores,
    /// Epochs trained.
    pub epochs_run: usize,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// Training time in seconds.
    pub train_seconds: f64,
}

impl Fitted {
    /// Prints the test scores on stderr, one line.
    pub fn print_scores(&self) {
        eprintln!(
            "  {}: test NLL {:.4}, RMSE of mean {:.4}, RMSE of best component {:.4}",
            self.name, self.scores.nll, self.scores.rmse_mean, self.scores.rmse_best
        );
    }

    /// The metrics-table row of this model.
    pub fn metrics(&self) -> ModelMetrics {
        let summary = self.model.training();
        ModelMetrics {
            name: self.name.clone(),
            test: self.scores.clone(),
            epochs_run: summary.epochs_run,
            best_epoch: summary.best_epoch,
            train_seconds: summary.seconds,
        }
    }
}

/// One training of [`fit_all`].
pub struct FitJob<'a> {
    /// The model's name in messages and tables.
    pub name: String,
    /// The network to train.
    pub architecture: Architecture,
    /// Its training settings.
    pub config: &'a TrainConfig,
    /// The rows it trains on.
    pub train: &'a Dataset,
    /// The rows it is scored on.
    pub test: &'a Dataset,
    /// Whether this training shows its progress bar (at most one of a [`fit_all`] should).
    pub bar: bool,
}

/// Trains every job side by side on the cores, as an ensemble's members are trained: one
/// training's serial moments (Adam, the epoch's bookkeeping, validation) and small batches
/// leave a core to the others. Each result is what its training gives alone, whatever runs
/// beside it. Reports on stderr if `progress`: the jobs' names before, their scores after, in
/// order.
pub fn fit_all(jobs: &[FitJob<'_>], progress: bool) -> Result<Vec<Fitted>> {
    if progress {
        let names: Vec<&str> = jobs.iter().map(|job| job.name.as_str()).collect();
        eprintln!("training {} side by side ...", names.join(", "));
    }
    let fitted: Vec<Result<Fitted>> = jobs
        .par_iter()
        .map(|job| fit(job, progress && job.bar))
        .collect();
    let fitted = fitted.into_iter().collect::<Result<Vec<_>>>()?;
    if progress {
        fitted.iter().for_each(Fitted::print_scores);
    }
    Ok(fitted)
}

/// Trains `job`'s network, showing its progress bar if `bar`, and scores it on its test rows.
fn fit(job: &FitJob<'_>, bar: bool) -> Result<Fitted> {
    let trained = Trainer::new(job.config.clone().check()?)
        .with_progress(bar)
        .fit(
            &job.architecture
                .clone()
                .check()
                .map_err(mdn::MdnError::from)?,
            job.train,
        )?;
    let scores = trained.model.evaluate(job.test)?;
    Ok(Fitted {
        name: job.name.clone(),
        model: trained.model,
        scores,
        history: trained.history,
    })
}

/// The model's p(t|x) for each row of `inputs`, as mixtures: the experiments model their
/// targets as they are (no log targets), so each mixture is the density itself.
pub fn mixtures(model: &Model, inputs: &[f64]) -> Result<Vec<GaussianMixture>> {
    Ok(model
        .predict(inputs)?
        .into_iter()
        .map(mdn::Prediction::into_mixture)
        .collect())
}

/// Writes `metrics` as pretty JSON to `<dir>/metrics.json` and `markdown` to
/// `<dir>/report.md`, both atomically.
pub fn write_report(dir: &Path, metrics: &impl Serialize, markdown: &str) -> Result<()> {
    let json = serde_json::to_string_pretty(metrics).expect("metrics serialise");
    for (name, text) in [("metrics.json", json.as_str()), ("report.md", markdown)] {
        let path = dir.join(name);
        mdn::write_atomically(&path, text.as_bytes()).map_err(|source| ExperimentError::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// A markdown table of test NLL and RMSEs, one row per model.
pub fn scores_table(models: &[&Fitted]) -> String {
    let mut table = String::from(
        "| model | test NLL (nats) | RMSE of mean | RMSE of best component | 90% coverage | epochs (kept) |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for f in models {
        let m = f.metrics();
        table.push_str(&format!(
            "| {} | {:.4} | {:.4} | {:.4} | {:.3} | {} ({}) |\n",
            m.name,
            m.test.nll,
            m.test.rmse_mean,
            m.test.rmse_best,
            m.test.coverage_90,
            m.epochs_run,
            m.best_epoch
        ));
    }
    table
}

/// Creates the output directory (and parents).
pub fn prepare_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| ExperimentError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Train and validation NLL per epoch of each model, one colour per model (train thick,
/// validation thin). Epochs are also marked with dots when there are few of them. With
/// `max_span`, the NLL axis shows at most that many nats above the lowest value, so that a
/// bad first epoch does not flatten the curves that matter.
pub fn training_figure(
    title: &str,
    y_label: &str,
    models: &[&Fitted],
    max_span: Option<f64>,
) -> PanelGrid {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut epochs = 1.0f64;
    let few_epochs = models.iter().all(|f| f.history.epochs.len() <= 100);
    let mut panel = Panel::new(title, "epoch", y_label, (0.0, 1.0), (0.0, 1.0));
    panel.legend = LegendAt::UpperRight;
    for (k, fitted) in models.iter().enumerate() {
        let records = &fitted.history.epochs;
        let train: Vec<(f64, f64)> = records
            .iter()
            .map(|r| (r.epoch as f64, r.train_nll))
            .collect();
        let val: Vec<(f64, f64)> = records
            .iter()
            .filter_map(|r| r.validation_nll.map(|v| (r.epoch as f64, v)))
            .collect();
        for &(e, v) in train.iter().chain(&val) {
            lo = lo.min(v);
            hi = hi.max(v);
            epochs = epochs.max(e);
        }
        if few_epochs {
            let dots = |points: &[(f64, f64)]| Mark::Dots {
                points: points.to_vec(),
                radius: 3,
            };
            panel = panel
                .with(Series::new(dots(&train), series(k)))
                .with(Series::new(dots(&val), series(k)).opacity(0.6));
        }
        panel = panel
            .with(
                Series::new(Mark::Line(train), series(k))
                    .width(2)
                    .label(format!("{} train", fitted.name)),
            )
            .with(
                Series::new(Mark::Line(val), series(k))
                    .width(1)
                    .opacity(0.6)
                    .label(format!("{} validation (thin)", fitted.name)),
            );
    }
    panel.x_range = (0.5, epochs + 0.5);
    let margin = 0.05 * (hi - lo).max(1e-3);
    let top = max_span.map_or(hi, |span| hi.min(lo + span));
    panel.y_range = (lo - margin, top + margin);
    PanelGrid::single(panel)
}
