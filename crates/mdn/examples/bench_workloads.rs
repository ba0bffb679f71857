//! Times issue 8's workloads with the same protocol as `bench/reference/workloads.py`, the
//! PyTorch twin, and prints one tab-separated `RESULT` line per workload; `bench/compare.sh`
//! runs both and prints the table.
//!
//! ```text
//! cargo run --release -p mdn --example bench_workloads -- [--seconds S] [--rounds R] [WORKLOAD...]
//! ```
//!
//! A workload is `w1:BATCH` (toy training step), `w2:BATCH` (conv training step) or `w3`
//! (200 × 200 density grid). The default is `w1:128 w1:4096 w2:64 w3`.
//!
//! Protocol: build the workload (untimed), warm up for at least 0.5 s and 3 iterations, then
//! time `R` rounds of at least `S / R` seconds and 3 iterations each and report the median
//! round's time per iteration.

#[path = "../benches/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use support::{DensityGrid, GRID, TrainStep};

/// Times `f` per the protocol above; returns (median seconds per iteration, iterations run).
fn time(mut f: impl FnMut(), seconds: f64, rounds: usize) -> (f64, usize) {
    let warm_up = Instant::now();
    let mut n = 0;
    while n < 3 || warm_up.elapsed() < Duration::from_millis(500) {
        f();
        n += 1;
    }
    let round = Duration::from_secs_f64(seconds / rounds as f64);
    let mut per_iter = Vec::with_capacity(rounds);
    let mut total = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        let mut iters = 0;
        while iters < 3 || start.elapsed() < round {
            f();
            iters += 1;
        }
        per_iter.push(start.elapsed().as_secs_f64() / iters as f64);
        total += iters;
    }
    per_iter.sort_by(f64::total_cmp);
    (per_iter[rounds / 2], total)
}

fn main() {
    let mut seconds = 10.0;
    let mut rounds = 5;
    let mut workloads = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--seconds S")
            }
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--rounds R")
            }
            "-h" | "--help" => {
                println!(
                    "usage: bench_workloads [--seconds S] [--rounds R] [w1:BATCH|w2:BATCH|w3]..."
                );
                return;
            }
            _ => workloads.push(arg),
        }
    }
    if workloads.is_empty() {
        workloads = ["w1:128", "w1:4096", "w2:64", "w3"]
            .map(String::from)
            .to_vec();
    }
    println!("RESULT\tworkload\tms_per_iter\titers_per_s\trows_per_s\titers_timed");
    for name in &workloads {
        let (kind, batch) = match name.split_once(':') {
            Some((kind, batch)) => (kind, batch.parse::<usize>().expect("a batch size")),
            None => (name.as_str(), 0),
        };
        let (per_iter, iters, rows) = match kind {
            "w1" | "w2" => {
                let mut step = if kind == "w1" {
                    TrainStep::toy(batch)
                } else {
                    TrainStep::conv(batch)
                };
                let (t, n) = time(|| _ = black_box(step.step()), seconds, rounds);
                (t, n, batch)
            }
            "w3" => {
                let grid = DensityGrid::new();
                let (t, n) = time(|| _ = black_box(grid.evaluate()), seconds, rounds);
                (t, n, GRID * GRID)
            }
            other => panic!("unknown workload '{other}': expected w1:BATCH, w2:BATCH or w3"),
        };
        println!(
            "RESULT\t{name}\t{:.6}\t{:.3}\t{:.1}\t{iters}",
            per_iter * 1e3,
            1.0 / per_iter,
            rows as f64 / per_iter
        );
    }
}
