//! Train → eval → predict → info through the `mdn` binary, on small generated data sets.

mod common;

use common::{Csv, Scratch, assert_close, json, number};

/// The `row` column counts the data rows from 0, in order.
fn assert_rows_in_order(csv: &Csv, rows: usize) {
    assert_eq!(csv.header[0], "row");
    assert_eq!(csv.len(), rows, "one output row per data row");
    for (i, row) in csv.rows.iter().enumerate() {
        assert_eq!(row[0], i.to_string(), "row {i} is out of order");
    }
}

/// `columns` repeated for each `prefix` index: e.g. `alpha_0, mean_0_t, ...`.
fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Mixture weights, means and σ of one row of `predict --output params` (diagonal models).
struct Component {
    alpha: f64,
    mean: Vec<f64>,
}

fn components(params: &Csv, row: usize, targets: &[&str]) -> Vec<Component> {
    (0..)
        .take_while(|k| params.has(&format!("alpha_{k}")))
        .map(|k| Component {
            alpha: params.num(row, &format!("alpha_{k}")),
            mean: targets
                .iter()
                .map(|t| params.num(row, &format!("mean_{k}_{t}")))
                .collect(),
        })
        .collect()
}

/// Checks `mean`, `best`, `modes`, `samples` and `quantiles` of a trained model against each
/// other and against its `params`, on `rows` rows of `data`.
fn check_every_output_kind(s: &Scratch, model: &str, data: &str, targets: &[&str], rows: usize) {
    let m = 3;
    let params = Csv::parse(&s.ok(&[
        "predict", "--model", model, "--data", data, "--output", "params",
    ]));
    assert_rows_in_order(&params, rows);
    let mean = Csv::parse(&s.ok(&[
        "predict", "--model", model, "--data", data, "--output", "mean",
    ]));
    let best = Csv::parse(&s.ok(&[
        "predict", "--model", model, "--data", data, "--output", "best",
    ]));
    let mut expected = vec!["row"];
    expected.extend(targets);
    for csv in [&mean, &best] {
        assert_eq!(csv.header, strings(&expected));
        assert_rows_in_order(csv, rows);
    }
    for r in 0..rows {
        let comps = components(&params, r, targets);
        assert_eq!(comps.len(), m);
        let total: f64 = comps.iter().map(|c| c.alpha).sum();
        assert_close(total, 1.0, 1e-9, "sum of alphas");
        let top = comps
            .iter()
            .fold(&comps[0], |a, c| if c.alpha > a.alpha { c } else { a });
        for (j, t) in targets.iter().enumerate() {
            let mixture_mean: f64 = comps.iter().map(|c| c.alpha * c.mean[j]).sum();
            assert_close(mean.num(r, t), mixture_mean, 1e-9, "mean = Σ α μ");
            assert_close(
                best.num(r, t),
                top.mean[j],
                0.0,
                "best = μ of the largest α",
            );
            for k in 0..m {
                assert!(params.num(r, &format!("sigma_{k}_{t}")) > 0.0);
            }
        }
    }

    // Modes: up to m per row, highest density first, unused slots empty at the end.
    let modes = Csv::parse(&s.ok(&[
        "predict", "--model", model, "--data", data, "--output", "modes",
    ]));
    let mut expected = vec!["row".to_string()];
    for j in 0..m {
        expected.extend(targets.iter().map(|t| format!("mode_{j}_{t}")));
        expected.push(format!("density_{j}"));
    }
    assert_eq!(modes.header, expected);
    assert_rows_in_order(&modes, rows);
    for r in 0..rows {
        let densities: Vec<Option<f64>> = (0..m)
            .map(|j| modes.get(r, &format!("density_{j}")))
            .collect();
        assert!(densities[0].is_some(), "row {r} has no mode");
        let found: Vec<f64> = densities.iter().map_while(|d| *d).collect();
        assert!(
            densities[found.len()..].iter().all(Option::is_none),
            "row {r}: empty mode slots must come last: {densities:?}"
        );
        assert!(found.windows(2).all(|w| w[0] >= w[1]), "row {r}: {found:?}");
        assert!(found.iter().all(|d| d.is_finite() && *d > 0.0));
        for j in 0..found.len() {
            for t in targets {
                assert!(modes.num(r, &format!("mode_{j}_{t}")).is_finite());
            }
        }
    }

    // Samples: long format, reproducible with a seed, different with another.
    let sample = |seed: &str, out: Option<&str>| {
        let mut args = vec![
            "predict",
            "--model",
            model,
            "--data",
            data,
            "--output",
            "samples",
            "--samples",
            "4",
            "--temperature",
            "0.8",
            "--seed",
            seed,
        ];
        args.extend(out.map(|o| ["--out", o]).into_iter().flatten());
        s.ok(&args)
    };
    let text = sample("7", None);
    let samples = Csv::parse(&text);
    let mut expected = vec!["row", "sample"];
    expected.extend(targets);
    assert_eq!(samples.header, strings(&expected));
    assert_eq!(samples.len(), rows * 4);
    for (i, row) in samples.rows.iter().enumerate() {
        assert_eq!(row[0], (i / 4).to_string());
        assert_eq!(row[1], (i % 4).to_string());
        for t in targets {
            assert!(samples.num(i, t).is_finite());
        }
    }
    assert_eq!(
        sample("7", None),
        text,
        "the same seed gives the same samples"
    );
    assert_ne!(sample("8", None), text, "another seed gives other samples");
    // --out writes exactly what stdout would have shown.
    assert_eq!(sample("7", Some("samples.csv")), "");
    assert_eq!(s.read("samples.csv"), text);

    // Quantiles: one column per level and target, increasing with the level.
    let quantiles = Csv::parse(&s.ok(&[
        "predict",
        "--model",
        model,
        "--data",
        data,
        "--output",
        "quantiles",
        "--quantiles",
        "0.05,0.5,0.95",
    ]));
    let mut expected = vec!["row".to_string()];
    for level in ["0.05", "0.5", "0.95"] {
        expected.extend(targets.iter().map(|t| format!("q{level}_{t}")));
    }
    assert_eq!(quantiles.header, expected);
    assert_rows_in_order(&quantiles, rows);
    for r in 0..rows {
        for t in targets {
            let q = |level: &str| quantiles.num(r, &format!("q{level}_{t}"));
            assert!(q("0.05") < q("0.5") && q("0.5") < q("0.95"), "row {r} {t}");
        }
    }
}

