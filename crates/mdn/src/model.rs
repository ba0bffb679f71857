//! A trained model: network, normalisation and names, with prediction and model files.

use std::path::Path;

use burn::prelude::*;
use burn::store::ModuleRecord;
use mdn_mixture::GaussianMixture;
use serde::{Deserialize, Serialize};

use crate::container::Container;
use crate::convert::HostMixtures;
use crate::dataset::Dataset;
use crate::engine::Engine;
use crate::error::{MdnError, ModelFileError, Result};
use crate::kernels;
use crate::network::{Network, NetworkConfig};
use crate::normalize::Standardizer;
use crate::scores::{ScoreAccumulator, Scores};
use crate::trainer::TrainingSummary;

/// Rows per forward pass when predicting: large enough to amortise dispatch, small enough to
/// keep memory flat for any file size.
pub const PREDICT_CHUNK_ROWS: usize = 2048;

/// Section names of a model file.
pub(crate) const MODEL_SECTION: &str = "model";
pub(crate) const WEIGHTS_SECTION: &str = "weights";
pub(crate) const CHECKPOINT_SECTION: &str = "checkpoint";

/// Everything about a trained model except its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// The architecture.
    pub network: NetworkConfig,
    /// Names of the input columns, in the order the network takes them.
    pub input_names: Vec<String>,
    /// Names of the target columns.
    pub target_names: Vec<String>,
    /// Standardisation of the inputs, fitted on the training rows.
    pub input_scaler: Standardizer,
    /// Standardisation of the targets, fitted on the training rows.
    pub target_scaler: Standardizer,
    /// For a least-squares network: the standard deviation of its training residuals per
    /// target, in standardised units, which makes its predictive density a Gaussian.
    pub residual_std: Option<Vec<f64>>,
    /// How the model was trained.
    pub training: Option<TrainingSummary>,
    /// The software that wrote the model (`mdn <version>`).
    pub created_by: String,
}

impl ModelMeta {
    /// Checks that the parts agree with each other (dimensions, names, scalers).
    pub(crate) fn check(&self) -> std::result::Result<(), String> {
        self.network.check().map_err(|e| e.to_string())?;
        let (d, c) = (self.network.input(), self.network.target_dim());
        if self.input_names.len() != d || self.input_scaler.dim() != d {
            return Err(format!(
                "{} input names and a {}-feature scaler for a {d}-input network",
                self.input_names.len(),
                self.input_scaler.dim()
            ));
        }
        if self.target_names.len() != c || self.target_scaler.dim() != c {
            return Err(format!(
                "{} target names and a {}-target scaler for a {c}-target network",
                self.target_names.len(),
                self.target_scaler.dim()
            ));
        }
        let scalers_ok = self
            .input_scaler
            .std
            .iter()
            .chain(&self.target_scaler.std)
            .all(|s| s.is_finite() && *s > 0.0);
        if !scalers_ok {
            return Err("a standardisation scale is not positive".into());
        }
        match (&self.residual_std, self.network.is_mixture()) {
            (None, true) => Ok(()),
            (Some(r), false) if r.len() == c && r.iter().all(|s| s.is_finite() && *s > 0.0) => {
                Ok(())
            }
            _ => Err("residual standard deviations do not fit the network".into()),
        }
    }
}

/// A trained network ready for prediction, in the data's original units.
///
/// Every query goes through [`mdn_mixture::GaussianMixture`], so means, the best component,
/// modes, samples and quantiles all come from one implementation.
#[derive(Debug, Clone)]
pub struct Model {
    network: Network,
    meta: ModelMeta,
    device: Device,
    /// The same weights for the CPU kernels, when they compute the predictions.
    cpu: Option<mdn_cpu::Network>,
}

impl Model {
    /// Wraps a trained network (moved to inference mode on `device`); predictions use
    /// [`Engine::Auto`]'s choice.
    pub(crate) fn new(network: Network, meta: ModelMeta, device: Device) -> Self {
        let model = Self {
            network: network.valid(),
            meta,
            device,
            cpu: None,
        };
        model
            .with_engine(Engine::Auto)
            .expect("the automatic engine always resolves")
    }

