//! Shared test data: Bishop's toy inverse problem.
#![allow(dead_code)]

use mdn::Dataset;
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

/// Mean of a slice.
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}
