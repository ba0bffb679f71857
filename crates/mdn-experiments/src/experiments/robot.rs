//! Inverse kinematics of the two-link robot arm: least squares vs an MDN, scored by where the
//! predicted joint angles actually put the hand.

use std::path::PathBuf;

use mdn::mdn_mixture::GaussianMixture;
use mdn::{Architecture, Backbone, Dataset, TrainConfig};
use serde::Serialize;

use super::common::{self, Fitted, ModelMetrics};
use crate::data::robot::{self, forward_kinematics};
use crate::error::Result;
use crate::plot;
use crate::plot::hull::convex_hull;
use crate::plot::palette::series;
use crate::plot::panel::{LegendAt, Mark, Panel, PanelGrid, Series};

/// How to run the robot-arm experiment.
#[derive(Debug, Clone)]
pub struct RobotOptions {
    /// Directory for figures, metrics.json and report.md.
    pub out: PathBuf,
    /// Small data and few epochs: the same pipeline in seconds (for tests).
    pub quick: bool,
    /// Seed of data, initialisation and shuffling.
    pub seed: u64,
    /// Show progress on stderr.
    pub progress: bool,
}

/// The settings a run used.
#[derive(Debug, Clone, Serialize)]
pub struct RobotSettings {
    /// Training points.
    pub n_train: usize,
    /// Test points.
    pub n_test: usize,
    /// Hidden layer widths (tanh units) of every network.
    pub hidden: Vec<usize>,
    /// Components of the main MDN.
    pub components: usize,
    /// Component counts of the sweep.
    pub sweep: Vec<usize>,
    /// Training hyper-parameters of the main models.
    pub train: TrainConfig,
    /// Training hyper-parameters of the sweep models.
    pub sweep_train: TrainConfig,
}

impl RobotSettings {
    fn new(quick: bool, seed: u64) -> Self {
        let train = TrainConfig {
            epochs: if quick { 10 } else { 1500 },
            batch_size: 128,
            learning_rate: 3e-3,
            validation_fraction: 0.1,
            patience: Some(200),
            seed,
            ..super::common::plain_training()
        };
        let sweep_train = TrainConfig {
            epochs: if quick { 5 } else { 600 },
            ..train.clone()
        };
        Self {
            n_train: if quick { 400 } else { 5000 },
            n_test: if quick { 200 } else { 1000 },
            hidden: if quick { vec![16] } else { vec![64, 64] },
            components: 3,
            sweep: if quick { vec![1, 2] } else { (1..=6).collect() },
            train,
            sweep_train,
        }
    }
}

/// Scores of one model: density and positioning.
#[derive(Debug, Clone, Serialize)]
pub struct ArmMetrics {
    /// Density scores (NLL, RMSE of the angles, coverage).
    #[serde(flatten)]
    pub model: ModelMetrics,
    /// RMS distance between desired and reached hand positions, angles from the best
    /// component (least squares: its prediction).
    pub rms_position_error: f64,
    /// The same with the angles from the conditional mean.
    pub rms_position_error_mean: f64,
}

/// One point of the component sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepPoint {
    /// Components.
    pub components: usize,
    /// Test NLL.
    pub nll: f64,
    /// RMS positioning error of the best component.
    pub rms_position_error: f64,
}

/// Everything the run measured.
#[derive(Debug, Clone, Serialize)]
pub struct RobotMetrics {
    /// The settings used.
    pub settings: RobotSettings,
    /// Least squares and the main MDN.
    pub models: Vec<ArmMetrics>,
    /// The MDN's error divided into the least-squares error (how many times smaller).
    pub improvement: f64,
    /// Test NLL and positioning error for each number of components.
    pub sweep: Vec<SweepPoint>,
    /// Files written.
    pub figures: Vec<PathBuf>,
}

/// Desired positions, reached positions and errors of one model on the test set.
struct Reach {
    desired: Vec<(f64, f64)>,
    reached: Vec<(f64, f64)>,
    reached_by_mean: Vec<(f64, f64)>,
}

impl Reach {
    fn of(mixtures: &[GaussianMixture], test: &Dataset) -> Self {
        let hand = |angles: &[f64]| forward_kinematics(angles[0], angles[1]);
        Self {
            desired: (0..test.len())
                .map(|i| (test.input(i)[0], test.input(i)[1]))
                .collect(),
            reached: mixtures.iter().map(|m| hand(m.best_mean())).collect(),
            reached_by_mean: mixtures.iter().map(|m| hand(&m.mean())).collect(),
        }
    }

    fn rms(&self, reached: &[(f64, f64)]) -> f64 {
        let sum: f64 = self
            .desired
            .iter()
            .zip(reached)
            .map(|(d, r)| (d.0 - r.0).powi(2) + (d.1 - r.1).powi(2))
            .sum();
        (sum / self.desired.len() as f64).sqrt()
    }
}

fn arm_metrics(fitted: &Fitted, reach: &Reach) -> ArmMetrics {
    ArmMetrics {
        model: fitted.metrics(),
        rms_position_error: reach.rms(&reach.reached),
        rms_position_error_mean: reach.rms(&reach.reached_by_mean),
    }
}

