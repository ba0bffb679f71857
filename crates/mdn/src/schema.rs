//! How a table's columns become the network's numbers: numeric inputs as they are,
//! categorical inputs one-hot, targets as they are or as their logarithm.
//!
//! A [`Schema`] is fitted on the training rows ([`Schema::fit`]) and stored in the model, so
//! that every later table is encoded the same way ([`Schema::encode`]): the same columns,
//! the same categories in the same order.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{MdnError, Result};
use crate::frame::{Cells, Frame};

/// How an input column enters the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InputColumn {
    /// A number: one feature, standardised on the training rows.
    Numeric {
        /// The column's name.
        name: String,
    },
    /// A category: one feature per category seen in training (sorted), 1 for the row's and 0
    /// for the others.
    Categorical {
        /// The column's name.
        name: String,
        /// The categories seen in training, sorted.
        categories: Vec<String>,
    },
}

impl InputColumn {
    /// The column's name.
    pub fn name(&self) -> &str {
        match self {
            InputColumn::Numeric { name } | InputColumn::Categorical { name, .. } => name,
        }
    }

    /// Number of features it becomes.
    pub fn width(&self) -> usize {
        match self {
            InputColumn::Numeric { .. } => 1,
            InputColumn::Categorical { categories, .. } => categories.len(),
        }
    }
}

/// A target column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetColumn {
    /// The column's name.
    pub name: String,
    /// Whether the network models log t (the target must be positive); every density,
    /// quantile, mode and sample is still in the target's own units.
    #[serde(default)]
    pub log: bool,
}

/// The columns of a model: what it reads and what it predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// The input columns, in the order their features reach the network.
    pub inputs: Vec<InputColumn>,
    /// The target columns.
    pub targets: Vec<TargetColumn>,
}

/// What to do with a row that has a missing cell in a column the model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingPolicy {
    /// Refuse the table, naming the cell.
    #[default]
    Error,
    /// Leave the row out (the command line's `--missing drop` when training, `--missing
    /// skip` when predicting or evaluating).
    Omit,
}

/// What to do with a category that training never saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownCategory {
    /// Refuse the table, naming the cell.
    #[default]
    Error,
    /// Encode it as no category at all (every one-hot feature 0).
    Zero,
}

/// Why a cell of a table cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub enum CellProblem {
    /// The cell is empty, `NA`, `NaN` or `null`.
    Missing,
    /// A numeric column holds text.
    NotANumber(String),
    /// A number is infinite.
    NotFinite(String),
    /// A target column holds text.
    TextTarget(String),
    /// A category the model never saw in training.
    UnknownCategory(String),
    /// A log target that is not positive.
    NotPositive(f64),
    /// A weight that is negative or not finite.
    BadWeight(f64),
}

impl fmt::Display for CellProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CellProblem::Missing => write!(f, "the cell is missing"),
            CellProblem::NotANumber(v) => write!(f, "'{v}' is not a number"),
            CellProblem::NotFinite(v) => write!(f, "'{v}' is not a finite number"),
            CellProblem::TextTarget(v) => {
                write!(f, "'{v}' is text, but a target must be a number")
            }
            CellProblem::UnknownCategory(v) => {
                write!(f, "'{v}' is a category the model never saw in training")
            }
            CellProblem::NotPositive(v) => {
                write!(
                    f,
                    "{v} is not positive, and the logarithm of a target needs it to be"
                )
            }
            CellProblem::BadWeight(v) => {
                write!(f, "weight {v} is not a finite number of 0 or more")
            }
        }
    }
}

/// What a table is for training: which columns, and how to read them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableSpec {
    /// The input columns.
    pub inputs: Vec<String>,
    /// The target columns.
    pub targets: Vec<String>,
    /// Input columns to treat as categories even though their cells are numbers (e.g. a
    /// 1/2/3 region code). Columns whose cells are not all numbers are categorical anyway.
    pub categorical: Vec<String>,
    /// Target columns to model as their logarithm.
    pub log_targets: Vec<String>,
    /// A column of row weights (finite, 0 or more).
    pub weights: Option<String>,
    /// What to do with rows that have missing cells.
    pub missing: MissingPolicy,
}

