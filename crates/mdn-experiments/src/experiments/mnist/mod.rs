//! MNIST as regression: predict the digit's value t ∈ {0, …, 9} from its image.
//!
//! Least squares learns E[t|image], which for an image that could be a 4 or a 9 is about
//! 6.5 — a digit nobody wrote. An MDN with the same CNN backbone learns p(t|image): one
//! sharp peak for a clear digit, several for an ambiguous one. Rounding its highest mode is
//! a classifier; rounding its conditional mean is not, and the gap between the two
//! accuracies is the point of the experiment.

use std::path::PathBuf;
use std::time::Instant;

use mdn::mdn_mixture::{GaussianMixture, Mode, ModeOptions};
use mdn::{Architecture, Backbone, TrainConfig};
use serde::Serialize;

use super::common::{self, ModelMetrics};
use crate::data::mnist::{self, Digits, MnistSplit};
use crate::error::{ExperimentError, Result};
use crate::plot::{self, linspace};

mod figures;

use figures::{ambiguous_figure, density_figure, digit_grid_figure};

/// Mixture components of the MDN unless `--components` says otherwise.
pub const DEFAULT_COMPONENTS: usize = 5;

/// A mode counts as a rival of the highest one when its density is at least this fraction
/// of the highest density.
pub const RIVAL_RATIO: f64 = 0.1;

/// Range of t over which densities are drawn.
const T_RANGE: (f64, f64) = (-1.0, 10.0);

/// How to run the MNIST experiment.
#[derive(Debug, Clone)]
pub struct MnistOptions {
    /// Directory for figures, models, metrics.json and report.md.
    pub out: PathBuf,
    /// A few hundred images and one epoch: the same pipeline in seconds (for tests).
    pub quick: bool,
    /// Seed of initialisation and shuffling (the bundled train/test split is fixed).
    pub seed: u64,
    /// Mixture components of the MDN.
    pub components: usize,
    /// Directory holding the four standard MNIST files for the official 60k/10k split;
    /// `None` splits the bundled 10,000 test images 8,000/2,000.
    pub data_dir: Option<PathBuf>,
    /// Show progress on stderr.
    pub progress: bool,
}

impl MnistOptions {
    /// Full run on the bundled data with [`DEFAULT_COMPONENTS`], seed 0, progress shown.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        Self {
            out: out.into(),
            quick: false,
            seed: 0,
            components: DEFAULT_COMPONENTS,
            data_dir: None,
            progress: true,
        }
    }
}

/// The settings a run used, recorded in metrics.json.
#[derive(Debug, Clone, Serialize)]
pub struct MnistSettings {
    /// Where the images came from and how they were split.
    pub data: String,
    /// Use at most this many training images (`None`: all).
    pub max_train: Option<usize>,
    /// Use at most this many test images (`None`: all).
    pub max_test: Option<usize>,
    /// Training images used (filled in by the run).
    pub n_train: usize,
    /// Test images used (filled in by the run).
    pub n_test: usize,
    /// Image height and width (filled in from the data by the run).
    pub image: [usize; 2],
    /// Output channels of the backbone's convolutions (ReLU, then 2×2 max-pooling, each).
    pub channels: Vec<usize>,
    /// Side of the square convolution kernels.
    pub kernel: usize,
    /// ReLU units of the backbone's fully connected layer.
    pub dense: usize,
    /// Mixture components of the MDN.
    pub components: usize,
    /// The MDN's σ floor in standardised target units (the digit values have a standard
    /// deviation of about 2.9, so 0.035 is about 0.1 in digit units): targets are exact
    /// integers, and without a floor the peaks would narrow without limit.
    pub min_sigma: f32,
    /// Training hyper-parameters of both networks.
    pub train: TrainConfig,
}

impl MnistSettings {
    /// The settings of a quick (`quick`) or full run.
    pub fn new(quick: bool, seed: u64, components: usize) -> Self {
        // Tuned on the bundled 8,000/2,000 split (2 CPU cores): wider or 3×3 convolutions,
        // 10 components, batch 64 or learning rate 1e-3 were slower or no more accurate.
        let train = TrainConfig {
            epochs: if quick { 2 } else { 60 },
            batch_size: if quick { 32 } else { 128 },
            learning_rate: 2e-3,
            weight_decay: 1e-4,
            validation_fraction: 0.1,
            patience: Some(if quick { 2 } else { 10 }),
            seed,
            ..crate::experiments::common::plain_training()
        };
        let (channels, hidden) = if quick {
            (vec![4, 8], 32)
        } else {
            (vec![16, 32], 128)
        };

        Self {
            data: String::new(),
            max_train: quick.then_some(400),
            max_test: quick.then_some(200),
            n_train: 0,
            n_test: 0,
            image: [28, 28],
            channels,
            kernel: 5,
            dense: hidden,
            components,
            min_sigma: 0.035,
            train,
        }
    }