/// Runs the experiment, writing figures, metrics.json and report.md into `options.out`.
pub fn run(options: &RobotOptions) -> Result<RobotMetrics> {
    common::prepare_dir(&options.out)?;
    let settings = RobotSettings::new(options.quick, options.seed);
    let train = robot::inverse(settings.n_train, options.seed);
    let test = robot::inverse(settings.n_test, options.seed.wrapping_add(1));
    let backbone = Backbone::mlp(2, settings.hidden.clone());

    // Every training (least squares, the MDN, the sweep) runs side by side: the robot's
    // small networks keep one core busy each at most, so one after the other left the second
    // core idle.
    let mut jobs = vec![
        common::FitJob {
            name: "least squares".into(),
            architecture: Architecture::least_squares(backbone.clone(), 2),
            config: &settings.train,
            train: &train,
            test: &test,
            bar: false,
        },
        common::FitJob {
            name: format!("MDN m={}", settings.components),
            architecture: Architecture::mdn(backbone.clone(), 2, settings.components),
            config: &settings.train,
            train: &train,
            test: &test,
            bar: false,
        },
    ];
    jobs.extend(settings.sweep.iter().map(|&m| common::FitJob {
        name: format!("MDN m={m} (sweep)"),
        architecture: Architecture::mdn(backbone.clone(), 2, m),
        config: &settings.sweep_train,
        train: &train,
        test: &test,
        bar: false,
    }));
    let mut fitted = common::fit_all(&jobs, options.progress)?.into_iter();
    let (ls, mdn) = (
        fitted.next().expect("the least-squares fit"),
        fitted.next().expect("the MDN fit"),
    );
    let ls_mixtures = common::mixtures(&ls.model, test.inputs())?;
    let mdn_mixtures = common::mixtures(&mdn.model, test.inputs())?;
    let ls_reach = Reach::of(&ls_mixtures, &test);
    let mdn_reach = Reach::of(&mdn_mixtures, &test);

    let mut sweep = Vec::new();
    for (&m, fitted) in settings.sweep.iter().zip(fitted) {
        let reach = Reach::of(&common::mixtures(&fitted.model, test.inputs())?, &test);
        sweep.push(SweepPoint {
            components: m,
            nll: fitted.scores.nll,
            rms_position_error: reach.rms(&reach.reached),
        });
    }

    let mut figures = Vec::new();
    figures.extend(plot::save(
        &branches_figure(&train),
        &options.out,
        "robot_a_branches",
    )?);
    figures.extend(plot::save(
        &alpha_figure(&mdn, &mdn_mixtures, &mdn_reach),
        &options.out,
        "robot_b_alpha",
    )?);
    figures.extend(plot::save(
        &errors_figure(&train, &[(&ls, &ls_reach), (&mdn, &mdn_reach)]),
        &options.out,
        "robot_c_errors",
    )?);
    figures.extend(plot::save(
        &sweep_figure(&sweep),
        &options.out,
        "robot_d_sweep",
    )?);

    let models = vec![arm_metrics(&ls, &ls_reach), arm_metrics(&mdn, &mdn_reach)];
    let metrics = RobotMetrics {
        improvement: models[0].rms_position_error / models[1].rms_position_error,
        models,
        sweep,
        settings,
        figures,
    };
    common::write_report(&options.out, &metrics, &report(&metrics))?;
    Ok(metrics)
}

fn report(metrics: &RobotMetrics) -> String {
    let s = &metrics.settings;
    let mut text = format!(
        "# Two-link robot arm: inverse kinematics\n\n\
         θ1 ~ U(0.3, 1.2), θ2 ~ U(π/2, 3π/2), L1 = 0.8, L2 = 0.2; learn (θ1, θ2) | (x1, x2) from {} \
         points, test on {}; tanh hidden layers {:?}; Adam, batch {}, learning rate {}, up to {} \
         epochs (sweep: {}) with early stopping on a {:.0}% validation split; seed {}. Predicted \
         angles (least squares: its output; MDN: the best component's mean) are mapped through \
         the forward kinematics and compared with the desired position.\n\n\
         | model | test NLL (nats) | RMS position error (best component) | RMS position error (conditional mean) |\n\
         |---|---:|---:|---:|\n",
        s.n_train,
        s.n_test,
        s.hidden,
        s.train.batch_size,
        s.train.learning_rate,
        s.train.epochs,
        s.sweep_train.epochs,
        s.train.validation_fraction * 100.0,
        s.train.seed
    );
    for m in &metrics.models {
        text.push_str(&format!(
            "| {} | {:.4} | {:.5} | {:.5} |\n",
            m.model.name, m.model.test.nll, m.rms_position_error, m.rms_position_error_mean
        ));
    }
    text.push_str(&format!(
        "\nThe MDN's positioning error is {:.1}× smaller than least squares'.\n\n\
         ## Number of components\n\n| m | test NLL | RMS position error |\n|---:|---:|---:|\n",
        metrics.improvement
    ));
    for p in &metrics.sweep {
        text.push_str(&format!(
            "| {} | {:.4} | {:.5} |\n",
            p.components, p.nll, p.rms_position_error
        ));
    }
    text.push_str("\nFigures: `robot_a_branches`, `robot_b_alpha`, `robot_c_errors`, `robot_d_sweep` (PNG and SVG).\n");
    text
}

