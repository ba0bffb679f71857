//! The file format of models and checkpoints: safetensors, readable by any ecosystem.
//!
//! # Layout
//! A [safetensors](https://github.com/huggingface/safetensors) file: an 8-byte little-endian
//! header length, a JSON header, then the tensors' bytes. Every tensor is little-endian `F32`
//! and named as [`mdn_engine::ValidArchitecture::tensors`] names it (`backbone.0.weight`,
//! `head.bias`, …; a checkpoint prefixes the current weights with `weights.`, the best with
//! `best.`, and adds `adam.moment_1` and `adam.moment_2`). The header's `__metadata__` holds
//! four strings:
//!
//! | key | value |
//! |---|---|
//! | `format` | `mdn-model` or `mdn-checkpoint` |
//! | `format_version` | `3`; version 2 is read too (it had no ensembles, and its training options no
//! |  | noise: what version 3 reads as a single network without noise); version 1 was `mdn`'s own
//! |  | container, starting with `MDNMODEL` |
//! | `mdn` | JSON: the architecture, column names, scalers, training summary (see `ModelMeta`) |
//! | `checksum` | `crc32:` and 8 hex digits, see below |
//!
//! # Checksum
//! CRC-32 (IEEE, as Python's `zlib.crc32`) over, in order: each metadata entry but `checksum`,
//! sorted by key, as `key 0x00 value 0x00`; then each tensor, sorted by name, as
//! `name 0x00 dtype 0x00 shape 0x00 bytes`, the shape written as decimal dimensions joined by
//! commas. It covers the metadata and every tensor, so any flipped byte of a file is found:
//! a flipped digit in a scaler is still valid JSON, and a flipped weight is still a float.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::atomic::write_atomically;
use crate::error::ModelFileError;

/// The format version this build writes (and reads).
///
/// 3 added deep ensembles (member `k` ≥ 1's tensors prefixed `member{k}.`, an `ensemble`
/// section in the metadata) and noise regularisation in the training options: an older `mdn`
/// reading such a file would predict from its first network alone, so it must refuse it.
pub const FORMAT_VERSION: u32 = 3;

/// The oldest format version this build reads: version 2 files are version 3 files without
/// those additions, which read as a single network trained without noise.
const OLDEST_READABLE: u32 = 2;

/// The magic bytes that files of format version 1 started with.
const OLD_MAGIC: &[u8; 8] = b"MDNMODEL";

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// A trained model.
    Model,
    /// The state of a training run.
    Checkpoint,
}

impl FileKind {
    fn format(self) -> &'static str {
        match self {
            FileKind::Model => "mdn-model",
            FileKind::Checkpoint => "mdn-checkpoint",
        }
    }
}

/// One tensor: its name, dimensions and values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tensor {
    pub name: String,
    pub dims: Vec<usize>,
    pub values: Vec<f32>,
}

/// The contents of a model or checkpoint file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TensorFile {
    pub kind: FileKind,
    /// The `mdn` metadata: a JSON document.
    pub meta: String,
    pub tensors: Vec<Tensor>,
}

fn checksum(
    metadata: &BTreeMap<String, String>,
    tensors: &[(&str, Dtype, &[usize], &[u8])],
) -> u32 {
    fn field(hasher: &mut crc32fast::Hasher, bytes: &[u8]) {
        hasher.update(bytes);
        hasher.update(&[0]);
    }
    let mut hasher = crc32fast::Hasher::new();
    for (key, value) in metadata.iter().filter(|(k, _)| *k != "checksum") {
        field(&mut hasher, key.as_bytes());
        field(&mut hasher, value.as_bytes());
    }
    let mut sorted: Vec<_> = tensors.iter().collect();
    sorted.sort_by_key(|t| t.0);
    for (name, dtype, shape, bytes) in sorted {
        field(&mut hasher, name.as_bytes());
        field(&mut hasher, dtype.to_string().as_bytes());
        let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
        field(&mut hasher, dims.join(",").as_bytes());
        hasher.update(bytes);
    }
    hasher.finalize()
}

