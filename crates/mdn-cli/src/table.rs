//! Reading numeric columns from CSV files, with errors that name the file, line and column.
//!
//! Every message about a row names the file and its **line number** (the header is line 1),
//! which is what an editor shows and what stays right through blank lines and quoted fields
//! that span lines. Gzipped files (`.csv.gz`) are read as they are.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use mdn::mdn_mixture::GaussianMixture;
use mdn::{MdnError, Model};

/// The first bytes of every gzip file.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A chunk of input rows: where they come from and their values.
pub struct Chunk {
    /// Index (from 0) of the chunk's first row: the `row` column of outputs.
    pub first_row: usize,
    /// Where each row is, for messages.
    pub origin: Origin,
    /// The selected columns of every row, row-major.
    pub values: Vec<f64>,
}

/// Where the rows of a [`Chunk`] come from.
pub enum Origin {
    /// A CSV file: the line each row starts on.
    Lines(Vec<u64>),
    /// An image file: row i is image `first_row + i` (from 0).
    Images,
}

impl Chunk {
    /// Where row `i` of the chunk is: `"line L"` of a CSV file, `"image N"` of an image file.
    pub fn place(&self, i: usize) -> String {
        match &self.origin {
            Origin::Lines(lines) => format!("line {}", lines[i]),
            Origin::Images => format!("image {}", self.first_row + i),
        }
    }

    /// `"FILE: line L"` for row `i` of the chunk read from `source`.
    pub fn at(&self, source: &Path, i: usize) -> String {
        format!("{}: {}", source.display(), self.place(i))
    }

    /// The model's mixtures for this chunk's rows (`inputs`: their input columns), with an
    /// error naming `source` and the row's place in it.
    pub fn mixtures(
        &self,
        model: &Model,
        inputs: &[f64],
        source: &Path,
    ) -> Result<Vec<GaussianMixture>> {
        model.predict(inputs).map_err(|error| match error {
            MdnError::InvalidPrediction { row, .. } => {
                anyhow::Error::from(error).context(self.at(source, row))
            }
            other => anyhow::Error::from(other).context(source.display().to_string()),
        })
    }
}

/// A CSV file opened for reading a chosen set of numeric columns, in chunks.
pub struct Table {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read>>,
    header: Vec<String>,
    selected: Vec<usize>,
    record: csv::StringRecord,
    rows_read: usize,
}

/// The first `max` characters of `text` with control characters escaped (`…` where it is
/// cut), for messages that quote what a file holds.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut shown = text
        .chars()
        .take(max)
        .collect::<String>()
        .escape_debug()
        .to_string();
    if text.chars().count() > max {
        shown.push('…');
    }
    shown
}

/// Opens `path`, decompressing it on the fly if it is gzipped.
fn open(path: &Path) -> Result<Box<dyn Read>> {
    let shown = path.display();
    let file = File::open(path).with_context(|| format!("{shown}: cannot open"))?;
    // Peeked, not read, so that pipes work too.
    let mut reader = BufReader::new(file);
    let start = reader
        .fill_buf()
        .with_context(|| format!("{shown}: cannot read"))?;
    Ok(if start.starts_with(&GZIP_MAGIC) {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    })
}

/// A csv error as a message naming the file (and line, where known), in plain words.
fn csv_error(path: &Path, error: &csv::Error) -> String {
    let shown = path.display();
    let line = error
        .position()
        .map(|p| format!("line {}: ", p.line()))
        .unwrap_or_default();
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            format!("{shown}: {line}not a CSV file: not UTF-8 text (binary data?)")
        }
        csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            format!("{shown}: cannot decompress: {io}")
        }
        _ => format!("{shown}: {line}malformed CSV: {error}"),
    }
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
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            // Ragged rows are reported by us, with the line number and field counts.
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(open(path)?);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| anyhow::anyhow!("{}", csv_error(path, &e)))?
            .iter()
            .map(str::to_string)
            .collect();
        if header.is_empty() || header.iter().all(String::is_empty) {
            bail!("{shown}: the file is empty; expected a header row naming the columns");
        }
        let joined = header.join(",");
        if joined.chars().any(|c| c.is_control() && c != '\t') {
            bail!(
                "{shown}: not a CSV file: it starts with \"{}\" (binary data; is it a model file?)",
                excerpt(&joined, 40)
            );
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
                        excerpt(&header.join(", "), 400)
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

    /// Reads up to `max_rows` rows, appending the selected columns row-major to `out` and
    /// each row's line to `lines`. Returns how many rows were read (0 at the end of the file).
    fn read_chunk(
        &mut self,
        max_rows: usize,
        out: &mut Vec<f64>,
        lines: &mut Vec<u64>,
    ) -> Result<usize> {
        let mut rows = 0;
        while rows < max_rows {
            let more = self
                .reader
                .read_record(&mut self.record)
                .map_err(|e| anyhow::anyhow!("{}", csv_error(&self.path, &e)))?;
            if !more {
                break;
            }
            if self.record.len() == 1 && self.record[0].is_empty() && self.header.len() > 1 {
                // A blank line; the csv crate already skips truly empty ones.
                continue;
            }
            let (fields, columns) = (self.record.len(), self.header.len());
            if fields != columns {
                let detail = if fields < columns {
                    format!("no value for column '{}'", self.header[fields])
                } else {
                    format!("extra value '{}'", excerpt(&self.record[columns], 40))
                };
                bail!(
                    "{}: {} has {fields} field{} but the header has {columns} ({detail})",
                    self.path.display(),
                    self.line(),
                    if fields == 1 { "" } else { "s" },
                );
            }
            for &column in &self.selected {
                out.push(self.parse(column)?);
            }
            lines.push(self.line_number());
            self.rows_read += 1;
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
                self.line(),
                self.header[column]
            )
        };
        if cell.is_empty() {
            bail!("{}: the cell is empty; expected a number", at());
        }
        // Quoted only on an error: this runs for every cell of every file.
        let shown = || format!("'{}'", excerpt(cell, 40));
        let value: f64 = cell
            .parse()
            .map_err(|_| anyhow::anyhow!("{}: {} is not a number", at(), shown()))?;
        if !value.is_finite() {
            bail!("{}: {} is not a finite number", at(), shown());
        }
        Ok(value)
    }

    /// The line the current record starts on (the header is line 1).
    fn line_number(&self) -> u64 {
        self.record.position().map_or(0, csv::Position::line)
    }

    /// `"line L"` for the current record.
    fn line(&self) -> String {
        format!("line {}", self.line_number())
    }

    /// Reads every remaining row; an error if there is none.
    pub fn read_all(&mut self) -> Result<(Vec<f64>, usize)> {
        let mut values = Vec::new();
        let rows = self.read_chunk(usize::MAX, &mut values, &mut Vec::new())?;
        self.require_rows()?;
        Ok((values, rows))
    }

    /// The next chunk of up to `max_rows` rows; `None` at the end of the file.
    pub fn next_chunk(&mut self, max_rows: usize) -> Result<Option<Chunk>> {
        let first_row = self.rows_read;
        let (mut values, mut lines) = (Vec::new(), Vec::new());
        let rows = self.read_chunk(max_rows, &mut values, &mut lines)?;
        Ok((rows > 0).then_some(Chunk {
            first_row,
            origin: Origin::Lines(lines),
            values,
        }))
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