const X1_RANGE: (f64, f64) = (0.0, 1.05);
const X2_RANGE: (f64, f64) = (0.0, 1.0);

/// Positions of the training configurations, split by elbow branch.
fn branch_points(train: &Dataset) -> [Vec<(f64, f64)>; 2] {
    let mut branches = [Vec::new(), Vec::new()];
    for i in 0..train.len() {
        let point = (train.input(i)[0], train.input(i)[1]);
        branches[usize::from(robot::elbow_up(train.target(i)[1]))].push(point);
    }
    branches
}

fn branches_figure(train: &Dataset) -> PanelGrid {
    let [down, up] = branch_points(train);
    let mut panel = Panel::new(
        "End-effector positions of the two elbow branches",
        "x1",
        "x2",
        X1_RANGE,
        X2_RANGE,
    )
    .with(
        Series::new(
            Mark::Dots {
                points: down,
                radius: 2,
            },
            series(0),
        )
        .opacity(0.45)
        .label("θ2 < π"),
    )
    .with(
        Series::new(
            Mark::Dots {
                points: up,
                radius: 2,
            },
            series(1),
        )
        .opacity(0.45)
        .label("θ2 > π"),
    );
    panel.legend = LegendAt::LowerLeft;
    PanelGrid::single(panel)
}

fn alpha_figure(mdn: &Fitted, mixtures: &[GaussianMixture], reach: &Reach) -> PanelGrid {
    let values: Vec<f64> = mixtures
        .iter()
        .map(|m| m.weights().into_iter().fold(0.0, f64::max))
        .collect();
    let m = mixtures.first().map_or(1, GaussianMixture::n_components) as f64;
    let mut panel = Panel::new(
        format!("Largest mixing coefficient per test point, {}", mdn.name),
        "x1",
        "x2",
        X1_RANGE,
        X2_RANGE,
    )
    .with(Series::new(
        Mark::ColorDots {
            points: reach.desired.clone(),
            values,
            radius: 4,
        },
        series(0),
    ));
    panel.color_scale = Some((1.0 / m, 1.0, "max α".into()));
    PanelGrid::single(panel)
}

fn errors_figure(train: &Dataset, models: &[(&Fitted, &Reach)]) -> PanelGrid {
    let hulls = branch_points(train).map(|points| convex_hull(&points));
    let panels = models
        .iter()
        .map(|(fitted, reach)| {
            let segments = reach
                .desired
                .iter()
                .copied()
                .zip(reach.reached.iter().copied())
                .collect();
            let mut panel = Panel::new(
                format!(
                    "{}: RMS error {:.4}",
                    fitted.name,
                    reach.rms(&reach.reached)
                ),
                "x1",
                "x2",
                X1_RANGE,
                X2_RANGE,
            )
            .with(Series::new(Mark::Polygon(hulls[0].clone()), series(0)).label("hull, θ2 < π"))
            .with(Series::new(Mark::Polygon(hulls[1].clone()), series(1)).label("hull, θ2 > π"))
            .with(
                Series::new(Mark::Segments(segments), series(3))
                    .width(1)
                    .label("desired → reached"),
            )
            .with(Series::new(
                Mark::Dots {
                    points: reach.desired.clone(),
                    radius: 1,
                },
                series(7),
            ));
            panel.legend = LegendAt::LowerLeft;
            panel
        })
        .collect();
    PanelGrid::row(panels)
}

fn sweep_figure(sweep: &[SweepPoint]) -> PanelGrid {
    let ms: Vec<f64> = sweep.iter().map(|p| p.components as f64).collect();
    let x_range = (0.5, ms.iter().fold(1.0f64, |a, &b| a.max(b)) + 0.5);
    let curve = |f: fn(&SweepPoint) -> f64| -> Vec<(f64, f64)> {
        sweep.iter().map(|p| (p.components as f64, f(p))).collect()
    };
    let range = |points: &[(f64, f64)]| {
        let lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        let pad = 0.08 * (hi - lo).max(1e-6);
        (lo - pad, hi + pad)
    };
    let errors = curve(|p| p.rms_position_error);
    let nll = curve(|p| p.nll);
    let panel = |title: &str, label: &str, points: Vec<(f64, f64)>, color| {
        Panel::new(title, "components m", label, x_range, range(&points))
            .with(Series::new(Mark::Line(points.clone()), color).width(2))
            .with(Series::new(Mark::Dots { points, radius: 5 }, color))
    };
    PanelGrid::row(vec![
        panel(
            "Positioning error vs components",
            "RMS position error",
            errors,
            series(3),
        ),
        panel("Test NLL vs components", "NLL (nats)", nll, series(0)),
    ])
}
