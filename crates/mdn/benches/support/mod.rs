//! The workloads of issue 8, built from the crate's public API only, shared by the Criterion
//! bench (`benches/workloads.rs`) and the timing binary that `bench/compare.sh` runs
//! (`examples/bench_workloads.rs`). `bench/reference/workloads.py` is the PyTorch twin of
//! this file: change one, change the other.
//!
//! - W1: one training step of the toy MDN (1 → 32 → 32 tanh, m = 5 isotropic, Adam).
//! - W2: one training step of the conv MDN ([`Backbone::cnn`] on 28 × 28 inputs, m = 5
//!   isotropic, Adam) at batch 64.
//! - W3: p(t|x) on a 200 × 200 (x, t) grid for a toy model: the model's forward on 200 x
//!   values, then the mixture density at 200 t values for each, as the toy experiment's
//!   density figure does.
//!
//! A training step is what the trainer does per batch: gather the batch rows from the shuffled
//! pool, forward, mean NLL, read the loss back to the host (the trainer checks it is finite),
//! backward, Adam step.
#![allow(dead_code)]

use mdn::{Architecture, Backbone, Dataset, Model, TrainConfig, Trainer, ValidArchitecture};
use mdn_engine::{AdamConfig, Network, Session};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Adam step size of every training workload (the toy and MNIST experiments' value).
pub const LEARNING_RATE: f64 = 1e-3;
/// Mixture components of every workload.
pub const COMPONENTS: usize = 5;
/// Side of the W3 grid.
pub const GRID: usize = 200;

/// `n` points of Bishop's toy problem as (x, t): t ~ U(0,1), x = t + 0.3 sin(2πt) +
/// U(−0.1, 0.1).
pub fn toy_points(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let t: f64 = rng.random();
            let noise: f64 = rng.random_range(-0.1..0.1);
            (t + 0.3 * (2.0 * std::f64::consts::PI * t).sin() + noise, t)
        })
        .unzip()
}

/// Standardises one column to mean 0, standard deviation 1, as f32.
fn standardise(values: &[f64]) -> Vec<f32> {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    values.iter().map(|v| ((v - mean) / std) as f32).collect()
}

/// The toy MDN: 1 → 32 → 32 tanh, m = 5 isotropic components, σ floor 1e-3.
pub fn toy_network() -> ValidArchitecture {
    Architecture::mdn(Backbone::mlp(1, vec![32, 32]), 1, COMPONENTS)
        .check()
        .expect("a valid architecture")
}

/// The conv MDN: the MNIST CNN on 28 × 28 images (conv 5×5 16 → pool → conv 5×5 32 → pool →
/// dense 128, relu), m = 5 isotropic components, σ floor 1e-3.
pub fn conv_network() -> ValidArchitecture {
    Architecture::mdn(Backbone::cnn(28, 28), 1, COMPONENTS)
        .check()
        .expect("a valid architecture")
}

/// One workload of repeated training steps over a pool of standardised rows, visited in a
/// shuffled order as the trainer does.
pub struct TrainStep {
    session: Session,
    x: Vec<f32>,
    t: Vec<f32>,
    input_dim: usize,
    order: Vec<usize>,
    cursor: usize,
    batch: usize,
    xs: Vec<f32>,
    ts: Vec<f32>,
}

impl TrainStep {
    /// W1: the toy MDN at `batch` rows per step.
    pub fn toy(batch: usize) -> Self {
        let rows = (4 * batch).max(8192);
        let (x, t) = toy_points(rows, 1);
        Self::new(toy_network(), standardise(&x), standardise(&t), 1, batch)
    }

