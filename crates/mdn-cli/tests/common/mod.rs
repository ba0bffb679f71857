//! Helpers shared by the integration tests: a scratch directory to run `mdn` in, fast
//! training settings, and CSV/JSON reading.
// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitStatus;

/// Training settings small enough that a run takes a fraction of a second. A flag given by a
/// test replaces the default for that flag.
const FAST_TRAINING: &[(&str, &str)] = &[
    ("--hidden", "8"),
    ("--epochs", "15"),
    ("--components", "3"),
    ("--lr", "0.01"),
    // One network without noise (the defaults train an ensemble of five with target noise).
    ("--ensemble", "1"),
    ("--noise-y", "off"),
];

/// The result of one `mdn` run.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// A temporary directory that `mdn` runs in, so that file names in arguments and error
/// messages are short and relative.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// The absolute path of `name` in the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) {
        std::fs::write(self.path(name), contents).expect("writing a test file");
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name))
            .unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
    }

    pub fn exists(&self, name: &str) -> bool {
        self.path(name).exists()
    }

    /// Every entry of the directory, hidden temporary files included.
    pub fn files(&self) -> BTreeSet<String> {
        std::fs::read_dir(self.dir.path())
            .expect("listing the scratch directory")
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// Runs `mdn args...` in the scratch directory.
    pub fn run(&self, args: &[&str]) -> Run {
        let output = assert_cmd::Command::new(env!("CARGO_BIN_EXE_mdn"))
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("running mdn");
        Run {
            status: output.status,
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Runs `mdn args...`, which must succeed without a panic; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert!(
            run.status.success(),
            "mdn {} failed ({}): {}",
            args.join(" "),
            run.status,
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        run.stdout
    }

    /// Runs `mdn args...`, which must fail cleanly: a non-zero status, no panic, nothing on
    /// stdout, exactly one line on stderr starting with `error: ` and containing every string
    /// of `mentions`, and the directory exactly as before (no output file, no temporary file).
    /// Returns the error line.
    pub fn fails(&self, args: &[&str], mentions: &[&str]) -> String {
        let before = self.files();
        let run = self.run(args);
        let command = format!("mdn {}", args.join(" "));
        assert!(
            !run.status.success(),
            "{command} succeeded but should have failed"
        );
        assert!(
            !run.stderr.contains("panicked"),
            "{command} panicked: {}",
            run.stderr
        );
        assert_eq!(run.stdout, "", "{command} wrote to stdout");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "{command}: stderr must be exactly one line, got:\n{}",
            run.stderr
        );
        let line = lines[0];
        assert!(
            line.starts_with("error: "),
            "{command}: the line must start with 'error: ': {line}"
        );
        for mention in mentions {
            assert!(
                line.contains(mention),
                "{command}: the error should mention {mention:?}: {line}"
            );
        }
        assert_eq!(
            self.files(),
            before,
            "{command}: a failed run must leave the directory as it was"
        );
        line.to_string()
    }

    /// `mdn data KIND --n N --seed SEED --out NAME`.
    pub fn data(&self, kind: &str, n: usize, seed: u64, name: &str) {
        self.ok(&[
            "data",
            kind,
            "--n",
            &n.to_string(),
            "--seed",
            &seed.to_string(),
            "--out",
            name,
        ]);
    }

    /// Trains quietly with [`FAST_TRAINING`] settings, `extra` flags replacing them.
    pub fn train(&self, data: &str, inputs: &str, targets: &str, out: &str, extra: &[&str]) {
        let args = train_args(data, inputs, targets, out, extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let stderr = self.run(&args);
        assert!(
            stderr.status.success(),
            "mdn {} failed: {}",
            args.join(" "),
            stderr.stderr
        );
        assert_eq!(stderr.stderr, "", "--quiet training must print nothing");
    }

    pub fn csv(&self, name: &str) -> Csv {
        Csv::parse(&self.read(name))
    }

    /// A toy data set and a small MDN trained on it: `toy.csv`, `toy.mdn`.
    pub fn toy_model(&self) {
        self.data("toy", 200, 1, "toy.csv");
        self.train("toy.csv", "x", "t", "toy.mdn", &[]);
    }
}

/// The arguments of a quiet fast training run (see [`Scratch::train`]).
pub fn train_args(
    data: &str,
    inputs: &str,
    targets: &str,
    out: &str,
    extra: &[&str],
) -> Vec<String> {
    let mut args: Vec<String> = [
        "train",
        "--data",
        data,
        "--inputs",
        inputs,
        "--targets",
        targets,
        "--out",
        out,
        "--quiet",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (flag, value) in FAST_TRAINING {
        let given = extra
            .iter()
            .any(|e| e == flag || e.starts_with(&format!("{flag}=")));
        if !given {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// A parsed CSV file: the header and the rows as strings.
#[derive(Debug, Clone, PartialEq)]
pub struct Csv {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Csv {
    pub fn parse(text: &str) -> Self {
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let header = reader
            .headers()
            .expect("a CSV header")
            .iter()
            .map(str::to_string)
            .collect();
        let rows = reader
            .records()
            .map(|r| {
                r.expect("a CSV record")
                    .iter()
                    .map(str::to_string)
                    .collect()
            })
            .collect();
        Self { header, rows }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The index of the column called `name`.
    pub fn index(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column '{name}' in {:?}", self.header))
    }

    /// Whether a column called `name` exists.
    pub fn has(&self, name: &str) -> bool {
        self.header.iter().any(|h| h == name)
    }

    /// The cell of row `row` in column `name` as a number (`None` if empty).
    pub fn get(&self, row: usize, name: &str) -> Option<f64> {
        let cell = &self.rows[row][self.index(name)];
        (!cell.is_empty()).then(|| {
            cell.parse()
                .unwrap_or_else(|_| panic!("row {row} column {name}: '{cell}' is not a number"))
        })
    }

    /// The cell of row `row` in column `name`, which must be a finite number.
    pub fn num(&self, row: usize, name: &str) -> f64 {
        let value = self
            .get(row, name)
            .unwrap_or_else(|| panic!("row {row} column {name} is empty"));
        assert!(value.is_finite(), "row {row} column {name} is {value}");
        value
    }

    /// A whole column as numbers.
    pub fn column(&self, name: &str) -> Vec<f64> {
        (0..self.len()).map(|r| self.num(r, name)).collect()
    }
}

/// Parses `mdn eval`/`mdn info` output, which must be exactly one JSON object.
pub fn json(text: &str) -> serde_json::Value {
    let value: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not one JSON value ({e}): {text}"));
    assert!(value.is_object(), "not a JSON object: {text}");
    value
}

/// `value[key]` as a number.
pub fn number(value: &serde_json::Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("'{key}' is not a number in {value}"))
}

/// Asserts `|a - b| <= tolerance · max(1, |b|)`.
pub fn assert_close(a: f64, b: f64, tolerance: f64, what: &str) {
    assert!(
        (a - b).abs() <= tolerance * b.abs().max(1.0),
        "{what}: {a} differs from {b} by {}",
        (a - b).abs()
    );
}
