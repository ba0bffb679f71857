//! Shared test data: Bishop's toy inverse problem.
#![allow(dead_code)]

use mdn::{Dataset, Noise, TrainConfig};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` points of the toy problem: t ~ U(0,1), x = t + 0.3 sin(2πt) + U(−0.1, 0.1); the
/// dataset learns t|x (the inverse, multi-valued direction).
pub fn toy_inverse(n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (x, t): (Vec<f64>, Vec<f64>) = (0..n)
        .map(|_| {
            let t: f64 = rng.random();
            let noise: f64 = rng.random_range(-0.1..0.1);
            (t + 0.3 * (2.0 * std::f64::consts::PI * t).sin() + noise, t)
        })
        .unzip();
    Dataset::new(x, 1, t, 1)
        .unwrap()
        .with_names(vec!["x".into()], vec!["t".into()])
        .unwrap()
}

/// The default training options for a single network without noise (the defaults train an
/// ensemble of five with target noise): what tests of the training mechanics use.
pub fn single() -> TrainConfig {
    TrainConfig {
        ensemble: 1,
        noise_y: Noise::Off,
        ..TrainConfig::default()
    }
}

/// Mean of a slice.
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// `n` rows of a 1-D input x ~ U(−1, 1) and a correlated 2-D target
/// (t1, t2) = (x + ε1, 0.5 x + 0.8 ε1 + 0.3 ε2) with ε ~ U(−0.5, 0.5).
pub fn correlated_2d(n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(n);
    let mut t = Vec::with_capacity(2 * n);
    for _ in 0..n {
        let xi: f64 = rng.random_range(-1.0..1.0);
        let (e1, e2): (f64, f64) = (rng.random_range(-0.5..0.5), rng.random_range(-0.5..0.5));
        x.push(xi);
        t.extend([xi + e1, 0.5 * xi + 0.8 * e1 + 0.3 * e2]);
    }
    Dataset::new(x, 1, t, 2).unwrap()
}

/// `n` 8 × 8 grey images of a bright square whose side (1–6 pixels) is the target.
pub fn tiny_images(n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pixels = Vec::with_capacity(64 * n);
    let mut sides = Vec::with_capacity(n);
    for _ in 0..n {
        let side = rng.random_range(1..=6usize);
        for y in 0..8 {
            for x in 0..8 {
                let inside = y < side && x < side;
                pixels.push(if inside { 1.0 } else { 0.0 } + rng.random_range(0.0..0.1));
            }
        }
        sides.push(side as f64);
    }
    Dataset::new(pixels, 64, sides, 1).unwrap()
}
