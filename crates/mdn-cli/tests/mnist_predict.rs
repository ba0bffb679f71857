//! `mdn predict --images`: a tiny CNN MDN trained on bundled MNIST images, queried with IDX
//! image files, plain and gzipped.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use mdn::idx;
use mdn::{Activation, Architecture, Backbone, TrainConfig, Trainer};
use mdn_experiments::data::mnist;

const IMAGES: usize = 7;

/// A quickly trained 3-component CNN MDN (`tiny.mdn`), the first `IMAGES` images of the
/// bundled (gzipped) MNIST test file as a plain IDX file, and their labels as an IDX label
/// file.
fn fixture() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let split = mnist::bundled_split().unwrap();
    let train = split.train.head(300).to_dataset().unwrap();
    let bundled = mnist::load_standard(&mnist::bundled_dir(), "t10k").unwrap();
    let cnn = Backbone::Cnn {
        height: 28,
        width: 28,
        channels: vec![2, 4],
        kernel: 5,
        hidden: 8,
        activation: Activation::Relu,
    };
    let network = Architecture::mdn(cnn, 1, 3)
        .with_min_sigma(0.035)
        .check()
        .unwrap();
    let config = TrainConfig {
        epochs: 1,
        batch_size: 32,
        ensemble: 1,
        noise_y: mdn::Noise::Off,
        ..TrainConfig::default()
    };
    let trained = Trainer::new(config.check().unwrap())
        .with_progress(false)
        .fit(&network, &train)
        .unwrap();
    let model = dir.path().join("tiny.mdn");
    trained.model.save(&model).unwrap();

    let sample = bundled.head(IMAGES);
    let plain = dir.path().join("sample-images-idx3-ubyte");
    std::fs::write(&plain, sample.images.to_idx_bytes()).unwrap();
    let labels = dir.path().join("sample-labels-idx1-ubyte");
    std::fs::write(&labels, idx::labels_to_idx_bytes(&sample.labels)).unwrap();
    (dir, model, plain, labels)
}

fn mdn() -> Command {
    Command::cargo_bin("mdn").unwrap()
}

fn predict(model: &Path, images: &Path, output: &str) -> String {
    let out = mdn()
        .args(["predict", "--model"])
        .arg(model)
        .arg("--images")
        .arg(images)
        .args(["--output", output])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn modes_of_idx_images_plain_and_gzipped() {
    let (_dir, model, plain, _) = fixture();
    let text = predict(&model, &plain, "modes");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "row,mode_0_digit,density_0,mode_1_digit,density_1,mode_2_digit,density_2"
    );
    assert_eq!(lines.len(), IMAGES + 1);
    for (i, line) in lines[1..].iter().enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[0], i.to_string());
        let mode: f64 = fields[1].parse().unwrap();
        let density: f64 = fields[2].parse().unwrap();
        assert!(mode.is_finite() && density > 0.0, "{line}");
    }
    // The whole bundled gzipped file: 10,000 rows, starting with the same answers.
    let gz = mnist::bundled_dir().join("t10k-images-idx3-ubyte.gz");
    let all = predict(&model, &gz, "modes");
    assert_eq!(all.lines().count(), 10_001);
    let head: Vec<&str> = all.lines().take(IMAGES + 1).collect();
    assert_eq!(head, lines);
    // Other outputs work on images too.
    let best = predict(&model, &plain, "best");
    assert_eq!(best.lines().next(), Some("row,digit"));
    assert_eq!(best.lines().count(), IMAGES + 1);
}

#[test]
fn images_to_a_file() {
    let (dir, model, plain, _) = fixture();
    let out = dir.path().join("q.csv");
    mdn()
        .args(["predict", "--model"])
        .arg(&model)
        .arg("--images")
        .arg(&plain)
        .args(["--output", "quantiles", "--quantiles", "0.1,0.9", "--out"])
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("row,q0.1_digit,q0.9_digit\n"), "{text}");
    assert_eq!(text.lines().count(), IMAGES + 1);
}

fn fails_with(args: &[&std::ffi::OsStr], needle: &str, code: i32) {
    let out = mdn().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(needle), "expected {needle:?} in {stderr}");
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[test]
fn wrong_image_files_are_refused() {
    let (dir, model, plain, labels) = fixture();
    let os = |s: &str| std::ffi::OsStr::new(s).to_owned();
    let small = dir.path().join("small-images-idx3-ubyte");
    let images = idx::IdxImages {
        count: 2,
        rows: 14,
        cols: 14,
        pixels: vec![0; 2 * 14 * 14],
    };
    std::fs::write(&small, images.to_idx_bytes()).unwrap();
    let base = |images: &Path| {
        vec![
            os("predict"),
            os("--model"),
            model.clone().into_os_string(),
            os("--images"),
            images.to_path_buf().into_os_string(),
            os("--output"),
            os("modes"),
        ]
    };
    let run = |args: Vec<std::ffi::OsString>, needle: &str, code: i32| {
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        fails_with(&refs, needle, code);
    };
    run(base(&small), "14x14", 1);
    // A label file is not an image file.
    run(base(&labels), "magic number", 1);
    // A truncated image file.
    let bytes = std::fs::read(&plain).unwrap();
    let cut = dir.path().join("cut-images-idx3-ubyte");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    run(base(&cut), "truncated", 1);
    run(base(&dir.path().join("missing.idx")), "missing.idx", 1);
    // --images and --data are alternatives; one of them is needed.
    let mut both = base(&plain);
    both.extend([os("--data"), os("x.csv")]);
    run(both, "--data", 2);
    let neither = vec![
        os("predict"),
        os("--model"),
        model.clone().into_os_string(),
        os("--output"),
        os("modes"),
    ];
    run(neither, "--data", 2);
}