    /// The CNN both networks share, for images of the settings' size.
    pub fn backbone(&self) -> Backbone {
        let [height, width] = self.image;
        Backbone::Cnn {
            height,
            width,
            channels: self.channels.clone(),
            kernel: self.kernel,
            hidden: self.dense,
            activation: mdn::Activation::Relu,
        }
    }
}

/// Everything the run measured.
#[derive(Debug, Clone, Serialize)]
pub struct MnistMetrics {
    /// The settings used.
    pub settings: MnistSettings,
    /// The MDN's scores (test NLL in nats, RMSEs in digit units) and training record.
    pub mdn: ModelMetrics,
    /// The least-squares CNN's scores and training record.
    pub least_squares: ModelMetrics,
    /// Fraction of test images whose highest mode, rounded, is the label.
    pub best_mode_accuracy: f64,
    /// Fraction whose most probable component's mean, rounded, is the label.
    pub best_component_accuracy: f64,
    /// Fraction whose conditional mean, rounded, is the label: the wrong summary of a
    /// multimodal density.
    pub mean_accuracy: f64,
    /// Fraction of test images with two or more modes whose density is within a factor of
    /// 10 of the highest.
    pub ambiguous_fraction: f64,
    /// Fraction with two or more such modes that round to different digits.
    pub ambiguous_distinct_fraction: f64,
    /// Best-mode accuracy on the ambiguous images only (`None` if there are none).
    pub ambiguous_best_mode_accuracy: Option<f64>,
    /// Rounded-mean accuracy on the ambiguous images only (`None` if there are none).
    pub ambiguous_mean_accuracy: Option<f64>,
    /// Fraction of test images whose label is one of the modes within a factor of 10 of the
    /// highest (rounded).
    pub label_among_modes: f64,
    /// RMSE of the least-squares prediction (digit units).
    pub least_squares_rmse: f64,
    /// Fraction of test images whose least-squares prediction, rounded and clamped to
    /// 0–9, is the label.
    pub least_squares_accuracy: f64,
    /// The MDN's σ floor in digit units (`min_sigma` times the training targets' standard
    /// deviation).
    pub min_sigma_digits: f64,
    /// Wall-clock seconds of the whole run (loading, both trainings, analysis, figures).
    pub total_seconds: f64,
    /// Model files written.
    pub models: Vec<PathBuf>,
    /// Figure files written.
    pub figures: Vec<PathBuf>,
}

/// The digit a prediction names: rounded and clamped to 0–9.
fn digit_of(t: f64) -> u8 {
    t.round().clamp(0.0, 9.0) as u8
}

/// One test image's prediction.
struct Reading {
    mixture: GaussianMixture,
    /// Modes, highest first.
    modes: Vec<Mode>,
}

impl Reading {
    fn new(mixture: GaussianMixture) -> Self {
        let modes = mixture.modes(&ModeOptions::default());
        Self { mixture, modes }
    }

    fn best_mode(&self) -> f64 {
        self.modes[0].location[0]
    }

    /// Modes within a factor 1/[`RIVAL_RATIO`] of the highest.
    fn rivals(&self) -> impl Iterator<Item = &Mode> {
        let floor = self.modes[0].log_density + RIVAL_RATIO.ln();
        self.modes.iter().filter(move |m| m.log_density >= floor)
    }

    fn is_ambiguous(&self) -> bool {
        self.rivals().count() >= 2
    }

    /// Density of the second mode relative to the first (0 with one mode).
    fn second_ratio(&self) -> f64 {
        self.modes
            .get(1)
            .map_or(0.0, |m| (m.log_density - self.modes[0].log_density).exp())
    }
}

/// Runs the experiment with the settings of `options`.
pub fn run(options: &MnistOptions) -> Result<MnistMetrics> {
    let settings = MnistSettings::new(options.quick, options.seed, options.components);
    run_with(options, settings)
}

fn data_error(path: PathBuf, message: String) -> ExperimentError {
    ExperimentError::Data { path, message }
}

