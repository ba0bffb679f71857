//! Bad input of every kind: each must end with one `error: ` line on stderr naming the file
//! and row and column (or the option), a non-zero status, no panic, and no output file or
//! stray temporary file (see `Scratch::fails`).

mod common;

use common::{Scratch, train_args};

/// A scratch directory with a small trained toy model (`toy.csv`, `toy.mdn`).
fn with_model() -> Scratch {
    let s = Scratch::new();
    s.toy_model();
    s
}

/// `mdn train` on `file` with every fast option, writing `out.mdn`.
fn train(s: &Scratch, file: &str, extra: &[&str], mentions: &[&str]) {
    let args = train_args(file, "x", "t", "out.mdn", extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s.fails(&args, mentions);
}

fn eval(s: &Scratch, model: &str, file: &str, mentions: &[&str]) {
    s.fails(
        &[
            "eval",
            "--model",
            model,
            "--data",
            file,
            "--per-row",
            "rows.csv",
        ],
        mentions,
    );
}

fn predict(s: &Scratch, model: &str, file: &str, extra: &[&str], mentions: &[&str]) {
    let mut args = vec![
        "predict", "--model", model, "--data", file, "--out", "pred.csv",
    ];
    if extra.is_empty() {
        args.extend(["--output", "mean"]);
    }
    args.extend(extra);
    s.fails(&args, mentions);
}

/// `file` holding `contents` must be refused by train, eval and predict alike.
fn every_reader_refuses(contents: &str, mentions: &[&str]) {
    let s = with_model();
    s.write("bad.csv", contents);
    let mut mentions = mentions.to_vec();
    mentions.push("bad.csv");
    train(&s, "bad.csv", &[], &mentions);
    eval(&s, "toy.mdn", "bad.csv", &mentions);
    predict(&s, "toy.mdn", "bad.csv", &[], &mentions);
}

// ---- Data files -------------------------------------------------------------------------

#[test]
fn missing_data_file() {
    let s = with_model();
    train(&s, "nope.csv", &[], &["nope.csv", "cannot open"]);
    eval(&s, "toy.mdn", "nope.csv", &["nope.csv", "cannot open"]);
    predict(&s, "toy.mdn", "nope.csv", &[], &["nope.csv", "cannot open"]);
}

#[test]
fn empty_data_file() {
    every_reader_refuses("", &["empty"]);
}

#[test]
fn header_without_rows() {
    every_reader_refuses("x,t\n", &["no data rows"]);
}

#[test]
fn unknown_column_name() {
    let s = with_model();
    let args = train_args("toy.csv", "x", "theta", "out.mdn", &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s.fails(&args, &["toy.csv", "no column named 'theta'", "x, t"]);
}

#[test]
fn non_numeric_cell() {
    // For training, a text cell makes an input categorical (tests/tables.rs); a model whose
    // input is a number refuses it, and a target is always a number.
    let s = with_model();
    s.write("bad.csv", "x,t\n0.1,0.2\n0.2,0.4\nabc,0.6\n");
    let mentions = ["bad.csv", "line 4", "column 'x'", "'abc' is not a number"];
    eval(&s, "toy.mdn", "bad.csv", &mentions);
    predict(&s, "toy.mdn", "bad.csv", &[], &mentions);
    s.write("text_target.csv", "x,t\n0.1,0.2\n0.2,0.4\n0.3,abc\n");
    train(
        &s,
        "text_target.csv",
        &[],
        &[
            "text_target.csv",
            "line 4",
            "column 't'",
            "'abc' is text, but a target must be a number",
        ],
    );
}

/// A missing cell is refused by default, naming the cell and the flag that lets it pass.
fn every_reader_refuses_missing(contents: &str, line: &str) {
    let s = with_model();
    s.write("bad.csv", contents);
    let mentions = ["bad.csv", line, "column 'x'", "the cell is missing"];
    let with = |hint: &'static str| {
        let mut m = mentions.to_vec();
        m.push(hint);
        m
    };
    train(&s, "bad.csv", &[], &with("--missing drop"));
    eval(&s, "toy.mdn", "bad.csv", &with("--missing skip"));
    predict(&s, "toy.mdn", "bad.csv", &[], &with("--missing skip"));
}

#[test]
fn empty_cell() {
    every_reader_refuses_missing("x,t\n0.1,0.2\n,0.4\n", "line 3");
}

#[test]
fn missing_value_tokens() {
    for token in ["NaN", "nan", "NA", "na", "null", "NULL"] {
        every_reader_refuses_missing(&format!("x,t\n0.1,0.2\n{token},0.4\n"), "line 3");
    }
}

#[test]
fn infinite_cell() {
    every_reader_refuses(
        "x,t\n0.1,0.2\n0.3,0.4\ninf,0.6\n",
        &["line 4", "column 'x'", "'inf' is not a finite number"],
    );
}

#[test]
fn negative_infinite_cell() {
    every_reader_refuses(
        "x,t\n-Infinity,0.2\n",
        &["line 2", "column 'x'", "'-Infinity' is not a finite number"],
    );
}

#[test]
fn bad_target_cell_is_refused_by_train_and_eval_but_not_needed_by_predict() {
    let s = with_model();
    s.write("bad.csv", "x,t\n0.1,0.2\n0.2,oops\n");
    let mentions = ["bad.csv", "line 3", "column 't'", "'oops'"];
    train(&s, "bad.csv", &[], &mentions);
    eval(&s, "toy.mdn", "bad.csv", &mentions);
    let means = s.ok(&[
        "predict", "--model", "toy.mdn", "--data", "bad.csv", "--output", "mean",
    ]);
    assert_eq!(means.lines().count(), 3, "{means}");
}

#[test]
fn row_with_too_few_fields() {
    every_reader_refuses(
        "x,t\n0.1,0.2\n0.3\n0.4,0.5\n",
        &["line 3", "1 field", "header has 2", "column 't'"],
    );
}

#[test]
fn row_with_too_many_fields() {
    every_reader_refuses(
        "x,t\n0.1,0.2\n0.3,0.4\n0.5,0.6,0.7\n",
        &["line 4", "3 fields", "header has 2"],
    );
}

#[test]
fn duplicate_column_names() {
    every_reader_refuses(
        "x,t,x\n0.1,0.2,0.3\n",
        &["column name 'x' appears twice", "columns 1 and 3"],
    );
}

#[test]
fn failure_after_many_rows_leaves_no_partial_output() {
    // The bad row comes after more rows than predict and eval process in one chunk, so
    // output has already been written to the temporary file when the error is found.
    let s = with_model();
    let mut text = String::from("x,t\n");
    for i in 0..5000 {
        let x = if i == 4500 {
            "bad".to_string()
        } else {
            format!("{}", i as f64 / 5000.0)
        };
        text += &format!("{x},0.5\n");
    }
    s.write("long.csv", text);
    let mentions = ["long.csv", "line 4502", "column 'x'", "'bad'"];
    eval(&s, "toy.mdn", "long.csv", &mentions);
    predict(&s, "toy.mdn", "long.csv", &[], &mentions);
    predict(
        &s,
        "toy.mdn",
        "long.csv",
        &["--output", "samples", "--samples", "3"],
        &mentions,
    );
}

// ---- Model files ------------------------------------------------------------------------

/// `model` must be refused by eval, predict and info alike.
fn every_model_user_refuses(s: &Scratch, model: &str, mentions: &[&str]) {
    let mut mentions = mentions.to_vec();
    mentions.push(model);
    eval(s, model, "toy.csv", &mentions);
    predict(s, model, "toy.csv", &[], &mentions);
    s.fails(&["info", "--model", model], &mentions);
}

#[test]
fn missing_model_file() {
    let s = with_model();
    every_model_user_refuses(&s, "nope.mdn", &["No such file"]);
}

#[test]
fn truncated_model_file() {
    let s = with_model();
    let bytes = std::fs::read(s.path("toy.mdn")).unwrap();
    for (name, len) in [
        ("half.mdn", bytes.len() / 2),
        ("short.mdn", bytes.len() - 1),
    ] {
        s.write(name, &bytes[..len]);
        every_model_user_refuses(&s, name, &["truncated"]);
    }
    s.write("empty.mdn", "");
    every_model_user_refuses(&s, "empty.mdn", &["not an mdn model file"]);
}

#[test]
fn corrupt_model_file() {
    let s = with_model();
    let mut bytes = std::fs::read(s.path("toy.mdn")).unwrap();
    // The last bytes are the tensors' (a flipped weight is still a float), the first ones
    // after the length the JSON header's (a flipped scaler digit is still valid JSON).
    let mut weight = bytes.clone();
    *weight.last_mut().unwrap() ^= 0x01;
    s.write("flipped.mdn", &weight);
    every_model_user_refuses(&s, "flipped.mdn", &["corrupt", "checksum"]);
    // The metadata is JSON inside a JSON string, so its quotes are escaped.
    let scaler = b"\\\"mean\\\":[";
    let digit = bytes
        .windows(scaler.len())
        .position(|w| w == scaler)
        .expect("the scalers are in the header")
        + scaler.len();
    assert!(bytes[digit].is_ascii_digit() || bytes[digit] == b'-');
    bytes[digit] = if bytes[digit] == b'1' { b'2' } else { b'1' };
    s.write("scaler.mdn", &bytes);
    every_model_user_refuses(&s, "scaler.mdn", &["corrupt", "checksum"]);
}

#[test]
fn model_file_of_another_format_version() {
    // The format (crates/mdn/src/file.rs): safetensors, whose JSON header holds
    // "format_version":"3". A newer version is reported as such, before the checksum (which
    // no longer fits).
    let s = with_model();
    let mut bytes = std::fs::read(s.path("toy.mdn")).unwrap();
    let version = b"\"format_version\":\"3\"";
    let at = bytes
        .windows(version.len())
        .position(|w| w == version)
        .expect("this build writes version 3");
    bytes[at + version.len() - 2] = b'4';
    s.write("v4.mdn", &bytes);
    every_model_user_refuses(&s, "v4.mdn", &["version 4", "not supported"]);
}

#[test]
fn a_model_file_of_the_first_format_says_to_retrain() {
    // Format 1 was mdn's own container: the magic "MDNMODEL", then the version (u32).
    let s = with_model();
    let mut bytes = b"MDNMODEL".to_vec();
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&[0; 64]);
    s.write("old.mdn", &bytes);
    every_model_user_refuses(
        &s,
        "old.mdn",
        &[
            "written by an older mdn",
            "format 1",
            "train the model again",
        ],
    );
}

