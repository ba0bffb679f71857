//! `--help` of every subcommand shows a worked example; `--version` prints the version.

mod common;

use common::Scratch;

const SUBCOMMANDS: &[&str] = &["train", "eval", "predict", "info", "data", "experiment"];

#[test]
fn every_subcommand_help_shows_an_example() {
    let s = Scratch::new();
    for sub in SUBCOMMANDS {
        for flag in ["--help", "-h"] {
            let run = s.run(&[sub, flag]);
            assert!(run.status.success(), "mdn {sub} {flag}: {}", run.stderr);
            assert!(
                run.stdout.contains("Example"),
                "mdn {sub} {flag} has no example:\n{}",
                run.stdout
            );
            assert!(
                run.stdout.contains(&format!("  mdn {sub} ")),
                "mdn {sub} {flag}: the example should run `mdn {sub}`:\n{}",
                run.stdout
            );
            assert_eq!(run.stderr, "");
        }
        // `mdn help SUB` is the same text as `mdn SUB --help`.
        assert_eq!(s.ok(&["help", sub]), s.ok(&[sub, "--help"]));
    }
}

#[test]
fn help_documents_the_contract_options() {
    let s = Scratch::new();
    let train = s.ok(&["train", "--help"]);
    for option in [
        "--data",
        "--inputs",
        "--targets",
        "--out",
        "--components",
        "--covariance",
        "--hidden",
        "--activation",
        "--epochs",
        "--batch-size",
        "--lr",
        "--val-fraction",
        "--patience",
        "--seed",
        "--model-type",
        "--resume",
        "--quiet",
        "[default: 5]",
    ] {
        assert!(train.contains(option), "train --help lacks {option}");
    }
    let predict = s.ok(&["predict", "--help"]);
    for option in [
        "--model",
        "--data",
        "--output",
        "--out",
        "--samples",
        "--temperature",
        "--seed",
        "--quantiles",
        "params",
        "mean",
        "best",
        "modes",
        "samples",
        "quantiles",
    ] {
        assert!(predict.contains(option), "predict --help lacks {option}");
    }
    assert!(s.ok(&["eval", "--help"]).contains("--per-row"));
    let data = s.ok(&["data", "--help"]);
    for kind in ["toy", "toy-forward", "robot", "--n", "--seed", "--out"] {
        assert!(data.contains(kind), "data --help lacks {kind}");
    }
    let top = s.ok(&["--help"]);
    for sub in SUBCOMMANDS {
        assert!(top.contains(sub), "mdn --help lacks {sub}");
    }
}

#[test]
fn version() {
    let s = Scratch::new();
    let expected = format!("mdn {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(s.ok(&["--version"]), expected);
    assert_eq!(s.ok(&["-V"]), expected);
}

#[test]
fn no_subcommand_shows_usage_and_fails() {
    let s = Scratch::new();
    let run = s.run(&[]);
    assert_eq!(run.status.code(), Some(2));
    assert!(run.stderr.contains("Usage: mdn"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"));
}
