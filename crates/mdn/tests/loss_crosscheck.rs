//! The engine's fused f32 loss and `mdn-mixture`'s f64 log density, two independent
//! implementations of one formula, agree through a trained model: the training summary's NLL
//! (the engine's loss on the training rows, plus the Jacobian of the target scaling) equals
//! the mean −log p(t|x) that the model's mixtures give those rows.

use mdn::{Architecture, Backbone, CovarianceKind, Dataset, TrainConfig, Trainer};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `rows` rows of 2 inputs and `c` targets that depend on them, with noise.
fn data(rows: usize, c: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(2 * rows);
    let mut t = Vec::with_capacity(c * rows);
    for _ in 0..rows {
        let (a, b): (f64, f64) = (rng.random_range(-2.0..2.0), rng.random_range(0.0..5.0));
        x.extend([a, b]);
        for j in 0..c {
            t.push((j as f64 + 1.0) * a.sin() + 0.3 * b + rng.random_range(-0.5..0.5));
        }
    }
    Dataset::new(x, 2, t, c).unwrap()
}

fn check(covariance: CovarianceKind, c: usize) {
    let data = data(300, c, 40 + c as u64);
    let architecture = Architecture::mdn(Backbone::mlp(2, vec![8]), c, 3)
        .with_covariance(covariance)
        .check()
        .unwrap();
    let config = TrainConfig {
        epochs: 3,
        validation_fraction: 0.0,
        ensemble: 1,
        noise_y: mdn::Noise::Off,
        ..TrainConfig::default()
    };
    let trained = Trainer::new(config.check().unwrap())
        .with_progress(false)
        .fit(&architecture, &data)
        .unwrap();
    // Without a validation split the training rows are all rows, so the mean is the same.
    let engine = trained.model.training().train_nll;
    let mixture = trained.model.evaluate(&data).unwrap().nll;
    assert!(
        (engine - mixture).abs() <= 2e-5 * mixture.abs().max(1.0),
        "{covariance:?} c={c}: the engine's NLL {engine} vs the mixtures' {mixture}"
    );
}

#[test]
fn isotropic_loss_matches_mixture_crate() {
    for c in 1..=3 {
        check(CovarianceKind::Isotropic, c);
    }
}

#[test]
fn diagonal_loss_matches_mixture_crate() {
    for c in 1..=3 {
        check(CovarianceKind::Diagonal, c);
    }
}

#[test]
fn full_covariance_loss_matches_mixture_crate() {
    for c in 1..=3 {
        check(CovarianceKind::Full, c);
    }
}
