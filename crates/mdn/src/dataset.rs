//! In-memory training data: the network's input features and the targets as row-major f64
//! matrices, with the schema that made them from a table.

use crate::error::{MdnError, Result};
use crate::frame::Frame;
use crate::schema::{EncodeOptions, Schema, TableSpec};

/// A set of (input, target) examples with column names, optional row weights, and the
/// [`Schema`] that encodes a table's columns into the inputs (all numeric unless built by
/// [`Dataset::from_frame`]).
///
/// Values are checked to be finite on construction, so everything downstream can rely on it.
/// Targets are in their own units, also those modelled as logarithms.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    inputs: Vec<f64>,
    targets: Vec<f64>,
    input_dim: usize,
    target_dim: usize,
    input_names: Vec<String>,
    target_names: Vec<String>,
    weights: Option<Vec<f64>>,
    schema: Schema,
}

fn default_names(prefix: &str, dim: usize) -> Vec<String> {
    (0..dim).map(|d| format!("{prefix}{d}")).collect()
}

fn check_matrix(what: &str, values: &[f64], dim: usize) -> Result<usize> {
    if dim == 0 {
        return Err(MdnError::InvalidData(format!("{what} have zero columns")));
    }
    if !values.len().is_multiple_of(dim) {
        return Err(MdnError::InvalidData(format!(
            "{what} hold {} values, which is not a multiple of their {dim} columns",
            values.len()
        )));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(MdnError::InvalidData(format!(
            "{what} row {} column {} is {}; every value must be finite",
            i / dim,
            i % dim,
            values[i]
        )));
    }
    Ok(values.len() / dim)
}

impl Dataset {
    /// Builds a dataset from row-major `inputs` (`len × input_dim`) and `targets`
    /// (`len × target_dim`), named `x0, x1, …` and `t0, t1, …`.
    pub fn new(
        inputs: Vec<f64>,
        input_dim: usize,
        targets: Vec<f64>,
        target_dim: usize,
    ) -> Result<Self> {
        let n_inputs = check_matrix("inputs", &inputs, input_dim)?;
        let n_targets = check_matrix("targets", &targets, target_dim)?;
        if n_inputs != n_targets {
            return Err(MdnError::InvalidData(format!(
                "{n_inputs} input rows but {n_targets} target rows"
            )));
        }
        if n_inputs == 0 {
            return Err(MdnError::InvalidData("the dataset has no rows".into()));
        }
        let (input_names, target_names) = (
            default_names("x", input_dim),
            default_names("t", target_dim),
        );
        Ok(Self {
            inputs,
            targets,
            input_dim,
            target_dim,
            schema: Schema::numeric(&input_names, &target_names),
            input_names,
            target_names,
            weights: None,
        })
    }

    /// The training rows of a table: `spec`'s columns, encoded by the [`Schema`] fitted on
    /// them ([`Schema::fit`]), with rows that have a missing cell refused or left out as
    /// `spec.missing` says. Returns the dataset and how many rows were left out.
    pub fn from_frame(frame: &Frame, spec: &TableSpec) -> Result<(Self, usize)> {
        let schema = Schema::fit(frame, spec)?;
        let data = Self::encode(
            frame,
            schema,
            spec.weights.as_deref(),
            spec.missing,
            Default::default(),
        )?;
        let omitted = frame.rows() - data.len();
        Ok((data, omitted))
    }

    /// The rows of a table encoded by an existing `schema` (e.g. validation rows, encoded as
    /// the training rows were), with its targets and, where named, its weights.
    pub fn encode(
        frame: &Frame,
        schema: Schema,
        weights: Option<&str>,
        missing: crate::MissingPolicy,
        unknown: crate::UnknownCategory,
    ) -> Result<Self> {
        let options = EncodeOptions {
            targets: true,
            weights,
            missing,
            unknown,
        };
        let encoded = schema.encode(frame, options)?;
        if encoded.rows.is_empty() {
            return Err(MdnError::InvalidData(format!(
                "no row of {} is complete{}",
                frame.rows(),
                if frame.rows() > 0 {
                    " (every row has a missing cell)"
                } else {
                    ""
                }
            )));
        }
        let data = Self::new(
            encoded.features,
            schema.feature_count(),
            encoded.targets,
            schema.targets.len(),
        )?
        .with_names(schema.feature_names(), schema.target_names())?;
        let data = match encoded.weights {
            Some(w) => data.with_weights(w)?,
            None => data,
        };
        Ok(Self { schema, ..data })
    }

