//! What a hostile test of the CLI found (issue 13), one test per promise: no output ever
//! overwrites an input or another output; no size from the command line panics or exhausts
//! memory; tiny scales are used as they are; interrupted writes leave no litter; training
//! writes only what was asked for; messages name the flag, file and line.

mod common;

use common::{Scratch, json, number, train_args};

/// A scratch directory with a small trained toy model (`toy.csv`, `toy.mdn`).
fn with_model() -> Scratch {
    let s = Scratch::new();
    s.toy_model();
    s
}

fn args(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
}

// ---- 1. No output onto an input or another output ---------------------------------------

/// Every spelling of `name` that reaches the same file: the name, `./name`, a symbolic link
/// and a hard link (both made here).
fn aliases(s: &Scratch, name: &str) -> Vec<String> {
    let link = format!("link-to-{name}");
    let hard = format!("hard-{name}");
    #[cfg(unix)]
    std::os::unix::fs::symlink(s.path(name), s.path(&link)).unwrap();
    std::fs::hard_link(s.path(name), s.path(&hard)).unwrap();
    let mut names = vec![name.to_string(), format!("./{name}"), hard];
    if cfg!(unix) {
        names.push(link);
    }
    names
}

/// Runs a command that must fail because of a path collision, leaving every file as it was
/// (`Scratch::fails` checks the directory; the contents are checked here too).
fn refuses_collision(s: &Scratch, command: &[&str], mentions: &[&str]) {
    let before: Vec<(String, Vec<u8>)> = s
        .files()
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(s.path(&f)).unwrap_or_default();
            (f, bytes)
        })
        .collect();
    s.fails(command, mentions);
    for (name, bytes) in before {
        assert_eq!(
            std::fs::read(s.path(&name)).unwrap_or_default(),
            bytes,
            "mdn {}: {name} changed",
            command.join(" ")
        );
    }
}

#[test]
fn train_never_writes_onto_its_data() {
    let s = with_model();
    for alias in aliases(&s, "toy.csv") {
        for flag in ["--out", "--history", "--checkpoint"] {
            let out = if flag == "--out" { &alias } else { "new.mdn" };
            let mut extra = vec![];
            if flag != "--out" {
                extra = vec![flag, alias.as_str()];
            }
            let list = train_args("toy.csv", "x", "t", out, &extra);
            refuses_collision(&s, &args(&list), &[flag, "--data", "same file"]);
        }
    }
}

#[test]
fn train_outputs_must_differ_from_each_other() {
    let s = with_model();
    let list = train_args("toy.csv", "x", "t", "x.mdn", &["--history", "x.mdn"]);
    refuses_collision(&s, &args(&list), &["--out", "--history", "same file"]);
    let list = train_args(
        "toy.csv",
        "x",
        "t",
        "x.mdn",
        &["--checkpoint", "./x.mdn", "--history", "h.csv"],
    );
    refuses_collision(&s, &args(&list), &["--out", "--checkpoint", "same file"]);
}

#[test]
fn predict_and_eval_never_write_onto_their_inputs() {
    let s = with_model();
    for alias in aliases(&s, "toy.csv") {
        let predict = [
            "predict", "--model", "toy.mdn", "--data", "toy.csv", "--output", "mean", "--out",
            &alias,
        ];
        refuses_collision(&s, &predict, &["--out", "--data", "same file"]);
        let eval = [
            "eval",
            "--model",
            "toy.mdn",
            "--data",
            "toy.csv",
            "--per-row",
            &alias,
        ];
        refuses_collision(&s, &eval, &["--per-row", "--data", "same file"]);
    }
    for alias in aliases(&s, "toy.mdn") {
        let predict = [
            "predict", "--model", "toy.mdn", "--data", "toy.csv", "--output", "mean", "--out",
            &alias,
        ];
        refuses_collision(&s, &predict, &["--out", "--model", "same file"]);
    }
}

#[test]
fn a_checkpoint_may_be_resumed_and_written_again() {
    let s = with_model();
    let first = train_args(
        "toy.csv",
        "x",
        "t",
        "a.mdn",
        &["--epochs", "3", "--checkpoint", "run.ckpt"],
    );
    s.ok(&args(&first));
    let again = train_args(
        "toy.csv",
        "x",
        "t",
        "b.mdn",
        &[
            "--epochs",
            "5",
            "--resume",
            "run.ckpt",
            "--checkpoint",
            "run.ckpt",
        ],
    );
    s.ok(&args(&again));
    let info = json(&s.ok(&["info", "--model", "b.mdn"]));
    assert_eq!(info["training"]["epochs_run"], 5);
}

