//! Bishop's toy inverse problem: least squares vs MDNs with 3 and 5 kernels.
//!
//! Reproduces the poster's three pictures — the least-squares curve through the middle of
//! the branches against the MDN's best component, the conditional density p(t|x), and the
//! mixing coefficients α_i(x) — plus the forward problem, where both models agree.

use std::path::PathBuf;

use mdn::mdn_mixture::GaussianMixture;
use mdn::{Architecture, Backbone, TrainConfig};
use serde::Serialize;

use super::common::{self, Fitted, ModelMetrics};
use crate::data::toy;
use crate::error::Result;
use crate::plot::palette::series;
use crate::plot::panel::{HeatMap, LegendAt, Mark, Panel, PanelGrid, Series};
use crate::plot::{self, linspace};

/// How to run the toy experiment.
#[derive(Debug, Clone)]
pub struct ToyOptions {
    /// Directory for figures, metrics.json and report.md.
    pub out: PathBuf,
    /// Small data and few epochs: the same pipeline in seconds (for tests).
    pub quick: bool,
    /// Seed of data, initialisation and shuffling.
    pub seed: u64,
    /// Show progress on stderr.
    pub progress: bool,
}

/// The settings a run used, recorded in metrics.json.
#[derive(Debug, Clone, Serialize)]
pub struct ToySettings {
    /// Training points.
    pub n_train: usize,
    /// Test points.
    pub n_test: usize,
    /// Hidden layer widths of every network (tanh units).
    pub hidden: Vec<usize>,
    /// Training hyper-parameters shared by every network.
    pub train: TrainConfig,
}

impl ToySettings {
    fn new(quick: bool, seed: u64) -> Self {
        let train = TrainConfig {
            epochs: if quick { 15 } else { 3000 },
            batch_size: 128,
            learning_rate: 1e-3,
            validation_fraction: 0.1,
            patience: Some(500),
            seed,
            ..super::common::plain_training()
        };
        Self {
            n_train: if quick { 300 } else { 1000 },
            n_test: if quick { 300 } else { 2000 },
            hidden: if quick { vec![16] } else { vec![32, 32] },
            train,
        }
    }
}

/// Everything the run measured.
#[derive(Debug, Clone, Serialize)]
pub struct ToyMetrics {
    /// The settings used.
    pub settings: ToySettings,
    /// Test NLL of the true conditional density p(t|x) on the test inputs: the best any
    /// model can do (≈ the conditional entropy).
    pub bayes_nll: f64,
    /// The inverse problem t|x: least squares, MDN m=3, MDN m=5.
    pub inverse: Vec<ModelMetrics>,
    /// The forward problem x|t: least squares and MDN m=3.
    pub forward: Vec<ModelMetrics>,
    /// Files written.
    pub figures: Vec<PathBuf>,
}

/// Mean of log L(x) over `xs`, where L(x) is the length of {t : |x − f(t)| ≤ 0.1}: since
/// p(t|x) = 1/L(x) on that set, this is the test NLL of the true density.
fn bayes_nll(xs: &[f64]) -> f64 {
    let grid = linspace(0.0, 1.0, 20_001);
    let step = grid[1] - grid[0];
    let total: f64 = xs
        .iter()
        .map(|&x| {
            let count = grid
                .iter()
                .filter(|&&t| (x - toy::forward(t)).abs() <= toy::NOISE)
                .count();
            (count as f64 * step).ln()
        })
        .sum();
    total / xs.len() as f64
}