    /// The model computing its predictions with `engine` (by default [`Engine::Auto`]: the
    /// CPU kernels on the Flex CPU device). Both engines give the same predictions to f32
    /// rounding.
    pub fn with_engine(mut self, engine: Engine) -> Result<Self> {
        self.cpu = match engine.resolve(&self.device, &self.meta.network)? {
            Engine::Cpu => Some(kernels::to_cpu_for(&self.network, &self.meta.network)),
            _ => None,
        };
        Ok(self)
    }

    /// The engine computing the predictions: [`Engine::Cpu`] or [`Engine::Burn`].
    pub fn engine(&self) -> Engine {
        if self.cpu.is_some() {
            Engine::Cpu
        } else {
            Engine::Burn
        }
    }

    /// Everything about the model except its weights.
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// The architecture.
    pub fn config(&self) -> &NetworkConfig {
        &self.meta.network
    }

    /// Names of the input columns.
    pub fn input_names(&self) -> &[String] {
        &self.meta.input_names
    }

    /// Names of the target columns.
    pub fn target_names(&self) -> &[String] {
        &self.meta.target_names
    }

    /// Number of input features.
    pub fn input_dim(&self) -> usize {
        self.meta.network.input()
    }

    /// Number of target dimensions.
    pub fn target_dim(&self) -> usize {
        self.meta.network.target_dim()
    }

    /// The underlying network (inference mode), for custom tensor-level use.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Predicts p(t|x) for each row of the row-major `inputs` (`rows × input_dim`, original
    /// units), as mixtures in original target units.
    ///
    /// Rows are processed [`PREDICT_CHUNK_ROWS`] at a time.
    pub fn predict(&self, inputs: &[f64]) -> Result<Vec<GaussianMixture>> {
        let d = self.input_dim();
        if !inputs.len().is_multiple_of(d) {
            return Err(MdnError::InvalidData(format!(
                "{} input values are not a whole number of {d}-feature rows",
                inputs.len()
            )));
        }
        if let Some(i) = inputs.iter().position(|v| !v.is_finite()) {
            return Err(MdnError::InvalidData(format!(
                "input row {} column '{}' is {}; every value must be finite",
                i / d,
                self.meta.input_names[i % d],
                inputs[i]
            )));
        }
        let mut mixtures = Vec::with_capacity(inputs.len() / d);
        for chunk in inputs.chunks(PREDICT_CHUNK_ROWS * d) {
            let host = self.forward_chunk(chunk);
            for row in 0..chunk.len() / d {
                let mixture = host.mixture(row, &self.meta.target_scaler).map_err(|e| {
                    MdnError::InvalidPrediction {
                        row: mixtures.len(),
                        reason: e.to_string(),
                    }
                })?;
                mixtures.push(mixture);
            }
        }
        Ok(mixtures)
    }

    /// Predicts p(t|x) for one input row.
    pub fn predict_one(&self, input: &[f64]) -> Result<GaussianMixture> {
        if input.len() != self.input_dim() {
            return Err(MdnError::InvalidData(format!(
                "expected {} input values, got {}",
                self.input_dim(),
                input.len()
            )));
        }
        Ok(self.predict(input)?.remove(0))
    }

    /// log p(t|x) of each (input row, target row) pair, in original units (nats).
    pub fn log_likelihood(&self, inputs: &[f64], targets: &[f64]) -> Result<Vec<f64>> {
        let c = self.target_dim();
        let mixtures = self.predict(inputs)?;
        if targets.len() != mixtures.len() * c {
            return Err(MdnError::InvalidData(format!(
                "{} target values for {} rows of {c} targets",
                targets.len(),
                mixtures.len()
            )));
        }
        Ok(mixtures
            .iter()
            .zip(targets.chunks_exact(c))
            .map(|(mixture, t)| mixture.log_prob(t))
            .collect())
    }

