//! `mdn._core`: the Rust side of the Python package `mdn`.
//!
//! The Python layer (`python/python/mdn/`) does what scikit-learn expects of an estimator
//! (parameters, input validation, shapes); everything it computes comes from here, through
//! the same library calls as the command line (`mdn train`, `mdn predict`, `mdn eval`), so a
//! model trained either way is the same model file and gives the same numbers.
//!
//! Arrays cross the boundary as `bytes` of little-endian f64 (the abi3 wheel has no NumPy C
//! API); the Python side wraps them with `numpy.frombuffer`.
//!
//! The estimator's options are one serde struct, [`Options`]: `defaults()` hands its
//! `Default` to Python (the `__init__` defaults), and `Model.train` reads it back from JSON,
//! naming the option whose value has the wrong type. Adding an option is a field, its
//! default, and the line that passes it to [`TrainConfig`] or the architecture.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use mdn::mdn_mixture::{ModeOptions, Temperature};
use mdn::{
    Activation, Architecture, ArchitectureParameter, Backbone, Cells, CovarianceKind, Dataset,
    EncodeOptions, Frame, Head, MdnError, MissingPolicy, Model, ModelFileError, Noise, Parameter,
    Prediction, TableSpec, TrainConfig, Trainer, UnknownCategory,
};
use pyo3::exceptions::{
    PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Which network to train (`mdn train --model-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ModelType {
    /// A mixture density network.
    Mdn,
    /// The least-squares network with the same backbone.
    Mse,
}

/// `--missing` of `mdn train`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Missing {
    Error,
    Drop,
}

/// `--unknown-category` of `mdn predict`/`eval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Unknown {
    Error,
    Zero,
}

/// A noise level as `--noise-x`/`--noise-y` take it: a standard deviation (0: none), or
/// `"auto"` or `"off"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum NoiseLevel {
    Sd(f64),
    Word(String),
}

impl NoiseLevel {
    fn of(noise: Noise) -> Self {
        match noise {
            Noise::Sd(s) => NoiseLevel::Sd(s),
            other => NoiseLevel::Word(other.to_string()),
        }
    }

    fn noise(&self, option: &str) -> PyResult<Noise> {
        match self {
            NoiseLevel::Sd(s) if *s == 0.0 => Ok(Noise::Off),
            // A negative or non-finite level is `TrainConfig::check`'s to refuse.
            NoiseLevel::Sd(s) => Ok(Noise::Sd(*s)),
            NoiseLevel::Word(word) => word
                .parse()
                .map_err(|e| PyValueError::new_err(format!("invalid {option} = {word:?}: {e}"))),
        }
    }
}

/// The estimator's model and training options: `mdn train`'s flags in snake_case, except
/// `n_components` (`--components`) and `random_state` (`--seed`), with the command line's
/// defaults. Which columns are categorical or log targets, and the row weights, are the data's
/// business and come separately.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    n_components: usize,
    covariance: CovarianceKind,
    hidden: Vec<usize>,
    activation: Activation,
    model_type: ModelType,
    min_sigma: f32,
    epochs: usize,
    batch_size: usize,
    lr: f64,
    weight_decay: f64,
    val_fraction: f64,
    /// `None`: never stop early (`--no-early-stopping`).
    patience: Option<usize>,
    lr_plateau: Option<usize>,
    grad_clip: Option<f64>,
    random_state: u64,
    noise_x: NoiseLevel,
    noise_y: NoiseLevel,
    ensemble: usize,
    bootstrap: bool,
    missing: Missing,
    unknown_category: Unknown,
}