// ---- 2. No size from the command line panics or exhausts memory -------------------------

#[test]
fn a_batch_larger_than_the_data_uses_all_of_it_and_says_so() {
    let s = with_model();
    for batch in ["18446744073709551615", "1099511627776", "100000"] {
        let list = train_args("toy.csv", "x", "t", "big.mdn", &["--batch-size", batch]);
        let run = s.run(&args(&list));
        assert!(run.status.success(), "{batch}: {}", run.stderr);
        assert!(
            run.stderr.contains("larger than the 180 training rows"),
            "{batch}: {}",
            run.stderr
        );
    }
}

#[test]
fn sizes_above_their_caps_are_refused_by_flag() {
    let s = with_model();
    let train = |extra: &[&str], mentions: &[&str]| {
        let list = train_args("toy.csv", "x", "t", "out.mdn", extra);
        s.fails(&args(&list), mentions);
    };
    train(
        &["--components", "1000000000000"],
        &["--components", "at most 1000"],
    );
    train(&["--hidden", "100000000"], &["--hidden", "at most 65536"]);
    train(
        &["--hidden", "60000,60000"],
        &["--hidden", "parameters", "at most 268435456"],
    );
    for n in ["18446744073709551615", "1000000000000"] {
        s.fails(
            &[
                "predict",
                "--model",
                "toy.mdn",
                "--data",
                "toy.csv",
                "--output",
                "samples",
                "--samples",
                n,
                "--out",
                "s.csv",
            ],
            &["--samples", "at most 1000000"],
        );
    }
    s.fails(
        &[
            "data",
            "toy",
            "--n",
            "18446744073709551615",
            "--out",
            "d.csv",
        ],
        &["--n", "at most 10000000"],
    );
}

// ---- 3. Tiny scales are used as they are ------------------------------------------------

#[test]
fn targets_of_magnitude_1e_minus_200_give_the_right_nll() {
    // The same data with t scaled by 1e-200: standardised, the two are one problem, so the
    // models agree and the NLL differs by exactly −ln(1e-200) = 460.517… nats.
    let s = Scratch::new();
    s.data("toy", 300, 4, "toy.csv");
    let text = s.read("toy.csv");
    let mut scaled = String::from("x,t\n");
    for line in text.lines().skip(1) {
        let (x, t) = line.split_once(',').unwrap();
        scaled += &format!("{x},{:e}\n", t.parse::<f64>().unwrap() * 1e-200);
    }
    s.write("tiny.csv", scaled);
    s.train("toy.csv", "x", "t", "plain.mdn", &[]);
    s.train("tiny.csv", "x", "t", "tiny.mdn", &[]);
    let nll = |model: &str, data: &str| {
        number(
            &json(&s.ok(&["eval", "--model", model, "--data", data])),
            "nll",
        )
    };
    let (plain, tiny) = (nll("plain.mdn", "toy.csv"), nll("tiny.mdn", "tiny.csv"));
    let expected = plain - 200.0 * std::f64::consts::LN_10;
    assert!(
        (tiny - expected).abs() < 1e-4,
        "NLL {tiny} on the scaled data, {plain} on the original (expected {expected})"
    );
}

// ---- 4. No litter ------------------------------------------------------------------------

#[cfg(target_os = "linux")]
#[test]
fn leftovers_of_a_killed_writer_are_removed_and_a_live_writers_file_stays() {
    let s = with_model();
    // A leftover of a process that is gone (no pid is this large) and one of a live process
    // (the test itself): the next write of out.csv removes only the first.
    let dead = ".out.csv.4999999.abcdef.mdn-tmp.csv";
    let live = format!(".out.csv.{}.abcdef.mdn-tmp.csv", std::process::id());
    s.write(dead, "partial");
    s.write(&live, "being written");
    s.ok(&[
        "predict", "--model", "toy.mdn", "--data", "toy.csv", "--output", "mean", "--out",
        "out.csv",
    ]);
    assert!(!s.exists(dead), "the dead writer's leftover stays");
    assert!(s.exists(&live), "a live writer's file was removed");
}

