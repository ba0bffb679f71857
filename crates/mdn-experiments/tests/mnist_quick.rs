//! The quick MNIST pipeline: every file is written and the metrics are sane.

use mdn::idx;
use mdn_experiments::data::mnist as mnist_data;
use mdn_experiments::experiments::mnist::{self, MnistOptions};

#[test]
fn quick_mnist_run_writes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let options = MnistOptions {
        quick: true,
        progress: false,
        components: 3,
        ..MnistOptions::new(dir.path())
    };
    let metrics = mnist::run(&options).unwrap();

    for name in [
        "mnist_a_digits",
        "mnist_b_densities",
        "mnist_c_ambiguous",
        "mnist_d_training",
    ] {
        for ext in ["png", "svg"] {
            let path = dir.path().join(format!("{name}.{ext}"));
            let size = std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .len();
            assert!(size > 200, "{} is only {size} bytes", path.display());
        }
    }
    for name in ["metrics.json", "report.md"] {
        assert!(dir.path().join(name).is_file(), "{name}");
    }
    assert_eq!(metrics.figures.len(), 8);

    // The saved models load and predict digits from 784 grey levels.
    for path in &metrics.models {
        let model = mdn::Model::load(path).unwrap();
        assert_eq!(model.input_dim(), 784);
        assert_eq!(model.target_names(), &["digit".to_string()]);
    }
    assert!(dir.path().join("mnist_mdn.mdn").is_file());

    let s = &metrics.settings;
    assert_eq!((s.n_train, s.n_test), (400, 200));
    assert_eq!(s.components, 3);
    assert!(metrics.mdn.test.nll.is_finite());
    assert!(metrics.least_squares.test.nll.is_finite());
    for (name, value) in [
        ("best mode", metrics.best_mode_accuracy),
        ("best component", metrics.best_component_accuracy),
        ("mean", metrics.mean_accuracy),
        ("ambiguous", metrics.ambiguous_fraction),
        ("ambiguous distinct", metrics.ambiguous_distinct_fraction),
        ("label among modes", metrics.label_among_modes),
        ("least squares", metrics.least_squares_accuracy),
    ] {
        assert!((0.0..=1.0).contains(&value), "{name}: {value}");
    }
    assert!(metrics.ambiguous_distinct_fraction <= metrics.ambiguous_fraction);
    assert!(metrics.label_among_modes >= metrics.best_mode_accuracy);
    assert!(metrics.least_squares_rmse.is_finite() && metrics.least_squares_rmse > 0.0);
    assert!(metrics.mdn.train_seconds > 0.0 && metrics.total_seconds > 0.0);

    // metrics.json holds the same numbers.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(
        json["best_mode_accuracy"].as_f64(),
        Some(metrics.best_mode_accuracy)
    );
    let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(report.contains("best (highest) mode"), "{report}");
}

#[test]
fn a_data_dir_without_the_standard_files_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let options = MnistOptions {
        quick: true,
        progress: false,
        data_dir: Some(dir.path().to_path_buf()),
        ..MnistOptions::new(dir.path().join("out"))
    };
    let message = mnist::run(&options).unwrap_err().to_string();
    assert!(message.contains("train-images-idx3-ubyte"), "{message}");
}

#[test]
fn a_data_dir_with_the_four_standard_files_uses_the_official_split() {
    let data = tempfile::tempdir().unwrap();
    let bundled = mnist_data::bundled_dir();
    // Stand-ins for the full set: the bundled test files as training files too, one of
    // them decompressed.
    for (from, to) in [
        ("t10k-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz"),
        ("t10k-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"),
    ] {
        std::fs::copy(bundled.join(from), data.path().join(to)).unwrap();
    }
    let labels = idx::read_labels(&bundled.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    std::fs::write(
        data.path().join("t10k-labels-idx1-ubyte"),
        idx::labels_to_idx_bytes(&labels),
    )
    .unwrap();

    let out = tempfile::tempdir().unwrap();
    let options = MnistOptions {
        quick: true,
        progress: false,
        data_dir: Some(data.path().to_path_buf()),
        ..MnistOptions::new(out.path())
    };
    let metrics = mnist::run(&options).unwrap();
    assert!(
        metrics.settings.data.contains("official"),
        "{}",
        metrics.settings.data
    );
    assert_eq!(
        (metrics.settings.n_train, metrics.settings.n_test),
        (400, 200)
    );
}
