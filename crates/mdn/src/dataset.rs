//! In-memory training data: inputs and targets as row-major f64 matrices.

use crate::error::{MdnError, Result};

/// A set of (input, target) examples with column names.
///
/// Values are checked to be finite on construction, so everything downstream can rely on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    inputs: Vec<f64>,
    targets: Vec<f64>,
    input_dim: usize,
    target_dim: usize,
    input_names: Vec<String>,
    target_names: Vec<String>,
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
        Ok(Self {
            inputs,
            targets,
            input_dim,
            target_dim,
            input_names: default_names("x", input_dim),
            target_names: default_names("t", target_dim),
        })
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
        self.input_names = inputs;
        self.target_names = targets;
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
