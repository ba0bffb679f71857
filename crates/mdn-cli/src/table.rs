//! Reading numeric columns from CSV files, with errors that name the file, row and column.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// A CSV file opened for reading a chosen set of numeric columns, in chunks.
///
/// Rows are numbered from 1 after the header (row 1 is line 2 of the file), as a spreadsheet
/// user would count them.
pub struct Table {
    path: PathBuf,
    reader: csv::Reader<File>,
    header: Vec<String>,
    selected: Vec<usize>,
    record: csv::StringRecord,
    rows_read: usize,
}

impl Table {
    /// Opens `path` and finds `columns` by header name.
    pub fn open(path: &Path, columns: &[String]) -> Result<Self> {
        Self::open_for(path, columns, None)
    }

    /// Like [`Table::open`]; a missing column's error says that `needed_by` (e.g. a model
    /// file) needs it.
    pub fn open_for(path: &Path, columns: &[String], needed_by: Option<&Path>) -> Result<Self> {
        let shown = path.display();
        let file = File::open(path).with_context(|| format!("{shown}: cannot open"))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            // Ragged rows are reported by us, with the row number and field counts.
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(file);
        let header: Vec<String> = reader
            .headers()
            .with_context(|| format!("{shown}: cannot read the header"))?
            .iter()
            .map(str::to_string)
            .collect();
        if header.is_empty() || header.iter().all(String::is_empty) {
            bail!("{shown}: the file is empty; expected a header row naming the columns");
        }
        for (i, name) in header.iter().enumerate() {
            if let Some(j) = header[..i].iter().position(|n| n == name) {
                bail!(
                    "{shown}: column name '{name}' appears twice in the header (columns {} and {})",
                    j + 1,
                    i + 1
                );
            }
        }
        let selected = columns
            .iter()
            .map(|name| {
                header.iter().position(|h| h == name).with_context(|| {
                    let needed = needed_by
                        .map(|m| format!(", which {} needs", m.display()))
                        .unwrap_or_default();
                    format!(
                        "{shown}: no column named '{name}'{needed} (the header has: {})",
                        header.join(", ")
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            header,
            selected,
            record: csv::StringRecord::new(),
            rows_read: 0,
        })
    }

    /// Reads up to `max_rows` rows, appending the selected columns row-major to `out`.
    /// Returns how many rows were read (0 at the end of the file).
    fn read_chunk(&mut self, max_rows: usize, out: &mut Vec<f64>) -> Result<usize> {
        let mut rows = 0;
        while rows < max_rows {
            let more = self.reader.read_record(&mut self.record).with_context(|| {
                format!(
                    "{}: row {}: malformed CSV",
                    self.path.display(),
                    self.rows_read + 1
                )
            })?;
            if !more {
                break;
            }
            self.rows_read += 1;
            if self.record.len() == 1 && self.record[0].is_empty() && self.header.len() > 1 {
                // A blank line; the csv crate already skips truly empty ones.
                self.rows_read -= 1;
                continue;
            }
            let (fields, columns) = (self.record.len(), self.header.len());
            if fields != columns {
                let detail = if fields < columns {
                    format!("no value for column '{}'", self.header[fields])
                } else {
                    format!("extra value '{}'", self.record[columns].escape_debug())
                };
                bail!(
                    "{}: {} has {fields} field{} but the header has {columns} ({detail})",
                    self.path.display(),
                    self.where_(),
                    if fields == 1 { "" } else { "s" },
                );
            }
            for &column in &self.selected {
                out.push(self.parse(column)?);
            }
            rows += 1;
        }
        Ok(rows)
    }

    fn parse(&self, column: usize) -> Result<f64> {
        let cell = &self.record[column];
        let at = || {
            format!(
                "{}: {}, column '{}'",
                self.path.display(),
                self.where_(),
                self.header[column]
            )
        };
        if cell.is_empty() {
            bail!("{}: the cell is empty; expected a number", at());
        }
        let shown = cell.escape_debug();
        let value: f64 = cell
            .parse()
            .map_err(|_| anyhow::anyhow!("{}: '{shown}' is not a number", at()))?;
        if !value.is_finite() {
            bail!("{}: '{shown}' is not a finite number", at());
        }
        Ok(value)
    }

    /// The current record as `row N (line L)`: data rows count from 1 after the header, lines
    /// from 1 at the top of the file.
    fn where_(&self) -> String {
        match self.record.position() {
            Some(position) => format!("row {} (line {})", self.rows_read, position.line()),
            None => format!("row {}", self.rows_read),
        }
    }

    /// Reads every remaining row; an error if there is none.
    pub fn read_all(&mut self) -> Result<(Vec<f64>, usize)> {
        let mut values = Vec::new();
        let rows = self.read_chunk(usize::MAX, &mut values)?;
        self.require_rows()?;
        Ok((values, rows))
    }

    /// The next chunk of up to `max_rows` rows: the index (from 0) of its first data row and
    /// the selected columns row-major; `None` at the end of the file.
    pub fn next_chunk(&mut self, max_rows: usize) -> Result<Option<(usize, Vec<f64>)>> {
        let first = self.rows_read;
        let mut values = Vec::new();
        Ok((self.read_chunk(max_rows, &mut values)? > 0).then_some((first, values)))
    }

    /// An error naming the file if it had no data row after the header (call once all of it
    /// is read).
    pub fn require_rows(&self) -> Result<()> {
        if self.rows_read == 0 {
            bail!("{}: no data rows after the header", self.path.display());
        }
        Ok(())
    }
}

/// Reads two groups of columns (e.g. inputs and targets) from one file at once.
pub fn read_columns(
    path: &Path,
    inputs: &[String],
    targets: &[String],
) -> Result<(Vec<f64>, Vec<f64>, usize)> {
    let all: Vec<String> = inputs.iter().chain(targets).cloned().collect();
    let mut table = Table::open(path, &all)?;
    let (values, rows) = table.read_all()?;
    let width = all.len();
    let (mut x, mut t) = (
        Vec::with_capacity(rows * inputs.len()),
        Vec::with_capacity(rows * targets.len()),
    );
    for row in values.chunks_exact(width) {
        x.extend_from_slice(&row[..inputs.len()]);
        t.extend_from_slice(&row[inputs.len()..]);
    }
    Ok((x, t, rows))
}
