//! `mdn experiment`: reproduce one of the poster's experiments with figures and metrics.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use mdn_experiments::experiments::{robot, toy};

/// Which experiment to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExperimentKind {
    /// Toy inverse problem: least squares vs MDNs with 3 and 5 kernels.
    Toy,
    /// Two-link robot arm inverse kinematics, scored by positioning error.
    Robot,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mdn experiment toy --out results/toy
  mdn experiment robot --out results/robot --seed 1
  mdn experiment toy --out /tmp/toy --quick

Writes PNG and SVG figures, metrics.json and report.md into --out. Without --quick the runs
use the full settings recorded in metrics.json.")]
pub struct ExperimentArgs {
    /// The experiment.
    #[arg(value_enum)]
    kind: ExperimentKind,
    /// Output directory (created if needed).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Few points and epochs: the whole pipeline in seconds, for smoke tests.
    #[arg(long)]
    quick: bool,
    /// Seed of data, initialisation and shuffling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: ExperimentArgs) -> Result<()> {
    let progress = !args.quiet;
    let report = match args.kind {
        ExperimentKind::Toy => {
            toy::run(&toy::ToyOptions {
                out: args.out.clone(),
                quick: args.quick,
                seed: args.seed,
                progress,
            })?;
            args.out.join("report.md")
        }
        ExperimentKind::Robot => {
            robot::run(&robot::RobotOptions {
                out: args.out.clone(),
                quick: args.quick,
                seed: args.seed,
                progress,
            })?;
            args.out.join("report.md")
        }
    };
    if progress {
        eprintln!("wrote figures, metrics.json and {}", report.display());
    }
    Ok(())
}
