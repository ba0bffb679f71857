//! A trained model: network, normalisation and names, with prediction and model files.

use std::path::Path;

use mdn_engine::{Network, ValidArchitecture};
use mdn_mixture::GaussianMixture;
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{MdnError, ModelFileError, Result};
use crate::file::{FileKind, Tensor, TensorFile};
use crate::mixtures::HostMixtures;
use crate::normalize::Standardizer;
use crate::scores::{ScoreAccumulator, Scores};
use crate::summary::TrainingSummary;

/// Rows per forward pass when predicting: large enough to amortise dispatch, small enough to
/// keep memory flat for any file size.
pub const PREDICT_CHUNK_ROWS: usize = 2048;

/// Everything about a trained model except its weights: the `mdn` metadata of its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// The architecture.
    pub architecture: ValidArchitecture,
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
    pub training: TrainingSummary,
    /// The software that wrote the model (`mdn <version>`).
    pub created_by: String,
}

impl ModelMeta {
    /// Checks that the parts agree with each other (dimensions, names, scalers).
    fn check(&self) -> std::result::Result<(), String> {
        let (d, c) = (
            self.architecture.input_dim(),
            self.architecture.target_dim(),
        );
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
        match (&self.residual_std, self.architecture.is_mixture()) {
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
}

impl Model {
    /// A trained network and its description (whose architecture is the network's).
    pub(crate) fn new(network: Network, meta: ModelMeta) -> Self {
        Self { network, meta }
    }

    /// Everything about the model except its weights.
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// The architecture.
    pub fn architecture(&self) -> &ValidArchitecture {
        &self.meta.architecture
    }

    /// How the model was trained.
    pub fn training(&self) -> &TrainingSummary {
        &self.meta.training
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
        self.meta.architecture.input_dim()
    }

    /// Number of target dimensions.
    pub fn target_dim(&self) -> usize {
        self.meta.architecture.target_dim()
    }

    /// The network's parameters, one flat vector in the order of
    /// [`ValidArchitecture::tensors`].
    pub fn parameters(&self) -> &[f32] {
        self.network.params()
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
            let x = self.meta.input_scaler.transform(chunk);
            let residual = self.meta.residual_std.as_deref().unwrap_or(&[]);
            let host = HostMixtures::new(self.network.predict(&x, chunk.len() / d), residual);
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
        let mut mixtures = self.predict(input)?;
        Ok(mixtures.remove(0))
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

    /// Writes the model to `path` atomically, as a safetensors file (see the `file` module's
    /// documentation for the layout).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let file = TensorFile {
            kind: FileKind::Model,
            meta: serde_json::to_string(&self.meta).expect("model metadata serialises"),
            tensors: named_tensors(&self.network, ""),
        };
        file.write(path).map_err(|kind| MdnError::file(path, kind))
    }

    /// Reads a model written by [`Model::save`].
    ///
    /// A missing, truncated, corrupt, older- or newer-format file, or a training checkpoint,
    /// gives an [`MdnError::ModelFile`] saying which.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let fail = |kind| MdnError::file(path, kind);
        let mut file = TensorFile::read(path).map_err(fail)?;
        if file.kind == FileKind::Checkpoint {
            return Err(fail(ModelFileError::WrongKind(
                "this is a training checkpoint, not a model; resume training from it \
                 (`mdn train --resume`) or use the model file that training wrote"
                    .into(),
            )));
        }
        let meta: ModelMeta = serde_json::from_str(&file.meta)
            .map_err(|e| fail(ModelFileError::Corrupt(format!("model metadata: {e}"))))?;
        meta.check()
            .map_err(|e| fail(ModelFileError::Corrupt(format!("model metadata: {e}"))))?;
        let network = network_from(&mut file, "", &meta.architecture).map_err(fail)?;
        Ok(Self::new(network, meta))
    }
}

/// The network's parameters as named tensors, each name prefixed with `prefix`.
pub(crate) fn named_tensors(network: &Network, prefix: &str) -> Vec<Tensor> {
    let layout = network.param_layout();
    layout
        .tensors()
        .iter()
        .enumerate()
        .map(|(i, tensor)| Tensor {
            name: format!("{prefix}{}", tensor.name),
            dims: tensor.dims.clone(),
            values: network.params()[layout.range(i)].to_vec(),
        })
        .collect()
}

/// The network of `architecture` whose tensors (named with `prefix`) `file` holds.
pub(crate) fn network_from(
    file: &mut TensorFile,
    prefix: &str,
    architecture: &ValidArchitecture,
) -> std::result::Result<Network, ModelFileError> {
    let mut params = Vec::with_capacity(architecture.parameter_count());
    for expected in architecture.tensors() {
        let name = format!("{prefix}{}", expected.name);
        let tensor = file.take(&name)?;
        if tensor.dims != expected.dims {
            return Err(ModelFileError::Corrupt(format!(
                "tensor '{name}' has shape {:?}; the architecture needs {:?}",
                tensor.dims, expected.dims
            )));
        }
        params.extend(tensor.values);
    }
    Network::new(architecture.clone(), params)
        .map_err(|e| ModelFileError::Corrupt(format!("weights: {e}")))
}
