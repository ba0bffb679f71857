//! `predict` and `eval` stream files of many chunks through all cores: the output has every
//! row once, in order, with the values of a row-by-row computation; the scores are those of
//! the whole file; and an error deep in the file names its row and leaves nothing behind.

mod common;

use common::{Scratch, assert_close, json, number};
use mdn::Model;
use mdn::mdn_mixture::Temperature;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Rows in the test file: several chunks of `PREDICT_CHUNK_ROWS` and a partial one.
const ROWS: usize = 5 * mdn::PREDICT_CHUNK_ROWS + 123;

fn setup() -> Scratch {
    let scratch = Scratch::new();
    scratch.toy_model();
    scratch.data("toy", ROWS, 7, "big.csv");
    scratch
}

#[test]
fn every_row_is_predicted_once_in_order() {
    let scratch = setup();
    scratch.ok(&[
        "predict", "--model", "toy.mdn", "--data", "big.csv", "--output", "best", "--out",
        "best.csv",
    ]);
    let out = scratch.csv("best.csv");
    assert_eq!(out.len(), ROWS);
    let rows = out.column("row");
    assert!(
        rows.iter().enumerate().all(|(i, &r)| r == i as f64),
        "rows out of order"
    );

    // The same predictions, one chunk-independent row at a time through the library.
    let model = Model::load(scratch.path("toy.mdn")).unwrap();
    let data = scratch.csv("big.csv");
    let x = data.column("x");
    let best = out.column("t");
    for row in [0, 1, 2047, 2048, 4095, 6000, ROWS - 1] {
        let mixture = model.predict_one(&[x[row]]).unwrap();
        assert_close(
            best[row],
            mixture.best_mean()[0],
            1e-6,
            &format!("row {row}"),
        );
    }
}

#[test]
fn samples_follow_the_row_number_not_the_thread() {
    // Row r draws from stream r of the seed, whichever chunk and thread it lands on: two runs
    // give the same file, and each row's draws are the library's draws from that stream.
    let scratch = setup();
    let run = |out: &str| {
        scratch.ok(&[
            "predict",
            "--model",
            "toy.mdn",
            "--data",
            "big.csv",
            "--output",
            "samples",
            "--samples",
            "3",
            "--seed",
            "5",
            "--out",
            out,
        ]);
        scratch.read(out)
    };
    assert_eq!(run("a.csv"), run("b.csv"));
    let out = scratch.csv("a.csv");
    assert_eq!(out.len(), 3 * ROWS);

    let model = Model::load(scratch.path("toy.mdn")).unwrap();
    let x = scratch.csv("big.csv").column("x");
    let t = out.column("t");
    for row in [0, 2048, 9000, ROWS - 1] {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        rng.set_stream(row as u64);
        let draws = model.predict_one(&[x[row]]).unwrap().sample_n(
            3,
            &mut rng,
            Temperature::new(1.0).unwrap(),
        );
        for (k, draw) in draws.iter().enumerate() {
            // 1e-6: a row alone and the same row in a chunk differ in the f32 last bit.
            assert_close(
                t[3 * row + k],
                draw[0],
                1e-6,
                &format!("row {row}, draw {k}"),
            );
        }
    }
}

#[test]
fn eval_scores_the_whole_file_and_lists_every_row() {
    let scratch = setup();
    let stdout = scratch.ok(&[
        "eval",
        "--model",
        "toy.mdn",
        "--data",
        "big.csv",
        "--per-row",
        "ll.csv",
    ]);
    let scores = json(&stdout);
    assert_eq!(number(&scores, "n"), ROWS as f64);
    let per_row = scratch.csv("ll.csv");
    assert_eq!(per_row.len(), ROWS);
    assert!(
        per_row
            .column("row")
            .iter()
            .enumerate()
            .all(|(i, &r)| r == i as f64)
    );
    let log_lik = per_row.column("log_lik");
    let mean_nll = -log_lik.iter().sum::<f64>() / ROWS as f64;
    assert_close(
        number(&scores, "nll"),
        mean_nll,
        1e-9,
        "nll = −mean of the per-row values",
    );

    // The library's log-likelihoods of the same rows.
    let model = Model::load(scratch.path("toy.mdn")).unwrap();
    let data = scratch.csv("big.csv");
    let expected = model
        .log_likelihood(&data.column("x"), &data.column("t"))
        .unwrap();
    for row in [0, 2048, 9000, ROWS - 1] {
        assert_close(log_lik[row], expected[row], 1e-6, &format!("row {row}"));
    }
}

#[test]
fn a_bad_cell_deep_in_the_file_is_named_and_nothing_is_written() {
    let scratch = setup();
    let mut text = scratch.read("big.csv");
    // Replace the x of data row 9000 (line 9002 of the file, after the header).
    let lines: Vec<String> = text.lines().map(String::from).collect();
    let mut fields: Vec<String> = lines[9001].split(',').map(String::from).collect();
    fields[0] = "oops".into();
    let mut lines = lines;
    lines[9001] = fields.join(",");
    text = lines.join("\n") + "\n";
    scratch.write("bad.csv", text);
    scratch.fails(
        &[
            "predict", "--model", "toy.mdn", "--data", "bad.csv", "--output", "mean", "--out",
            "p.csv",
        ],
        &["bad.csv", "line 9002", "oops"],
    );
    scratch.fails(
        &[
            "eval",
            "--model",
            "toy.mdn",
            "--data",
            "bad.csv",
            "--per-row",
            "ll.csv",
        ],
        &["bad.csv", "line 9002", "oops"],
    );
}