#[cfg(target_os = "linux")]
#[test]
fn an_interrupted_predict_leaves_no_temporary_file() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let s = with_model();
    for signal in ["INT", "TERM", "HUP"] {
        // A named pipe as the data: predict has opened its output and waits for more rows.
        let fifo = s.path("rows.csv");
        let _ = std::fs::remove_file(&fifo);
        let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let mut child = Command::new(env!("CARGO_BIN_EXE_mdn"))
            .args([
                "predict", "--model", "toy.mdn", "--data", "rows.csv", "--output", "mean", "--out",
                "out.csv",
            ])
            .current_dir(s.path(""))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        writeln!(writer, "x,t").unwrap();
        for i in 0..5000 {
            writeln!(writer, "{},0.5", f64::from(i) / 5000.0).unwrap();
        }
        writer.flush().unwrap();
        let temp_exists = || s.files().iter().any(|f| f.contains(".mdn-tmp"));
        let start = std::time::Instant::now();
        while !temp_exists() && start.elapsed().as_secs() < 20 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(temp_exists(), "predict never opened its output");
        let killed = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        drop(writer);
        assert!(!status.success(), "SIG{signal}: exit {status}");
        assert!(!temp_exists(), "SIG{signal} left {:?}", s.files());
        assert!(!s.exists("out.csv"), "SIG{signal} left a partial output");
    }
}

// ---- 5. Training writes only what was asked for -----------------------------------------

#[test]
fn default_training_writes_the_model_alone() {
    let s = Scratch::new();
    s.data("toy", 250, 2, "toy.csv");
    s.train("toy.csv", "x", "t", "toy.mdn", &[]);
    let files: Vec<String> = s.files().into_iter().collect();
    assert_eq!(
        files,
        ["toy.csv", "toy.mdn"],
        "no checkpoint, no history, no litter"
    );
}

#[test]
fn history_and_checkpoint_when_asked() {
    let s = Scratch::new();
    s.data("toy", 250, 2, "toy.csv");
    s.train(
        "toy.csv",
        "x",
        "t",
        "toy.mdn",
        &[
            "--history",
            "h.csv",
            "--checkpoint",
            "run.ckpt",
            "--checkpoint-interval",
            "3600",
        ],
    );
    assert_eq!(s.csv("h.csv").len(), 15);
    // An hour between checkpoints: only the last epoch's state is written, and it resumes
    // as the finished run.
    let list = train_args("toy.csv", "x", "t", "again.mdn", &["--resume", "run.ckpt"]);
    s.ok(&args(&list));
    let info = json(&s.ok(&["info", "--model", "again.mdn"]));
    assert_eq!(info["training"]["epochs_run"], 15);
}

// ---- 6. Messages that help ----------------------------------------------------------------

#[test]
fn a_resume_mismatch_names_the_flag_and_both_values() {
    let s = with_model();
    let first = train_args(
        "toy.csv",
        "x",
        "t",
        "a.mdn",
        &["--epochs", "2", "--checkpoint", "run.ckpt"],
    );
    s.ok(&args(&first));
    let resume = train_args(
        "toy.csv",
        "x",
        "t",
        "b.mdn",
        &["--epochs", "4", "--resume", "run.ckpt", "--lr", "0.002"],
    );
    let line = s.fails(&args(&resume), &["run.ckpt", "--lr 0.01", "--lr 0.002"]);
    assert!(!line.contains("TrainConfig"), "{line}");
    let fewer = train_args(
        "toy.csv",
        "x",
        "t",
        "b.mdn",
        &["--epochs", "1", "--resume", "run.ckpt"],
    );
    s.fails(&args(&fewer), &["--epochs 1", "already run 2 epochs"]);
}

#[test]
fn option_messages_name_flags_and_say_what_to_do() {
    let s = with_model();
    let list = train_args("toy.csv", "x", "t", "o.mdn", &["--lr-plateau", "0"]);
    s.fails(&args(&list), &["--lr-plateau 0"]);
    let list = train_args("toy.csv", "x", "t", "o.mdn", &["--patience", "0"]);
    let line = s.fails(&args(&list), &["--patience 0", "--no-early-stopping"]);
    assert!(!line.contains("leave it unset"), "{line}");
    let list = train_args(
        "toy.csv",
        "x",
        "t",
        "o.mdn",
        &["--val-fraction", "0", "--lr-plateau", "3"],
    );
    s.fails(&args(&list), &["--lr-plateau 3", "validation"]);
    let list = train_args("toy.csv", "x", "t", ".", &[]);
    s.fails(&args(&list), &["--out .", "is a directory"]);
    s.write("afile", "x");
    let line = s.fails(
        &["experiment", "toy", "--quick", "--out", "afile"],
        &["afile", "not a directory"],
    );
    assert!(!line.contains("os error"), "{line}");
}