/// Which parts of a table to encode.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EncodeOptions<'a> {
    /// Also read the target columns.
    pub targets: bool,
    /// Also read this column of row weights.
    pub weights: Option<&'a str>,
    /// What to do with rows that have missing cells.
    pub missing: MissingPolicy,
    /// What to do with categories training never saw.
    pub unknown: UnknownCategory,
}

/// A table encoded for the network.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Encoded {
    /// The network's input features, row-major (`rows × Schema::feature_count`).
    pub features: Vec<f64>,
    /// The targets in their own units, row-major (empty unless asked for).
    pub targets: Vec<f64>,
    /// The row weights, when a weight column was asked for.
    pub weights: Option<Vec<f64>>,
    /// For each encoded row, its row in the table (rows left out are missing from here).
    pub rows: Vec<usize>,
}

fn cell_error(row: usize, column: &str, problem: CellProblem) -> MdnError {
    MdnError::InvalidCell {
        row,
        column: column.to_string(),
        problem,
    }
}

/// Cell `row` of a numeric column: `None` where missing.
fn number(cells: &Cells, row: usize, column: &str) -> Result<Option<f64>> {
    let value = match cells {
        Cells::Numbers(v) => v[row],
        Cells::Text(v) => match &v[row] {
            None => f64::NAN,
            Some(text) => text
                .trim()
                .parse::<f64>()
                .map_err(|_| cell_error(row, column, CellProblem::NotANumber(text.clone())))?,
        },
    };
    if value.is_nan() {
        return Ok(None);
    }
    if !value.is_finite() {
        return Err(cell_error(
            row,
            column,
            CellProblem::NotFinite(value.to_string()),
        ));
    }
    Ok(Some(value))
}

/// Cell `row` of a categorical column as its category: `None` where missing. Numbers are
/// categories by their shortest decimal form (`1`, `2.5`).
fn category(cells: &Cells, row: usize) -> Option<String> {
    match cells {
        Cells::Numbers(v) => (!v[row].is_nan()).then(|| v[row].to_string()),
        Cells::Text(v) => v[row].clone(),
    }
}

/// Whether every present cell of the column is a number.
fn all_numbers(cells: &Cells) -> bool {
    match cells {
        Cells::Numbers(_) => true,
        Cells::Text(v) => v
            .iter()
            .flatten()
            .all(|text| text.trim().parse::<f64>().is_ok()),
    }
}

impl Schema {
    /// All-numeric inputs and plain targets, with these names.
    pub fn numeric(inputs: &[String], targets: &[String]) -> Self {
        Self {
            inputs: inputs
                .iter()
                .map(|name| InputColumn::Numeric { name: name.clone() })
                .collect(),
            targets: targets
                .iter()
                .map(|name| TargetColumn {
                    name: name.clone(),
                    log: false,
                })
                .collect(),
        }
    }

    /// Number of features the network takes.
    pub fn feature_count(&self) -> usize {
        self.inputs.iter().map(InputColumn::width).sum()
    }

    /// One name per feature: a numeric column's own, `column=category` for each category.
    pub fn feature_names(&self) -> Vec<String> {
        self.inputs
            .iter()
            .flat_map(|column| match column {
                InputColumn::Numeric { name } => vec![name.clone()],
                InputColumn::Categorical { name, categories } => {
                    categories.iter().map(|c| format!("{name}={c}")).collect()
                }
            })
            .collect()
    }

    /// For each feature, whether it is a number (rather than a one-hot indicator).
    pub fn numeric_features(&self) -> Vec<bool> {
        self.inputs
            .iter()
            .flat_map(|column| {
                let numeric = matches!(column, InputColumn::Numeric { .. });
                std::iter::repeat_n(numeric, column.width())
            })
            .collect()
    }

    /// The input column names.
    pub fn input_names(&self) -> Vec<String> {
        self.inputs.iter().map(|c| c.name().to_string()).collect()
    }

    /// The target column names.
    pub fn target_names(&self) -> Vec<String> {
        self.targets.iter().map(|t| t.name.clone()).collect()
    }

    /// For each target, whether the network models its logarithm.
    pub fn log_targets(&self) -> Vec<bool> {
        self.targets.iter().map(|t| t.log).collect()
    }