    /// The same rows with weights (finite, 0 or more, not all 0): a row of weight 2 counts in
    /// the loss as two rows of weight 1.
    pub fn with_weights(mut self, weights: Vec<f64>) -> Result<Self> {
        if weights.len() != self.len() {
            return Err(MdnError::InvalidData(format!(
                "{} weights for {} rows",
                weights.len(),
                self.len()
            )));
        }
        if let Some(i) = weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
            return Err(MdnError::InvalidData(format!(
                "weight of row {i} is {}; weights must be finite and 0 or more",
                weights[i]
            )));
        }
        if weights.iter().all(|&w| w == 0.0) {
            return Err(MdnError::InvalidData("every weight is 0".into()));
        }
        self.weights = Some(weights);
        Ok(self)
    }

    /// The row weights, if any.
    pub fn weights(&self) -> Option<&[f64]> {
        self.weights.as_deref()
    }

    /// The schema that encodes a table's columns into these inputs.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Replaces the column names (one per input and per target column).
    pub fn with_names(mut self, inputs: Vec<String>, targets: Vec<String>) -> Result<Self> {
        if inputs.len() != self.input_dim || targets.len() != self.target_dim {
            return Err(MdnError::InvalidData(format!(
                "{} input names and {} target names for {} input and {} target columns",
                inputs.len(),
                targets.len(),
                self.input_dim,
                self.target_dim
            )));
        }
        if self.schema.all_numeric() {
            self.schema = Schema {
                targets: targets
                    .iter()
                    .zip(&self.schema.targets)
                    .map(|(name, t)| crate::TargetColumn {
                        name: name.clone(),
                        log: t.log,
                    })
                    .collect(),
                ..Schema::numeric(&inputs, &targets)
            };
        }
        self.input_names = inputs;
        self.target_names = targets;
        Ok(self)
    }

    /// The same rows with the targets in `log_targets` modelled as their logarithm (each of
    /// their values must be positive).
    pub fn with_log_targets(mut self, log_targets: &[String]) -> Result<Self> {
        for name in log_targets {
            let Some(j) = self.target_names.iter().position(|n| n == name) else {
                return Err(MdnError::InvalidData(format!(
                    "log target '{name}' is not a target"
                )));
            };
            if let Some(i) = (0..self.len()).find(|&i| self.target(i)[j] <= 0.0) {
                return Err(MdnError::InvalidData(format!(
                    "target '{name}' is {} in row {i}; the logarithm of a target needs every \
                     value to be positive",
                    self.target(i)[j]
                )));
            }
            self.schema.targets[j].log = true;
        }
        Ok(self)
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.inputs.len() / self.input_dim
    }

    /// Whether the dataset has no examples (never true for a constructed dataset).
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Number of input columns.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// Number of target columns.
    pub fn target_dim(&self) -> usize {
        self.target_dim
    }

    /// All inputs, row-major.
    pub fn inputs(&self) -> &[f64] {
        &self.inputs
    }

    /// All targets, row-major.
    pub fn targets(&self) -> &[f64] {
        &self.targets
    }

    /// The inputs of example `i`.
    pub fn input(&self, i: usize) -> &[f64] {
        &self.inputs[i * self.input_dim..(i + 1) * self.input_dim]
    }

    /// The target of example `i`.
    pub fn target(&self, i: usize) -> &[f64] {
        &self.targets[i * self.target_dim..(i + 1) * self.target_dim]
    }

    /// Input column names.
    pub fn input_names(&self) -> &[String] {
        &self.input_names
    }

    /// Target column names.
    pub fn target_names(&self) -> &[String] {
        &self.target_names
    }

    /// The examples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        Dataset {
            weights: self
                .weights
                .as_ref()
                .map(|w| indices.iter().map(|&i| w[i]).collect()),
            schema: self.schema.clone(),
            inputs: indices
                .iter()
                .flat_map(|&i| self.input(i))
                .copied()
                .collect(),
            targets: indices
                .iter()
                .flat_map(|&i| self.target(i))
                .copied()
                .collect(),
            input_dim: self.input_dim,
            target_dim: self.target_dim,
            input_names: self.input_names.clone(),
            target_names: self.target_names.clone(),
        }
    }

    /// A 64-bit FNV-1a fingerprint of the shape and values, used to refuse resuming a
    /// checkpoint on different data.
    pub fn fingerprint(&self) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        };
        eat(&(self.input_dim as u64).to_le_bytes());
        eat(&(self.target_dim as u64).to_le_bytes());
        for v in self.inputs.iter().chain(&self.targets) {
            eat(&v.to_bits().to_le_bytes());
        }
        for w in self.weights.iter().flatten() {
            eat(&w.to_bits().to_le_bytes());
        }
        hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_finite_values_naming_row_and_column() {
        let err = Dataset::new(vec![0.0, 1.0, f64::NAN, 3.0], 2, vec![0.0, 1.0], 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid data: inputs row 1 column 0 is NaN; every value must be finite"
        );
    }

    #[test]
    fn rejects_mismatched_rows_and_ragged_matrices() {
        assert!(Dataset::new(vec![0.0, 1.0], 1, vec![0.0], 1).is_err());
        assert!(Dataset::new(vec![0.0, 1.0, 2.0], 2, vec![0.0], 1).is_err());
        assert!(Dataset::new(vec![], 1, vec![], 1).is_err());
    }

    #[test]
    fn subset_and_fingerprint() {
        let d = Dataset::new(vec![0.0, 1.0, 2.0], 1, vec![5.0, 6.0, 7.0], 1).unwrap();
        let s = d.subset(&[2, 0]);
        assert_eq!(s.inputs(), &[2.0, 0.0]);
        assert_eq!(s.targets(), &[7.0, 5.0]);
        assert_ne!(d.fingerprint(), s.fingerprint());
        assert_eq!(d.fingerprint(), d.clone().fingerprint());
    }
}