#[test]
fn a_csv_file_is_not_a_model() {
    let s = with_model();
    every_model_user_refuses(&s, "toy.csv", &["not an mdn model file"]);
}

#[test]
fn model_needs_columns_the_data_lacks() {
    let s = with_model();
    s.data("robot", 20, 0, "robot.csv");
    eval(
        &s,
        "toy.mdn",
        "robot.csv",
        &[
            "robot.csv",
            "no column named 'x'",
            "toy.mdn",
            "x1, x2, th1, th2",
        ],
    );
    predict(
        &s,
        "toy.mdn",
        "robot.csv",
        &[],
        &["robot.csv", "no column named 'x'", "toy.mdn"],
    );
    // Eval needs the targets too; predict does not.
    s.write("inputs.csv", "x\n0.5\n");
    eval(
        &s,
        "toy.mdn",
        "inputs.csv",
        &["inputs.csv", "no column named 't'"],
    );
}

#[test]
fn checkpoint_and_model_are_not_interchangeable() {
    let s = with_model();
    s.train(
        "toy.csv",
        "x",
        "t",
        "run.mdn",
        &["--epochs", "2", "--checkpoint", "run.ckpt"],
    );
    every_model_user_refuses(&s, "run.ckpt", &["training checkpoint, not a model"]);
    train(
        &s,
        "toy.csv",
        &["--resume", "toy.mdn"],
        &["toy.mdn", "not a training checkpoint"],
    );
    train(&s, "toy.csv", &["--resume", "nope.ckpt"], &["nope.ckpt"]);
}