impl Default for Options {
    fn default() -> Self {
        let config = TrainConfig::default();
        let min_sigma = mdn::defaults::MIN_SIGMA;
        Self {
            n_components: mdn::defaults::COMPONENTS,
            covariance: mdn::defaults::COVARIANCE,
            hidden: mdn::defaults::HIDDEN.to_vec(),
            activation: mdn::defaults::ACTIVATION,
            model_type: ModelType::Mdn,
            min_sigma,
            epochs: config.epochs,
            batch_size: config.batch_size,
            lr: config.learning_rate,
            weight_decay: config.weight_decay,
            val_fraction: config.validation_fraction,
            patience: config.patience,
            lr_plateau: config.lr_plateau,
            grad_clip: config.grad_clip_norm,
            random_state: config.seed,
            noise_x: NoiseLevel::of(config.noise_x),
            noise_y: NoiseLevel::of(config.noise_y),
            ensemble: config.ensemble,
            bootstrap: config.bootstrap,
            missing: Missing::Error,
            unknown_category: Unknown::Error,
        }
    }
}

impl Options {
    fn from_json(json: &str) -> PyResult<Self> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let option = e.path().to_string();
            PyValueError::new_err(format!("invalid {option}: {}", e.inner()))
        })
    }

    fn config(&self) -> PyResult<TrainConfig> {
        Ok(TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.lr,
            weight_decay: self.weight_decay,
            validation_fraction: self.val_fraction,
            patience: self.patience,
            lr_plateau: self.lr_plateau,
            seed: self.random_state,
            grad_clip_norm: self.grad_clip,
            noise_x: self.noise_x.noise("noise_x")?,
            noise_y: self.noise_y.noise("noise_y")?,
            ensemble: self.ensemble,
            bootstrap: self.bootstrap,
            ..TrainConfig::default()
        })
    }

    fn architecture(&self, features: usize, targets: usize) -> Architecture {
        let backbone =
            Backbone::mlp(features, self.hidden.clone()).with_activation(self.activation);
        match self.model_type {
            ModelType::Mdn => Architecture::mdn(backbone, targets, self.n_components)
                .with_covariance(self.covariance)
                .with_min_sigma(self.min_sigma),
            ModelType::Mse => Architecture::least_squares(backbone, targets),
        }
    }

    /// The options a model was trained with, as far as its file records them.
    fn of_model(model: &Model) -> PyResult<Self> {
        let architecture = model.architecture();
        let Backbone::Mlp {
            hidden, activation, ..
        } = &architecture.backbone
        else {
            return Err(PyValueError::new_err(
                "this model has a convolutional backbone (mdn experiment mnist); MDNRegressor \
                 holds fully connected networks only",
            ));
        };
        let config = &model.training().config;
        let mut options = Options {
            hidden: hidden.clone(),
            activation: *activation,
            epochs: config.epochs,
            batch_size: config.batch_size,
            lr: config.learning_rate,
            weight_decay: config.weight_decay,
            val_fraction: config.validation_fraction,
            patience: config.patience,
            lr_plateau: config.lr_plateau,
            grad_clip: config.grad_clip_norm,
            random_state: config.seed,
            noise_x: NoiseLevel::of(config.noise_x),
            noise_y: NoiseLevel::of(config.noise_y),
            ensemble: config.ensemble,
            bootstrap: config.bootstrap,
            ..Options::default()
        };
        match architecture.head {
            Head::Mixture {
                components,
                covariance,
                min_sigma,
                ..
            } => {
                options.n_components = components;
                options.covariance = covariance;
                options.min_sigma = min_sigma;
            }
            Head::LeastSquares { .. } => options.model_type = ModelType::Mse,
        }
        Ok(options)
    }
}

/// The estimator's name for a parameter (what `__init__` calls it); the match is exhaustive,
/// so a parameter added to the library does not compile here until it has a name.
fn python_name(parameter: Parameter) -> &'static str {
    use ArchitectureParameter as A;
    match parameter {
        Parameter::Architecture(p) => match p {
            A::Inputs => "X (its number of features)",
            A::Hidden => "hidden",
            A::Targets => "y (its number of targets)",
            A::Components => "n_components",
            A::MinSigma => "min_sigma",
            A::Channels => "channels",
            A::Kernel => "kernel",
            A::ImageSize => "image_size",
        },
        Parameter::Epochs => "epochs",
        Parameter::BatchSize => "batch_size",
        Parameter::LearningRate => "lr",
        Parameter::WeightDecay => "weight_decay",
        Parameter::ValidationFraction => "val_fraction",
        Parameter::Patience => "patience",
        Parameter::LrPlateau => "lr_plateau",
        Parameter::Seed => "random_state",
        Parameter::GradClipNorm => "grad_clip",
        Parameter::MaxRecoveries => "max_recoveries",
        Parameter::NoiseX => "noise_x",
        Parameter::NoiseY => "noise_y",
        Parameter::Ensemble => "ensemble",
        // `mdn train --components auto --cv K`; in Python, GridSearchCV chooses.
        Parameter::Folds => "folds",
    }
}

