//! The IDX reader on good, gzipped, truncated and malformed files.

use std::io::Write;
use std::path::Path;

use mdn::idx::{self, IdxError, IdxImages};

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
fn images_and_labels_round_trip_plain_and_gzipped() {
    let dir = tempfile::tempdir().unwrap();
    let images = sample_images();
    let labels = vec![0u8, 9, 4];
    for gz in [false, true] {
        let (image_bytes, label_bytes) = (images.to_idx_bytes(), idx::labels_to_idx_bytes(&labels));
        let (image_bytes, label_bytes) = if gz {
            (gzip(&image_bytes), gzip(&label_bytes))
        } else {
            (image_bytes, label_bytes)
        };
        let ip = write(dir.path(), &format!("i{gz}"), &image_bytes);
        let lp = write(dir.path(), &format!("l{gz}"), &label_bytes);
        let (read_images, read_labels) = idx::read_pair(&ip, &lp).unwrap();
        assert_eq!(read_images, images);
        assert_eq!(read_labels, labels);
        assert_eq!(read_images.image(1), &images.pixels[20..40]);
    }
}

#[test]
fn truncated_files_are_reported_at_every_cut() {
    let path = Path::new("x.idx");
    let bytes = sample_images().to_idx_bytes();
    // Inside the magic, inside the sizes, right after the header, inside the pixels, one
    // byte short.
    for cut in [0, 2, 3, 4, 9, 15, 16, 17, 40, bytes.len() - 1] {
        match idx::parse_images(&bytes[..cut], path) {
            Err(IdxError::Truncated {
                expected, found, ..
            }) => {
                assert_eq!(found, cut as u64, "cut {cut}");
                assert!(expected > found, "cut {cut}");
            }
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    let labels = idx::labels_to_idx_bytes(&[1, 2, 3, 4]);
    for cut in [1, 5, 7, 8, 11] {
        assert!(
            matches!(
                idx::parse_labels(&labels[..cut], path),
                Err(IdxError::Truncated { .. })
            ),
            "label cut at {cut}"
        );
    }
    let message = idx::parse_images(&bytes[..40], path)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("x.idx") && message.contains("truncated"),
        "{message}"
    );
}

#[test]
fn a_truncated_gzip_stream_is_a_gzip_error() {
    let dir = tempfile::tempdir().unwrap();
    let compressed = gzip(&sample_images().to_idx_bytes());
    for cut in [2, 10, compressed.len() / 2, compressed.len() - 4] {
        let path = write(dir.path(), "cut.gz", &compressed[..cut]);
        match idx::read_images(&path) {
            Err(IdxError::Gzip { .. }) => {}
            other => panic!("gzip cut at {cut}: {other:?}"),
        }
    }
}

#[test]
fn wrong_magic_numbers_are_rejected() {
    let path = Path::new("x.idx");
    let images = sample_images().to_idx_bytes();
    let labels = idx::labels_to_idx_bytes(&[1, 2, 3]);
    // Labels read as images and images read as labels: wrong dimension count.
    match idx::parse_images(&labels, path) {
        Err(IdxError::BadMagic {
            expected, found, ..
        }) => {
            assert_eq!(expected, 0x0803);
            assert_eq!(found, 0x0801);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        idx::parse_labels(&images, path),
        Err(IdxError::BadMagic { found: 0x0803, .. })
    ));
    // A 2-dimensional file, a non-byte element type, nonzero leading bytes, text.
    for magic in [[0, 0, 8, 2], [0, 0, 0x0d, 3], [1, 0, 8, 3]] {
        let mut bad = images.clone();
        bad[..4].copy_from_slice(&magic);
        assert!(
            matches!(
                idx::parse_images(&bad, path),
                Err(IdxError::BadMagic { .. })
            ),
            "{magic:?}"
        );
    }
    let text = b"label,pixel0,pixel1\n5,0,0\n".to_vec();
    let message = idx::parse_images(&text, path).unwrap_err().to_string();
    assert!(message.contains("magic number"), "{message}");
}

#[test]
fn sizes_must_match_the_header() {
    let path = Path::new("x.idx");
    let mut long = sample_images().to_idx_bytes();
    long.push(0);
    assert!(matches!(
        idx::parse_images(&long, path),
        Err(IdxError::TrailingBytes { extra: 1, .. })
    ));
    // A count claiming 2^32 − 1 images: truncated, without overflow or a huge allocation.
    let mut huge = sample_images().to_idx_bytes();
    huge[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    huge[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        idx::parse_images(&huge, path),
        Err(IdxError::Truncated { what: "data", .. })
    ));
    let empty = IdxImages {
        count: 0,
        rows: 0,
        cols: 28,
        pixels: Vec::new(),
    };
    assert!(matches!(
        idx::parse_images(&empty.to_idx_bytes(), path),
        Err(IdxError::EmptyImages { .. })
    ));
}

#[test]
fn labels_above_nine_are_rejected() {
    let path = Path::new("y.idx");
    match idx::parse_labels(&idx::labels_to_idx_bytes(&[3, 9, 10, 1]), path) {
        Err(IdxError::LabelOutOfRange { index, label, .. }) => {
            assert_eq!((index, label), (2, 10));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn image_and_label_counts_must_agree() {
    let dir = tempfile::tempdir().unwrap();
    let ip = write(dir.path(), "images", &sample_images().to_idx_bytes());
    let lp = write(dir.path(), "labels", &idx::labels_to_idx_bytes(&[1, 2]));
    match idx::read_pair(&ip, &lp) {
        Err(IdxError::CountMismatch { images, labels, .. }) => assert_eq!((images, labels), (3, 2)),
        other => panic!("{other:?}"),
    }
}
