//! A trained model: network, normalisation and names, with prediction and model files.

use std::path::Path;

use mdn_engine::{Network, ValidArchitecture};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{MdnError, ModelFileError, Result};
use crate::file::{FileKind, Tensor, TensorFile};
use crate::frame::Frame;
use crate::mixtures::HostMixtures;
use crate::normalize::Standardizer;
use crate::prediction::Prediction;
use crate::schema::{EncodeOptions, InputColumn, Schema};
use crate::scores::{ScoreAccumulator, Scores};
use crate::summary::TrainingSummary;

/// Rows per forward pass when predicting: large enough to amortise dispatch, small enough to
/// keep memory flat for any file size.
pub const PREDICT_CHUNK_ROWS: usize = 2048;

/// Rows from which [`Model::predict`] builds a chunk's mixtures in parallel: below, the hand-off
/// to the thread pool costs more than it saves (W3's 200 rows took 20% longer in parallel; a
/// full chunk of 2,048 gains).
const PARALLEL_MIXTURE_ROWS: usize = 512;

/// Everything about a trained model except its weights: the `mdn` metadata of its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// The architecture.
    pub architecture: ValidArchitecture,
    /// The input and target columns: how a table's columns become the network's features
    /// (numbers, or categories one-hot), and which targets are modelled as logarithms.
    pub schema: Schema,
    /// Standardisation of the features, fitted on the training rows (the identity for the
    /// one-hot features of categories).
    pub input_scaler: Standardizer,
    /// Standardisation of the modelled targets (log t for log targets), fitted on the
    /// training rows.
    pub target_scaler: Standardizer,
    /// For a least-squares network: the standard deviation of its training residuals per
    /// target, in standardised units, which makes its predictive density a Gaussian.
    pub residual_std: Option<Vec<f64>>,
    /// How the model was trained.
    pub training: TrainingSummary,
    /// The software that wrote the model (`mdn <version>`).
    pub created_by: String,
    /// For a deep ensemble (more than one network, or a bootstrap sample): how each member
    /// was trained. `training` is the first member's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ensemble: Option<EnsembleSummary>,
}

/// The members of a deep ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleSummary {
    /// How each member was trained, in member order (member k was seeded `seed + k`).
    pub members: Vec<TrainingSummary>,
    /// Whether each member trained on a bootstrap sample of the training rows.
    pub bootstrap: bool,
}

impl ModelMeta {
    /// The number of networks: the members of an ensemble, or 1.
    pub fn members(&self) -> usize {
        self.ensemble.as_ref().map_or(1, |e| e.members.len())
    }