/// A library error as the Python exception a scikit-learn user expects: bad parameters and
/// data are `ValueError`s (naming the parameter in the estimator's terms), files `OSError`s,
/// divergence a `RuntimeError`.
fn py_error(error: MdnError) -> PyErr {
    match error {
        MdnError::InvalidParameter {
            parameter,
            value,
            reason,
        } => PyValueError::new_err(format!(
            "invalid {} = {value}: {reason}",
            python_name(parameter)
        )),
        MdnError::InvalidData(_) | MdnError::InvalidCell { .. } => {
            let hint = match &error {
                MdnError::InvalidCell {
                    problem: mdn::CellProblem::Missing,
                    ..
                } => {
                    " (missing=\"drop\" leaves such rows out of training; predictions need \
                     every input)"
                }
                MdnError::InvalidCell {
                    problem: mdn::CellProblem::UnknownCategory(_),
                    ..
                } => " (unknown_category=\"zero\" encodes it as no category at all)",
                _ => "",
            };
            PyValueError::new_err(format!("{error}{hint}"))
        }
        MdnError::InvalidPrediction { .. } => PyValueError::new_err(error.to_string()),
        MdnError::ModelFile {
            kind: ModelFileError::Io(ref io),
            ..
        } if io.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(error.to_string())
        }
        MdnError::ModelFile { .. } | MdnError::Io { .. } => PyOSError::new_err(error.to_string()),
        MdnError::Diverged { .. } | MdnError::ResumeMismatch { .. } => {
            PyRuntimeError::new_err(error.to_string())
        }
        MdnError::Interrupted { .. } => PyKeyboardInterrupt::new_err(error.to_string()),
    }
}

/// Runs `work` on a rayon pool of `threads` threads (`None`: rayon's global pool, one thread
/// a core), so that several processes on one machine (Dask workers) need not oversubscribe it.
fn in_pool<T: Send>(threads: Option<usize>, work: impl FnOnce() -> T + Send) -> PyResult<T> {
    match threads {
        None => Ok(work()),
        Some(0) => Err(PyValueError::new_err(
            "invalid n_jobs = 0: give a number of threads, or None or -1 for one a core",
        )),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| PyRuntimeError::new_err(format!("n_jobs = {n}: {e}")))?;
            Ok(pool.install(work))
        }
    }
}

fn f64s(bytes: &[u8]) -> PyResult<Vec<f64>> {
    if !bytes.len().is_multiple_of(8) {
        return Err(PyValueError::new_err(
            "an array's bytes are not a whole number of float64 values",
        ));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect())
}

/// `values` as the bytes of float64s, written straight into the new `bytes` object (no
/// intermediate byte vector, which cost a push per byte).
fn to_bytes<'py>(py: Python<'py>, values: &[f64]) -> Bound<'py, PyBytes> {
    PyBytes::new_with(py, values.len() * 8, |bytes| {
        for (out, v) in bytes.chunks_exact_mut(8).zip(values) {
            out.copy_from_slice(&v.to_le_bytes());
        }
        Ok(())
    })
    .expect("writing into a new bytes object cannot fail")
}

/// A table from Python: each column a name and either the bytes of its float64 values (NaN
/// missing) or a list of `str`/`None` cells.
fn frame(columns: Vec<(String, Bound<'_, PyAny>)>) -> PyResult<Frame> {
    let mut cells = Vec::with_capacity(columns.len());
    for (name, column) in columns {
        let column = if let Ok(bytes) = column.downcast::<PyBytes>() {
            Cells::Numbers(f64s(bytes.as_bytes())?)
        } else {
            Cells::Text(column.extract::<Vec<Option<String>>>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "column '{name}': give float64 bytes or a list of str/None"
                ))
            })?)
        };
        cells.push((name, column));
    }
    Frame::new(cells).map_err(py_error)
}