/// Runs the experiment with explicit `settings` (`options.quick` and `options.components`
/// are then ignored), writing figures, both models, metrics.json and report.md into
/// `options.out`.
pub fn run_with(options: &MnistOptions, mut settings: MnistSettings) -> Result<MnistMetrics> {
    let started = Instant::now();
    common::prepare_dir(&options.out)?;
    let split: MnistSplit = match &options.data_dir {
        Some(dir) => mnist::official_split(dir)?,
        None => mnist::bundled_split()?,
    };
    let train = match settings.max_train {
        Some(n) => split.train.head(n),
        None => split.train,
    };
    let test = match settings.max_test {
        Some(n) => split.test.head(n),
        None => split.test,
    };
    if (train.images.rows, train.images.cols) != (test.images.rows, test.images.cols) {
        return Err(data_error(
            options.data_dir.clone().unwrap_or_else(mnist::bundled_dir),
            format!(
                "training images are {}x{} but test images {}x{}",
                train.images.rows, train.images.cols, test.images.rows, test.images.cols
            ),
        ));
    }
    settings.data = split.source;
    settings.n_train = train.len();
    settings.n_test = test.len();
    settings.image = [train.images.rows, train.images.cols];
    if options.progress {
        eprintln!(
            "MNIST: {} ({} training, {} test images)",
            settings.data, settings.n_train, settings.n_test
        );
    }
    let train_set = train.to_dataset()?;
    let test_set = test.to_dataset()?;

    let backbone = settings.backbone();
    let mdn_net = Architecture::mdn(backbone.clone(), 1, settings.components)
        .with_min_sigma(settings.min_sigma);
    // The two networks train side by side, sharing the cores; only the MDN shows a bar.
    let jobs = [
        common::FitJob {
            name: format!("MDN m={}", settings.components),
            architecture: mdn_net,
            config: &settings.train,
            train: &train_set,
            test: &test_set,
            bar: true,
        },
        common::FitJob {
            name: "least squares".into(),
            architecture: Architecture::least_squares(backbone, 1),
            config: &settings.train,
            train: &train_set,
            test: &test_set,
            bar: false,
        },
    ];
    let [mdn, ls]: [common::Fitted; 2] = common::fit_all(&jobs, options.progress)?
        .try_into()
        .unwrap_or_else(|_| unreachable!("one result per job"));

    let mut models = Vec::new();
    for (fitted, name) in [(&mdn, "mnist_mdn.mdn"), (&ls, "mnist_least_squares.mdn")] {
        let path = options.out.join(name);
        fitted.model.save(&path)?;
        models.push(path);
    }

    let readings: Vec<Reading> = common::mixtures(&mdn.model, test_set.inputs())?
        .into_iter()
        .map(Reading::new)
        .collect();
    let ls_predictions: Vec<f64> = ls
        .model
        .predict(test_set.inputs())?
        .iter()
        .map(|m| m.mean()[0])
        .collect();
    let n = test.len() as f64;
    let fraction = |count: usize| count as f64 / n;
    let labels = &test.labels;
    let hits = |f: &dyn Fn(&Reading) -> f64| {
        readings
            .iter()
            .zip(labels)
            .filter(|(r, l)| digit_of(f(r)) == **l)
            .count()
    };
    let ambiguous: Vec<usize> = (0..readings.len())
        .filter(|&i| readings[i].is_ambiguous())
        .collect();
    let distinct = readings
        .iter()
        .filter(|r| {
            let mut digits: Vec<u8> = r.rivals().map(|m| digit_of(m.location[0])).collect();
            digits.sort_unstable();
            digits.dedup();
            digits.len() >= 2
        })
        .count();
    let ambiguous_accuracy = |f: &dyn Fn(&Reading) -> f64| {
        let hits = ambiguous
            .iter()
            .filter(|&&i| digit_of(f(&readings[i])) == labels[i])
            .count();
        (!ambiguous.is_empty()).then(|| hits as f64 / ambiguous.len() as f64)
    };
    let among = readings
        .iter()
        .zip(labels)
        .filter(|(r, l)| r.rivals().any(|m| digit_of(m.location[0]) == **l))
        .count();
    let ls_hits = ls_predictions
        .iter()
        .zip(labels)
        .filter(|(p, l)| digit_of(**p) == **l)
        .count();

    let mut figures = Vec::new();
    let chosen = choose_examples(&readings, labels, 4, 8);
    figures.extend(plot::save(
        &digit_grid_figure(&test, &readings, &chosen),
        &options.out,
        "mnist_a_digits",
    )?);
    figures.extend(plot::save(
        &density_figure(&test, &readings, &chosen),
        &options.out,
        "mnist_b_densities",
    )?);
    figures.extend(plot::save(
        &ambiguous_figure(&test, &readings, 24),
        &options.out,
        "mnist_c_ambiguous",
    )?);
    figures.extend(plot::save(
        &common::training_figure(
            "Training curves (MNIST)",
            "NLL (nats per image)",
            &[&mdn, &ls],
            None,
        ),
        &options.out,
        "mnist_d_training",
    )?);

    let metrics = MnistMetrics {
        mdn: mdn.metrics(),
        least_squares: ls.metrics(),
        best_mode_accuracy: fraction(hits(&|r| r.best_mode())),
        best_component_accuracy: fraction(hits(&|r| r.mixture.best_mean()[0])),
        mean_accuracy: fraction(hits(&|r| r.mixture.mean()[0])),
        ambiguous_fraction: fraction(ambiguous.len()),
        ambiguous_distinct_fraction: fraction(distinct),
        ambiguous_best_mode_accuracy: ambiguous_accuracy(&|r| r.best_mode()),
        ambiguous_mean_accuracy: ambiguous_accuracy(&|r| r.mixture.mean()[0]),
        label_among_modes: fraction(among),
        least_squares_rmse: ls.scores.rmse_mean,
        least_squares_accuracy: fraction(ls_hits),
        min_sigma_digits: f64::from(settings.min_sigma) * mdn.model.meta().target_scaler.std[0],
        total_seconds: started.elapsed().as_secs_f64(),
        models,
        figures,
        settings,
    };
    common::write_report(&options.out, &metrics, &report(&metrics))?;
    if options.progress {
        eprintln!(
            "  best-mode accuracy {:.4}, mean accuracy {:.4}, ambiguous {:.4}, least-squares \
             accuracy {:.4}",
            metrics.best_mode_accuracy,
            metrics.mean_accuracy,
            metrics.ambiguous_fraction,
            metrics.least_squares_accuracy
        );
    }
    Ok(metrics)
}