/// Runs the experiment, writing figures, metrics.json and report.md into `options.out`.
pub fn run(options: &ToyOptions) -> Result<ToyMetrics> {
    common::prepare_dir(&options.out)?;
    let settings = ToySettings::new(options.quick, options.seed);
    let train = toy::inverse(settings.n_train, options.seed);
    let test = toy::inverse(settings.n_test, options.seed.wrapping_add(1));
    let backbone = Backbone::mlp(1, settings.hidden.clone());
    let forward_train = toy::forward_problem(settings.n_train, options.seed);
    let forward_test = toy::forward_problem(settings.n_test, options.seed.wrapping_add(1));
    // The five networks train side by side (each alone kept one core busy).
    let job = |name: &str, architecture, train, test| common::FitJob {
        name: name.into(),
        architecture,
        config: &settings.train,
        train,
        test,
        bar: false,
    };
    let jobs = [
        job(
            "least squares",
            Architecture::least_squares(backbone.clone(), 1),
            &train,
            &test,
        ),
        job(
            "MDN m=3",
            Architecture::mdn(backbone.clone(), 1, 3),
            &train,
            &test,
        ),
        job(
            "MDN m=5",
            Architecture::mdn(backbone.clone(), 1, 5),
            &train,
            &test,
        ),
        job(
            "least squares (forward)",
            Architecture::least_squares(backbone.clone(), 1),
            &forward_train,
            &forward_test,
        ),
        job(
            "MDN m=3 (forward)",
            Architecture::mdn(backbone, 1, 3),
            &forward_train,
            &forward_test,
        ),
    ];
    let [ls, mdn3, mdn5, ls_fwd, mdn_fwd]: [Fitted; 5] = common::fit_all(&jobs, options.progress)?
        .try_into()
        .unwrap_or_else(|_| unreachable!("one result per job"));

    let mut figures = Vec::new();
    let data: Vec<(f64, f64)> = (0..train.len())
        .map(|i| (train.input(i)[0], train.target(i)[0]))
        .collect();
    figures.extend(plot::save(
        &fits_figure(&data, &ls, &mdn3)?,
        &options.out,
        "toy_a_fits",
    )?);
    figures.extend(plot::save(
        &density_figure(&data, &[&mdn3, &mdn5])?,
        &options.out,
        "toy_b_density",
    )?);
    figures.extend(plot::save(
        &alpha_figure(&[&mdn3, &mdn5])?,
        &options.out,
        "toy_c_alphas",
    )?);
    figures.extend(plot::save(
        &forward_figure(&forward_train, &ls_fwd, &mdn_fwd)?,
        &options.out,
        "toy_d_forward",
    )?);
    figures.extend(plot::save(
        &common::training_figure(
            "Training curves (inverse problem)",
            "NLL (nats per point)",
            &[&ls, &mdn3, &mdn5],
            Some(3.0),
        ),
        &options.out,
        "toy_e_training",
    )?);

    let metrics = ToyMetrics {
        bayes_nll: bayes_nll(test.inputs()),
        inverse: [&ls, &mdn3, &mdn5].iter().map(|f| f.metrics()).collect(),
        forward: [&ls_fwd, &mdn_fwd].iter().map(|f| f.metrics()).collect(),
        settings,
        figures: figures.clone(),
    };
    common::write_report(
        &options.out,
        &metrics,
        &report(&metrics, &[&ls, &mdn3, &mdn5], &[&ls_fwd, &mdn_fwd]),
    )?;
    Ok(metrics)
}

fn report(metrics: &ToyMetrics, inverse: &[&Fitted], forward: &[&Fitted]) -> String {
    let s = &metrics.settings;
    format!(
        "# Toy inverse problem\n\n\
         t ~ U(0,1), x = t + 0.3 sin(2πt) + U(−0.1, 0.1); {} training and {} test points; every \
         network has tanh hidden layers {:?} (same backbone); Adam, batch {}, learning rate {}, \
         up to {} epochs with early stopping (patience {:?}) on a {:.0}% validation split; seed {}.\n\n\
         ## Inverse problem: t | x\n\n{}\n\
         The true conditional density scores a test NLL of {:.4} nats (the best achievable).\n\n\
         ## Forward problem: x | t\n\n{}\n\
         Figures: `toy_a_fits`, `toy_b_density`, `toy_c_alphas`, `toy_d_forward`, `toy_e_training` \
         (PNG and SVG).\n",
        s.n_train,
        s.n_test,
        s.hidden,
        s.train.batch_size,
        s.train.learning_rate,
        s.train.epochs,
        s.train.patience,
        s.train.validation_fraction * 100.0,
        s.train.seed,
        common::scores_table(inverse),
        metrics.bayes_nll,
        common::scores_table(forward),
    )
}

const X_RANGE: (f64, f64) = (-0.1, 1.1);
const T_RANGE: (f64, f64) = (-0.1, 1.1);

fn predict_grid(fitted: &Fitted, xs: &[f64]) -> Result<Vec<GaussianMixture>> {
    common::mixtures(&fitted.model, xs)
}

