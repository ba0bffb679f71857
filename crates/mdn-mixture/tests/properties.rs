//! Invariants that must hold for every mixture, checked on random ones.

use mdn_mixture::{Covariance, GaussianMixture, ModeOptions, Temperature};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A random mixture in `dim` dimensions with 1–4 components of any covariance kind, with
/// means in [−2, 2] and standard deviations in [0.15, 1.5].
fn mixture(dim: usize) -> impl Strategy<Value = GaussianMixture> {
    (1usize..=4, 0usize..3).prop_flat_map(move |(m, kind)| {
        let logits = prop::collection::vec(-2.0f64..2.0, m);
        let means = prop::collection::vec(-2.0f64..2.0, m * dim);
        let sigmas = prop::collection::vec(0.15f64..1.5, m * dim);
        let lower = prop::collection::vec(-0.5f64..0.5, m * dim * dim);
        (logits, means, sigmas, lower).prop_map(move |(logits, means, sigmas, lower)| {
            let covariance = match kind {
                0 => Covariance::Isotropic(sigmas[..m].to_vec()),
                1 => Covariance::Diagonal(sigmas),
                _ => {
                    let mut l = vec![0.0; m * dim * dim];
                    for i in 0..m {
                        for j in 0..dim {
                            l[i * dim * dim + j * dim + j] = sigmas[i * dim + j];
                            for k in 0..j {
                                l[i * dim * dim + j * dim + k] = lower[i * dim * dim + j * dim + k];
                            }
                        }
                    }
                    Covariance::Cholesky(l)
                }
            };
            GaussianMixture::from_log_weights(dim, logits, means, covariance).unwrap()
        })
    })
}

/// Composite Simpson weights for `n` (odd) points spaced `h` apart.
fn simpson(n: usize, h: f64) -> Vec<f64> {
    (0..n)
        .map(|i| {
            h / 3.0
                * if i == 0 || i == n - 1 {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn density_integrates_to_one_in_1d(m in mixture(1)) {
        // Means within ±2, σ ≤ 1.5 (Cholesky rows add ≤ 0.5): ±14 covers > 7 σ.
        let (lo, n) = (-14.0, 5601);
        let h = 28.0 / (n - 1) as f64;
        let total: f64 = simpson(n, h).iter().enumerate().map(|(i, w)| w * m.prob(&[lo + h * i as f64])).sum();
        prop_assert!((total - 1.0).abs() < 1e-8, "integral {}", total);
    }

    #[test]
    fn log_prob_agrees_with_log_of_prob(m in mixture(2), t in prop::collection::vec(-4.0f64..4.0, 2)) {
        let p = m.prob(&t);
        prop_assume!(p > 1e-200);
        prop_assert!((m.log_prob(&t) - p.ln()).abs() < 1e-10 * p.ln().abs().max(1.0));
        let r = m.responsibilities(&t);
        prop_assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn quantile_inverts_the_cdf(m in mixture(2), t in -3.0f64..3.0, j in 0usize..2) {
        let p = m.marginal_cdf(j, t).unwrap();
        prop_assume!(p > 1e-9 && p < 1.0 - 1e-9);
        let back = m.marginal_quantile(j, p).unwrap();
        prop_assert!((back - t).abs() < 1e-7, "t {} -> p {} -> {}", t, p, back);
        prop_assert!((m.marginal_cdf(j, back).unwrap() - p).abs() < 1e-12);
    }

    #[test]
    fn modes_are_local_maxima(m in mixture(2)) {
        let modes = m.modes(&ModeOptions::default());
        prop_assert!(!modes.is_empty() && modes.len() <= m.n_components());
        for pair in modes.windows(2) {
            prop_assert!(pair[0].log_density >= pair[1].log_density, "sorted by density");
        }
        for mode in &modes {
            let x = &mode.location;
            prop_assert!((m.log_prob(x) - mode.log_density).abs() < 1e-12);
            for angle in 0..16 {
                let a = f64::from(angle) * std::f64::consts::PI / 8.0;
                let near = [x[0] + 1e-3 * a.cos(), x[1] + 1e-3 * a.sin()];
                prop_assert!(m.log_prob(&near) <= mode.log_density + 1e-12, "mode {:?} is beaten nearby", x);
            }
            // Stationary: ∇ log p = Σ_k r_k Σ_k⁻¹ (μ_k − x) ≈ 0, checked by central differences.
            let h = 1e-5;
            for d in 0..2 {
                let mut up = x.clone();
                let mut down = x.clone();
                up[d] += h;
                down[d] -= h;
                let gradient = (m.log_prob(&up) - m.log_prob(&down)) / (2.0 * h);
                prop_assert!(gradient.abs() < 1e-4, "gradient {} at mode {:?}", gradient, x);
            }
        }
    }

    #[test]
    fn the_best_mode_is_the_global_maximum_on_a_grid(m in mixture(1)) {
        let best = &m.modes(&ModeOptions::default())[0];
        let grid_max = (0..4001).map(|i| m.log_prob(&[-6.0 + 3e-3 * f64::from(i)])).fold(f64::NEG_INFINITY, f64::max);
        prop_assert!(best.log_density >= grid_max - 1e-9, "mode {} vs grid {}", best.log_density, grid_max);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn density_integrates_to_one_in_2d(m in mixture(2)) {
        let (lo, n) = (-12.0, 801);
        let h = 24.0 / (n - 1) as f64;
        let w = simpson(n, h);
        let mut total = 0.0;
        for (i, wi) in w.iter().enumerate() {
            for (j, wj) in w.iter().enumerate() {
                total += wi * wj * m.prob(&[lo + h * i as f64, lo + h * j as f64]);
            }
        }
        prop_assert!((total - 1.0).abs() < 1e-6, "integral {}", total);
    }

    #[test]
    fn samples_reproduce_mean_and_covariance(m in mixture(2), seed in 0u64..1000) {
        let n = 40_000;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let draws = m.sample_n(n, &mut rng, Temperature::ONE);
        let mean = m.mean();
        let cov = m.covariance();
        let mut sample_mean = [0.0; 2];
        for d in &draws {
            sample_mean[0] += d[0] / n as f64;
            sample_mean[1] += d[1] / n as f64;
        }
        let mut sample_cov = [0.0; 4];
        for d in &draws {
            for a in 0..2 {
                for b in 0..2 {
                    sample_cov[a * 2 + b] += (d[a] - sample_mean[a]) * (d[b] - sample_mean[b]) / (n - 1) as f64;
                }
            }
        }
        for a in 0..2 {
            // Five standard errors of the mean.
            let se = (cov[a * 2 + a] / n as f64).sqrt();
            prop_assert!((sample_mean[a] - mean[a]).abs() < 5.0 * se, "mean {} vs {}", sample_mean[a], mean[a]);
        }
        for a in 0..2 {
            for b in 0..2 {
                // Six standard errors of the estimate, from the spread of the products it
                // averages (a fixed fraction of the scale fails whenever the two variances
                // differ a lot, and mixtures have heavier tails than one Gaussian).
                let k = a * 2 + b;
                let spread = draws
                    .iter()
                    .map(|d| ((d[a] - sample_mean[a]) * (d[b] - sample_mean[b]) - sample_cov[k]).powi(2))
                    .sum::<f64>()
                    / (n - 1) as f64;
                let se = (spread / n as f64).sqrt();
                prop_assert!((sample_cov[k] - cov[k]).abs() < 6.0 * se, "cov {:?} vs {:?} (entry {k}, se {se})", sample_cov, cov);
            }
        }
    }
}
