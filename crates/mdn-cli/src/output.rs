//! Where command output goes: stdout, or a file that appears only once it is complete.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A CSV destination. A file is written to a temporary file in the same directory and
/// renamed into place by [`Sink::finish`], so an error midway leaves no partial file.
pub struct Sink {
    writer: csv::Writer<Box<dyn Write>>,
    target: Option<(tempfile::TempPath, PathBuf)>,
}

impl Sink {
    /// Standard output when `path` is `None`, else the file at `path`.
    pub fn create(path: Option<&Path>) -> Result<Self> {
        let (inner, target): (Box<dyn Write>, _) = match path {
            None => (Box::new(BufWriter::new(std::io::stdout().lock())), None),
            Some(path) => {
                let file = mdn::atomic_temp_file(path, ".tmp").with_context(|| {
                    format!("{}: cannot create the output file", path.display())
                })?;
                let (file, temp) = file.into_parts();
                (
                    Box::new(BufWriter::new(file)),
                    Some((temp, path.to_path_buf())),
                )
            }
        };
        Ok(Self {
            writer: csv::Writer::from_writer(inner),
            target,
        })
    }

    /// Writes one CSV record.
    pub fn row<I, T>(&mut self, fields: I) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.writer
            .write_record(fields)
            .map_err(|e| self.error(e.into()))
    }

    fn error(&self, error: anyhow::Error) -> anyhow::Error {
        match &self.target {
            Some((_, path)) => error.context(format!("{}: cannot write", path.display())),
            None => error.context("cannot write to standard output"),
        }
    }

    /// Flushes and, for a file, moves it into place.
    pub fn finish(mut self) -> Result<()> {
        self.writer.flush().map_err(|e| self.error(e.into()))?;
        drop(self.writer);
        if let Some((temp, path)) = self.target {
            temp.persist(&path)
                .with_context(|| format!("{}: cannot write", path.display()))?;
        }
        Ok(())
    }
}

/// The directory a file will be written to (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Fails early, before any long computation, if `path` cannot be written.
pub fn check_writable(path: &Path) -> Result<()> {
    match tempfile::NamedTempFile::new_in(parent_dir(path)) {
        Ok(probe) => {
            drop(probe);
            Ok(())
        }
        // Tempfile's message names its random probe file; the user only cares about theirs.
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

/// A float in the shortest form that reads back to the same value.
pub fn number(value: f64) -> String {
    value.to_string()
}
