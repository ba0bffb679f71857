//! `mdn data`: write the experiments' generated data sets as CSV.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use mdn::Dataset;
use mdn_experiments::data::{robot, toy};

use crate::output::{Lines, Sink, check_writable};
use crate::paths::{self, named};

/// The most rows `--n` may ask for (the data set is built in memory before it is written).
pub const MAX_ROWS: usize = 10_000_000;

/// Which data set to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataKind {
    /// Bishop's toy inverse problem: columns x, t (learn t | x; up to three branches).
    Toy,
    /// The same points as the forward problem: columns t, x (learn x | t; single-valued).
    ToyForward,
    /// Two-link robot arm: columns x1, x2 (hand position), th1, th2 (joint angles).
    Robot,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mdn data toy --n 1000 --seed 0 --out toy.csv
  mdn data robot --n 5000 --out robot.csv
  mdn train --data robot.csv --inputs x1,x2 --targets th1,th2 --components 3 --out robot.mdn")]
pub struct DataArgs {
    /// The data set.
    #[arg(value_enum)]
    kind: DataKind,
    /// Number of rows.
    #[arg(long, default_value_t = 1000, allow_negative_numbers = true)]
    n: usize,
    /// Random seed.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    seed: u64,
    /// Output CSV file (standard output when absent).
    #[arg(long, value_name = "FILE.csv")]
    out: Option<PathBuf>,
}

pub fn run(args: DataArgs) -> Result<()> {
    if args.n == 0 {
        bail!("invalid --n 0: generate at least one row");
    }
    if args.n > MAX_ROWS {
        bail!(
            "invalid --n {}: at most {MAX_ROWS} rows can be generated",
            args.n
        );
    }
    if let Some(path) = &args.out {
        paths::check_outputs(&[], &[named("--out", path)], &[])?;
        check_writable(path)?;
    }
    let data: Dataset = match args.kind {
        DataKind::Toy => toy::inverse(args.n, args.seed),
        DataKind::ToyForward => toy::forward_problem(args.n, args.seed),
        DataKind::Robot => robot::inverse(args.n, args.seed),
    };
    let mut sink = Sink::create(args.out.as_deref())?;
    sink.row(data.input_names().iter().chain(data.target_names()))?;
    let mut lines = Lines::default();
    for i in 0..data.len() {
        lines.numbers(data.input(i)).numbers(data.target(i)).end();
        if lines.len() >= 1 << 16 {
            sink.write_lines(lines.as_bytes())?;
            lines.clear();
        }
    }
    sink.write_lines(lines.as_bytes())?;
    sink.finish()
}
