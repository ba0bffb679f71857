//! The toy and robot-arm experiments run end to end with `--quick` settings: every file is
//! written and the metrics are sane.

use mdn_experiments::experiments::{robot, toy};

fn assert_files(dir: &std::path::Path, stems: &[&str]) {
    for stem in stems {
        for ext in ["png", "svg"] {
            let path = dir.join(format!("{stem}.{ext}"));
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            assert!(
                size > 1000,
                "{} missing or empty ({size} bytes)",
                path.display()
            );
        }
    }
    for name in ["metrics.json", "report.md"] {
        assert!(dir.join(name).is_file(), "{name} missing");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap();
    assert!(json.is_object());
}

#[test]
fn toy_quick_writes_figures_and_sane_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let options = toy::ToyOptions {
        out: dir.path().to_path_buf(),
        quick: true,
        seed: 3,
        progress: false,
    };
    let metrics = toy::run(&options).unwrap();
    assert_files(
        dir.path(),
        &[
            "toy_a_fits",
            "toy_b_density",
            "toy_c_alphas",
            "toy_d_forward",
            "toy_e_training",
        ],
    );
    let names: Vec<&str> = metrics.inverse.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["least squares", "MDN m=3", "MDN m=5"]);
    for m in metrics.inverse.iter().chain(&metrics.forward) {
        let s = &m.test;
        assert!(
            s.nll.is_finite() && s.nll < 2.0,
            "{}: NLL {}",
            m.name,
            s.nll
        );
        assert!(
            s.rmse_mean > 0.0 && s.rmse_mean < 0.6,
            "{}: RMSE {}",
            m.name,
            s.rmse_mean
        );
        assert!(
            (0.0..=1.0).contains(&s.coverage_90),
            "{}: coverage {}",
            m.name,
            s.coverage_90
        );
    }
    // The true density's NLL is the floor: about −1.26 nats on this problem.
    assert!(
        (-1.4..-1.1).contains(&metrics.bayes_nll),
        "Bayes NLL {}",
        metrics.bayes_nll
    );
    let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(report.contains("MDN m=5") && report.contains("least squares"));
}

#[test]
fn robot_quick_writes_figures_and_sane_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let options = robot::RobotOptions {
        out: dir.path().to_path_buf(),
        quick: true,
        seed: 3,
        progress: false,
    };
    let metrics = robot::run(&options).unwrap();
    let pngs: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".png"))
        .collect();
    assert!(pngs.len() >= 3, "figures written: {pngs:?}");
    assert_files(dir.path(), &[]);
    assert_eq!(metrics.models.len(), 2);
    for m in &metrics.models {
        // The workspace spans about 1 unit; a quick run must still land in it.
        assert!(
            m.rms_position_error.is_finite() && m.rms_position_error < 0.5,
            "{}: {}",
            m.model.name,
            m.rms_position_error
        );
        assert!(m.model.test.nll.is_finite());
    }
    assert_eq!(
        metrics
            .sweep
            .iter()
            .map(|p| p.components)
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(metrics.improvement.is_finite() && metrics.improvement > 0.0);
}