/// Waits for `work` on a thread of its own with the GIL released, checking for Ctrl-C every
/// 100 ms; on an interrupt it sets `stop` (which the trainer watches between epochs), waits
/// for the thread to end and raises `KeyboardInterrupt`.
fn interruptible<T: Send + 'static>(
    py: Python<'_>,
    stop: Arc<AtomicBool>,
    work: impl FnOnce() -> T + Send + 'static,
) -> PyResult<T> {
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("mdn-train".into())
        .spawn(move || {
            let _ = sender.send(work());
        })
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the training thread: {e}")))?;
    py.allow_threads(move || {
        loop {
            match receiver.recv_timeout(Duration::from_millis(100)) {
                Ok(result) => return Ok(result),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Err(interrupt) = Python::with_gil(|py| py.check_signals()) {
                        stop.store(true, Ordering::Relaxed);
                        // The trainer stops before its next epoch; nothing runs on after.
                        let _ = receiver.recv();
                        return Err(interrupt);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(PyRuntimeError::new_err("training panicked"));
                }
            }
        }
    })
}

/// The defaults of the estimator's options, as JSON (the `__init__` defaults).
#[pyfunction]
fn defaults() -> String {
    serde_json::to_string(&Options::default()).expect("options serialise")
}

/// The package's version (python/Cargo.toml's, which pyproject.toml takes too).
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// A trained model (the library's `mdn::Model`): the same bytes as a model file of `mdn
/// train`.
#[pyclass(module = "mdn._core", name = "Model", frozen)]
struct PyModel {
    model: Model,
}

