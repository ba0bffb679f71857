//! The IDX file format of the MNIST database, gzipped or not.
//!
//! An IDX file is a big-endian header — two zero bytes, a type code (`0x08`: unsigned
//! bytes), the number of dimensions — then one `u32` size per dimension, then the values.
//! MNIST images are 3-dimensional (`count × rows × cols`, magic `0x00000803`) and labels
//! 1-dimensional (`count`, magic `0x00000801`). Every header value and the file size are
//! checked; anything wrong is an [`IdxError`] saying what.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Type code of unsigned bytes, the only element type MNIST uses.
pub const UBYTE: u8 = 0x08;

/// The first two bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// What is wrong with an IDX file.
#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    /// The file could not be read.
    #[error("{path}: {source}", path = .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file starts like gzip but does not decompress (truncated or corrupt).
    #[error("{path}: not a valid gzip stream ({source})", path = .path.display())]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decompressor's error.
        source: std::io::Error,
    },
    /// The (decompressed) data ends before the header or the values are complete.
    #[error(
        "{path}: truncated: the {what} needs {expected} bytes but the file holds {found}",
        path = .path.display()
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// "header" or "data".
        what: &'static str,
        /// Bytes needed.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The magic number is not that of an IDX file of unsigned bytes with the expected
    /// number of dimensions.
    #[error(
        "{path}: magic number {found:#010x} is not {expected:#010x} ({kind}); is this the right file?",
        path = .path.display()
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// What the file should hold ("images" or "labels").
        kind: &'static str,
        /// The magic number expected.
        expected: u32,
        /// The first four bytes, big-endian.
        found: u32,
    },
    /// The file holds more bytes than its header announces.
    #[error(
        "{path}: {extra} bytes after the {expected} the header announces",
        path = .path.display()
    )]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// Bytes the header accounts for.
        expected: u64,
        /// Bytes beyond them.
        extra: u64,
    },
    /// An image dimension is zero.
    #[error("{path}: images of {rows} × {cols} pixels are empty", path = .path.display())]
    EmptyImages {
        /// The file.
        path: PathBuf,
        /// Rows per image.
        rows: usize,
        /// Columns per image.
        cols: usize,
    },
    /// A label is not a digit 0–9.
    #[error("{path}: label {index} is {label}, not a digit 0–9", path = .path.display())]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// Position of the label.
        index: usize,
        /// Its value.
        label: u8,
    },
    /// A directory lacks one of the standard files.
    #[error(
        "{dir} has neither {name} nor {name}.gz (the standard MNIST file names)",
        dir = .dir.display()
    )]
    MissingFile {
        /// The directory searched.
        dir: PathBuf,
        /// The file name without `.gz`.
        name: String,
    },
    /// Image and label files hold different numbers of examples.
    #[error(
        "{images_path} holds {images} images but {labels_path} holds {labels} labels",
        images_path = .images_path.display(),
        labels_path = .labels_path.display()
    )]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// Images in it.
        images: usize,
        /// The label file.
        labels_path: PathBuf,
        /// Labels in it.
        labels: usize,
    },
}

/// Images of one IDX file: `count` images of `rows × cols` grey levels (0 = background,
/// 255 = ink), row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count × rows × cols` grey levels.
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// Pixels per image.
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// The pixels of image `i`, row-major.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.pixels_per_image();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// The images at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> IdxImages {
        IdxImages {
            count: indices.len(),
            rows: self.rows,
            cols: self.cols,
            pixels: indices
                .iter()
                .flat_map(|&i| self.image(i))
                .copied()
                .collect(),
        }
    }

    /// The file bytes of these images in IDX format (uncompressed).
    pub fn to_idx_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(16 + self.pixels.len());
        bytes.extend_from_slice(&[0, 0, UBYTE, 3]);
        for size in [self.count, self.rows, self.cols] {
            bytes.extend_from_slice(&(size as u32).to_be_bytes());
        }
        bytes.extend_from_slice(&self.pixels);
        bytes
    }
}

/// The file bytes of `labels` in IDX format (uncompressed).
pub fn labels_to_idx_bytes(labels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(8 + labels.len());
    bytes.extend_from_slice(&[0, 0, UBYTE, 1]);
    bytes.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    bytes.extend_from_slice(labels);
    bytes
}

