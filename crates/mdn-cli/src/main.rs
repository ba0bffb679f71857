//! The `mdn` command: train, evaluate and query Mixture Density Networks on CSV files.
#![forbid(unsafe_code)]

mod columns;
mod commands;
mod errors;
mod output;
mod parallel;
mod paths;
mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Mixture Density Networks: learn the whole conditional density p(t|x) from a CSV file —
/// every branch of a one-to-many problem, not just the average that least squares gives.
#[derive(Debug, Parser)]
#[command(name = "mdn", version, about, long_about = None, after_help = "\
Quick start:
  mdn data toy --n 1000 --out toy.csv
  mdn train --data toy.csv --inputs x --targets t --out toy.mdn
  mdn eval --model toy.mdn --data toy.csv
  mdn predict --model toy.mdn --data toy.csv --output modes")]
struct Cli {
    /// Threads for training and prediction (default: one per core), e.g. to leave cores to
    /// other work or to run several `mdn` processes side by side.
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train an MDN (or the least-squares network) on columns of a CSV file.
    // Boxed: its many options make it far larger than the other commands' arguments.
    Train(Box<commands::train::TrainArgs>),
    /// Score a model on a CSV file: NLL, CRPS, RMSE, interval coverage, PIT calibration.
    Eval(commands::eval::EvalArgs),
    /// Predict mixture parameters, means, best components, modes, samples or quantiles.
    Predict(commands::predict::PredictArgs),
    /// Show a model's configuration, columns and training summary as JSON.
    Info(commands::info::InfoArgs),
    /// Generate the toy or robot-arm data set as CSV.
    Data(commands::data::DataArgs),
    /// Reproduce an experiment (toy, robot, mnist): figures, metrics.json and report.md.
    Experiment(commands::experiment::ExperimentArgs),
}

fn main() -> ExitCode {
    remove_unfinished_files_on_signals();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            use clap::error::ErrorKind;
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) || error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            {
                let _ = error.print();
                return if error.exit_code() == 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(2)
                };
            }
            // One line, like every other error of this tool.
            eprintln!("{}", one_line_usage_error(&error.to_string()));
            return ExitCode::from(2);
        }
    };
    if let Some(threads) = cli.threads {
        // Every parallel loop of the engine and of the commands runs on rayon's global pool.
        let built = match threads {
            0 => Err("--threads 0: give at least 1 thread (or leave it out for one a core)".into()),
            n => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build_global()
                .map_err(|e| format!("--threads {n}: {e}")),
        };
        if let Err(message) = built {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    }
    let result = match cli.command {
        Command::Train(args) => commands::train::run(*args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Predict(args) => commands::predict::run(args),
        Command::Info(args) => commands::info::run(args),
        Command::Data(args) => commands::data::run(args),
        Command::Experiment(args) => commands::experiment::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A reader such as `head` closed the pipe: it has all it wants, nothing went wrong.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, whatever the underlying messages hold.
            let message = format!("{error:#}").replace(['\r', '\n'], " ");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// On SIGINT, SIGTERM or SIGHUP, deletes the temporary files of outputs still being written
/// (so an interrupt leaves no litter beside them) and exits as the signal would (128 + its
/// number).
fn remove_unfinished_files_on_signals() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
            std::thread::spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    mdn::atomic::remove_unfinished();
                    std::process::exit(128 + signal);
                }
            });
        }
    }
}

/// Clap's multi-line usage error (message, details such as the missing flags or the possible
/// values, a usage line, a hint) as one line: everything before the usage line, joined.
fn one_line_usage_error(text: &str) -> String {
    let line = text
        .lines()
        .take_while(|line| !line.trim_start().starts_with("Usage:"))
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("For more information"))
        .collect::<Vec<_>>()
        .join(" ");
    if line.starts_with("error:") {
        line
    } else {
        format!("error: invalid arguments: {line}")
    }
}

/// Whether `error` comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        let io = cause.downcast_ref::<std::io::Error>().or_else(|| {
            match cause.downcast_ref::<csv::Error>().map(csv::Error::kind) {
                Some(csv::ErrorKind::Io(io)) => Some(io),
                _ => None,
            }
        });
        io.is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