#[pymethods]
impl PyModel {
    /// Trains a model on a table: `columns` as [`frame`] reads them, the input and target
    /// column names, which inputs are categorical and which targets are modelled as
    /// logarithms, the weight column, the options as JSON and the number of threads. Returns
    /// the model, the warnings of training and how many rows were left out.
    #[staticmethod]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (columns, inputs, targets, categorical, log_targets, weights, options, threads))]
    fn train(
        py: Python<'_>,
        columns: Vec<(String, Bound<'_, PyAny>)>,
        inputs: Vec<String>,
        targets: Vec<String>,
        categorical: Vec<String>,
        log_targets: Vec<String>,
        weights: Option<String>,
        options: &str,
        threads: Option<usize>,
    ) -> PyResult<(PyModel, Vec<String>, usize)> {
        let options = Options::from_json(options)?;
        let frame = frame(columns)?;
        let config = options.config()?.check().map_err(py_error)?;
        // Every option is checked before the data, as `mdn train` does.
        options
            .architecture(inputs.len().max(1), targets.len().max(1))
            .check()
            .map_err(|e| py_error(e.into()))?;
        let spec = TableSpec {
            inputs,
            targets,
            categorical,
            log_targets,
            weights,
            missing: match options.missing {
                Missing::Error => MissingPolicy::Error,
                Missing::Drop => MissingPolicy::Omit,
            },
        };
        let (data, dropped): (Dataset, usize) =
            Dataset::from_frame(&frame, &spec).map_err(py_error)?;
        let architecture = options
            .architecture(data.schema().feature_count(), data.target_dim())
            .check()
            .map_err(|e| py_error(e.into()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let trainer = Trainer::new(config)
            .with_progress(false)
            .with_stop(Arc::clone(&stop));
        let trained = interruptible(py, stop, move || {
            in_pool(threads, || trainer.fit(&architecture, &data))
        })??
        .map_err(py_error)?;
        let warnings = trained.warnings.iter().map(|w| w.to_string()).collect();
        Ok((
            PyModel {
                model: trained.model,
            },
            warnings,
            dropped,
        ))
    }

    /// Reads a model file (of `mdn train`, or of `save`).
    #[staticmethod]
    fn load(py: Python<'_>, path: std::path::PathBuf) -> PyResult<PyModel> {
        let model = py.allow_threads(|| Model::load(&path)).map_err(py_error)?;
        Ok(PyModel { model })
    }

    /// A model from the bytes of a model file.
    #[staticmethod]
    fn from_bytes(bytes: &[u8]) -> PyResult<PyModel> {
        let model = Model::from_bytes(bytes).map_err(py_error)?;
        Ok(PyModel { model })
    }

    /// Writes the model file, atomically.
    fn save(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<()> {
        py.allow_threads(|| self.model.save(&path))
            .map_err(py_error)
    }

    /// The bytes of the model file.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.model.to_bytes())
    }

    /// Pickles as the bytes of the model file.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let from_bytes = slf.get_type().getattr("from_bytes")?;
        Ok((
            from_bytes,
            (PyBytes::new(slf.py(), &slf.get().model.to_bytes()),),
        ))
    }

    /// The model file's `mdn` metadata (architecture, schema, scalers, training summary) as
    /// JSON.
    fn meta(&self) -> String {
        serde_json::to_string(self.model.meta()).expect("metadata serialises")
    }

    /// The estimator options the model was trained with, as JSON.
    fn options(&self) -> PyResult<String> {
        Ok(serde_json::to_string(&Options::of_model(&self.model)?).expect("options serialise"))
    }

    /// The input columns, in order.
    fn input_names(&self) -> Vec<String> {
        self.model.input_names()
    }

    /// The target columns, in order.
    fn target_names(&self) -> Vec<String> {
        self.model.target_names()
    }

    /// p(t|x) for each row of a table (the model's input columns; every row complete).
    #[pyo3(signature = (columns, unknown_category, threads))]
    fn predict(
        &self,
        py: Python<'_>,
        columns: Vec<(String, Bound<'_, PyAny>)>,
        unknown_category: &str,
        threads: Option<usize>,
    ) -> PyResult<Predictions> {
        let unknown = match unknown_category {
            "error" => UnknownCategory::Error,
            "zero" => UnknownCategory::Zero,
            other => {
                return Err(PyValueError::new_err(format!(
                    "invalid unknown_category = {other:?}: give \"error\" or \"zero\""
                )));
            }
        };
        let frame = frame(columns)?;
        let options = EncodeOptions {
            unknown,
            ..EncodeOptions::default()
        };
        let model = &self.model;
        let (rows, _) = py
            .allow_threads(|| in_pool(threads, || model.predict_frame(&frame, options)))?
            .map_err(py_error)?;
        Ok(Predictions {
            rows,
            covariance: match model.architecture().head {
                Head::Mixture { covariance, .. } => covariance,
                Head::LeastSquares { .. } => CovarianceKind::Diagonal,
            },
            threads,
        })
    }
}

/// The predictions of a batch of rows: one mixture each, p(t|x) in the targets' own units.
#[pyclass(module = "mdn._core", frozen)]
struct Predictions {
    rows: Vec<Prediction>,
    covariance: CovarianceKind,
    threads: Option<usize>,
}

impl Predictions {
    fn dim(&self) -> usize {
        self.rows.first().map_or(0, Prediction::dim)
    }

    /// `y` (f64 bytes) as `k` points of the target dimension per row, and that dimension;
    /// an error unless it holds exactly that many values.
    fn points(&self, y: &[u8], k: usize) -> PyResult<(Vec<f64>, usize)> {
        let y = f64s(y)?;
        let c = self.dim();
        if y.len() != self.rows.len() * k * c {
            return Err(PyValueError::new_err(
                "y does not have one row per prediction",
            ));
        }
        Ok((y, c))
    }

    /// `f(row, prediction)`'s values for every row, in order, on the pool.
    fn per_row(
        &self,
        py: Python<'_>,
        f: impl Fn(usize, &Prediction) -> PyResult<Vec<f64>> + Sync,
    ) -> PyResult<Vec<f64>> {
        let rows = &self.rows;
        let parts: Vec<PyResult<Vec<f64>>> = py.allow_threads(|| {
            in_pool(self.threads, || {
                rows.par_iter()
                    .enumerate()
                    .map(|(i, p)| f(i, p))
                    .collect::<Vec<_>>()
            })
        })?;
        let mut out = Vec::new();
        for part in parts {
            out.extend(part?);
        }
        Ok(out)
    }
}

fn mixture_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

#[pymethods]
impl Predictions {
    fn __len__(&self) -> usize {
        self.rows.len()
    }

    /// (rows, components, targets).
    fn shape(&self) -> (usize, usize, usize) {
        let m = self.rows.first().map_or(0, |p| p.mixture().n_components());
        (self.rows.len(), m, self.dim())
    }

    /// The covariance kind of the components (`isotropic`, `diagonal`, `full`).
    fn covariance(&self) -> &'static str {
        match self.covariance {
            CovarianceKind::Isotropic => "isotropic",
            CovarianceKind::Diagonal => "diagonal",
            CovarianceKind::Full => "full",
        }
    }

    /// Which targets the mixture models as logarithms.
    fn log_targets(&self) -> Vec<bool> {
        let c = self.dim();
        self.rows
            .first()
            .map_or(vec![false; c], |p| (0..c).map(|j| p.is_log(j)).collect())
    }

    /// The mixture parameters over the modelled targets: weights (n·m), means (n·m·c) and
    /// covariance matrices (n·m·c·c), row-major.
    #[allow(clippy::type_complexity)]
    fn params<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
    )> {
        let (n, m, c) = self.shape();
        let (mut weights, mut means, mut covariances) = (
            vec![0.0; n * m],
            vec![0.0; n * m * c],
            vec![0.0; n * m * c * c],
        );
        // Each row fills its own slices, on the pool (one rayon thread a core, as everywhere
        // else), without the GIL.
        let fill = || {
            self.rows
                .par_iter()
                .zip(weights.par_chunks_mut(m.max(1)))
                .zip(means.par_chunks_mut((m * c).max(1)))
                .zip(covariances.par_chunks_mut((m * c * c).max(1)))
                .for_each(|(((prediction, w), mu), cov)| {
                    let mixture = prediction.mixture();
                    w.copy_from_slice(&mixture.weights());
                    for k in 0..m {
                        mu[k * c..(k + 1) * c].copy_from_slice(mixture.component_mean(k));
                        cov[k * c * c..(k + 1) * c * c]
                            .copy_from_slice(&mixture.component_covariance(k));
                    }
                });
        };
        py.allow_threads(|| in_pool(self.threads, fill))?;
        Ok((
            to_bytes(py, &weights),
            to_bytes(py, &means),
            to_bytes(py, &covariances),
        ))
    }

    /// E[t|x] per row (n·c).
    fn mean<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let out = self.per_row(py, |_, p| Ok(p.mean()))?;
        Ok(to_bytes(py, &out))
    }

