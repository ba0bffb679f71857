//! The tensor loss must agree with `mdn-mixture`'s f64 log density on the same parameters,
//! for every covariance kind: two independent implementations of one formula.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use mdn::mdn_mixture::{Covariance, GaussianMixture};
use mdn::{MixtureOutput, Scale};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ROWS: usize = 24;
const M: usize = 3;

fn values(rng: &mut ChaCha8Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

fn tensor<const D: usize>(v: &[f32], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(v.to_vec(), shape), device)
}

fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

/// Builds random parameters of each kind for target dimension `c`, returns the tensor
/// log-likelihoods and the f64 mixtures built from the very same (f32) numbers.
fn check(kind: &str, c: usize, seed: u64) {
    let device = Device::flex();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let logits = values(&mut rng, ROWS * M, -3.0, 3.0);
    let means = values(&mut rng, ROWS * M * c, -2.0, 2.0);
    let targets = values(&mut rng, ROWS * c, -3.0, 3.0);
    let log_alpha = log_softmax(tensor(&logits, [ROWS, M], &device), 1);
    let log_alpha_host: Vec<f32> = log_alpha.to_data().iter::<f32>().collect();

    let lower_count = c * (c - 1) / 2;
    let (scale, sigma_host, lower_host) = match kind {
        "isotropic" => {
            let s = values(&mut rng, ROWS * M, 0.1, 2.0);
            (
                Scale::Isotropic {
                    sigma: tensor(&s, [ROWS, M], &device),
                },
                s,
                vec![],
            )
        }
        "diagonal" => {
            let s = values(&mut rng, ROWS * M * c, 0.1, 2.0);
            (
                Scale::Diagonal {
                    sigma: tensor(&s, [ROWS, M, c], &device),
                },
                s,
                vec![],
            )
        }
        _ => {
            let d = values(&mut rng, ROWS * M * c, 0.3, 1.5);
            let l = values(&mut rng, ROWS * M * lower_count, -0.8, 0.8);
            let scale = Scale::Cholesky {
                diagonal: tensor(&d, [ROWS, M, c], &device),
                lower: tensor(&l, [ROWS, M, lower_count], &device),
            };
            (scale, d, l)
        }
    };
    let output = MixtureOutput {
        log_alpha,
        means: tensor(&means, [ROWS, M, c], &device),
        scale,
    };
    let tensor_ll: Vec<f64> = output
        .log_likelihood(tensor(&targets, [ROWS, c], &device))
        .into_data()
        .iter::<f64>()
        .collect();

    for row in 0..ROWS {
        let covariance = match kind {
            "isotropic" => Covariance::Isotropic(widen(&sigma_host[row * M..(row + 1) * M])),
            "diagonal" => Covariance::Diagonal(widen(&sigma_host[row * M * c..(row + 1) * M * c])),
            _ => {
                let mut l = vec![0.0; M * c * c];
                for i in 0..M {
                    for j in 0..c {
                        l[i * c * c + j * c + j] = f64::from(sigma_host[(row * M + i) * c + j]);
                        for k in 0..j {
                            l[i * c * c + j * c + k] = f64::from(
                                lower_host[(row * M + i) * lower_count + j * (j - 1) / 2 + k],
                            );
                        }
                    }
                }
                Covariance::Cholesky(l)
            }
        };
        let mixture = GaussianMixture::from_log_weights(
            c,
            widen(&log_alpha_host[row * M..(row + 1) * M]),
            widen(&means[row * M * c..(row + 1) * M * c]),
            covariance,
        )
        .unwrap();
        let expected = mixture.log_prob(&widen(&targets[row * c..(row + 1) * c]));
        let got = tensor_ll[row];
        assert!(
            (got - expected).abs() <= 1e-5 * expected.abs().max(1.0),
            "{kind} c={c} row {row}: tensor {got} vs mixture {expected}"
        );
    }
}

#[test]
fn isotropic_loss_matches_mixture_crate() {
    for c in 1..=3 {
        check("isotropic", c, 10 + c as u64);
    }
}

#[test]
fn diagonal_loss_matches_mixture_crate() {
    for c in 1..=3 {
        check("diagonal", c, 20 + c as u64);
    }
}

#[test]
fn full_covariance_loss_matches_mixture_crate() {
    for c in 1..=3 {
        check("full", c, 30 + c as u64);
    }
}
