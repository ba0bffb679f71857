//! The `mdn` command: train, evaluate and query Mixture Density Networks on CSV files.
#![forbid(unsafe_code)]

mod columns;
mod commands;
mod errors;
mod output;
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
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train an MDN (or the least-squares network) on columns of a CSV file.
    Train(commands::train::TrainArgs),
    /// Score a model on a CSV file: NLL, RMSE of mean and best component, 90% coverage.
    Eval(commands::eval::EvalArgs),
    /// Predict mixture parameters, means, best components, modes, samples or quantiles.
    Predict(commands::predict::PredictArgs),
    /// Show a model's configuration, columns and training summary as JSON.
    Info(commands::info::InfoArgs),
    /// Generate the toy or robot-arm data set as CSV.
    Data(commands::data::DataArgs),
    /// Reproduce an experiment (toy, robot): figures, metrics.json and report.md.
    Experiment(commands::experiment::ExperimentArgs),
}

fn main() -> ExitCode {
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
            let text = error.to_string();
            eprintln!(
                "{}",
                text.lines().next().unwrap_or("error: invalid arguments")
            );
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Train(args) => commands::train::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Predict(args) => commands::predict::run(args),
        Command::Info(args) => commands::info::run(args),
        Command::Data(args) => commands::data::run(args),
        Command::Experiment(args) => commands::experiment::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