impl TensorFile {
    /// Serialises the file.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_bytes_of_version(FORMAT_VERSION)
    }

    /// Serialises the file as format `version` says it (the tests write older versions).
    pub(crate) fn to_bytes_of_version(&self, version: u32) -> Vec<u8> {
        let data: Vec<Vec<u8>> = self
            .tensors
            .iter()
            .map(|t| t.values.iter().flat_map(|v| v.to_le_bytes()).collect())
            .collect();
        let mut metadata = BTreeMap::from([
            ("format".to_string(), self.kind.format().to_string()),
            ("format_version".to_string(), version.to_string()),
            ("mdn".to_string(), self.meta.clone()),
        ]);
        let parts: Vec<(&str, Dtype, &[usize], &[u8])> = self
            .tensors
            .iter()
            .zip(&data)
            .map(|(t, bytes)| {
                (
                    t.name.as_str(),
                    Dtype::F32,
                    t.dims.as_slice(),
                    bytes.as_slice(),
                )
            })
            .collect();
        let crc = checksum(&metadata, &parts);
        metadata.insert("checksum".into(), format!("crc32:{crc:08x}"));
        let views = self.tensors.iter().zip(&data).map(|(t, bytes)| {
            let view = TensorView::new(Dtype::F32, t.dims.clone(), bytes)
                .expect("each tensor's bytes fit its shape");
            (t.name.clone(), view)
        });
        let metadata: HashMap<String, String> = metadata.into_iter().collect();
        let bytes = safetensors::tensor::serialize(views, Some(metadata))
            .expect("tensor names are distinct and the header is small");
        with_sorted_header(bytes)
    }

    /// Parses a file, checking its kind of format, version and checksum (in that order, so
    /// that a file of another version is reported as such rather than as corrupt).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelFileError> {
        if bytes.starts_with(OLD_MAGIC) {
            let found = bytes
                .get(8..12)
                .map_or(1, |v| u32::from_le_bytes([v[0], v[1], v[2], v[3]]));
            return Err(ModelFileError::OlderFormat {
                found,
                supported: FORMAT_VERSION,
            });
        }
        check_extent(bytes)?;
        let file = SafeTensors::deserialize(bytes)
            .map_err(|e| ModelFileError::Corrupt(format!("the safetensors header: {e}")))?;
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| ModelFileError::Corrupt(format!("the safetensors header: {e}")))?;
        let metadata: BTreeMap<String, String> = header
            .metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let kind = match metadata.get("format").map(String::as_str) {
            Some("mdn-model") => FileKind::Model,
            Some("mdn-checkpoint") => FileKind::Checkpoint,
            _ => return Err(ModelFileError::ForeignSafetensors),
        };
        let version = metadata.get("format_version").cloned().unwrap_or_default();
        let readable = version
            .parse::<u32>()
            .is_ok_and(|v| (OLDEST_READABLE..=FORMAT_VERSION).contains(&v));
        if !readable {
            return Err(match version.parse::<u32>() {
                Ok(found) if found < OLDEST_READABLE => ModelFileError::OlderFormat {
                    found,
                    supported: FORMAT_VERSION,
                },
                _ => ModelFileError::UnsupportedVersion {
                    found: version,
                    supported: FORMAT_VERSION,
                },
            });
        }
        let views = file.tensors();
        let parts: Vec<(&str, Dtype, &[usize], &[u8])> = views
            .iter()
            .map(|(name, view)| (name.as_str(), view.dtype(), view.shape(), view.data()))
            .collect();
        let computed = format!("crc32:{:08x}", checksum(&metadata, &parts));
        match metadata.get("checksum") {
            Some(stored) if *stored == computed => {}
            Some(stored) => {
                return Err(ModelFileError::Corrupt(format!(
                    "checksum mismatch (stored {stored}, computed {computed})"
                )));
            }
            None => return Err(ModelFileError::Corrupt("it has no checksum".into())),
        }
        let mut tensors = Vec::with_capacity(views.len());
        for (name, view) in views {
            if view.dtype() != Dtype::F32 {
                return Err(ModelFileError::Corrupt(format!(
                    "tensor '{name}' is {}, not F32",
                    view.dtype()
                )));
            }
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            tensors.push(Tensor {
                name,
                dims: view.shape().to_vec(),
                values,
            });
        }
        let meta = metadata
            .get("mdn")
            .cloned()
            .ok_or_else(|| ModelFileError::Corrupt("its metadata has no 'mdn' entry".into()))?;
        Ok(Self {
            kind,
            meta,
            tensors,
        })
    }

    /// Writes the file to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<(), ModelFileError> {
        write_atomically(path, &self.to_bytes())?;
        Ok(())
    }

    /// Reads and parses the file at `path`.
    pub fn read(path: &Path) -> Result<Self, ModelFileError> {
        Self::from_bytes(&std::fs::read(path)?)
    }

    /// Removes the tensor called `name` and returns it.
    pub fn take(&mut self, name: &str) -> Result<Tensor, ModelFileError> {
        let at = self
            .tensors
            .iter()
            .position(|t| t.name == name)
            .ok_or_else(|| ModelFileError::Corrupt(format!("tensor '{name}' is missing")))?;
        Ok(self.tensors.swap_remove(at))
    }
}

