//! `--noise-x`, `--noise-y`, `--ensemble` and `--bootstrap` from the command line (issue 16):
//! bad values name their flag; an ensemble is one model file that every command reads as the
//! mixture of all members' components.

mod common;

use common::{Scratch, json, number};

/// `mdn train` on `toy.csv` (input `x`, target `t`) writing `out`, then `extra` — not quiet,
/// as the tests read what it prints.
fn toy_train<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--data",
        "toy.csv",
        "--inputs",
        "x",
        "--targets",
        "t",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn bad_noise_and_ensemble_values_name_their_flag() {
    let s = Scratch::new();
    s.data("toy", 100, 1, "toy.csv");
    for (extra, flag) in [
        (&["--noise-x", "-0.5"][..], "--noise-x"),
        (&["--noise-y", "lots"][..], "--noise-y"),
        (&["--ensemble", "0"][..], "--ensemble"),
        (
            &["--ensemble", "2", "--checkpoint", "c.ckpt"][..],
            "--checkpoint",
        ),
        (&["--bootstrap", "--resume", "c.ckpt"][..], "--resume"),
    ] {
        s.fails(&toy_train("m.mdn", extra), &[flag]);
    }
}

#[test]
fn an_ensemble_is_one_model_file_read_by_every_command() {
    let s = Scratch::new();
    s.data("toy", 300, 2, "toy.csv");
    let run = s.run(&toy_train(
        "e.mdn",
        &[
            "--epochs",
            "20",
            "--components",
            "3",
            "--ensemble",
            "3",
            "--bootstrap",
            "--noise-y",
            "auto",
            "--history",
            "h.csv",
        ],
    ));
    assert!(run.status.success(), "{}", run.stderr);
    assert!(run.stderr.contains("member 2 (seed 2)"), "{}", run.stderr);
    assert!(
        run.stderr.contains("noise sd 0.000 on inputs"),
        "{}",
        run.stderr
    );
    let info = json(&s.ok(&["info", "--model", "e.mdn"]));
    assert_eq!(info["members"], 3);
    assert_eq!(info["components"], 3);
    assert_eq!(info["ensemble"]["bootstrap"], true);
    assert_eq!(info["ensemble"]["members"].as_array().unwrap().len(), 3);
    assert!(number(&info["training"], "noise_y_sd") > 0.0);
    // The history holds every member's epochs, member by member.
    let history = s.csv("h.csv");
    let member = history.column("member");
    let first_loss =
        |k: f64| history.num(member.iter().position(|&m| m == k).unwrap(), "train_loss");
    for k in 0..3 {
        let epochs = member.iter().filter(|&&m| m == k as f64).count() as u64;
        let summary = &info["ensemble"]["members"][k]["epochs_run"];
        assert_eq!(Some(epochs), summary.as_u64(), "member {k}");
    }
    assert!(member.windows(2).all(|w| w[0] <= w[1]), "{member:?}");
    assert_ne!(
        first_loss(0.0),
        first_loss(1.0),
        "members have seeds of their own"
    );
    s.ok(&[
        "predict", "--model", "e.mdn", "--data", "toy.csv", "--output", "params", "--out", "p.csv",
    ]);
    let params = s.csv("p.csv");
    assert!(
        params.has("alpha_8") && !params.has("alpha_9"),
        "{:?}",
        params.header
    );
    let total: f64 = (0..9).map(|k| params.num(0, &format!("alpha_{k}"))).sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
    let eval = json(&s.ok(&["eval", "--model", "e.mdn", "--data", "toy.csv"]));
    assert!(number(&eval, "nll").is_finite());
    s.ok(&[
        "predict",
        "--model",
        "e.mdn",
        "--data",
        "toy.csv",
        "--output",
        "samples",
        "--samples",
        "3",
        "--out",
        "s.csv",
    ]);
    assert_eq!(s.csv("s.csv").len(), 900, "3 samples a row");
}

#[test]
fn resuming_with_other_noise_names_the_flag() {
    let s = Scratch::new();
    s.data("toy", 100, 3, "toy.csv");
    let base = ["--epochs", "3", "--quiet"];
    s.ok(&toy_train(
        "m.mdn",
        &[&base[..], &["--checkpoint", "c.ckpt"]].concat(),
    ));
    std::fs::remove_file(s.path("m.mdn")).unwrap();
    let again = [&base[..], &["--resume", "c.ckpt", "--noise-y", "0.3"]].concat();
    s.fails(&toy_train("m.mdn", &again), &["--noise-y", "0.1", "0.3"]);
}

#[test]
fn components_auto_prints_and_records_the_candidates() {
    let s = Scratch::new();
    s.data("toy", 300, 4, "toy.csv");
    let run = s.run(&toy_train(
        "m.mdn",
        &["--epochs", "30", "--components", "1,2,4", "--cv", "3"],
    ));
    assert!(run.status.success(), "{}", run.stderr);
    assert!(
        run.stderr.contains("3-fold cross-validation, 300 rows")
            && run.stderr.contains("<- chosen"),
        "{}",
        run.stderr
    );
    let info = json(&s.ok(&["info", "--model", "m.mdn"]));
    let selection = &info["training"]["component_selection"];
    assert_eq!(selection["folds"], 3);
    assert_eq!(selection["candidates"].as_array().unwrap().len(), 3);
    assert_eq!(info["components"], selection["chosen"]);
    for (extra, mentions) in [
        (&["--cv", "3"][..], &["--cv", "--components auto"][..]),
        (
            &["--components", "auto", "--model-type", "mse"][..],
            &["least-squares"][..],
        ),
        (
            &["--components", "2,3", "--checkpoint", "c.ckpt"][..],
            &["--checkpoint"][..],
        ),
        (&["--components", "2,x"][..], &["--components"][..]),
    ] {
        s.fails(&toy_train("n.mdn", extra), mentions);
    }
}