/// Reads a whole file, decompressing it if it starts with the gzip magic bytes.
pub fn read_maybe_gzipped(path: &Path) -> Result<Vec<u8>, IdxError> {
    let raw = std::fs::read(path).map_err(|source| IdxError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    gunzip_if_needed(raw, path)
}

/// `bytes` themselves, or their decompression when they start with the gzip magic bytes.
/// `path` only names the source in errors.
pub fn gunzip_if_needed(bytes: Vec<u8>, path: &Path) -> Result<Vec<u8>, IdxError> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() * 4);
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .map_err(|source| IdxError::Gzip {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(out)
}

/// Checks the header of `bytes` for `dims` dimensions of unsigned bytes and the total size;
/// returns the dimension sizes.
fn parse_header(
    bytes: &[u8],
    dims: u8,
    kind: &'static str,
    path: &Path,
) -> Result<Vec<usize>, IdxError> {
    let truncated = |what, expected: u64| IdxError::Truncated {
        path: path.to_path_buf(),
        what,
        expected,
        found: bytes.len() as u64,
    };
    if bytes.len() < 4 {
        return Err(truncated("header", 4 + 4 * u64::from(dims)));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let expected = u32::from_be_bytes([0, 0, UBYTE, dims]);
    if magic != expected {
        return Err(IdxError::BadMagic {
            path: path.to_path_buf(),
            kind,
            expected,
            found: magic,
        });
    }
    let header = 4 + 4 * usize::from(dims);
    if bytes.len() < header {
        return Err(truncated("header", header as u64));
    }
    let sizes: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    // At most three u32 sizes multiply to below 2^96: count in u128 so that no header can
    // overflow, then cap (no file holds 2^64 bytes anyway).
    let data: u128 = sizes.iter().map(|&s| s as u128).product();
    let needed = (header as u128 + data).min(u128::from(u64::MAX)) as u64;
    if (bytes.len() as u64) < needed {
        return Err(truncated("data", needed));
    }
    if bytes.len() as u64 > needed {
        return Err(IdxError::TrailingBytes {
            path: path.to_path_buf(),
            expected: needed,
            extra: bytes.len() as u64 - needed,
        });
    }
    Ok(sizes)
}

/// Parses an IDX image file's (decompressed) bytes. `path` only names the source in errors.
pub fn parse_images(bytes: &[u8], path: &Path) -> Result<IdxImages, IdxError> {
    let sizes = parse_header(bytes, 3, "images: 3-dimensional unsigned bytes", path)?;
    let (count, rows, cols) = (sizes[0], sizes[1], sizes[2]);
    if rows == 0 || cols == 0 {
        return Err(IdxError::EmptyImages {
            path: path.to_path_buf(),
            rows,
            cols,
        });
    }
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels: bytes[16..].to_vec(),
    })
}

/// Parses an IDX label file's (decompressed) bytes, checking every label is 0–9. `path`
/// only names the source in errors.
pub fn parse_labels(bytes: &[u8], path: &Path) -> Result<Vec<u8>, IdxError> {
    parse_header(bytes, 1, "labels: 1-dimensional unsigned bytes", path)?;
    let labels = &bytes[8..];
    if let Some(index) = labels.iter().position(|&l| l > 9) {
        return Err(IdxError::LabelOutOfRange {
            path: path.to_path_buf(),
            index,
            label: labels[index],
        });
    }
    Ok(labels.to_vec())
}

/// Reads an IDX image file, gzipped or not.
pub fn read_images(path: &Path) -> Result<IdxImages, IdxError> {
    parse_images(&read_maybe_gzipped(path)?, path)
}

/// Reads an IDX label file, gzipped or not.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, IdxError> {
    parse_labels(&read_maybe_gzipped(path)?, path)
}

/// Reads a matching pair of image and label files, checking they hold as many examples.
pub fn read_pair(images: &Path, labels: &Path) -> Result<(IdxImages, Vec<u8>), IdxError> {
    let pictures = read_images(images)?;
    let digits = read_labels(labels)?;
    if pictures.count != digits.len() {
        return Err(IdxError::CountMismatch {
            images_path: images.to_path_buf(),
            images: pictures.count,
            labels_path: labels.to_path_buf(),
            labels: digits.len(),
        });
    }
    Ok((pictures, digits))
}
