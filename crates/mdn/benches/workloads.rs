//! Criterion benches of issue 8's workloads (see `support/mod.rs` for what each one is):
//!
//! ```text
//! cargo bench -p mdn --bench workloads            # all of them, a few minutes on 2 cores
//! cargo bench -p mdn --bench workloads -- W1      # only the toy training steps
//! ```
//!
//! `bench/compare.sh` at the workspace root times the same workloads beside PyTorch.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod support;

use support::{DensityGrid, GRID, TrainStep};

fn w1_toy_training_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("W1 toy MDN training step");
    for batch in [128, 4096] {
        let mut step = TrainStep::toy(batch);
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(format!("batch {batch}"), |b| {
            b.iter(|| black_box(step.step()))
        });
    }
    group.finish();
}

fn w2_conv_training_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("W2 conv MDN training step");
    group.sample_size(10);
    let mut step = TrainStep::conv(64);
    group.throughput(Throughput::Elements(step.batch() as u64));
    group.bench_function("batch 64", |b| b.iter(|| black_box(step.step())));
    group.finish();
}

fn w3_density_grid(c: &mut Criterion) {
    let mut group = c.benchmark_group("W3 density grid");
    let grid = DensityGrid::new();
    group.throughput(Throughput::Elements((GRID * GRID) as u64));
    group.bench_function(format!("{GRID}x{GRID}"), |b| {
        b.iter(|| black_box(grid.evaluate()))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = w1_toy_training_step, w2_conv_training_step, w3_density_grid
}
criterion_main!(benches);
