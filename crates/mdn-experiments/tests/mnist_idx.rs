//! MNIST's standard files found plain or gzipped, and the bundled copy.

use std::io::Write;
use std::path::Path;

use mdn::idx::{self, IdxError, IdxImages};
use mdn_experiments::data::mnist;

fn sample_images() -> IdxImages {
    let (count, rows, cols) = (3, 4, 5);
    IdxImages {
        count,
        rows,
        cols,
        pixels: (0..count * rows * cols)
            .map(|i| (i * 7 % 256) as u8)
            .collect(),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}
#[test]
fn missing_files_name_the_directory_and_file() {
    let dir = tempfile::tempdir().unwrap();
    match mnist::load_standard(dir.path(), "train") {
        Err(error @ IdxError::MissingFile { .. }) => {
            assert!(error.to_string().contains("train-images-idx3-ubyte"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        idx::read_images(&dir.path().join("nothing")),
        Err(IdxError::Io { .. })
    ));
}

#[test]
fn the_standard_layout_is_found_plain_or_gzipped() {
    let dir = tempfile::tempdir().unwrap();
    let images = sample_images();
    write(
        dir.path(),
        "train-images-idx3-ubyte.gz",
        &gzip(&images.to_idx_bytes()),
    );
    write(
        dir.path(),
        "train-labels-idx1-ubyte",
        &idx::labels_to_idx_bytes(&[7, 8, 9]),
    );
    write(
        dir.path(),
        "t10k-images-idx3-ubyte",
        &images.subset(&[2]).to_idx_bytes(),
    );
    write(
        dir.path(),
        "t10k-labels-idx1-ubyte.gz",
        &gzip(&idx::labels_to_idx_bytes(&[5])),
    );
    let split = mnist::official_split(dir.path()).unwrap();
    assert_eq!(split.train.len(), 3);
    assert_eq!(split.test.labels, vec![5]);
    assert_eq!(split.test.images.image(0), images.image(2));
    let data = split.train.to_dataset().unwrap();
    assert_eq!(data.input_dim(), 20);
    assert_eq!(data.target(1), &[8.0]);
    assert_eq!(data.input_names()[19], "pixel19");
    assert_eq!(data.target_names(), &["digit".to_string()]);
}

#[test]
fn the_bundled_copy_splits_8000_2000() {
    let split = mnist::bundled_split().unwrap();
    assert_eq!((split.train.len(), split.test.len()), (8000, 2000));
    assert_eq!((split.train.images.rows, split.train.images.cols), (28, 28));
    // Every digit occurs in both parts, and the split is the same every time.
    for digit in 0..10 {
        assert!(split.train.labels.contains(&digit));
        assert!(split.test.labels.contains(&digit));
    }
    let again = mnist::bundled_split().unwrap();
    assert_eq!(again.test.labels, split.test.labels);
}