    /// Whether every input is numeric, so that the features are the input columns.
    pub fn all_numeric(&self) -> bool {
        self.inputs
            .iter()
            .all(|c| matches!(c, InputColumn::Numeric { .. }))
    }

    /// The schema of `spec`'s columns in `frame`: an input is categorical when `spec` says so
    /// or when its present cells are not all numbers, with the categories of the rows that
    /// `spec.missing` keeps, sorted. Targets must be numbers.
    pub fn fit(frame: &Frame, spec: &TableSpec) -> Result<Self> {
        let mut names: Vec<&String> = spec.inputs.iter().chain(&spec.targets).collect();
        names.extend(spec.weights.as_ref());
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(MdnError::InvalidData(format!(
                    "column '{name}' is named twice among the inputs, targets and weights"
                )));
            }
            frame.require(name)?;
        }
        for name in spec.categorical.iter() {
            if !spec.inputs.contains(name) {
                return Err(MdnError::InvalidData(format!(
                    "categorical column '{name}' is not an input"
                )));
            }
        }
        for name in spec.log_targets.iter() {
            if !spec.targets.contains(name) {
                return Err(MdnError::InvalidData(format!(
                    "log target '{name}' is not a target"
                )));
            }
        }
        // Rows with a missing cell in a used column, which `spec.missing` refuses or leaves
        // out; the categories are those of the rows kept.
        let keep = rows_to_keep(frame, &names, spec.missing)?;
        let mut inputs = Vec::with_capacity(spec.inputs.len());
        for name in &spec.inputs {
            let cells = frame.require(name)?;
            let categorical = spec.categorical.contains(name) || !all_numbers(cells);
            inputs.push(if categorical {
                let mut categories: Vec<String> =
                    keep.iter().filter_map(|&r| category(cells, r)).collect();
                categories.sort();
                categories.dedup();
                InputColumn::Categorical {
                    name: name.clone(),
                    categories,
                }
            } else {
                InputColumn::Numeric { name: name.clone() }
            });
        }
        for name in &spec.targets {
            if let Cells::Text(v) = frame.require(name)?
                && let Some(r) = keep.iter().copied().find(|&r| {
                    v[r].as_ref()
                        .is_some_and(|text| text.trim().parse::<f64>().is_err())
                })
            {
                let text = v[r].clone().unwrap_or_default();
                return Err(cell_error(r, name, CellProblem::TextTarget(text)));
            }
        }
        let targets = spec
            .targets
            .iter()
            .map(|name| TargetColumn {
                name: name.clone(),
                log: spec.log_targets.contains(name),
            })
            .collect();
        Ok(Self { inputs, targets })
    }

    /// Encodes the rows of `frame` for the network: features always; targets and weights
    /// when `options` ask. Rows with a missing cell in a column read are refused or left
    /// out, as `options.missing` says; [`Encoded::rows`] tells which rows were kept. Rows are
    /// encoded in order, so an error is about the first bad row.
    pub fn encode(&self, frame: &Frame, options: EncodeOptions) -> Result<Encoded> {
        let inputs: Vec<(&InputColumn, &Cells)> = self
            .inputs
            .iter()
            .map(|column| Ok((column, frame.require(column.name())?)))
            .collect::<Result<_>>()?;
        let targets: Vec<(&TargetColumn, &Cells)> = if options.targets {
            self.targets
                .iter()
                .map(|target| Ok((target, frame.require(&target.name)?)))
                .collect::<Result<_>>()?
        } else {
            Vec::new()
        };
        let weights = match options.weights {
            Some(name) => Some((name, frame.require(name)?)),
            None => None,
        };
        let used: Vec<(&str, &Cells)> = inputs
            .iter()
            .map(|(column, cells)| (column.name(), *cells))
            .chain(
                targets
                    .iter()
                    .map(|(target, cells)| (target.name.as_str(), *cells)),
            )
            .chain(weights)
            .collect();
        let mut encoded = Encoded {
            features: Vec::with_capacity(frame.rows() * self.feature_count()),
            targets: Vec::with_capacity(frame.rows() * targets.len()),
            weights: weights.map(|_| Vec::with_capacity(frame.rows())),
            rows: Vec::with_capacity(frame.rows()),
        };
        for row in 0..frame.rows() {
            if let Some((name, _)) = used.iter().find(|(_, cells)| cells.is_missing(row)) {
                match options.missing {
                    MissingPolicy::Error => {
                        return Err(cell_error(row, name, CellProblem::Missing));
                    }
                    MissingPolicy::Omit => continue,
                }
            }
            for (column, cells) in &inputs {
                encode_input(column, cells, row, options.unknown, &mut encoded.features)?;
            }
            for (target, cells) in &targets {
                encoded.targets.push(target_value(target, cells, row)?);
            }
            if let (Some((name, cells)), Some(out)) = (weights, encoded.weights.as_mut()) {
                let value = number(cells, row, name)?.unwrap_or(f64::NAN);
                if value < 0.0 {
                    return Err(cell_error(row, name, CellProblem::BadWeight(value)));
                }
                out.push(value);
            }
            encoded.rows.push(row);
        }
        Ok(encoded)
    }
}