    /// Checks that the parts agree with each other (dimensions, names, scalers).
    fn check(&self) -> std::result::Result<(), String> {
        let (d, c) = (
            self.architecture.input_dim(),
            self.architecture.target_dim(),
        );
        let features = self.schema.feature_count();
        if features != d || self.input_scaler.dim() != d {
            return Err(format!(
                "{features} features and a {}-feature scaler for a {d}-input network",
                self.input_scaler.dim()
            ));
        }
        if self.schema.targets.len() != c || self.target_scaler.dim() != c {
            return Err(format!(
                "{} targets and a {}-target scaler for a {c}-target network",
                self.schema.targets.len(),
                self.target_scaler.dim()
            ));
        }
        let empty = self.schema.inputs.iter().find(|column| {
            matches!(column, InputColumn::Categorical { categories, .. } if categories.is_empty())
        });
        if let Some(column) = empty {
            return Err(format!(
                "categorical input '{}' has no categories",
                column.name()
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
        if self.members() == 0 {
            return Err("an ensemble without members".into());
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

/// A trained network (or deep ensemble of networks) ready for prediction, in the data's
/// original units.
///
/// Every query goes through [`Prediction`] and [`mdn_mixture::GaussianMixture`], so means, the best component,
/// modes, samples and quantiles all come from one implementation. An ensemble of K networks
/// of M components each predicts their equal-weight mixture of K·M components.
#[derive(Debug, Clone)]
pub struct Model {
    /// At least one; all of `meta.architecture`.
    networks: Vec<Network>,
    meta: ModelMeta,
}

/// Tensor-name prefix of ensemble member `k` in a model file (none for the first, so that an
/// ensemble of one is the single network's file).
fn member_prefix(k: usize) -> String {
    if k == 0 {
        String::new()
    } else {
        format!("member{k}.")
    }
}

impl Model {
    /// A trained network and its description (whose architecture is the network's).
    pub(crate) fn new(network: Network, meta: ModelMeta) -> Self {
        Self {
            networks: vec![network],
            meta,
        }
    }

    /// The deep ensemble of trained single-network `models` (of one architecture, schema
    /// and standardisation; at least one): the first's description, with every member's
    /// training summary.
    pub(crate) fn ensemble(models: Vec<Model>, bootstrap: bool) -> Self {
        let mut meta = models[0].meta.clone();
        meta.ensemble = Some(EnsembleSummary {
            members: models.iter().map(|m| m.meta.training.clone()).collect(),
            bootstrap,
        });
        Self {
            networks: models.into_iter().flat_map(|m| m.networks).collect(),
            meta,
        }
    }

    /// The number of networks: the members of an ensemble, or 1.
    pub fn members(&self) -> usize {
        self.networks.len()
    }

    /// The number of components of every predicted mixture: members × the network's
    /// components (1 a network for least squares).
    pub fn components(&self) -> usize {
        self.members() * self.meta.architecture.components()
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

    /// The input and target columns.
    pub fn schema(&self) -> &Schema {
        &self.meta.schema
    }

    /// Names of the input columns (what a table must hold to be predicted).
    pub fn input_names(&self) -> Vec<String> {
        self.meta.schema.input_names()
    }

    /// Names of the target columns.
    pub fn target_names(&self) -> Vec<String> {
        self.meta.schema.target_names()
    }

    /// Number of the network's input features: the input columns where all are numeric,
    /// more where categories are one-hot.
    pub fn input_dim(&self) -> usize {
        self.meta.architecture.input_dim()
    }

    /// Number of target dimensions.
    pub fn target_dim(&self) -> usize {
        self.meta.architecture.target_dim()
    }

    /// The network's parameters, one flat vector in the order of
    /// [`ValidArchitecture::tensors`] (of an ensemble: the first member's; see
    /// [`Model::member_parameters`]).
    pub fn parameters(&self) -> &[f32] {
        self.networks[0].params()
    }

    /// The parameters of ensemble member `k` (`None` past the last).
    pub fn member_parameters(&self, k: usize) -> Option<&[f32]> {
        self.networks.get(k).map(Network::params)
    }

    /// Records how the number of components was chosen in the training summary (and in the
    /// first ensemble member's).
    pub(crate) fn record_selection(&mut self, selection: crate::trainer::ComponentSelection) {
        if let Some(ensemble) = &mut self.meta.ensemble {
            ensemble.members[0].component_selection = Some(selection.clone());
        }
        self.meta.training.component_selection = Some(selection);
    }

    /// Ensemble member `k` as a model of its own (`None` past the last): its network, the
    /// ensemble's columns and standardisation, and its own training summary.
    pub fn member(&self, k: usize) -> Option<Model> {
        let network = self.networks.get(k)?.clone();
        let mut meta = self.meta.clone();
        if let Some(ensemble) = meta.ensemble.take() {
            meta.training = ensemble.members[k].clone();
        }
        Some(Model::new(network, meta))
    }

    /// Predicts p(t|x) for each row of the row-major features `inputs` (`rows × input_dim`,
    /// original units: for a model whose inputs are all numeric, the input columns in order;
    /// use [`Model::predict_frame`] for tables with categories), in the targets' own units.
    ///
    /// Rows are processed [`PREDICT_CHUNK_ROWS`] at a time.
    pub fn predict(&self, inputs: &[f64]) -> Result<Vec<Prediction>> {
        let d = self.input_dim();
        if !inputs.len().is_multiple_of(d) {
            return Err(MdnError::InvalidData(format!(
                "{} input values are not a whole number of {d}-feature rows",
                inputs.len()
            )));
        }
        if let Some(i) = inputs.iter().position(|v| !v.is_finite()) {
            return Err(MdnError::InvalidData(format!(
                "input row {} feature '{}' is {}; every value must be finite",
                i / d,
                self.meta.schema.feature_names()[i % d],
                inputs[i]
            )));
        }
        let log = self.meta.schema.log_targets();
        let mut mixtures = Vec::with_capacity(inputs.len() / d);
        for chunk in inputs.chunks(PREDICT_CHUNK_ROWS * d) {
            let x = self.meta.input_scaler.transform(chunk);
            let residual = self.meta.residual_std.as_deref().unwrap_or(&[]);
            let rows = chunk.len() / d;
            let mut parts: Vec<HostMixtures> = self
                .networks
                .iter()
                .map(|network| HostMixtures::new(network.predict(&x, rows), residual))
                .collect();
            let host = if parts.len() == 1 {
                parts.remove(0)
            } else {
                HostMixtures::pool(parts)
            };
            // The rows' mixtures (a few small allocations each) are built on all cores once
            // there are enough of them to pay for the hand-off to the pool; the first failing
            // row, in row order, is the one reported.
            let first = mixtures.len();
            let build = |row: usize| -> Result<Prediction> {
                let mixture = host.mixture(row, &self.meta.target_scaler).map_err(|e| {
                    MdnError::InvalidPrediction {
                        row: first + row,
                        reason: e.to_string(),
                    }
                })?;
                Ok(Prediction::new(mixture, log.clone()))
            };
            let built: Vec<Result<Prediction>> = if rows >= PARALLEL_MIXTURE_ROWS {
                (0..rows).into_par_iter().map(build).collect()
            } else {
                (0..rows).map(build).collect()
            };
            for prediction in built {
                mixtures.push(prediction?);
            }
        }
        Ok(mixtures)
    }

    /// Predicts p(t|x) for the rows of a table (by the model's input columns, encoded as in
    /// training). Rows with a missing input are refused or left out as `options.missing`
    /// says; returns the predictions and, for each, its row in the table.
    pub fn predict_frame(
        &self,
        frame: &Frame,
        options: EncodeOptions,
    ) -> Result<(Vec<Prediction>, Vec<usize>)> {
        let encoded = self.meta.schema.encode(frame, options)?;
        let predictions = self.predict(&encoded.features).map_err(|e| match e {
            MdnError::InvalidPrediction { row, reason } => MdnError::InvalidPrediction {
                row: encoded.rows[row],
                reason,
            },
            other => other,
        })?;
        Ok((predictions, encoded.rows))
    }

    /// Predicts p(t|x) for one input row.
    pub fn predict_one(&self, input: &[f64]) -> Result<Prediction> {
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

    /// Scores the model on `data` (whose columns must be in the model's order, and whose
    /// weights, if any, weight the rows): NLL, RMSE of the mean and of the best component,
    /// CRPS, interval coverage and PIT calibration.
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
        let mut scores = ScoreAccumulator::new(self.target_names());
        let predictions = self.predict(data.inputs())?;
        for (i, prediction) in predictions.iter().enumerate() {
            let weight = data.weights().map_or(1.0, |w| w[i]);
            scores
                .add(prediction, data.target(i), weight)
                .map_err(|e| MdnError::InvalidData(format!("row {i}: {e}")))?;
        }
        Ok(scores.finish())
    }

    /// Writes the model to `path` atomically, as a safetensors file (see the `file` module's
    /// documentation for the layout).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        self.tensor_file()
            .write(path)
            .map_err(|kind| MdnError::file(path, kind))
    }

    /// The bytes [`Model::save`] writes (for pickling, or storing a model elsewhere than in
    /// a file).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.tensor_file().to_bytes()
    }

    /// Reads a model written by [`Model::save`].
    ///
    /// A missing, truncated, corrupt, older- or newer-format file, or a training checkpoint,
    /// gives an [`MdnError::ModelFile`] saying which.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = TensorFile::read(path).map_err(|kind| MdnError::file(path, kind))?;
        Self::from_file(file).map_err(|kind| MdnError::file(path, kind))
    }

    /// Reads a model from the bytes of a model file ([`Model::to_bytes`]); errors are as
    /// [`Model::load`]'s, with `<bytes>` for the path.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let fail = |kind| MdnError::file("<bytes>", kind);
        Self::from_file(TensorFile::from_bytes(bytes).map_err(fail)?).map_err(fail)
    }

    fn tensor_file(&self) -> TensorFile {
        TensorFile {
            kind: FileKind::Model,
            meta: serde_json::to_string(&self.meta).expect("model metadata serialises"),
            tensors: self
                .networks
                .iter()
                .enumerate()
                .flat_map(|(k, network)| named_tensors(network, &member_prefix(k)))
                .collect(),
        }
    }

    fn from_file(mut file: TensorFile) -> std::result::Result<Self, ModelFileError> {
        if file.kind == FileKind::Checkpoint {
            return Err(ModelFileError::WrongKind(
                "this is a training checkpoint, not a model; resume training from it \
                 (`mdn train --resume`) or use the model file that training wrote"
                    .into(),
            ));
        }
        let meta: ModelMeta = serde_json::from_str(&file.meta)
            .map_err(|e| ModelFileError::Corrupt(format!("model metadata: {e}")))?;
        meta.check()
            .map_err(|e| ModelFileError::Corrupt(format!("model metadata: {e}")))?;
        let networks = (0..meta.members())
            .map(|k| network_from(&mut file, &member_prefix(k), &meta.architecture))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Self { networks, meta })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Architecture, Backbone, TrainConfig, Trainer};

    /// The metadata of a version-2 file: no noise, ensemble or bootstrap among the training
    /// options, no noise levels or component selection in the summary, no ensemble section.
    fn as_version_2(meta: &str) -> String {
        let mut value: serde_json::Value = serde_json::from_str(meta).unwrap();
        let training = value["training"].as_object_mut().unwrap();
        for key in ["noise_x_sd", "noise_y_sd", "component_selection"] {
            training.remove(key);
        }
        let config = training["config"].as_object_mut().unwrap();
        for key in ["noise_x", "noise_y", "ensemble", "bootstrap"] {
            assert!(config.remove(key).is_some(), "{key}");
        }
        assert!(value.get("ensemble").is_none());
        value.to_string()
    }

    #[test]
    fn a_version_2_file_reads_as_a_single_network_without_noise() {
        let x: Vec<f64> = (0..120).map(|i| i as f64 / 120.0).collect();
        let t: Vec<f64> = x.iter().map(|v| (3.0 * v).sin()).collect();
        let data = Dataset::new(x.clone(), 1, t, 1).unwrap();
        let config = TrainConfig {
            epochs: 3,
            ensemble: 1,
            noise_y: crate::Noise::Off,
            ..TrainConfig::default()
        };
        let architecture = Architecture::mdn(Backbone::mlp(1, vec![4]), 1, 2)
            .check()
            .unwrap();
        let model = Trainer::new(config.check().unwrap())
            .with_progress(false)
            .fit(&architecture, &data)
            .unwrap()
            .model;
        let mut file = model.tensor_file();
        file.meta = as_version_2(&file.meta);
        let old = Model::from_bytes(&file.to_bytes_of_version(2)).unwrap();
        assert_eq!(old.members(), 1);
        assert_eq!(old.training().config.ensemble, 1);
        assert_eq!(old.training().config.noise_y, crate::Noise::Off);
        assert_eq!(old.parameters(), model.parameters());
        assert_eq!(old.predict(&x).unwrap(), model.predict(&x).unwrap());
        // Version 1 is refused as older, 4 as newer, each with a one-line message.
        for (version, says) in [(1, "older mdn"), (4, "not supported")] {
            let error = Model::from_bytes(&file.to_bytes_of_version(version))
                .unwrap_err()
                .to_string();
            assert!(error.contains(says) && !error.contains('\n'), "{error}");
        }
    }
}