    /// The mean of the most probable component per row (n·c).
    fn best<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let out = self.per_row(py, |_, p| Ok(p.best_mean()))?;
        Ok(to_bytes(py, &out))
    }

    /// The standard deviation of each target's marginal per row (n·c), in the targets' units.
    ///
    /// # Formula
    /// Var t_j = Σ_i α_i (Σ_i,jj + μ_ij²) − (E t_j)²; for a log target, with the log-normal
    /// moments E[t_j²] = Σ_i α_i exp(2μ_ij + 2Σ_i,jj).
    fn std<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let out = self.per_row(py, |_, p| {
            let mixture = p.mixture();
            let c = p.dim();
            let weights = mixture.weights();
            let mean = p.mean();
            Ok((0..c)
                .map(|j| {
                    let second: f64 = weights
                        .iter()
                        .enumerate()
                        .map(|(k, w)| {
                            let mu = mixture.component_mean(k)[j];
                            let var = mixture.component_covariance(k)[j * c + j];
                            if p.is_log(j) {
                                w * (2.0 * mu + 2.0 * var).exp()
                            } else {
                                w * (var + mu * mu)
                            }
                        })
                        .sum();
                    (second - mean[j] * mean[j]).max(0.0).sqrt()
                })
                .collect())
        })?;
        Ok(to_bytes(py, &out))
    }

    /// log p(t|x) at `k` points per row (`y`: n·k·c) → n·k.
    fn logpdf<'py>(&self, py: Python<'py>, y: &[u8], k: usize) -> PyResult<Bound<'py, PyBytes>> {
        let (y, c) = self.points(y, k)?;
        let out = self.per_row(py, |i, p| {
            Ok(y[i * k * c..(i + 1) * k * c]
                .chunks_exact(c)
                .map(|t| p.log_prob(t))
                .collect())
        })?;
        Ok(to_bytes(py, &out))
    }

    /// P(t_j ≤ y_j) under each target's marginal, at `k` points per row (`y`: n·k·c) → n·k·c.
    fn cdf<'py>(&self, py: Python<'py>, y: &[u8], k: usize) -> PyResult<Bound<'py, PyBytes>> {
        let (y, c) = self.points(y, k)?;
        let out = self.per_row(py, |i, p| {
            y[i * k * c..(i + 1) * k * c]
                .iter()
                .enumerate()
                .map(|(at, &v)| p.marginal_cdf(at % c, v).map_err(mixture_error))
                .collect()
        })?;
        Ok(to_bytes(py, &out))
    }

    /// The closed-form CRPS of each target's marginal at `y` (n·c) → n·c.
    fn crps<'py>(&self, py: Python<'py>, y: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let (y, c) = self.points(y, 1)?;
        let out = self.per_row(py, |i, p| {
            (0..c)
                .map(|j| p.marginal_crps(j, y[i * c + j]).map_err(mixture_error))
                .collect()
        })?;
        Ok(to_bytes(py, &out))
    }

    /// The q-quantiles of each target's marginal per row → n·len(q)·c.
    fn quantile<'py>(&self, py: Python<'py>, q: Vec<f64>) -> PyResult<Bound<'py, PyBytes>> {
        if let Some(bad) = q.iter().find(|q| !(**q > 0.0 && **q < 1.0)) {
            return Err(PyValueError::new_err(format!(
                "invalid q = {bad}: quantile levels must lie strictly between 0 and 1"
            )));
        }
        let c = self.dim();
        let out = self.per_row(py, |_, p| {
            let mut row = Vec::with_capacity(q.len() * c);
            for &level in &q {
                for j in 0..c {
                    row.push(p.marginal_quantile(j, level).map_err(mixture_error)?);
                }
            }
            Ok(row)
        })?;
        Ok(to_bytes(py, &out))
    }

    /// The modes of p(t|x) per row, highest first: (locations k·c, log densities k) each.
    fn modes<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Vec<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)>> {
        let rows = &self.rows;
        let modes: Vec<Vec<mdn::mdn_mixture::Mode>> = py.allow_threads(|| {
            in_pool(self.threads, || {
                rows.par_iter()
                    .map(|p| p.modes(&ModeOptions::default()))
                    .collect()
            })
        })?;
        Ok(modes
            .iter()
            .map(|row| {
                let locations: Vec<f64> = row.iter().flat_map(|m| m.location.clone()).collect();
                let densities: Vec<f64> = row.iter().map(|m| m.log_density).collect();
                (to_bytes(py, &locations), to_bytes(py, &densities))
            })
            .collect())
    }

    /// `n` draws per row at `temperature` → rows·n·c. Row i draws from ChaCha8 seeded with
    /// `seed` on stream i, as `mdn predict --output samples --seed` does for the file's row i.
    fn sample<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        temperature: f64,
        seed: u64,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let temperature = Temperature::new(temperature)
            .map_err(|e| PyValueError::new_err(format!("invalid temperature: {e}")))?;
        let out = self.per_row(py, |i, p| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(i as u64);
            Ok(p.sample_n(n, &mut rng, temperature)
                .into_iter()
                .flatten()
                .collect())
        })?;
        Ok(to_bytes(py, &out))
    }
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(defaults, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_class::<PyModel>()?;
    m.add_class::<Predictions>()?;
    Ok(())
}
