//! Tables as users have them (issue 15): text columns become one-hot categories stored in
//! the model, missing cells are refused, dropped or skipped and counted, log targets are
//! reported in the target's units, row weights weigh, `--val-data` validates, and `eval
//! --report` draws its calibration figures.

mod common;

use common::{Scratch, assert_close, json, number, train_args};

/// `args` as the `&str`s that [`Scratch::ok`] and [`Scratch::fails`] take.
fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// A deterministic stream of uniform numbers in [0, 1) (SplitMix64), so that the tables
/// here need no random-number crate and never change.
struct Uniform(u64);

impl Uniform {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / 2f64.powi(64)
    }

    /// A standard normal draw (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (1.0 - self.next(), self.next());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// The colour offsets of [`colour_table`]: t = x + offset(colour) + region/2 + noise.
const COLOURS: [(&str, f64); 3] = [("blue", -3.0), ("green", 3.0), ("red", 0.0)];

/// `n` rows of `x,colour,region,w,t` where t depends on a text column and on a numeric
/// region code 1–3; `x` is missing (in several spellings) in the rows listed in `gaps`.
fn colour_table(n: usize, seed: u64, gaps: &[usize]) -> String {
    let mut u = Uniform(seed);
    let mut text = String::from("x,colour,region,w,t\n");
    let spellings = ["", "NA", "NaN", "null", "nan"];
    for i in 0..n {
        let x = u.next();
        let (colour, offset) = COLOURS[(u.next() * 3.0) as usize];
        let region = 1 + (u.next() * 3.0) as usize;
        let t = x + offset + 0.5 * region as f64 + 0.1 * u.normal();
        let x = match gaps.iter().position(|&g| g == i) {
            Some(k) => spellings[k % spellings.len()].to_string(),
            None => format!("{x:.4}"),
        };
        text.push_str(&format!("{x},{colour},{region},{},{t:.4}\n", 1 + i % 2));
    }
    text
}

/// Options for a small model that still learns the colour table well.
const COLOUR_TRAINING: &[&str] = &["--epochs", "80", "--hidden", "16", "--seed", "2"];

fn train_colours(s: &Scratch, data: &str, out: &str, extra: &[&str]) {
    // A flag in `extra` replaces the default's.
    let mut options: Vec<&str> = COLOUR_TRAINING
        .chunks(2)
        .filter(|pair| !extra.contains(&pair[0]))
        .flatten()
        .copied()
        .collect();
    options.extend(extra);
    s.train(data, "x,colour,region", "t", out, &options);
}