fn report(m: &MnistMetrics) -> String {
    let s = &m.settings;
    let pct = |v: f64| format!("{:.2}%", 100.0 * v);
    let pct_or_dash = |v: Option<f64>| v.map_or_else(|| "—".to_string(), pct);
    format!(
        "# MNIST as regression\n\n\
         Data: {}; {} training and {} test images. Target: the digit's value t ∈ {{0, …, 9}} \
         as a number; inputs: the {} grey levels 0–255 (standardised with one global mean and \
         deviation).\n\n\
         Both networks share one CNN backbone: for each of channels {:?} a {}×{} convolution, \
         ReLU and 2×2 max-pool, then a fully connected layer of {} ReLU units. The MDN puts \
         {} isotropic Gaussian components on it (σ floor {} in standardised units, about {:.2} \
         digit units) and is trained by negative log-likelihood; the least-squares network \
         puts a linear output on it and is trained by mean squared error. Adam, batch {}, \
         learning rate {}, up to {} epochs with early stopping (patience {}) on a {:.0}% \
         validation split; seed {}.\n\n\
         ## Results on the test images\n\n\
         | | MDN m={} | least squares |\n|---|---:|---:|\n\
         | test NLL (nats) | {:.4} | {:.4} |\n\
         | accuracy, rounded best (highest) mode | **{}** | — |\n\
         | accuracy, rounded best component mean | {} | — |\n\
         | accuracy, rounded conditional mean | {} | {} |\n\
         | RMSE of the conditional mean (digits) | {:.4} | {:.4} |\n\
         | RMSE of the best component (digits) | {:.4} | — |\n\
         | training time (s, side by side) | {:.1} | {:.1} |\n\
         | epochs (kept) | {} ({}) | {} ({}) |\n\n\
         The least-squares network's prediction is its conditional-mean estimate; \"rounded\" \
         means rounded to the nearest integer and clamped to 0–9. Its NLL is that of a \
         Gaussian around the prediction with σ fitted to the training residuals, which are \
         smaller than the test residuals once the network fits the training images closely.\n\n\
         Ambiguity: {} of the test images have two or more modes whose density is within a \
         factor of 10 of the highest ({} with such modes on different digits). On those \
         images the best mode is right {} of the time and the rounded conditional mean {}; \
         over all images the label is one of the modes within a factor of 10 of the highest \
         {} of the time. Modes of ambiguous images need not sit exactly on integers: t is \
         treated as continuous, and a component mean can fall between two digits.\n\n\
         Rounding the conditional mean instead of the best mode costs {:.2} percentage \
         points over all test images: for a digit that could be a 4 or a 9 the mean lies in \
         between, on a digit nobody wrote.\n\n\
         The whole run took {:.0} s.\n\n\
         Figures (PNG and SVG): `mnist_a_digits` (sample test digits: confident ones and the \
         most ambiguous ones), `mnist_b_densities` (p(t|image) for each of them, true label \
         and modes marked), `mnist_c_ambiguous` (the most ambiguous test images with their \
         top two modes), `mnist_d_training` (training curves). Models: `mnist_mdn.mdn`, \
         `mnist_least_squares.mdn`; e.g. `mdn predict --model mnist_mdn.mdn --images \
         t10k-images-idx3-ubyte.gz --output modes`.\n",
        s.data,
        s.n_train,
        s.n_test,
        s.image[0] * s.image[1],
        s.channels,
        s.kernel,
        s.kernel,
        s.dense,
        s.components,
        s.min_sigma,
        m.min_sigma_digits,
        s.train.batch_size,
        s.train.learning_rate,
        s.train.epochs,
        s.train
            .patience
            .map_or_else(|| "none".to_string(), |p| p.to_string()),
        s.train.validation_fraction * 100.0,
        s.train.seed,
        s.components,
        m.mdn.test.nll,
        m.least_squares.test.nll,
        pct(m.best_mode_accuracy),
        pct(m.best_component_accuracy),
        pct(m.mean_accuracy),
        pct(m.least_squares_accuracy),
        m.mdn.test.rmse_mean,
        m.least_squares_rmse,
        m.mdn.test.rmse_best,
        m.mdn.train_seconds,
        m.least_squares.train_seconds,
        m.mdn.epochs_run,
        m.mdn.best_epoch,
        m.least_squares.epochs_run,
        m.least_squares.best_epoch,
        pct(m.ambiguous_fraction),
        pct(m.ambiguous_distinct_fraction),
        pct_or_dash(m.ambiguous_best_mode_accuracy),
        pct_or_dash(m.ambiguous_mean_accuracy),
        pct(m.label_among_modes),
        100.0 * (m.best_mode_accuracy - m.mean_accuracy),
        m.total_seconds,
    )
}

