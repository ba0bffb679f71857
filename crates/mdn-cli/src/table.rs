//! Reading columns of CSV files into tables, with errors that name the file, line and column.
//!
//! Every message about a row names the file and its **line number** (the header is line 1),
//! which is what an editor shows and what stays right through blank lines and quoted fields
//! that span lines. Gzipped files (`.csv.gz`) are read as they are. Missing cells — empty,
//! `NA`, `NaN` or `null`, in any case — are read as missing; what to do with them is the
//! command's choice (`--missing`).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use mdn::{
    CellProblem, Cells, EncodeOptions, Frame, InputColumn, MdnError, Model, Prediction, Schema,
    is_missing_token,
};

/// The first bytes of every gzip file.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How to read a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnRead {
    /// Numbers (a cell that is not one is an error); `target` words the error for a target.
    Number { target: bool },
    /// Text, kept as written.
    Text,
    /// Numbers while every cell is one; text as soon as one is not (a categorical input).
    Auto,
}

/// The columns a model reads from a table, and how: its inputs, as its schema encodes them,
/// then (`targets`) its targets and (`weights`) a weight column.
pub fn model_columns(
    schema: &Schema,
    targets: bool,
    weights: Option<&str>,
) -> Vec<(String, ColumnRead)> {
    let mut columns: Vec<(String, ColumnRead)> = schema
        .inputs
        .iter()
        .map(|column| {
            let read = match column {
                InputColumn::Numeric { .. } => ColumnRead::Number { target: false },
                InputColumn::Categorical { .. } => ColumnRead::Text,
            };
            (column.name().to_string(), read)
        })
        .collect();
    if targets {
        columns.extend(
            schema
                .targets
                .iter()
                .map(|t| (t.name.clone(), ColumnRead::Number { target: true })),
        );
    }
    columns.extend(weights.map(|w| (w.to_string(), ColumnRead::Number { target: false })));
    columns
}

/// One column being read.
enum Builder {
    Numbers(Vec<f64>),
    Text(Vec<Option<String>>),
}

impl Builder {
    fn new(read: ColumnRead) -> Self {
        match read {
            ColumnRead::Text => Builder::Text(Vec::new()),
            _ => Builder::Numbers(Vec::new()),
        }
    }

    fn into_cells(self) -> Cells {
        match self {
            Builder::Numbers(v) => Cells::Numbers(v),
            Builder::Text(v) => Cells::Text(v),
        }
    }
}

/// The rows of a [`Chunk`].
pub enum Rows {
    /// A table of the selected columns.
    Frame(Frame),
    /// The network's input features, row-major (an image file's pixels).
    Features(Vec<f64>),
}

/// A chunk of input rows: where they come from and what they hold.
pub struct Chunk {
    /// Index (from 0) of the chunk's first row: the `row` column of outputs.
    pub first_row: usize,
    /// Where each row is, for messages.
    pub origin: Origin,
    /// The rows.
    pub rows: Rows,
}

/// Where the rows of a [`Chunk`] come from.
pub enum Origin {
    /// A CSV file: the line each row starts on.
    Lines(Vec<u64>),
    /// An image file: row i is image `first_row + i` (from 0).
    Images,
}

/// What to add to a cell's error, in the command line's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hints {
    /// Training: missing cells can be dropped.
    Train,
    /// Predicting and evaluating: rows with missing cells can be skipped.
    Query,
}

impl Chunk {
    /// Number of rows.
    pub fn len(&self, features_per_row: usize) -> usize {
        match &self.rows {
            Rows::Frame(frame) => frame.rows(),
            Rows::Features(v) => v.len() / features_per_row.max(1),
        }
    }

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

    /// A library error about this chunk's rows in the command line's words: the file, the
    /// line and, for a cell, the column and the flag that would let it pass.
    pub fn error(&self, source: &Path, error: MdnError, hints: Hints) -> anyhow::Error {
        match error {
            MdnError::InvalidCell {
                row,
                column,
                problem,
            } => {
                let hint = match (&problem, hints) {
                    (CellProblem::Missing, Hints::Train) => "; --missing drop leaves such rows out",
                    (CellProblem::Missing, Hints::Query) => "; --missing skip leaves such rows out",
                    (CellProblem::UnknownCategory(_), _) => {
                        "; --unknown-category zero encodes it as no category"
                    }
                    _ => "",
                };
                anyhow::anyhow!(
                    "{}, column '{column}': {}{hint}",
                    self.at(source, row),
                    quote_problem(&problem)
                )
            }
            MdnError::InvalidPrediction { row, .. } => {
                anyhow::Error::from(error).context(self.at(source, row))
            }
            other => anyhow::Error::from(other).context(source.display().to_string()),
        }
    }

    /// The model's predictions for this chunk's rows, and for each its row in the chunk
    /// (rows with a missing input are left out or refused as `options` say), with errors
    /// naming `source` and the row's place in it.
    pub fn predictions(
        &self,
        model: &Model,
        options: EncodeOptions,
        source: &Path,
    ) -> Result<(Vec<Prediction>, Vec<usize>)> {
        let result = match &self.rows {
            Rows::Frame(frame) => model.predict_frame(frame, options),
            Rows::Features(x) => model.predict(x).map(|p| {
                let rows = (0..p.len()).collect();
                (p, rows)
            }),
        };
        result.map_err(|e| self.error(source, e, Hints::Query))
    }
}