fn fits_figure(data: &[(f64, f64)], ls: &Fitted, mdn: &Fitted) -> Result<PanelGrid> {
    let xs = linspace(X_RANGE.0, X_RANGE.1, 400);
    let ls_curve: Vec<(f64, f64)> = predict_grid(ls, &xs)?
        .iter()
        .zip(&xs)
        .map(|(m, &x)| (x, m.mean()[0]))
        .collect();
    // The best component jumps between branches; break the line where it switches.
    let mut best = Vec::new();
    let mut previous = None;
    for (mixture, &x) in predict_grid(mdn, &xs)?.iter().zip(&xs) {
        let k = mixture.best_component();
        if previous.is_some_and(|p| p != k) {
            best.push(None);
        }
        best.push(Some((x, mixture.best_mean()[0])));
        previous = Some(k);
    }
    let panel = Panel::new(
        format!("Least squares vs MDN best component ({})", mdn.name),
        "x",
        "t",
        X_RANGE,
        T_RANGE,
    )
    .with(
        Series::new(
            Mark::Dots {
                points: data.to_vec(),
                radius: 2,
            },
            series(7),
        )
        .opacity(0.5)
        .label("training data"),
    )
    .with(
        Series::new(Mark::Line(ls_curve), series(0))
            .width(3)
            .label("least squares (conditional mean)"),
    )
    .with(
        Series::new(Mark::BrokenLine(best), series(3))
            .width(3)
            .label("MDN: mean of the component with largest α"),
    );
    Ok(PanelGrid::single(panel))
}

fn density_figure(data: &[(f64, f64)], models: &[&Fitted]) -> Result<PanelGrid> {
    let xs = linspace(X_RANGE.0, X_RANGE.1, 100);
    let ts = linspace(T_RANGE.0, T_RANGE.1, 100);
    let mut panels = Vec::new();
    for fitted in models {
        let mixtures = predict_grid(fitted, &xs)?;
        let values: Vec<f64> = mixtures.iter().flat_map(|m| m.prob_many(&ts)).collect();
        let cap = 8.0;
        let mut panel = Panel::new(
            format!("p(t|x), {}", fitted.name),
            "x",
            "t",
            X_RANGE,
            T_RANGE,
        )
        .with(
            Series::new(
                Mark::Dots {
                    points: data.to_vec(),
                    radius: 1,
                },
                plotters::style::RGBColor(255, 255, 255),
            )
            .opacity(0.6),
        );
        panel.heat = Some(HeatMap {
            xs: xs.clone(),
            ys: ts.clone(),
            values: values.iter().map(|v| v.min(cap)).collect(),
            contours: vec![0.5, 2.0, 5.0],
        });
        panel.color_scale = Some((0.0, cap, "density (capped at 8)".into()));
        panels.push(panel);
    }
    Ok(PanelGrid::row(panels))
}

fn alpha_figure(models: &[&Fitted]) -> Result<PanelGrid> {
    let xs = linspace(X_RANGE.0, X_RANGE.1, 300);
    let mut panels = Vec::new();
    for fitted in models {
        let mixtures = predict_grid(fitted, &xs)?;
        let m = mixtures[0].n_components();
        let mut panel = Panel::new(
            format!("Mixing coefficients α_i(x), {}", fitted.name),
            "x",
            "α",
            X_RANGE,
            (0.0, 1.05),
        );
        panel.legend = LegendAt::UpperRight;
        for k in 0..m {
            let curve = mixtures
                .iter()
                .zip(&xs)
                .map(|(mix, &x)| (x, mix.weights()[k]))
                .collect();
            panel = panel.with(
                Series::new(Mark::Line(curve), series(k))
                    .width(3)
                    .label(format!("α_{}", k + 1)),
            );
        }
        panels.push(panel);
    }
    Ok(PanelGrid::row(panels))
}

fn forward_figure(data: &mdn::Dataset, ls: &Fitted, mdn: &Fitted) -> Result<PanelGrid> {
    let ts = linspace(0.0, 1.0, 300);
    let points: Vec<(f64, f64)> = (0..data.len())
        .map(|i| (data.input(i)[0], data.target(i)[0]))
        .collect();
    let curve = |f: &Fitted| -> Result<Vec<(f64, f64)>> {
        Ok(predict_grid(f, &ts)?
            .iter()
            .zip(&ts)
            .map(|(m, &t)| (t, m.mean()[0]))
            .collect())
    };
    let best = predict_grid(mdn, &ts)?
        .iter()
        .zip(&ts)
        .map(|(m, &t)| (t, m.best_mean()[0]))
        .collect();
    let panel = Panel::new(
        "Forward problem x | t: both models agree",
        "t",
        "x",
        (0.0, 1.0),
        X_RANGE,
    )
    .with(
        Series::new(Mark::Dots { points, radius: 2 }, series(7))
            .opacity(0.5)
            .label("training data"),
    )
    .with(
        Series::new(Mark::Line(curve(ls)?), series(0))
            .width(4)
            .label("least squares"),
    )
    .with(
        Series::new(Mark::Line(best), series(3))
            .width(2)
            .label(format!("{}: best component", mdn.name)),
    );
    Ok(PanelGrid::single(panel))
}