// ---- Options ----------------------------------------------------------------------------

#[test]
fn zero_components() {
    let s = with_model();
    train(&s, "toy.csv", &["--components", "0"], &["--components 0"]);
}

#[test]
fn negative_components() {
    let s = with_model();
    train(
        &s,
        "toy.csv",
        &["--components", "-2"],
        &["--components", "-2"],
    );
}

#[test]
fn negative_learning_rate() {
    let s = with_model();
    train(&s, "toy.csv", &["--lr", "-0.1"], &["--lr -0.1", "positive"]);
    train(&s, "toy.csv", &["--lr=-0.1"], &["--lr -0.1"]);
}

#[test]
fn zero_or_nan_learning_rate() {
    let s = with_model();
    train(&s, "toy.csv", &["--lr", "0"], &["--lr 0"]);
    train(&s, "toy.csv", &["--lr", "nan"], &["--lr NaN"]);
}

#[test]
fn validation_fraction_outside_zero_to_one() {
    let s = with_model();
    for value in ["1", "1.5", "-0.1"] {
        train(
            &s,
            "toy.csv",
            &["--val-fraction", value],
            &[&format!("--val-fraction {value}"), "[0, 1)"],
        );
    }
}

#[test]
fn validation_fraction_that_holds_out_nothing() {
    let s = with_model();
    train(
        &s,
        "toy.csv",
        &["--val-fraction", "0.0001"],
        &["--val-fraction 0.0001", "no row of 200"],
    );
}

#[test]
fn zero_batch_size() {
    let s = with_model();
    train(&s, "toy.csv", &["--batch-size", "0"], &["--batch-size 0"]);
}