/// A cell problem with its value excerpted, so that binary or huge cells print short.
fn quote_problem(problem: &CellProblem) -> String {
    match problem {
        CellProblem::NotANumber(v) => format!("'{}' is not a number", excerpt(v, 40)),
        CellProblem::TextTarget(v) => {
            format!(
                "'{}' is text, but a target must be a number",
                excerpt(v, 40)
            )
        }
        CellProblem::UnknownCategory(v) => format!(
            "'{}' is a category the model never saw in training",
            excerpt(v, 40)
        ),
        other => other.to_string(),
    }
}

/// A CSV file opened for reading a chosen set of columns, in chunks of rows.
pub struct Table {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read>>,
    header: Vec<String>,
    /// The selected columns: their index in the header, name and how to read them.
    selected: Vec<(usize, String, ColumnRead)>,
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
    /// Opens `path` and finds `columns` by header name; a missing column's error says that
    /// `needed_by` (e.g. a model file) needs it.
    pub fn open(
        path: &Path,
        columns: &[(String, ColumnRead)],
        needed_by: Option<&Path>,
    ) -> Result<Self> {
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
            .map(|(name, read)| {
                let index = header.iter().position(|h| h == name).with_context(|| {
                    let needed = needed_by
                        .map(|m| format!(", which {} needs", m.display()))
                        .unwrap_or_default();
                    format!(
                        "{shown}: no column named '{name}'{needed} (the header has: {})",
                        excerpt(&header.join(", "), 400)
                    )
                })?;
                Ok((index, name.clone(), *read))
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

    /// Reads up to `max_rows` rows into one builder per selected column and each row's line
    /// into `lines`. Returns how many rows were read (0 at the end of the file).
    fn read_chunk(
        &mut self,
        max_rows: usize,
        columns: &mut [Builder],
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
            let (fields, width) = (self.record.len(), self.header.len());
            if fields != width {
                let detail = if fields < width {
                    format!("no value for column '{}'", self.header[fields])
                } else {
                    format!("extra value '{}'", excerpt(&self.record[width], 40))
                };
                bail!(
                    "{}: {} has {fields} field{} but the header has {width} ({detail})",
                    self.path.display(),
                    self.line(),
                    if fields == 1 { "" } else { "s" },
                );
            }
            for (k, builder) in columns.iter_mut().enumerate() {
                self.read_cell(k, builder)?;
            }
            lines.push(self.line_number());
            self.rows_read += 1;
            rows += 1;
        }
        Ok(rows)
    }

    /// Appends the current record's cell of selected column `k` to its builder.
    fn read_cell(&self, k: usize, builder: &mut Builder) -> Result<()> {
        let (column, name, read) = &self.selected[k];
        let cell = &self.record[*column];
        let missing = is_missing_token(cell);
        match builder {
            Builder::Text(v) => v.push((!missing).then(|| cell.to_string())),
            Builder::Numbers(v) if missing => v.push(f64::NAN),
            Builder::Numbers(v) => match cell.parse::<f64>() {
                Ok(value) if value.is_finite() => v.push(value),
                Ok(_) => bail!(
                    "{}: {}, column '{name}': '{}' is not a finite number",
                    self.path.display(),
                    self.line(),
                    excerpt(cell, 40)
                ),
                Err(_) if *read == ColumnRead::Auto => {
                    // The first text cell of an input: it is categorical, and the numbers
                    // before it become the categories they read as (shortest form).
                    let mut text: Vec<Option<String>> = v
                        .iter()
                        .map(|x| (!x.is_nan()).then(|| x.to_string()))
                        .collect();
                    text.push(Some(cell.to_string()));
                    *builder = Builder::Text(text);
                }
                Err(_) => {
                    let what = match read {
                        ColumnRead::Number { target: true } => {
                            "is text, but a target must be a number"
                        }
                        _ => "is not a number",
                    };
                    bail!(
                        "{}: {}, column '{name}': '{}' {what}",
                        self.path.display(),
                        self.line(),
                        excerpt(cell, 40)
                    )
                }
            },
        }
        Ok(())
    }

    /// The line the current record starts on (the header is line 1).
    fn line_number(&self) -> u64 {
        self.record.position().map_or(0, csv::Position::line)
    }

    /// `"line L"` for the current record.
    fn line(&self) -> String {
        format!("line {}", self.line_number())
    }

    /// The next chunk of up to `max_rows` rows; `None` at the end of the file.
    pub fn next_chunk(&mut self, max_rows: usize) -> Result<Option<Chunk>> {
        let first_row = self.rows_read;
        let mut columns: Vec<Builder> = self
            .selected
            .iter()
            .map(|(_, _, r)| Builder::new(*r))
            .collect();
        let mut lines = Vec::new();
        let rows = self.read_chunk(max_rows, &mut columns, &mut lines)?;
        if rows == 0 {
            return Ok(None);
        }
        let named = self
            .selected
            .iter()
            .zip(columns)
            .map(|((_, name, _), builder)| (name.clone(), builder.into_cells()))
            .collect();
        let frame =
            Frame::new(named).map_err(|e| anyhow::anyhow!("{}: {e}", self.path.display()))?;
        Ok(Some(Chunk {
            first_row,
            origin: Origin::Lines(lines),
            rows: Rows::Frame(frame),
        }))
    }

    /// Every remaining row as one chunk; an error if there is none.
    pub fn read_all(&mut self) -> Result<Chunk> {
        let chunk = self.next_chunk(usize::MAX)?;
        self.require_rows()?;
        chunk.ok_or_else(|| {
            anyhow::anyhow!("{}: no data rows after the header", self.path.display())
        })
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