/// Appends the features of input `column`'s (present) cell `row` to `features`.
fn encode_input(
    column: &InputColumn,
    cells: &Cells,
    row: usize,
    unknown: UnknownCategory,
    features: &mut Vec<f64>,
) -> Result<()> {
    match column {
        InputColumn::Numeric { name } => {
            features.push(number(cells, row, name)?.unwrap_or(f64::NAN));
        }
        InputColumn::Categorical { name, categories } => {
            let value = category(cells, row).unwrap_or_default();
            let start = features.len();
            features.resize(start + categories.len(), 0.0);
            match categories.binary_search(&value) {
                Ok(k) => features[start + k] = 1.0,
                Err(_) if unknown == UnknownCategory::Zero => {}
                Err(_) => {
                    return Err(cell_error(row, name, CellProblem::UnknownCategory(value)));
                }
            }
        }
    }
    Ok(())
}

/// Target `target`'s (present) cell `row`: a number, positive for a log target.
fn target_value(target: &TargetColumn, cells: &Cells, row: usize) -> Result<f64> {
    if let Cells::Text(v) = cells
        && let Some(text) = &v[row]
        && text.trim().parse::<f64>().is_err()
    {
        return Err(cell_error(
            row,
            &target.name,
            CellProblem::TextTarget(text.clone()),
        ));
    }
    let value = number(cells, row, &target.name)?.unwrap_or(f64::NAN);
    if target.log && value <= 0.0 {
        return Err(cell_error(
            row,
            &target.name,
            CellProblem::NotPositive(value),
        ));
    }
    Ok(value)
}