/// `mdn eval` prints one JSON object with sane scores; `--per-row` has one row per data row.
fn check_eval(
    s: &Scratch,
    model: &str,
    data: &str,
    targets: &[&str],
    rows: usize,
) -> serde_json::Value {
    let scores = json(&s.ok(&[
        "eval",
        "--model",
        model,
        "--data",
        data,
        "--per-row",
        "scores.csv",
    ]));
    assert_eq!(scores["n"], rows);
    for key in ["nll", "rmse_mean", "rmse_best"] {
        assert!(number(&scores, key).is_finite(), "{key}: {scores}");
    }
    assert!(number(&scores, "rmse_mean") > 0.0);
    let coverage = number(&scores, "coverage_90");
    assert!((0.5..=1.0).contains(&coverage), "coverage_90 {coverage}");
    for t in targets {
        assert!(scores["per_target"][t]["rmse_mean"].is_f64(), "{scores}");
    }
    // Calibration: CRPS, central-interval coverage at four levels, PIT's distance from U(0, 1).
    assert!(number(&scores, "crps") > 0.0, "{scores}");
    for level in ["0.5", "0.8", "0.9", "0.95"] {
        let observed = scores["coverage"][level].as_f64().unwrap();
        assert!(
            (0.0..=1.0).contains(&observed),
            "coverage {level}: {scores}"
        );
    }
    assert_eq!(scores["coverage"]["0.9"], scores["coverage_90"]);
    assert!((0.0..=1.0).contains(&number(&scores, "pit_ks")), "{scores}");
    assert_eq!(scores["n_skipped"], 0);
    let per_row = s.csv("scores.csv");
    let mut header = vec!["row".to_string(), "log_lik".to_string()];
    header.extend(targets.iter().map(|t| format!("pit_{t}")));
    header.extend(targets.iter().map(|t| format!("crps_{t}")));
    assert_eq!(per_row.header, header);
    assert_rows_in_order(&per_row, rows);
    let mut crps_sum = 0.0;
    for t in targets {
        let per_target = per_row.column(&format!("crps_{t}")).iter().sum::<f64>() / rows as f64;
        assert_close(
            scores["per_target"][t]["crps"].as_f64().unwrap(),
            per_target,
            1e-6,
            "per-target crps = mean crps_<t>",
        );
        crps_sum += per_target;
        assert!(
            per_row
                .column(&format!("pit_{t}"))
                .iter()
                .all(|p| (0.0..=1.0).contains(p))
        );
    }
    assert_close(
        number(&scores, "crps"),
        crps_sum / targets.len() as f64,
        1e-6,
        "crps = mean over targets",
    );
    let mean_nll = -per_row.column("log_lik").iter().sum::<f64>() / rows as f64;
    assert_close(
        number(&scores, "nll"),
        mean_nll,
        1e-9,
        "nll = −mean log_lik",
    );
    scores
}