/// The schema entry of input `name` in `mdn info`'s JSON.
fn input_schema(info: &serde_json::Value, name: &str) -> serde_json::Value {
    info["schema"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no input {name} in {info}"))
        .clone()
}

#[test]
fn text_columns_are_categories_the_model_lists_and_uses() {
    let s = Scratch::new();
    s.write("colours.csv", colour_table(600, 1, &[]));
    train_colours(&s, "colours.csv", "m.mdn", &["--categorical", "region"]);
    let info = json(&s.ok(&["info", "--model", "m.mdn"]));
    assert_eq!(input_schema(&info, "x")["kind"], "numeric");
    let colour = input_schema(&info, "colour");
    assert_eq!(colour["kind"], "categorical");
    assert_eq!(
        colour["categories"],
        serde_json::json!(["blue", "green", "red"])
    );
    let region = input_schema(&info, "region");
    assert_eq!(region["kind"], "categorical", "--categorical forces it");
    assert_eq!(region["categories"], serde_json::json!(["1", "2", "3"]));
    assert_eq!(
        info["architecture"]["backbone"]["mlp"]["input"], 7,
        "1 + 3 + 3 features"
    );

    // The model has learnt each colour's offset: the mean at x = 0.5, region 2.
    let mut query = String::from("x,colour,region\n");
    for (colour, _) in COLOURS {
        query.push_str(&format!("0.5,{colour},2\n"));
    }
    s.write("query.csv", &query);
    s.ok(&[
        "predict",
        "--model",
        "m.mdn",
        "--data",
        "query.csv",
        "--output",
        "mean",
        "--out",
        "mean.csv",
    ]);
    let mean = s.csv("mean.csv");
    for (r, (colour, offset)) in COLOURS.iter().enumerate() {
        let expected = 0.5 + offset + 1.0;
        let got = mean.num(r, "t");
        assert!(
            (got - expected).abs() < 0.3,
            "{colour}: mean {got}, expected {expected}"
        );
    }
}

#[test]
fn an_unseen_category_is_refused_unless_encoded_as_none() {
    let s = Scratch::new();
    s.write("colours.csv", colour_table(300, 3, &[]));
    train_colours(
        &s,
        "colours.csv",
        "m.mdn",
        &["--categorical", "region", "--epochs", "5"],
    );
    // Line 3 has an unseen colour; line 4 an unseen region and a missing x, which come later.
    s.write(
        "new.csv",
        "x,colour,region,t\n0.5,red,1,1\n0.5,purple,1,1\n,green,4,4\n",
    );
    let predict = |extra: &[&str]| {
        let mut args: Vec<String> = [
            "predict", "--model", "m.mdn", "--data", "new.csv", "--output", "mean", "--out",
            "p.csv",
        ]
        .map(String::from)
        .to_vec();
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    let refused = [
        "new.csv",
        "line 3",
        "column 'colour'",
        "'purple' is a category the model never saw in training",
        "--unknown-category zero",
    ];
    s.fails(&refs(&predict(&[])), &refused);
    s.fails(&["eval", "--model", "m.mdn", "--data", "new.csv"], &refused);
    // Encoded as no colour, line 3 passes and line 4's missing x is next.
    let zero = predict(&["--unknown-category", "zero"]);
    s.fails(
        &refs(&zero),
        &["new.csv", "line 4", "column 'x'", "the cell is missing"],
    );
    // A forced-categorical code the model never saw is refused like text.
    s.write(
        "new.csv",
        "x,colour,region,t\n0.5,red,1,1\n0.5,red,4,1\n0.5,purple,2,4\n",
    );
    s.fails(
        &refs(&predict(&[])),
        &["new.csv", "line 3", "column 'region'", "'4'"],
    );
    s.ok(&refs(&zero));
    let p = s.csv("p.csv");
    assert_eq!(p.len(), 3);
    assert!((0..3).all(|r| p.num(r, "t").is_finite()));
    let scores = json(&s.ok(&[
        "eval",
        "--model",
        "m.mdn",
        "--data",
        "new.csv",
        "--unknown-category",
        "zero",
    ]));
    assert_eq!(scores["n"], 3);
}

#[test]
fn a_text_target_and_misnamed_flags_are_refused() {
    let s = Scratch::new();
    s.write("colours.csv", colour_table(50, 4, &[]));
    let args = train_args("colours.csv", "x", "colour", "m.mdn", &[]);
    s.fails(
        &refs(&args),
        &[
            "colours.csv",
            "line 2",
            "column 'colour'",
            "is text, but a target must be a number",
        ],
    );
    for (flag, value, mention) in [
        (
            "--categorical",
            "t",
            "--categorical names 't', which is not an input",
        ),
        (
            "--log-targets",
            "x",
            "--log-targets names 'x', which is not a target",
        ),
        ("--weights", "t", "--weights t is also an input or a target"),
    ] {
        let args = train_args("colours.csv", "x,colour", "t", "m.mdn", &[flag, value]);
        s.fails(&refs(&args), &[mention]);
    }
}

#[test]
fn train_drops_rows_with_missing_cells_and_says_how_many() {
    let s = Scratch::new();
    // Five gaps in x, spelled "", NA, NaN, null and nan; one in t (row 10); and one in a
    // column no one uses (region, row 20), which does not count.
    let table = colour_table(200, 5, &[3, 50, 51, 120, 199]);
    let mut lines: Vec<String> = table.lines().map(String::from).collect();
    for (row, column, token) in [(10, 4, "NA"), (20, 2, "")] {
        // Row r is on line r + 2, index r + 1 of the lines (the header is first).
        let mut cells: Vec<&str> = lines[row + 1].split(',').collect();
        cells[column] = token;
        lines[row + 1] = cells.join(",");
    }
    s.write("gaps.csv", lines.join("\n") + "\n");
    let args = train_args("gaps.csv", "x,colour", "t", "m.mdn", &[]);
    s.fails(
        &refs(&args),
        &[
            "gaps.csv",
            "line 5",
            "column 'x'",
            "the cell is missing",
            "--missing drop",
        ],
    );
    let mut args = train_args("gaps.csv", "x,colour", "t", "m.mdn", &["--missing", "drop"]);
    args.retain(|a| a != "--quiet");
    let run = s.run(&refs(&args));
    assert!(run.status.success(), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("note: gaps.csv: dropped 6 of 200 rows with a missing cell"),
        "{}",
        run.stderr
    );
    let info = json(&s.ok(&["info", "--model", "m.mdn"]));
    let training = &info["training"];
    assert_eq!(
        training["train_rows"].as_u64().unwrap() + training["validation_rows"].as_u64().unwrap(),
        194
    );
}

#[test]
fn predict_and_eval_skip_rows_with_missing_cells_in_place() {
    let s = Scratch::new();
    s.write("colours.csv", colour_table(300, 6, &[]));
    train_colours(&s, "colours.csv", "m.mdn", &["--epochs", "5"]);
    let gaps = [0, 7, 8, 99];
    s.write("gaps.csv", colour_table(100, 7, &gaps));
    s.write("whole.csv", colour_table(100, 7, &[]));
    // Without the gaps, to compare with.
    let whole = s.csv("whole.csv");
    let kept: Vec<usize> = (0..100).filter(|r| !gaps.contains(r)).collect();
    let mut clean = String::from("x,colour,region,w,t\n");
    for &r in &kept {
        clean.push_str(&whole.rows[r].join(","));
        clean.push('\n');
    }
    s.write("clean.csv", clean);

    let predict = |data: &str, out: &str, extra: &[&str]| {
        let mut args = vec![
            "predict",
            "--model",
            "m.mdn",
            "--data",
            data,
            "--output",
            "quantiles",
            "--quantiles",
            "0.1,0.9",
            "--out",
            out,
        ];
        args.extend(extra);
        s.ok(&args);
    };
    predict("gaps.csv", "gaps.pred.csv", &["--missing", "skip"]);
    predict("clean.csv", "clean.pred.csv", &[]);
    let (gapped, clean) = (s.csv("gaps.pred.csv"), s.csv("clean.pred.csv"));
    assert_eq!(gapped.len(), 100, "one output row per input row");
    for r in 0..100 {
        assert_eq!(gapped.rows[r][0], r.to_string());
        if gaps.contains(&r) {
            assert!(
                gapped.rows[r][1..].iter().all(String::is_empty),
                "row {r}: {:?}",
                gapped.rows[r]
            );
        } else {
            let c = kept.iter().position(|&k| k == r).unwrap();
            assert_eq!(gapped.rows[r][1..], clean.rows[c][1..], "row {r}");
        }
    }

    let eval = |data: &str, extra: &[&str]| {
        let mut args = vec!["eval", "--model", "m.mdn", "--data", data];
        args.extend(extra);
        json(&s.ok(&args))
    };
    let skipped = eval("gaps.csv", &["--missing", "skip"]);
    let clean = eval("clean.csv", &[]);
    assert_eq!(skipped["n"], 96);
    assert_eq!(skipped["n_skipped"], 4);
    assert_eq!(clean["n_skipped"], 0);
    for key in ["nll", "crps", "pit_ks", "rmse_mean"] {
        assert_close(number(&skipped, key), number(&clean, key), 1e-12, key);
    }
}

/// `n` rows of `x,t` with log t ~ N(x, 0.3²): a log-normal target.
fn log_normal_table(n: usize, seed: u64) -> String {
    let mut u = Uniform(seed);
    let mut text = String::from("x,t\n");
    for _ in 0..n {
        let x = 2.0 * u.next();
        text.push_str(&format!("{x:.5},{:.6e}\n", (x + 0.3 * u.normal()).exp()));
    }
    text
}

#[test]
fn log_targets_are_fitted_on_log_t_and_reported_in_t() {
    let s = Scratch::new();
    s.write("pos.csv", log_normal_table(400, 8));
    s.train(
        "pos.csv",
        "x",
        "t",
        "log.mdn",
        &["--log-targets", "t", "--epochs", "60", "--seed", "1"],
    );
    let info = json(&s.ok(&["info", "--model", "log.mdn"]));
    assert_eq!(info["schema"]["targets"][0]["log"], true);

    // The density is of t: log p(t) = log p_log(log t) − log t, from the parameters of the
    // mixture over log t that `--output params` gives (columns named log_t).
    s.ok(&[
        "predict",
        "--model",
        "log.mdn",
        "--data",
        "pos.csv",
        "--output",
        "params",
        "--out",
        "params.csv",
    ]);
    s.ok(&[
        "eval",
        "--model",
        "log.mdn",
        "--data",
        "pos.csv",
        "--per-row",
        "rows.csv",
    ]);
    let (data, params, rows) = (s.csv("pos.csv"), s.csv("params.csv"), s.csv("rows.csv"));
    assert!(
        params.has("mean_0_log_t") && params.has("sigma_0_log_t"),
        "{:?}",
        params.header
    );
    for r in 0..data.len() {
        let t = data.num(r, "t");
        let density_of_log_t: f64 = (0..)
            .take_while(|k| params.has(&format!("alpha_{k}")))
            .map(|k| {
                let (a, m, sd) = (
                    params.num(r, &format!("alpha_{k}")),
                    params.num(r, &format!("mean_{k}_log_t")),
                    params.num(r, &format!("sigma_{k}_log_t")),
                );
                let z = (t.ln() - m) / sd;
                a * (-0.5 * z * z).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt())
            })
            .sum();
        let expected = density_of_log_t.ln() - t.ln();
        assert_close(rows.num(r, "log_lik"), expected, 1e-6, &format!("row {r}"));
    }

    // Quantiles, means, modes and samples are of t: positive, and near the truth.
    s.write("q.csv", "x\n0\n1\n2\n");
    for (output, extra) in [
        ("quantiles", ["--quantiles", "0.05,0.5,0.95"].as_slice()),
        ("mean", &[]),
        ("modes", &[]),
        ("samples", &["--samples", "50"]),
    ] {
        let out = format!("{output}.csv");
        let mut args = vec![
            "predict", "--model", "log.mdn", "--data", "q.csv", "--output", output, "--out", &out,
        ];
        args.extend(extra);
        s.ok(&args);
        let table = s.csv(&out);
        for r in 0..table.len() {
            for (c, name) in table.header.iter().enumerate().skip(1) {
                let cell = &table.rows[r][c];
                if name == "sample" || name.starts_with("density") || cell.is_empty() {
                    continue;
                }
                let value: f64 = cell.parse().unwrap();
                assert!(value > 0.0, "{output} row {r} {name}: {value}");
            }
        }
    }
    let median = s.csv("quantiles.csv");
    let mean = s.csv("mean.csv");
    for (r, x) in [0.0f64, 1.0, 2.0].iter().enumerate() {
        // The median of a log-normal is exp(μ); its mean exp(μ + σ²/2).
        let q = median.num(r, "q0.5_t");
        assert!((q.ln() - x).abs() < 0.25, "median at x = {x}: {q}");
        let m = mean.num(r, "t");
        assert!((m.ln() - x - 0.045).abs() < 0.25, "mean at x = {x}: {m}");
    }

    // A target that is not positive cannot be a log target.
    s.write("neg.csv", "x,t\n0.1,1\n0.2,0\n");
    let args = train_args("neg.csv", "x", "t", "neg.mdn", &["--log-targets", "t"]);
    s.fails(
        &refs(&args),
        &["neg.csv", "line 3", "column 't'", "not positive"],
    );
}

#[test]
fn weights_weigh_in_training_and_in_scores() {
    let s = Scratch::new();
    // Two regimes: t ≈ x with weight 1 and t ≈ x + 5 with weight 0. Trained with the weights,
    // the model must know only the first.
    let mut u = Uniform(9);
    let mut text = String::from("x,t,w\n");
    for i in 0..400 {
        let x = u.next();
        let (shift, w) = if i % 2 == 0 { (0.0, 1) } else { (5.0, 0) };
        text.push_str(&format!(
            "{x:.4},{:.4},{w}\n",
            x + shift + 0.05 * u.normal()
        ));
    }
    s.write("w.csv", text);
    s.train(
        "w.csv",
        "x",
        "t",
        "w.mdn",
        &["--weights", "w", "--epochs", "60"],
    );
    s.write("q.csv", "x\n0.5\n");
    s.ok(&[
        "predict", "--model", "w.mdn", "--data", "q.csv", "--output", "mean", "--out", "m.csv",
    ]);
    let mean = s.csv("m.csv").num(0, "t");
    assert!((mean - 0.5).abs() < 0.3, "weighted mean at 0.5: {mean}");

    // eval --weights: the weighted mean of the per-row scores.
    let scores = json(&s.ok(&[
        "eval",
        "--model",
        "w.mdn",
        "--data",
        "w.csv",
        "--weights",
        "w",
        "--per-row",
        "rows.csv",
    ]));
    let rows = s.csv("rows.csv");
    let data = s.csv("w.csv");
    let (mut nll, mut crps, mut total) = (0.0, 0.0, 0.0);
    for r in 0..rows.len() {
        let w = data.num(r, "w");
        nll -= w * rows.num(r, "log_lik");
        crps += w * rows.num(r, "crps_t");
        total += w;
    }
    assert_close(number(&scores, "nll"), nll / total, 1e-9, "weighted nll");
    assert_close(number(&scores, "crps"), crps / total, 1e-9, "weighted crps");
    let unweighted = json(&s.ok(&["eval", "--model", "w.mdn", "--data", "w.csv"]));
    assert!(
        number(&unweighted, "nll") > number(&scores, "nll") + 1.0,
        "{unweighted} vs {scores}"
    );

    s.write("bad.csv", "x,t,w\n0.1,0.1,1\n0.2,0.2,-1\n");
    let args = train_args("bad.csv", "x", "t", "bad.mdn", &["--weights", "w"]);
    s.fails(
        &refs(&args),
        &["bad.csv", "line 3", "column 'w'", "weight -1"],
    );
    s.fails(
        &[
            "eval",
            "--model",
            "w.mdn",
            "--data",
            "bad.csv",
            "--weights",
            "w",
        ],
        &["bad.csv", "line 3", "column 'w'", "weight -1"],
    );
}

#[test]
fn val_data_is_the_validation_set_and_every_training_row_trains() {
    let s = Scratch::new();
    s.write("train.csv", colour_table(150, 10, &[]));
    s.write("val.csv", colour_table(40, 11, &[]));
    train_colours(
        &s,
        "train.csv",
        "m.mdn",
        &["--val-data", "val.csv", "--epochs", "5"],
    );
    let info = json(&s.ok(&["info", "--model", "m.mdn"]));
    assert_eq!(info["training"]["train_rows"], 150);
    assert_eq!(info["training"]["validation_rows"], 40);
    // The validation NLL is the model's NLL on val.csv.
    let scores = json(&s.ok(&["eval", "--model", "m.mdn", "--data", "val.csv"]));
    let best = info["training"]["validation_nll"].as_f64().unwrap();
    assert_close(
        number(&scores, "nll"),
        best,
        1e-4,
        "validation NLL = eval on --val-data",
    );

    // The validation file is read like the training file, and its errors name it.
    s.write("val_bad.csv", "x,colour,region,w,t\n0.5,purple,1,1,1\n");
    let mut options = COLOUR_TRAINING.to_vec();
    options.extend(["--val-data", "val_bad.csv"]);
    let args = train_args("train.csv", "x,colour,region", "t", "n.mdn", &options);
    s.fails(
        &refs(&args),
        &["val_bad.csv", "line 2", "column 'colour'", "'purple'"],
    );
    s.write("val_cols.csv", "x,t\n0.5,1\n");
    options.pop();
    options.push("val_cols.csv");
    let args = train_args("train.csv", "x,colour,region", "t", "n.mdn", &options);
    s.fails(&refs(&args), &["val_cols.csv", "colour"]);
}

#[test]
fn eval_report_draws_pit_coverage_and_density_figures() {
    let s = Scratch::new();
    s.toy_model();
    s.ok(&[
        "eval", "--model", "toy.mdn", "--data", "toy.csv", "--report", "report",
    ]);
    let mut figures: Vec<String> = std::fs::read_dir(s.path("report"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    figures.sort();
    let expected: Vec<String> = ["coverage", "density", "pit_histogram"]
        .iter()
        .flat_map(|name| [format!("{name}.png"), format!("{name}.svg")])
        .collect();
    assert_eq!(figures, expected);
    for name in &figures {
        let bytes = std::fs::read(s.path("report").join(name)).unwrap();
        if name.ends_with(".png") {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{name}");
        } else {
            assert!(String::from_utf8(bytes).unwrap().contains("<svg"), "{name}");
        }
    }
    // A report directory cannot be an input file.
    s.fails(
        &[
            "eval", "--model", "toy.mdn", "--data", "toy.csv", "--report", "toy.csv",
        ],
        &["--report", "toy.csv"],
    );
}

#[test]
fn pit_of_targets_drawn_from_the_model_is_uniform() {
    // Targets sampled from the model's own densities are calibrated by construction: the
    // PIT values are U(0, 1) and each central interval holds its share.
    let s = Scratch::new();
    s.toy_model();
    s.data("toy", 4000, 12, "x.csv");
    s.ok(&[
        "predict",
        "--model",
        "toy.mdn",
        "--data",
        "x.csv",
        "--output",
        "samples",
        "--samples",
        "1",
        "--seed",
        "5",
        "--out",
        "drawn.csv",
    ]);
    let (x, drawn) = (s.csv("x.csv"), s.csv("drawn.csv"));
    let mut table = String::from("x,t\n");
    for r in 0..x.len() {
        assert_eq!(drawn.rows[r][..2], [r.to_string(), "0".to_string()]);
        table.push_str(&format!("{},{}\n", x.rows[r][0], drawn.num(r, "t")));
    }
    s.write("self.csv", table);
    let scores = json(&s.ok(&["eval", "--model", "toy.mdn", "--data", "self.csv"]));
    // KS critical value at the 0.1% level for n = 4000: 1.95 / √n ≈ 0.031.
    assert!(number(&scores, "pit_ks") < 0.031, "{scores}");
    for (level, nominal) in [("0.5", 0.5), ("0.8", 0.8), ("0.9", 0.9), ("0.95", 0.95)] {
        let observed = scores["coverage"][level].as_f64().unwrap();
        // Five binomial standard errors.
        let se = (nominal * (1.0 - nominal) / 4000.0f64).sqrt();
        assert!(
            (observed - nominal).abs() < 5.0 * se,
            "coverage {level}: {observed}"
        );
    }
    // And real toy targets, which the small model fits only roughly, are further off.
    let real = json(&s.ok(&["eval", "--model", "toy.mdn", "--data", "x.csv"]));
    assert!(
        number(&real, "pit_ks") > number(&scores, "pit_ks"),
        "{real} vs {scores}"
    );
}
