//! MNIST as a regression data set: 28 × 28 grey-level images, target the digit's value 0–9.
//!
//! The repository bundles the 10,000-image MNIST test set in `data/mnist/` (see its
//! README for attribution); [`bundled_split`] divides it into 8,000 training and 2,000 test
//! images with a fixed seed. [`official_split`] reads the four standard files (gzipped or
//! not) from a directory for the official 60,000 / 10,000 split.

use std::path::{Path, PathBuf};

use mdn::Dataset;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use mdn::idx::{self, IdxError, IdxImages};

/// Name of the regression target.
pub const TARGET_NAME: &str = "digit";

/// Training images taken from the bundled 10,000 by [`bundled_split`]; the rest are test.
pub const BUNDLED_TRAIN: usize = 8000;

/// Seed of the bundled split: fixed, so every run (whatever its `--seed`) tests on the same
/// 2,000 images.
pub const SPLIT_SEED: u64 = 0x004d_4e49_5354; // "MNIST" in ASCII

/// The directory of the bundled copy, found relative to this crate's sources at compile
/// time, so a fresh clone needs no download.
pub fn bundled_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .join("data")
        .join("mnist")
}

/// Names of the pixel inputs: `pixel0` … `pixel783` for 28 × 28 images, row-major (the
/// column names of the common CSV export of MNIST).
pub fn input_names(pixels: usize) -> Vec<String> {
    (0..pixels).map(|i| format!("pixel{i}")).collect()
}

/// Labelled digit images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digits {
    /// The images.
    pub images: IdxImages,
    /// One label 0–9 per image.
    pub labels: Vec<u8>,
}

impl Digits {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The examples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Digits {
        Digits {
            images: self.images.subset(indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// The first `n` examples (all if fewer).
    pub fn head(&self, n: usize) -> Digits {
        let indices: Vec<usize> = (0..n.min(self.len())).collect();
        self.subset(&indices)
    }

    /// A regression data set: inputs the grey levels 0–255 (`pixel0` …), target the label
    /// as a number (`digit`).
    pub fn to_dataset(&self) -> mdn::Result<Dataset> {
        let inputs = self.images.pixels.iter().map(|&p| f64::from(p)).collect();
        let targets = self.labels.iter().map(|&l| f64::from(l)).collect();
        Dataset::new(inputs, self.images.pixels_per_image(), targets, 1)?.with_names(
            input_names(self.images.pixels_per_image()),
            vec![TARGET_NAME.to_string()],
        )
    }
}

/// A training and a test set, with a line saying where they came from.
#[derive(Debug, Clone)]
pub struct MnistSplit {
    /// Training examples.
    pub train: Digits,
    /// Test examples.
    pub test: Digits,
    /// Where the data came from and how it was split.
    pub source: String,
}

/// `dir/name` or `dir/name.gz`, whichever exists (the uncompressed file first).
pub fn standard_file(dir: &Path, name: &str) -> Result<PathBuf, IdxError> {
    let plain = dir.join(name);
    if plain.is_file() {
        return Ok(plain);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(IdxError::MissingFile {
        dir: dir.to_path_buf(),
        name: name.to_string(),
    })
}

/// Reads `<prefix>-images-idx3-ubyte[.gz]` and `<prefix>-labels-idx1-ubyte[.gz]` from
/// `dir` (`prefix` is `train` or `t10k`).
pub fn load_standard(dir: &Path, prefix: &str) -> Result<Digits, IdxError> {
    let images = standard_file(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let labels = standard_file(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let (images, labels) = idx::read_pair(&images, &labels)?;
    Ok(Digits { images, labels })
}

/// The bundled 10,000 test images split into [`BUNDLED_TRAIN`] training and the rest test,
/// shuffled with [`SPLIT_SEED`].
pub fn bundled_split() -> Result<MnistSplit, IdxError> {
    let dir = bundled_dir();
    let all = load_standard(&dir, "t10k")?;
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(SPLIT_SEED));
    let n_train = BUNDLED_TRAIN.min(all.len() * 4 / 5);
    let (train, test) = order.split_at(n_train);
    Ok(MnistSplit {
        train: all.subset(train),
        test: all.subset(test),
        source: format!(
            "the bundled MNIST test set ({} images) split {}/{} with a fixed seed",
            all.len(),
            train.len(),
            test.len()
        ),
    })
}

/// The official split: `train-*` files for training, `t10k-*` for testing, from `dir`.
pub fn official_split(dir: &Path) -> Result<MnistSplit, IdxError> {
    let train = load_standard(dir, "train")?;
    let test = load_standard(dir, "t10k")?;
    Ok(MnistSplit {
        source: format!(
            "the official MNIST split from {} ({} training, {} test images)",
            dir.display(),
            train.len(),
            test.len()
        ),
        train,
        test,
    })
}