/// Test images to show: `confident` clear digits (the highest peak, each a different
/// label, correctly read), then the `ambiguous` ones with the largest second mode.
fn choose_examples(
    readings: &[Reading],
    labels: &[u8],
    confident: usize,
    ambiguous: usize,
) -> Vec<(usize, &'static str)> {
    let mut by_ambiguity: Vec<usize> = (0..readings.len()).collect();
    by_ambiguity.sort_by(|&a, &b| {
        readings[b]
            .second_ratio()
            .total_cmp(&readings[a].second_ratio())
            .then(a.cmp(&b))
    });
    let rivals: Vec<usize> = by_ambiguity
        .iter()
        .copied()
        .filter(|&i| readings[i].second_ratio() > 0.0)
        .take(ambiguous)
        .collect();

    let mut by_confidence: Vec<usize> = (0..readings.len())
        .filter(|&i| digit_of(readings[i].best_mode()) == labels[i] && !rivals.contains(&i))
        .collect();
    by_confidence.sort_by(|&a, &b| {
        readings[b].modes[0]
            .log_density
            .total_cmp(&readings[a].modes[0].log_density)
            .then(a.cmp(&b))
    });
    let mut clear: Vec<usize> = Vec::new();
    // Different labels first, spread over the digits; then anything.
    for &i in &by_confidence {
        if clear.len() == confident {
            break;
        }
        if clear.iter().all(|&j| labels[j] != labels[i]) {
            clear.push(i);
        }
    }
    for &i in &by_confidence {
        if clear.len() == confident {
            break;
        }
        if !clear.contains(&i) {
            clear.push(i);
        }
    }
    clear.sort_by_key(|&i| labels[i]);
    clear
        .into_iter()
        .map(|i| (i, "confident"))
        .chain(rivals.into_iter().map(|i| (i, "ambiguous")))
        .collect()
}
