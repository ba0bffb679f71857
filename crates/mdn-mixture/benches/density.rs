//! p(t|x) on a 200×200 grid, as a density plot of a 1-D MDN needs it: 200 mixtures (one per x;
//! five isotropic components with random plausible parameters) × 200 values of t.
//!
//! ```text
//! cargo bench -p mdn-mixture --bench density
//! ```
//!
//! `prob` per point (the scalar path, one call per grid point) against `prob_batch` per
//! mixture; `log_prob` against `log_prob_batch` likewise.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mdn_mixture::{Covariance, GaussianMixture};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const GRID: usize = 200;
const COMPONENTS: usize = 5;

/// `n` evenly spaced values from `start` to `end` inclusive.
fn linspace(start: f64, end: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| start + (end - start) * i as f64 / (n - 1) as f64)
        .collect()
}

/// One mixture per x, like a trained toy MDN: means inside the plot range [−0.1, 1.1],
/// standard deviations between 0.02 and 0.2, softmax weights from logits in [−2, 2].
fn mixtures() -> Vec<GaussianMixture> {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    (0..GRID)
        .map(|_| {
            let logits = (0..COMPONENTS)
                .map(|_| rng.random_range(-2.0..2.0))
                .collect();
            let means = (0..COMPONENTS)
                .map(|_| rng.random_range(0.0..1.0))
                .collect();
            let sigmas = (0..COMPONENTS)
                .map(|_| rng.random_range(0.02..0.2))
                .collect();
            GaussianMixture::from_log_weights(1, logits, means, Covariance::Isotropic(sigmas))
                .expect("valid mixture")
        })
        .collect()
}

fn density_grid(c: &mut Criterion) {
    let mixtures = mixtures();
    let ts = linspace(-0.1, 1.1, GRID);
    let mut out = vec![0.0; GRID * GRID];
    let mut group = c.benchmark_group("density grid 200x200");
    group.throughput(Throughput::Elements((GRID * GRID) as u64));
    group.bench_function("prob per point", |b| {
        b.iter(|| {
            for (m, row) in mixtures.iter().zip(out.chunks_mut(GRID)) {
                for (p, &t) in row.iter_mut().zip(&ts) {
                    *p = m.prob(&[t]);
                }
            }
            black_box(&out);
        })
    });
    group.bench_function("prob_batch", |b| {
        b.iter(|| {
            for (m, row) in mixtures.iter().zip(out.chunks_mut(GRID)) {
                m.prob_batch(&ts, row);
            }
            black_box(&out);
        })
    });
    group.bench_function("log_prob per point", |b| {
        b.iter(|| {
            for (m, row) in mixtures.iter().zip(out.chunks_mut(GRID)) {
                for (p, &t) in row.iter_mut().zip(&ts) {
                    *p = m.log_prob(&[t]);
                }
            }
            black_box(&out);
        })
    });
    group.bench_function("log_prob_batch", |b| {
        b.iter(|| {
            for (m, row) in mixtures.iter().zip(out.chunks_mut(GRID)) {
                m.log_prob_batch(&ts, row);
            }
            black_box(&out);
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = density_grid
}
criterion_main!(benches);
