//! Where command output goes: stdout, or a file that appears only once it is complete.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A CSV destination. A file is written to a temporary file in the same directory and
/// renamed into place by [`Sink::finish`], so an error midway leaves no partial file.
pub enum Sink {
    /// Standard output.
    Stdout(BufWriter<std::io::StdoutLock<'static>>),
    /// A file, renamed onto `path` when finished.
    File {
        out: BufWriter<mdn::AtomicFile>,
        path: PathBuf,
    },
}

impl Sink {
    /// Standard output when `path` is `None`, else the file at `path`.
    pub fn create(path: Option<&Path>) -> Result<Self> {
        Ok(match path {
            None => Sink::Stdout(BufWriter::new(std::io::stdout().lock())),
            Some(path) => {
                let file = mdn::AtomicFile::create(path).with_context(|| {
                    format!("{}: cannot create the output file", path.display())
                })?;
                Sink::File {
                    out: BufWriter::new(file),
                    path: path.to_path_buf(),
                }
            }
        })
    }

    /// Writes one CSV record of arbitrary text (quoted as needed): headers and the like.
    pub fn row<I, T>(&mut self, fields: I) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut record = csv::Writer::from_writer(Vec::new());
        record.write_record(fields)?;
        let bytes = record
            .into_inner()
            .map_err(|e| anyhow::anyhow!("{}", e.error()))?;
        self.write_lines(&bytes)
    }

    /// Writes complete CSV lines built by [`Lines`].
    pub fn write_lines(&mut self, bytes: &[u8]) -> Result<()> {
        let written = match self {
            Sink::Stdout(out) => out.write_all(bytes),
            Sink::File { out, .. } => out.write_all(bytes),
        };
        written.map_err(|e| self.error(e.into()))
    }

    fn error(&self, error: anyhow::Error) -> anyhow::Error {
        match self {
            Sink::File { path, .. } => error.context(format!("{}: cannot write", path.display())),
            Sink::Stdout(_) => error.context("cannot write to standard output"),
        }
    }

    /// Flushes and, for a file, moves it into place.
    pub fn finish(self) -> Result<()> {
        match self {
            Sink::Stdout(mut out) => out.flush().context("cannot write to standard output"),
            Sink::File { out, path } => {
                let cannot = || format!("{}: cannot write", path.display());
                let file = out
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(cannot)?;
                file.commit().with_context(cannot)
            }
        }
    }
}

/// CSV lines of numbers built in memory, for the outputs that run to millions of rows:
/// floats in the shortest form that reads back to the same value (ryu), no allocation per
/// field. Numbers never need quoting, so no CSV escaping is done.
#[derive(Default)]
pub struct Lines {
    bytes: Vec<u8>,
    fields_in_line: usize,
    float: ryu::Buffer,
    integer: itoa::Buffer,
}

impl Lines {
    fn separator(&mut self) {
        if self.fields_in_line > 0 {
            self.bytes.push(b',');
        }
        self.fields_in_line += 1;
    }

    /// Appends an integer field.
    pub fn index(&mut self, value: usize) -> &mut Self {
        self.separator();
        self.bytes
            .extend_from_slice(self.integer.format(value).as_bytes());
        self
    }

    /// Appends a float field (`NaN`, `inf` and `-inf` for the non-finite values).
    pub fn number(&mut self, value: f64) -> &mut Self {
        self.separator();
        self.bytes
            .extend_from_slice(self.float.format(value).as_bytes());
        self
    }

    /// Appends float fields.
    pub fn numbers(&mut self, values: &[f64]) -> &mut Self {
        values.iter().for_each(|&v| _ = self.number(v));
        self
    }

    /// Appends an empty field.
    pub fn empty(&mut self) -> &mut Self {
        self.separator();
        self
    }

    /// Ends the current line.
    pub fn end(&mut self) {
        self.bytes.push(b'\n');
        self.fields_in_line = 0;
    }

    /// The lines built so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Bytes built so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Forgets the lines built so far (keeping the memory).
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.fields_in_line = 0;
    }
}

pub use mdn::atomic::parent_dir;

/// Fails early, before any long computation, if `path` cannot be written (its directory is
/// missing or not writable, or it is a directory).
pub fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        anyhow::bail!("{}: is a directory; give a file name", path.display());
    }
    match mdn::AtomicFile::create(path) {
        // Dropped unwritten: the probe leaves nothing behind.
        Ok(_probe) => Ok(()),
        Err(error) => {
            let reason = match error.kind() {
                std::io::ErrorKind::NotFound => format!(
                    "the directory {} does not exist",
                    parent_dir(path).display()
                ),
                kind => kind.to_string(),
            };
            anyhow::bail!("{}: cannot write here: {reason}", path.display())
        }
    }
}

/// Prints `value` as pretty JSON on standard output, followed by a newline.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .context("cannot write to standard output")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_hold_numbers_that_read_back_exactly() {
        let mut lines = Lines::default();
        let values = [0.1, -2.5e-300, 1.0 / 3.0, 12345.678, 0.0, -0.0];
        lines.index(7).numbers(&values).empty().end();
        lines.index(8).number(f64::NAN).number(f64::INFINITY).end();
        let text = String::from_utf8(lines.as_bytes().to_vec()).unwrap();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][0], "7");
        for (field, value) in rows[0][1..7].iter().zip(values) {
            assert_eq!(
                field.parse::<f64>().unwrap().to_bits(),
                value.to_bits(),
                "{field}"
            );
        }
        assert_eq!(rows[0][7], "");
        assert_eq!(rows[1], ["8", "NaN", "inf"]);
    }
}