#[test]
fn toy_problem_train_eval_predict_info() {
    let s = Scratch::new();
    s.data("toy", 300, 3, "toy.csv");
    let data = s.csv("toy.csv");
    assert_eq!(data.header, ["x", "t"]);
    assert_eq!(data.len(), 300);

    s.train(
        "toy.csv",
        "x",
        "t",
        "toy.mdn",
        &["--seed", "1", "--history", "toy.history.csv"],
    );
    // Only what was asked for: the model and its history, no checkpoint.
    assert_eq!(
        s.files(),
        ["toy.csv", "toy.history.csv", "toy.mdn"]
            .map(String::from)
            .into()
    );
    let history = s.csv("toy.history.csv");
    assert_eq!(history.len(), 15);
    assert!(history.has("validation_nll"));

    let scores = check_eval(&s, "toy.mdn", "toy.csv", &["t"], 300);
    // t lies in [0, 1]: a trained model is far better than nonsense.
    assert!(number(&scores, "rmse_mean") < 0.5, "{scores}");
    assert!(number(&scores, "nll") < 1.0, "{scores}");

    // A grid of inputs without a target column is enough for predict.
    let grid: String = std::iter::once("x".to_string())
        .chain((0..50).map(|i| format!("{}", i as f64 / 49.0)))
        .collect::<Vec<_>>()
        .join("\n");
    s.write("grid.csv", grid + "\n");
    check_every_output_kind(&s, "toy.mdn", "grid.csv", &["t"], 50);

    let params = Csv::parse(&s.ok(&[
        "predict", "--model", "toy.mdn", "--data", "grid.csv", "--output", "params",
    ]));
    assert_eq!(
        params.header,
        [
            "row",
            "alpha_0",
            "mean_0_t",
            "sigma_0_t",
            "alpha_1",
            "mean_1_t",
            "sigma_1_t",
            "alpha_2",
            "mean_2_t",
            "sigma_2_t"
        ]
    );

    let info = json(&s.ok(&["info", "--model", "toy.mdn"]));
    assert_eq!(info["format_version"], 3);
    assert_eq!(info["kind"], "mdn");
    assert_eq!(info["components"], 3);
    assert_eq!(info["inputs"], serde_json::json!(["x"]));
    assert_eq!(info["targets"], serde_json::json!(["t"]));
    assert!(info["parameters"].as_u64().unwrap() > 0);
    assert_eq!(
        info["architecture"]["backbone"]["mlp"]["hidden"],
        serde_json::json!([8])
    );
    assert_eq!(
        info["architecture"]["head"]["mixture"]["covariance"],
        "isotropic"
    );
    let training = &info["training"];
    assert_eq!(training["epochs_run"], 15);
    assert_eq!(training["config"]["epochs"], 15);
    assert_eq!(training["config"]["seed"], 1);
    assert_eq!(training["train_rows"], 270);
    assert_eq!(training["validation_rows"], 30);
    assert!(training["train_nll"].is_f64());
    assert_eq!(
        info["created_by"],
        format!("mdn {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn robot_arm_two_inputs_two_targets_full_covariance() {
    let s = Scratch::new();
    s.data("robot", 300, 0, "robot.csv");
    assert_eq!(s.csv("robot.csv").header, ["x1", "x2", "th1", "th2"]);
    s.train(
        "robot.csv",
        "x1,x2",
        "th1,th2",
        "robot.mdn",
        &[
            "--covariance",
            "full",
            "--activation",
            "relu",
            "--hidden",
            "8,8",
        ],
    );
    check_eval(&s, "robot.mdn", "robot.csv", &["th1", "th2"], 300);
    check_every_output_kind(&s, "robot.mdn", "robot.csv", &["th1", "th2"], 300);

    let params = Csv::parse(&s.ok(&[
        "predict",
        "--model",
        "robot.mdn",
        "--data",
        "robot.csv",
        "--output",
        "params",
    ]));
    let mut expected = vec!["row".to_string()];
    for k in 0..3 {
        expected.push(format!("alpha_{k}"));
        expected.extend(["th1", "th2"].map(|t| format!("mean_{k}_{t}")));
        expected.extend(["th1", "th2"].map(|t| format!("sigma_{k}_{t}")));
        expected.push(format!("cov_{k}_th1_th2"));
    }
    assert_eq!(params.header, expected);
    for r in 0..params.len() {
        for k in 0..3 {
            let cov = params.num(r, &format!("cov_{k}_th1_th2"));
            let bound =
                params.num(r, &format!("sigma_{k}_th1")) * params.num(r, &format!("sigma_{k}_th2"));
            assert!(
                cov.abs() <= bound * (1.0 + 1e-12),
                "|covariance| must not exceed σ1σ2"
            );
        }
    }

    let info = json(&s.ok(&["info", "--model", "robot.mdn"]));
    assert_eq!(info["inputs"], serde_json::json!(["x1", "x2"]));
    assert_eq!(info["targets"], serde_json::json!(["th1", "th2"]));
    assert_eq!(
        info["architecture"]["backbone"]["mlp"]["activation"],
        "relu"
    );
    assert_eq!(
        info["architecture"]["head"]["mixture"]["covariance"],
        "full"
    );
}

#[test]
fn least_squares_model_is_one_gaussian() {
    let s = Scratch::new();
    s.data("toy-forward", 200, 2, "forward.csv");
    assert_eq!(s.csv("forward.csv").header, ["t", "x"]);
    // The forward problem: x as a function of t.
    s.train(
        "forward.csv",
        "t",
        "x",
        "ls.mdn",
        &["--model-type", "mse", "--activation", "gelu"],
    );

    let info = json(&s.ok(&["info", "--model", "ls.mdn"]));
    assert_eq!(info["kind"], "least-squares");
    assert_eq!(info["components"], 1);

    let scores = check_eval(&s, "ls.mdn", "forward.csv", &["x"], 200);
    assert_eq!(
        scores["rmse_mean"], scores["rmse_best"],
        "one component: mean = best"
    );

    let params = Csv::parse(&s.ok(&[
        "predict",
        "--model",
        "ls.mdn",
        "--data",
        "forward.csv",
        "--output",
        "params",
    ]));
    assert_eq!(params.header, ["row", "alpha_0", "mean_0_x", "sigma_0_x"]);
    let mean = Csv::parse(&s.ok(&[
        "predict",
        "--model",
        "ls.mdn",
        "--data",
        "forward.csv",
        "--output",
        "mean",
    ]));
    let modes = Csv::parse(&s.ok(&[
        "predict",
        "--model",
        "ls.mdn",
        "--data",
        "forward.csv",
        "--output",
        "modes",
    ]));
    assert_eq!(modes.header, ["row", "mode_0_x", "density_0"]);
    let sigma = params.num(0, "sigma_0_x");
    for r in 0..params.len() {
        assert_eq!(params.num(r, "alpha_0"), 1.0);
        assert_eq!(params.num(r, "sigma_0_x"), sigma, "one σ for every row");
        assert_eq!(params.num(r, "mean_0_x"), mean.num(r, "x"));
        assert_close(
            modes.num(r, "mode_0_x"),
            mean.num(r, "x"),
            1e-6,
            "mode of a Gaussian",
        );
    }
}

#[test]
fn resumed_training_continues_the_interrupted_run_exactly() {
    let s = Scratch::new();
    s.data("toy", 200, 4, "toy.csv");
    let params = |model: &str| {
        s.ok(&[
            "predict", "--model", model, "--data", "toy.csv", "--output", "params",
        ])
    };
    s.train("toy.csv", "x", "t", "straight.mdn", &["--epochs", "8"]);
    // "Interrupted" after 4 of 8 epochs; an explicit checkpoint is kept.
    s.train(
        "toy.csv",
        "x",
        "t",
        "first.mdn",
        &["--epochs", "4", "--checkpoint", "run.ckpt"],
    );
    assert!(s.exists("run.ckpt"));
    s.train(
        "toy.csv",
        "x",
        "t",
        "resumed.mdn",
        &[
            "--epochs",
            "8",
            "--resume",
            "run.ckpt",
            "--history",
            "resumed.csv",
        ],
    );
    assert_ne!(
        params("first.mdn"),
        params("straight.mdn"),
        "4 epochs differ from 8"
    );
    assert_eq!(params("resumed.mdn"), params("straight.mdn"));
    let info = json(&s.ok(&["info", "--model", "resumed.mdn"]));
    assert_eq!(info["training"]["epochs_run"], 8);
    assert_eq!(s.csv("resumed.csv").len(), 8);

    // Resuming needs the same data.
    s.data("toy", 200, 5, "other.csv");
    s.fails(
        &common::train_args(
            "other.csv",
            "x",
            "t",
            "bad.mdn",
            &["--epochs", "8", "--resume", "run.ckpt"],
        )
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
        &["run.ckpt", "different data"],
    );
}

#[test]
fn training_reports_progress_unless_quiet() {
    let s = Scratch::new();
    s.data("toy", 200, 0, "toy.csv");
    let run = s.run(&[
        "train",
        "--data",
        "toy.csv",
        "--inputs",
        "x",
        "--targets",
        "t",
        "--out",
        "m.mdn",
        "--epochs",
        "3",
        "--hidden",
        "4",
        "--ensemble",
        "1",
    ]);
    assert!(run.status.success(), "{}", run.stderr);
    assert!(run.stderr.contains("trained 3 epochs"), "{}", run.stderr);
    // The default noise on the targets is said.
    assert!(run.stderr.contains("0.100 on targets"), "{}", run.stderr);
    assert!(run.stderr.contains("m.mdn"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    // `Scratch::train` passes --quiet and checks that stderr stays empty.
    s.train("toy.csv", "x", "t", "q.mdn", &["--epochs", "3"]);
}

#[test]
fn extra_columns_are_ignored_and_order_does_not_matter() {
    let s = Scratch::new();
    s.data("toy", 200, 6, "toy.csv");
    let data = s.csv("toy.csv");
    // Targets first, then a text column, then the input.
    let mut text = String::from("t,label,x\n");
    for row in &data.rows {
        text += &format!("{},\"point, {}\",{}\n", row[1], row[0], row[0]);
    }
    s.write("shuffled.csv", text);
    s.train("toy.csv", "x", "t", "a.mdn", &[]);
    s.train("shuffled.csv", "x", "t", "b.mdn", &[]);
    let predict = |model: &str, data: &str| {
        s.ok(&[
            "predict", "--model", model, "--data", data, "--output", "params",
        ])
    };
    assert_eq!(
        predict("a.mdn", "toy.csv"),
        predict("b.mdn", "shuffled.csv")
    );
    assert_eq!(
        predict("a.mdn", "toy.csv"),
        predict("a.mdn", "shuffled.csv")
    );
    assert_eq!(
        s.ok(&["eval", "--model", "a.mdn", "--data", "toy.csv"]),
        s.ok(&["eval", "--model", "a.mdn", "--data", "shuffled.csv"])
    );
}

#[test]
fn data_sets_are_reproducible_from_the_seed() {
    let s = Scratch::new();
    let stdout = s.ok(&["data", "robot", "--n", "25", "--seed", "9"]);
    s.data("robot", 25, 9, "robot.csv");
    assert_eq!(s.read("robot.csv"), stdout);
    assert_ne!(
        s.ok(&["data", "robot", "--n", "25", "--seed", "10"]),
        stdout
    );
    let robot = Csv::parse(&stdout);
    assert_eq!(robot.len(), 25);
    for name in ["x1", "x2", "th1", "th2"] {
        assert_eq!(robot.column(name).len(), 25);
    }
    let toy = Csv::parse(&s.ok(&["data", "toy", "--n", "40"]));
    let forward = Csv::parse(&s.ok(&["data", "toy-forward", "--n", "40"]));
    assert_eq!(
        toy.column("x"),
        forward.column("x"),
        "the same points, columns swapped"
    );
    assert_eq!(toy.column("t"), forward.column("t"));
    assert!(toy.column("t").iter().all(|t| (0.0..=1.0).contains(t)));
}
