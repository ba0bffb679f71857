//! `mdn experiment`: reproduce one of the poster's experiments with figures and metrics.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use mdn_experiments::experiments::{mnist, robot, toy};

/// Which experiment to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExperimentKind {
    /// Toy inverse problem: least squares vs MDNs with 3 and 5 kernels.
    Toy,
    /// Two-link robot arm inverse kinematics, scored by positioning error.
    Robot,
    /// MNIST as regression: a CNN MDN over the digit value vs a least-squares CNN.
    Mnist,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mdn experiment toy --out results/toy
  mdn experiment robot --out results/robot --seed 1
  mdn experiment toy --out /tmp/toy --quick
  mdn experiment mnist --out results/mnist
  mdn experiment mnist --out results/mnist --data-dir ~/mnist --components 8

Writes PNG and SVG figures, metrics.json and report.md into --out. Without --quick the runs
use the full settings recorded in metrics.json. `mnist` also saves its models (mnist_mdn.mdn,
mnist_least_squares.mdn) for `mdn predict --images`; without --data-dir it trains on 8,000
and tests on 2,000 images of the MNIST test set bundled in the repository.")]
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
    /// Mixture components of the MDN (mnist only; default 5).
    #[arg(long, value_name = "M")]
    components: Option<usize>,
    /// Directory holding the four standard MNIST files, gzipped or not, for the official
    /// 60k/10k split (mnist only; default: the bundled copy).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: ExperimentArgs) -> Result<()> {
    let progress = !args.quiet;
    if args.out.exists() && !args.out.is_dir() {
        bail!(
            "--out {}: exists and is not a directory; an experiment writes several files into a \
             directory",
            args.out.display()
        );
    }
    if args.kind != ExperimentKind::Mnist {
        if args.components.is_some() {
            bail!("--components only applies to `mdn experiment mnist`");
        }
        if args.data_dir.is_some() {
            bail!("--data-dir only applies to `mdn experiment mnist`");
        }
    }
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
        ExperimentKind::Mnist => {
            let components = args.components.unwrap_or(mnist::DEFAULT_COMPONENTS);
            if components == 0 {
                bail!("invalid --components 0: an MDN needs at least one component");
            }
            mnist::run(&mnist::MnistOptions {
                out: args.out.clone(),
                quick: args.quick,
                seed: args.seed,
                components,
                data_dir: args.data_dir.clone(),
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
