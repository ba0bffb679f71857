//! Tables as users have them: named columns of numbers or text, with missing cells.
//!
//! A [`Frame`] is what a CSV file or a pandas DataFrame holds before any encoding. Which
//! columns are inputs and targets, and how each is encoded for the network, is the
//! [`Schema`](crate::Schema)'s business.

use crate::error::{MdnError, Result};

/// The cells that mean "missing" in text, compared without regard to case.
pub const MISSING_TOKENS: [&str; 4] = ["", "na", "nan", "null"];

/// Whether a text cell means "missing": empty, `NA`, `NaN` or `null`, in any case.
pub fn is_missing_token(cell: &str) -> bool {
    let cell = cell.trim();
    MISSING_TOKENS.iter().any(|t| cell.eq_ignore_ascii_case(t))
}

/// The cells of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cells {
    /// Numbers; `NaN` marks a missing cell.
    Numbers(Vec<f64>),
    /// Text; `None` marks a missing cell. Cells that are numbers written as text are numbers
    /// to a numeric column.
    Text(Vec<Option<String>>),
}

impl Cells {
    /// Number of cells.
    pub fn len(&self) -> usize {
        match self {
            Cells::Numbers(v) => v.len(),
            Cells::Text(v) => v.len(),
        }
    }

    /// Whether the column has no cells.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether cell `row` is missing.
    pub fn is_missing(&self, row: usize) -> bool {
        match self {
            Cells::Numbers(v) => v[row].is_nan(),
            Cells::Text(v) => v[row].is_none(),
        }
    }
}

/// A table: named columns of equal length.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    names: Vec<String>,
    columns: Vec<Cells>,
    rows: usize,
}

impl Frame {
    /// A table of `columns`, each with its name; the names must be distinct and the columns
    /// of one length.
    pub fn new(columns: Vec<(String, Cells)>) -> Result<Self> {
        let rows = columns.first().map_or(0, |(_, c)| c.len());
        let mut frame = Frame {
            rows,
            ..Frame::default()
        };
        for (name, cells) in columns {
            if frame.names.contains(&name) {
                return Err(MdnError::InvalidData(format!(
                    "column '{name}' appears twice"
                )));
            }
            if cells.len() != rows {
                return Err(MdnError::InvalidData(format!(
                    "column '{name}' has {} cells but the first column has {rows}",
                    cells.len()
                )));
            }
            frame.names.push(name);
            frame.columns.push(cells);
        }
        Ok(frame)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The column names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Cells> {
        let i = self.names.iter().position(|n| n == name)?;
        Some(&self.columns[i])
    }

    /// The column called `name`, or an error naming it and the columns there are.
    pub(crate) fn require(&self, name: &str) -> Result<&Cells> {
        self.column(name).ok_or_else(|| {
            MdnError::InvalidData(format!(
                "no column named '{name}' (the table has: {})",
                self.names.join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tokens_in_any_case() {
        for cell in ["", "NA", "na", "NaN", "nan", "NULL", "null", " NA "] {
            assert!(is_missing_token(cell), "{cell:?}");
        }
        for cell in ["0", "N", "none", "-", "NaNa"] {
            assert!(!is_missing_token(cell), "{cell:?}");
        }
    }

    #[test]
    fn columns_must_be_distinct_and_equally_long() {
        let numbers = |v: Vec<f64>| Cells::Numbers(v);
        assert!(
            Frame::new(vec![
                ("a".into(), numbers(vec![1.0])),
                ("a".into(), numbers(vec![2.0]))
            ])
            .is_err()
        );
        assert!(
            Frame::new(vec![
                ("a".into(), numbers(vec![1.0])),
                ("b".into(), numbers(vec![]))
            ])
            .is_err()
        );
        let frame = Frame::new(vec![
            ("a".into(), numbers(vec![1.0, f64::NAN])),
            ("b".into(), Cells::Text(vec![Some("x".into()), None])),
        ])
        .unwrap();
        assert_eq!(frame.rows(), 2);
        assert!(frame.column("a").unwrap().is_missing(1));
        assert!(frame.column("b").unwrap().is_missing(1));
        assert!(frame.require("c").unwrap_err().to_string().contains("a, b"));
    }
}