    /// Scores the model on `data` (whose columns must be in the model's order): NLL, RMSE of
    /// the mean and of the best component, and 90% interval coverage.
    pub fn evaluate(&self, data: &Dataset) -> Result<Scores> {
        if data.input_dim() != self.input_dim() || data.target_dim() != self.target_dim() {
            return Err(MdnError::InvalidData(format!(
                "the data has {} input and {} target columns; the model needs {} and {}",
                data.input_dim(),
                data.target_dim(),
                self.input_dim(),
                self.target_dim()
            )));
        }
        let mut scores = ScoreAccumulator::new(self.target_names().to_vec());
        let mixtures = self.predict(data.inputs())?;
        for (i, mixture) in mixtures.iter().enumerate() {
            scores
                .add(mixture, data.target(i))
                .map_err(|e| MdnError::InvalidData(format!("row {i}: {e}")))?;
        }
        Ok(scores.finish())
    }

    fn forward_chunk(&self, chunk: &[f64]) -> HostMixtures {
        let d = self.input_dim();
        let rows = chunk.len() / d;
        let x = self.meta.input_scaler.transform(chunk);
        let residual = self.meta.residual_std.as_deref().unwrap_or(&[]);
        if let Some(cpu) = &self.cpu {
            return HostMixtures::from_cpu(cpu.predict(&x, rows), residual);
        }
        let x = Tensor::<2>::from_data(TensorData::new(x, [rows, d]), &self.device);
        HostMixtures::from_output(self.network.forward(x).into_mixture(residual))
    }

    /// Writes the model to `path` atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let mut container = Container::default();
        let meta = serde_json::to_vec_pretty(&self.meta).expect("model metadata serialises");
        container.push(MODEL_SECTION, meta);
        container.push(WEIGHTS_SECTION, weights_bytes(&self.network));
        container
            .write(path)
            .map_err(|kind| MdnError::file(path, kind))
    }

    /// Reads a model written by [`Model::save`], on the Flex CPU device.
    ///
    /// A missing, truncated, corrupt or future-version file, or a training checkpoint, gives
    /// an [`MdnError::ModelFile`] saying which.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_on(path, &Device::flex())
    }

    /// Reads a model onto `device`.
    pub fn load_on(path: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let path = path.as_ref();
        let fail = |kind| MdnError::file(path, kind);
        let container = Container::read(path).map_err(fail)?;
        if !container.has_section(MODEL_SECTION) && container.has_section(CHECKPOINT_SECTION) {
            return Err(fail(ModelFileError::WrongKind(
                "this is a training checkpoint, not a model; resume training from it \
                 (`mdn train --resume`) or use the model file that training wrote"
                    .into(),
            )));
        }
        let meta: ModelMeta =
            serde_json::from_slice(container.section(MODEL_SECTION).map_err(fail)?)
                .map_err(|e| fail(ModelFileError::Corrupt(format!("model metadata: {e}"))))?;
        meta.check()
            .map_err(|e| fail(ModelFileError::Corrupt(format!("model metadata: {e}"))))?;
        let network = meta
            .network
            .init(device, 0)
            .map_err(|e| fail(ModelFileError::Corrupt(e.to_string())))?;
        let network = load_weights(network, container.section(WEIGHTS_SECTION).map_err(fail)?)
            .map_err(fail)?;
        Ok(Self::new(network, meta, device.clone()))
    }
}

/// The network's parameters as a burnpack byte buffer.
pub(crate) fn weights_bytes(network: &Network) -> Vec<u8> {
    network
        .clone()
        .into_record()
        .into_bytes()
        .expect("an in-memory record always serialises")
        .to_vec()
}

/// Applies a burnpack byte buffer to a freshly initialised network of the same architecture.
pub(crate) fn load_weights(
    network: Network,
    bytes: &[u8],
) -> std::result::Result<Network, ModelFileError> {
    let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| ModelFileError::Corrupt(format!("weights: {e}")))?;
    network
        .try_load_record(record)
        .map_err(|e| ModelFileError::Corrupt(format!("weights do not fit the architecture: {e}")))
}