/// The rows of `frame` with no missing cell in `columns`; with [`MissingPolicy::Error`] the
/// first missing cell is an error instead.
fn rows_to_keep(frame: &Frame, columns: &[&String], missing: MissingPolicy) -> Result<Vec<usize>> {
    let cells: Vec<(&String, &Cells)> = columns
        .iter()
        .map(|&name| Ok((name, frame.require(name)?)))
        .collect::<Result<_>>()?;
    let mut keep = Vec::with_capacity(frame.rows());
    for row in 0..frame.rows() {
        match cells.iter().find(|(_, c)| c.is_missing(row)) {
            None => keep.push(row),
            Some((name, _)) if missing == MissingPolicy::Error => {
                return Err(cell_error(row, name, CellProblem::Missing));
            }
            Some(_) => {}
        }
    }
    Ok(keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(cells: &[Option<&str>]) -> Cells {
        Cells::Text(cells.iter().map(|c| c.map(str::to_string)).collect())
    }

    fn frame() -> Frame {
        Frame::new(vec![
            ("x".into(), Cells::Numbers(vec![0.5, 1.5, f64::NAN, 2.5])),
            (
                "cut".into(),
                text(&[Some("Ideal"), Some("Fair"), Some("Good"), Some("Fair")]),
            ),
            (
                "region".into(),
                text(&[Some("1"), Some("3"), Some("2"), Some("1")]),
            ),
            (
                "t".into(),
                text(&[Some("2.0"), Some("4"), Some("8"), Some("1")]),
            ),
        ])
        .unwrap()
    }

    fn spec() -> TableSpec {
        TableSpec {
            inputs: vec!["x".into(), "cut".into(), "region".into()],
            targets: vec!["t".into()],
            categorical: vec!["region".into()],
            log_targets: vec!["t".into()],
            ..TableSpec::default()
        }
    }

    #[test]
    fn text_columns_and_forced_columns_become_sorted_categories() {
        let omit = TableSpec {
            missing: MissingPolicy::Omit,
            ..spec()
        };
        let schema = Schema::fit(&frame(), &omit).unwrap();
        // Row 2 (x missing) is left out, so its categories ("Good", "2") are not seen.
        assert_eq!(
            schema.inputs,
            [
                InputColumn::Numeric { name: "x".into() },
                InputColumn::Categorical {
                    name: "cut".into(),
                    categories: vec!["Fair".into(), "Ideal".into()]
                },
                InputColumn::Categorical {
                    name: "region".into(),
                    categories: vec!["1".into(), "3".into()]
                },
            ]
        );
        assert!(schema.targets[0].log);
        assert_eq!(schema.feature_count(), 5);
        assert_eq!(
            schema.feature_names(),
            ["x", "cut=Fair", "cut=Ideal", "region=1", "region=3"]
        );
        assert_eq!(
            schema.numeric_features(),
            [true, false, false, false, false]
        );
        let options = EncodeOptions {
            targets: true,
            missing: MissingPolicy::Omit,
            ..EncodeOptions::default()
        };
        let encoded = schema.encode(&frame(), options).unwrap();
        assert_eq!(encoded.rows, [0, 1, 3]);
        assert_eq!(
            encoded.features,
            [
                0.5, 0.0, 1.0, 1.0, 0.0, 1.5, 1.0, 0.0, 0.0, 1.0, 2.5, 1.0, 0.0, 1.0, 0.0
            ]
        );
        assert_eq!(
            encoded.targets,
            [2.0, 4.0, 1.0],
            "targets stay in their own units"
        );
    }

    #[test]
    fn bad_cells_are_named_by_row_and_column() {
        let problem = |result: Result<Schema>| match result {
            Err(MdnError::InvalidCell {
                row,
                column,
                problem,
            }) => (row, column, problem),
            other => panic!("expected a cell error, got {other:?}"),
        };
        // Missing cells are refused by default.
        assert_eq!(
            problem(Schema::fit(&frame(), &spec())),
            (2, "x".into(), CellProblem::Missing)
        );
        // A text target says so.
        let mut columns = vec![("x".to_string(), Cells::Numbers(vec![1.0, 2.0]))];
        columns.push(("t".into(), text(&[Some("1"), Some("high")])));
        let words = Frame::new(columns).unwrap();
        let spec = TableSpec {
            inputs: vec!["x".into()],
            targets: vec!["t".into()],
            ..TableSpec::default()
        };
        assert_eq!(
            problem(Schema::fit(&words, &spec)),
            (1, "t".into(), CellProblem::TextTarget("high".into()))
        );
        // An unseen category is refused, or encoded as none at all.
        let schema = Schema::fit(
            &frame(),
            &TableSpec {
                missing: MissingPolicy::Omit,
                ..super::tests::spec()
            },
        )
        .unwrap();
        let new = Frame::new(vec![
            ("x".into(), Cells::Numbers(vec![1.0])),
            ("cut".into(), text(&[Some("Premium")])),
            ("region".into(), Cells::Numbers(vec![3.0])),
        ])
        .unwrap();
        let error = schema.encode(&new, EncodeOptions::default()).unwrap_err();
        assert!(
            matches!(&error, MdnError::InvalidCell { row: 0, column, problem: CellProblem::UnknownCategory(v) } if column == "cut" && v == "Premium"),
            "{error:?}"
        );
        let zero = EncodeOptions {
            unknown: UnknownCategory::Zero,
            ..EncodeOptions::default()
        };
        let encoded = schema.encode(&new, zero).unwrap();
        assert_eq!(
            encoded.features,
            [1.0, 0.0, 0.0, 0.0, 1.0],
            "region 3 as a number"
        );
    }
}