#[test]
fn zero_epochs() {
    let s = with_model();
    train(&s, "toy.csv", &["--epochs", "0"], &["--epochs 0"]);
}

#[test]
fn bad_hidden_widths() {
    let s = with_model();
    train(&s, "toy.csv", &["--hidden", "8,x"], &["--hidden", "'x'"]);
}

#[test]
fn unknown_covariance_and_activation() {
    let s = with_model();
    train(
        &s,
        "toy.csv",
        &["--covariance", "spherical"],
        &["--covariance", "spherical"],
    );
    train(
        &s,
        "toy.csv",
        &["--activation", "sigmoid"],
        &["--activation", "tanh"],
    );
    train(
        &s,
        "toy.csv",
        &["--model-type", "svm"],
        &["--model-type", "svm"],
    );
}

#[test]
fn column_lists() {
    let s = with_model();
    s.fails(
        &train_args("toy.csv", "x", "x", "out.mdn", &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &["'x' is both an input and a target"],
    );
    s.fails(
        &train_args("toy.csv", "x,", "t", "out.mdn", &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &["--inputs", "empty column name"],
    );
}

#[test]
fn missing_and_unknown_arguments() {
    let s = with_model();
    s.fails(
        &[
            "train", "--data", "toy.csv", "--inputs", "x", "--out", "out.mdn",
        ],
        &["required", "--targets"],
    );
    s.fails(
        &[
            "predict", "--model", "toy.mdn", "--data", "toy.csv", "--output", "mean", "--bogus",
        ],
        &["--bogus"],
    );
    s.fails(
        &[
            "predict", "--model", "toy.mdn", "--data", "toy.csv", "--output", "median",
        ],
        &["--output", "median"],
    );
}

#[test]
fn zero_samples() {
    let s = with_model();
    predict(
        &s,
        "toy.mdn",
        "toy.csv",
        &["--output", "samples", "--samples", "0"],
        &["--samples 0"],
    );
    predict(
        &s,
        "toy.mdn",
        "toy.csv",
        &["--output", "samples"],
        &["--samples"],
    );
}

#[test]
fn non_positive_temperature() {
    let s = with_model();
    for t in ["0", "-1"] {
        predict(
            &s,
            "toy.mdn",
            "toy.csv",
            &["--output", "samples", "--samples", "2", "--temperature", t],
            &[&format!("--temperature {t}")],
        );
    }
}

#[test]
fn quantile_outside_zero_to_one() {
    let s = with_model();
    for levels in ["0.5,1.5", "0", "1", "-0.2,0.5"] {
        predict(
            &s,
            "toy.mdn",
            "toy.csv",
            &["--output", "quantiles", "--quantiles", levels],
            &["--quantiles", "outside (0, 1)"],
        );
    }
    predict(
        &s,
        "toy.mdn",
        "toy.csv",
        &["--output", "quantiles", "--quantiles", "0.5,half"],
        &["--quantiles", "'half' is not a valid number"],
    );
    predict(
        &s,
        "toy.mdn",
        "toy.csv",
        &["--output", "quantiles"],
        &["--quantiles"],
    );
}

#[test]
fn options_for_another_output_kind() {
    let s = with_model();
    predict(
        &s,
        "toy.mdn",
        "toy.csv",
        &["--output", "mean", "--samples", "3"],
        &["--samples", "--output samples"],
    );
    predict(
        &s,
        "toy.mdn",
        "toy.csv",
        &["--output", "best", "--quantiles", "0.5"],
        &["--quantiles", "--output quantiles"],
    );
}

#[test]
fn zero_rows_of_generated_data() {
    let s = Scratch::new();
    s.fails(&["data", "toy", "--n", "0", "--out", "toy.csv"], &["--n 0"]);
}

#[test]
fn output_directory_that_does_not_exist() {
    let s = with_model();
    s.fails(
        &[
            "predict",
            "--model",
            "toy.mdn",
            "--data",
            "toy.csv",
            "--output",
            "mean",
            "--out",
            "missing/p.csv",
        ],
        &["missing/p.csv", "does not exist"],
    );
    s.fails(
        &[
            "eval",
            "--model",
            "toy.mdn",
            "--data",
            "toy.csv",
            "--per-row",
            "missing/r.csv",
        ],
        &["missing/r.csv"],
    );
    s.fails(
        &train_args("toy.csv", "x", "t", "missing/m.mdn", &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &["missing/m.mdn"],
    );
    s.fails(
        &["data", "toy", "--out", "missing/toy.csv"],
        &["missing/toy.csv"],
    );
}
