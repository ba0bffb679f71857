//! The on-disk container shared by model and checkpoint files.
//!
//! # Layout (all integers little-endian)
//! ```text
//! "MDNMODEL"                       8 bytes of magic
//! format version                   u32
//! section count                    u32
//! per section: name length (u32), name (UTF-8), data length (u64), data
//! CRC-32 of every preceding byte   u32
//! ```
//! The version comes right after the magic so that a file from a newer format is reported as
//! such rather than as corrupt; the checksum makes any flipped byte an error before a single
//! section is interpreted.

use std::path::Path;

use crate::atomic::write_atomically;

use crate::error::ModelFileError;

/// The magic bytes every model or checkpoint file starts with.
pub const MAGIC: &[u8; 8] = b"MDNMODEL";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Named binary sections, in file order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Container {
    sections: Vec<(String, Vec<u8>)>,
}

impl Container {
    /// Appends a section.
    pub fn push(&mut self, name: &str, data: Vec<u8>) {
        self.sections.push((name.to_string(), data));
    }

    /// The data of the section called `name`.
    pub fn section(&self, name: &str) -> Result<&[u8], ModelFileError> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.as_slice())
            .ok_or_else(|| ModelFileError::Corrupt(format!("section '{name}' is missing")))
    }

    /// Whether a section called `name` exists.
    pub fn has_section(&self, name: &str) -> bool {
        self.sections.iter().any(|(n, _)| n == name)
    }

    /// Serialises the container.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.sections.len() as u32).to_le_bytes());
        for (name, data) in &self.sections {
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(data.len() as u64).to_le_bytes());
            out.extend_from_slice(data);
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses a container, checking magic, version, lengths and checksum.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelFileError> {
        if bytes.len() < MAGIC.len() {
            return Err(if MAGIC.starts_with(bytes) && !bytes.is_empty() {
                ModelFileError::Truncated(format!("only {} bytes", bytes.len()))
            } else {
                ModelFileError::NotAModelFile
            });
        }
        if &bytes[..MAGIC.len()] != MAGIC {
            return Err(ModelFileError::NotAModelFile);
        }
        let mut reader = Reader {
            bytes,
            position: MAGIC.len(),
        };
        let version = reader.u32("format version")?;
        if version != FORMAT_VERSION {
            return Err(ModelFileError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let count = reader.u32("section count")?;
        let mut sections = Vec::new();
        for index in 0..count {
            let name_len = reader.u32("section name length")? as usize;
            let name = reader.take(name_len, "section name")?;
            let name = std::str::from_utf8(name)
                .map_err(|_| {
                    ModelFileError::Corrupt(format!("section {index} has a non-UTF-8 name"))
                })?
                .to_string();
            let data_len = reader.u64("section length")?;
            let data_len = usize::try_from(data_len).map_err(|_| {
                ModelFileError::Corrupt(format!("section '{name}' claims {data_len} bytes"))
            })?;
            let data = reader
                .take(data_len, &format!("section '{name}'"))?
                .to_vec();
            sections.push((name, data));
        }
        let body_end = reader.position;
        let stored = reader.u32("checksum")?;
        if reader.position != bytes.len() {
            return Err(ModelFileError::Corrupt(format!(
                "{} unexpected bytes after the checksum",
                bytes.len() - reader.position
            )));
        }
        let computed = crc32fast::hash(&bytes[..body_end]);
        if stored != computed {
            return Err(ModelFileError::Corrupt(format!(
                "checksum mismatch (stored {stored:08x}, computed {computed:08x})"
            )));
        }
        Ok(Self { sections })
    }

    /// Writes the container to `path` atomically: to a temporary file in the same directory,
    /// flushed to disk, then renamed over `path`, so a crash never leaves a half-written file.
    pub fn write(&self, path: &Path) -> Result<(), ModelFileError> {
        write_atomically(path, &self.to_bytes())?;
        Ok(())
    }

    /// Reads and parses the container at `path`.
    pub fn read(path: &Path) -> Result<Self, ModelFileError> {
        let bytes = std::fs::read(path)?;
        Self::from_bytes(&bytes)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], ModelFileError> {
        let end = self
            .position
            .checked_add(len)
            .filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let slice = &self.bytes[self.position..end];
                self.position = end;
                Ok(slice)
            }
            None => Err(ModelFileError::Truncated(format!(
                "{what} needs {len} bytes at offset {} but the file has {}",
                self.position,
                self.bytes.len()
            ))),
        }
    }

    fn u32(&mut self, what: &str) -> Result<u32, ModelFileError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &str) -> Result<u64, ModelFileError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Container {
        let mut c = Container::default();
        c.push("meta", b"{\"a\":1}".to_vec());
        c.push("weights", vec![1, 2, 3, 4, 5]);
        c
    }

    #[test]
    fn round_trip() {
        let c = sample();
        assert_eq!(Container::from_bytes(&c.to_bytes()).unwrap(), c);
        assert_eq!(c.section("weights").unwrap(), &[1, 2, 3, 4, 5]);
        assert!(matches!(c.section("nope"), Err(ModelFileError::Corrupt(_))));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().to_bytes();
        for len in 0..bytes.len() {
            let err = Container::from_bytes(&bytes[..len]).unwrap_err();
            assert!(
                matches!(
                    err,
                    ModelFileError::Truncated(_) | ModelFileError::NotAModelFile
                ),
                "length {len}: {err:?}"
            );
        }
    }

    #[test]
    fn every_flipped_byte_is_an_error() {
        let bytes = sample().to_bytes();
        for i in 0..bytes.len() {
            let mut corrupt = bytes.clone();
            corrupt[i] ^= 0x5a;
            assert!(
                Container::from_bytes(&corrupt).is_err(),
                "byte {i} flipped went unnoticed"
            );
        }
    }

    #[test]
    fn future_version_is_reported_as_such() {
        let mut bytes = sample().to_bytes();
        bytes[8..12].copy_from_slice(&7u32.to_le_bytes());
        assert!(matches!(
            Container::from_bytes(&bytes),
            Err(ModelFileError::UnsupportedVersion {
                found: 7,
                supported: 1
            })
        ));
    }

    #[test]
    fn other_files_are_not_model_files() {
        assert!(matches!(
            Container::from_bytes(b"x,t\n1,2\n"),
            Err(ModelFileError::NotAModelFile)
        ));
    }
}