    /// W2: the conv MDN at `batch` images per step, on synthetic 28 × 28 images (timing does
    /// not depend on the pixel values) with a digit-like target in 0..=9.
    pub fn conv(batch: usize) -> Self {
        let rows = 8 * batch;
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let pixels: Vec<f64> = (0..rows * 784).map(|_| rng.random::<f64>()).collect();
        let digits: Vec<f64> = (0..rows)
            .map(|_| f64::from(rng.random_range(0..10u8)))
            .collect();
        let x = standardise(&pixels); // one global scale for all pixels, as the trainer does
        Self::new(conv_network(), x, standardise(&digits), 784, batch)
    }

    fn new(
        architecture: ValidArchitecture,
        x: Vec<f32>,
        t: Vec<f32>,
        d: usize,
        batch: usize,
    ) -> Self {
        // Adam as the trainer builds it (PyTorch's ε, no weight decay, no clipping).
        let session = Session::new(Network::init(architecture, 0), AdamConfig::default());
        let mut order: Vec<usize> = (0..t.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(3));
        Self {
            session,
            x,
            t,
            input_dim: d,
            order,
            cursor: 0,
            batch,
            xs: Vec::with_capacity(batch * d),
            ts: Vec::with_capacity(batch),
        }
    }

    /// Rows per step.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// One training step; returns the batch loss.
    pub fn step(&mut self) -> f64 {
        if self.cursor + self.batch > self.order.len() {
            self.cursor = 0;
        }
        let rows = &self.order[self.cursor..self.cursor + self.batch];
        self.cursor += self.batch;
        let d = self.input_dim;
        self.xs.clear();
        self.ts.clear();
        // As the trainer gathers (`gather_rows`): one-value rows by index, wider rows by copy.
        if d == 1 {
            self.xs.extend(rows.iter().map(|&r| self.x[r]));
        } else {
            for &r in rows {
                self.xs.extend_from_slice(&self.x[r * d..(r + 1) * d]);
            }
        }
        self.ts.extend(rows.iter().map(|&r| self.t[r]));
        let n = rows.len();
        let sums = self
            .session
            .step(&self.xs, &self.ts, None, n, LEARNING_RATE);
        assert!(sums.is_finite(), "the workloads do not diverge");
        sums.loss / n as f64
    }
}

/// W3: a toy model and the 200 × 200 grid it is evaluated on.
pub struct DensityGrid {
    model: Model,
    xs: Vec<f64>,
    ts: Vec<f64>,
}

/// `n` evenly spaced values from `start` to `end` inclusive.
fn linspace(start: f64, end: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| start + (end - start) * i as f64 / (n - 1) as f64)
        .collect()
}

impl DensityGrid {
    /// Trains the toy MDN briefly (the grid's cost does not depend on how well) through the
    /// public trainer, which is the only public way to get a [`Model`] without a file.
    pub fn new() -> Self {
        let (x, t) = toy_points(1000, 4);
        let data = Dataset::new(x, 1, t, 1).expect("valid toy data");
        // One network, as the PyTorch and JAX twins have (the defaults train an ensemble of
        // five, whose grid costs five networks and 25 components).
        let config = TrainConfig {
            epochs: 2,
            learning_rate: LEARNING_RATE,
            ensemble: 1,
            noise_y: mdn::Noise::Off,
            ..TrainConfig::default()
        };
        let trained = Trainer::new(config.check().expect("valid settings"))
            .with_progress(false)
            .fit(&toy_network(), &data)
            .expect("toy training");
        Self {
            model: trained.model,
            // The toy experiment's plot ranges.
            xs: linspace(-0.1, 1.1, GRID),
            ts: linspace(-0.1, 1.1, GRID),
        }
    }

    /// p(t|x) at every grid point, x-major: one batched density evaluation per mixture, as
    /// the toy experiment's density figure does.
    pub fn evaluate(&self) -> Vec<f64> {
        let mixtures = self.model.predict(&self.xs).expect("prediction");
        let mut grid = vec![0.0; self.xs.len() * self.ts.len()];
        for (mixture, row) in mixtures.iter().zip(grid.chunks_exact_mut(self.ts.len())) {
            mixture.prob_batch(&self.ts, row);
        }
        grid
    }
}