#[test]
fn a_binary_file_as_data_is_quoted_short_and_escaped() {
    let s = with_model();
    let line = s.fails(
        &["eval", "--model", "toy.mdn", "--data", "toy.mdn"],
        &["toy.mdn", "not a CSV file"],
    );
    assert!(line.chars().all(|c| !c.is_control()), "{line:?}");
    assert!(line.len() < 300, "{line}");
}

#[test]
fn gzipped_csv_files_read_as_they_are() {
    use std::io::Write;
    let s = with_model();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(s.read("toy.csv").as_bytes()).unwrap();
    s.write("toy.csv.gz", encoder.finish().unwrap());
    let plain = s.ok(&["eval", "--model", "toy.mdn", "--data", "toy.csv"]);
    let gzipped = s.ok(&["eval", "--model", "toy.mdn", "--data", "toy.csv.gz"]);
    assert_eq!(plain, gzipped);
    s.train("toy.csv.gz", "x", "t", "gz.mdn", &[]);
    let predictions = |model: &str| {
        s.ok(&[
            "predict", "--model", model, "--data", "toy.csv", "--output", "mean",
        ])
    };
    assert_eq!(predictions("gz.mdn"), predictions("toy.mdn"));
}

#[test]
fn every_row_message_names_the_file_and_its_line() {
    let s = with_model();
    // Line 1 is the header; a blank line and a quoted field spanning two lines come before
    // the bad cell, which is on line 7.
    s.write(
        "bad.csv",
        "x,t\n0.1,0.2\n\n\"0.3\",0.4\n0.5,\"0.6\n\"\nabc,0.1\n",
    );
    for command in [
        vec!["eval", "--model", "toy.mdn", "--data", "bad.csv"],
        vec![
            "predict", "--model", "toy.mdn", "--data", "bad.csv", "--output", "mean", "--out",
            "p.csv",
        ],
    ] {
        let line = s.fails(&command, &["bad.csv", "line 7", "column 'x'", "'abc'"]);
        assert!(!line.contains("row "), "one convention, lines: {line}");
    }
    // Text in an input makes it categorical when training; text in a target is refused.
    s.write(
        "bad_t.csv",
        "x,t\n0.1,0.2\n\n\"0.3\",0.4\n0.5,\"0.6\n\"\n0.1,abc\n",
    );
    let list = train_args("bad_t.csv", "x", "t", "o.mdn", &[]);
    let line = s.fails(
        &args(&list),
        &["bad_t.csv", "line 7", "column 't'", "'abc'"],
    );
    assert!(!line.contains("row "), "one convention, lines: {line}");
}

// ---- 7. Small oddities ---------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn a_replaced_read_only_file_stays_read_only() {
    use std::os::unix::fs::PermissionsExt;
    let s = with_model();
    s.write("out.csv", "old");
    let mode = |name: &str| {
        std::fs::metadata(s.path(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    std::fs::set_permissions(s.path("out.csv"), std::fs::Permissions::from_mode(0o444)).unwrap();
    s.ok(&[
        "predict", "--model", "toy.mdn", "--data", "toy.csv", "--output", "mean", "--out",
        "out.csv",
    ]);
    assert_ne!(s.read("out.csv"), "old");
    assert_eq!(mode("out.csv"), 0o444);
}

#[test]
fn duplicate_quantile_levels_are_refused() {
    let s = with_model();
    s.fails(
        &[
            "predict",
            "--model",
            "toy.mdn",
            "--data",
            "toy.csv",
            "--output",
            "quantiles",
            "--quantiles",
            "0.5,0.5",
        ],
        &["--quantiles", "0.5", "twice"],
    );
}

#[test]
fn an_input_whose_scale_one_outlier_sets_is_warned_about() {
    let s = Scratch::new();
    let mut text = String::from("x,t\n");
    for i in 0..400 {
        let x = if i == 17 { 1e12 } else { f64::from(i) / 400.0 };
        text += &format!("{x},{}\n", f64::from(i % 7) / 7.0);
    }
    s.write("outlier.csv", text);
    let list = train_args("outlier.csv", "x", "t", "o.mdn", &["--val-fraction", "0"]);
    let run = s.run(&args(&list));
    assert!(run.status.success(), "{}", run.stderr);
    assert!(
        run.stderr.contains("warning: outlier.csv: input 'x'"),
        "{}",
        run.stderr
    );
}