/// `bytes` of a safetensors file with its JSON header's keys in sorted order, so that the same
/// model always gives the same bytes (safetensors writes the metadata in a `HashMap`'s order,
/// which differs from run to run). Offsets count from the end of the header, so only the
/// header changes; it stays padded with spaces to a multiple of 8 bytes, as safetensors pads.
fn with_sorted_header(bytes: Vec<u8>) -> Vec<u8> {
    let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header: serde_json::Value =
        serde_json::from_slice(&bytes[8..8 + header_len]).expect("safetensors wrote JSON");
    // serde_json's maps are sorted by key (its `preserve_order` feature is off).
    let mut sorted = serde_json::to_vec(&header).expect("JSON serialises");
    sorted.resize(sorted.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + sorted.len() + bytes.len() - 8 - header_len);
    out.extend_from_slice(&(sorted.len() as u64).to_le_bytes());
    out.extend_from_slice(&sorted);
    out.extend_from_slice(&bytes[8 + header_len..]);
    out
}

/// Tells a file that is not a safetensors file, or is cut short or extended, from one that is
/// whole, before the safetensors parser reports either in its own terms.
fn check_extent(bytes: &[u8]) -> Result<(), ModelFileError> {
    let Some(length) = bytes.get(..8) else {
        return Err(ModelFileError::NotAModelFile);
    };
    let header_len = u64::from_le_bytes(length.try_into().expect("8 bytes"));
    // A safetensors header is JSON, so it starts with '{'; anything else (a CSV file, whose
    // first 8 bytes read as a huge length) is not one.
    if bytes.get(8) != Some(&b'{') || header_len > 100_000_000 {
        return Err(ModelFileError::NotAModelFile);
    }
    let header_end = 8 + header_len as usize;
    let Some(header) = bytes.get(8..header_end) else {
        return Err(ModelFileError::Truncated(format!(
            "the header needs {header_end} bytes but the file has {}",
            bytes.len()
        )));
    };
    let json: serde_json::Value = serde_json::from_slice(header)
        .map_err(|e| ModelFileError::Corrupt(format!("the header is not valid JSON: {e}")))?;
    let data_end = json
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, entry)| entry.get("data_offsets")?.get(1)?.as_u64())
        .max()
        .unwrap_or(0);
    let expected = header_end as u64 + data_end;
    let actual = bytes.len() as u64;
    if actual < expected {
        return Err(ModelFileError::Truncated(format!(
            "the tensors end at byte {expected} but the file has {actual}"
        )));
    }
    if actual > expected {
        return Err(ModelFileError::Corrupt(format!(
            "{} unexpected bytes after the tensors",
            actual - expected
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TensorFile {
        TensorFile {
            kind: FileKind::Model,
            meta: "{\"a\":1.5}".into(),
            tensors: vec![
                Tensor {
                    name: "head.weight".into(),
                    dims: vec![2, 3],
                    values: vec![1.0, -2.0, 3.5, 0.25, 1e-30, -0.0],
                },
                Tensor {
                    name: "head.bias".into(),
                    dims: vec![3],
                    values: vec![0.5, 0.0, -1.0],
                },
            ],
        }
    }

    fn sorted(mut file: TensorFile) -> TensorFile {
        file.tensors.sort_by(|a, b| a.name.cmp(&b.name));
        file
    }

    #[test]
    fn round_trip() {
        let file = sample();
        let back = TensorFile::from_bytes(&file.to_bytes()).unwrap();
        assert_eq!(sorted(back), sorted(file));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().to_bytes();
        for len in 0..bytes.len() {
            let err = TensorFile::from_bytes(&bytes[..len]).unwrap_err();
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
            corrupt[i] ^= 0x01;
            assert!(
                TensorFile::from_bytes(&corrupt).is_err(),
                "byte {i} flipped ({:?}) went unnoticed",
                bytes[i] as char
            );
        }
    }

    #[test]
    fn the_checksum_is_the_documented_crc() {
        // zlib.crc32 over b"format\0mdn-model\0format_version\03\0mdn\0{\"a\":1.5}\0"
        //   + b"head.bias\0F32\03\0" + struct.pack("<3f", 0.5, 0.0, -1.0)
        //   + b"head.weight\0F32\02,3\0" + struct.pack("<6f", 1.0, -2.0, 3.5, 0.25, 1e-30, -0.0)
        let file = sample();
        let mut expected = Vec::new();
        expected.extend_from_slice(b"format\0mdn-model\0format_version\x003\0mdn\0{\"a\":1.5}\0");
        expected.extend_from_slice(b"head.bias\0F32\x003\0");
        for v in [0.5f32, 0.0, -1.0] {
            expected.extend_from_slice(&v.to_le_bytes());
        }
        expected.extend_from_slice(b"head.weight\0F32\x002,3\0");
        for v in [1.0f32, -2.0, 3.5, 0.25, 1e-30, -0.0] {
            expected.extend_from_slice(&v.to_le_bytes());
        }
        let crc = crc32fast::hash(&expected);
        let bytes = file.to_bytes();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let stored = &header.metadata().as_ref().unwrap()["checksum"];
        assert_eq!(*stored, format!("crc32:{crc:08x}"));
    }

    #[test]
    fn versions_and_foreign_files_are_reported_as_such() {
        let mut newer = sample().to_bytes();
        let version = b"\"format_version\":\"3\"";
        let at = newer
            .windows(version.len())
            .position(|w| w == version)
            .unwrap();
        newer[at + version.len() - 2] = b'4';
        assert!(matches!(
            TensorFile::from_bytes(&newer),
            Err(ModelFileError::UnsupportedVersion { ref found, supported: 3 }) if found == "4"
        ));
        let mut old = b"MDNMODEL".to_vec();
        old.extend_from_slice(&1u32.to_le_bytes());
        old.extend_from_slice(&[0; 20]);
        assert!(matches!(
            TensorFile::from_bytes(&old),
            Err(ModelFileError::OlderFormat {
                found: 1,
                supported: 3
            })
        ));
        let foreign = safetensors::tensor::serialize(
            [(
                "w",
                TensorView::new(Dtype::F32, vec![1], &[0, 0, 128, 63]).unwrap(),
            )],
            None,
        )
        .unwrap();
        assert!(matches!(
            TensorFile::from_bytes(&foreign),
            Err(ModelFileError::ForeignSafetensors)
        ));
        assert!(matches!(
            TensorFile::from_bytes(b"x,t\n1,2\n3,4\n"),
            Err(ModelFileError::NotAModelFile)
        ));
        let mut longer = sample().to_bytes();
        longer.push(0);
        assert!(matches!(
            TensorFile::from_bytes(&longer),
            Err(ModelFileError::Corrupt(_))
        ));
    }
}
