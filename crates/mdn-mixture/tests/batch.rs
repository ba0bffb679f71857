//! `log_prob_batch` / `prob_batch` (and the `_many` forms) against the scalar `log_prob` /
//! `prob`, point by point, for every covariance kind, dims 1–3 and beyond, far targets,
//! zero weights, and batch sizes around the block size.

use mdn_mixture::{Covariance, GaussianMixture};
use proptest::prelude::*;

/// The agreement the batch promises with the scalar log density: 1e-13 relative, or absolute
/// where log p is near 0.
fn assert_log_agrees(batch: f64, scalar: f64, what: &str) {
    if batch == scalar {
        return; // covers equal infinities
    }
    let error = (batch - scalar).abs() / scalar.abs().max(1.0);
    assert!(
        error <= 1e-13,
        "{what}: batch {batch:e}, scalar {scalar:e} (error {error:e})"
    );
}

/// The agreement the batch promises with the scalar density: 1e-13 relative (the scalar
/// rounds log p before its exponential, about 0.5e-13 relative at log p ≈ −708), and exactly
/// 0 where the scalar is.
fn assert_prob_agrees(batch: f64, scalar: f64, what: &str) {
    if scalar == 0.0 || batch == scalar {
        assert_eq!(batch, scalar, "{what}: underflow differs");
        return;
    }
    let error = (batch - scalar).abs() / scalar;
    assert!(
        error <= 1e-13,
        "{what}: batch {batch:e}, scalar {scalar:e} (error {error:e})"
    );
}

/// Every target of `points` through both paths, and through the `_many` forms.
fn check_against_scalar(mixture: &GaussianMixture, points: &[f64]) {
    let c = mixture.dim();
    let n = points.len() / c;
    let mut log_p = vec![f64::NAN; n];
    let mut p = vec![f64::NAN; n];
    mixture.log_prob_batch(points, &mut log_p);
    mixture.prob_batch(points, &mut p);
    for (i, t) in points.chunks(c).enumerate() {
        let what = format!("target {i} of {n}, {t:?}");
        assert_log_agrees(log_p[i], mixture.log_prob(t), &what);
        assert_prob_agrees(p[i], mixture.prob(t), &what);
    }
    assert_eq!(mixture.log_prob_many(points), log_p);
    assert_eq!(mixture.prob_many(points), p);
}

/// A random mixture in `dim` dimensions with 1–6 components of any covariance kind (0:
/// isotropic, 1: diagonal, 2: Cholesky), means in [−2, 2], standard deviations in
/// [0.15, 1.5], and some log-weights of −∞ (a weight of 0) when `zero_weights`.
fn mixture(dim: usize, zero_weights: bool) -> impl Strategy<Value = GaussianMixture> {
    (1usize..=6, 0usize..3).prop_flat_map(move |(m, kind)| {
        let logits = prop::collection::vec(-2.0f64..2.0, m);
        let dropped = prop::collection::vec(prop::bool::weighted(0.3), m);
        let means = prop::collection::vec(-2.0f64..2.0, m * dim);
        let sigmas = prop::collection::vec(0.15f64..1.5, m * dim);
        let lower = prop::collection::vec(-0.5f64..0.5, m * dim * dim);
        (logits, dropped, means, sigmas, lower).prop_map(
            move |(mut logits, dropped, means, sigmas, lower)| {
                if zero_weights {
                    // Keep component 0 so that some weight remains.
                    for (w, _) in logits.iter_mut().zip(dropped).skip(1).filter(|(_, d)| *d) {
                        *w = f64::NEG_INFINITY;
                    }
                }
                let covariance = match kind {
                    0 => Covariance::Isotropic(sigmas[..m].to_vec()),
                    1 => Covariance::Diagonal(sigmas),
                    _ => Covariance::Cholesky(cholesky_factors(m, dim, &sigmas, &lower)),
                };
                GaussianMixture::from_log_weights(dim, logits, means, covariance).unwrap()
            },
        )
    })
}

/// Lower-triangular factors with diagonal `sigmas` and strict lower part from `lower`.
fn cholesky_factors(m: usize, dim: usize, sigmas: &[f64], lower: &[f64]) -> Vec<f64> {
    let mut l = vec![0.0; m * dim * dim];
    for i in 0..m {
        for j in 0..dim {
            l[i * dim * dim + j * dim + j] = sigmas[i * dim + j];
            for k in 0..j {
                l[i * dim * dim + j * dim + k] = lower[i * dim * dim + j * dim + k];
            }
        }
    }
    l
}

/// A random mixture with its dimension (1–3) and `n` targets in [−6, 6]^c for n in 0..600,
/// which crosses the 256-point block size twice.
fn mixture_and_points(zero_weights: bool) -> impl Strategy<Value = (GaussianMixture, Vec<f64>)> {
    (1usize..=3, 0usize..600).prop_flat_map(move |(dim, n)| {
        (
            mixture(dim, zero_weights),
            prop::collection::vec(-6.0f64..6.0, n * dim),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn batch_matches_scalar_on_random_mixtures((m, points) in mixture_and_points(false)) {
        check_against_scalar(&m, &points);
    }

    #[test]
    fn batch_matches_scalar_with_zero_weights((m, points) in mixture_and_points(true)) {
        check_against_scalar(&m, &points);
    }

    #[test]
    fn batch_matches_scalar_forty_sigma_from_every_component(
        m in (1usize..=3).prop_flat_map(|dim| mixture(dim, true)),
        directions in prop::collection::vec(-1.0f64..1.0, 3 * 50),
        distance in 40.0f64..60.0,
    ) {
        // Means within ±2; the largest standard deviation in any direction is √λ_max(Σ) ≤
        // ‖L‖_F ≤ 2.8 in up to 3 dimensions (diagonal ≤ 1.5, lower entries ≤ 0.5). Every
        // coordinate 2 + 2.8·distance − 1 or more from 0 is `distance` of those away.
        let c = m.dim();
        let points: Vec<f64> = directions[..50 * c]
            .iter()
            .map(|d| d.signum() * (2.0 + 2.8 * distance) + d)
            .collect();
        let log_p = m.log_prob_many(&points);
        prop_assert!(log_p.iter().all(|v| v.is_finite() && *v < -700.0), "{:?}", log_p);
        check_against_scalar(&m, &points);
    }
}

/// Targets spread over [−6, 6]^c, `n` of them.
fn spread(n: usize, dim: usize) -> Vec<f64> {
    (0..n * dim)
        .map(|i| -6.0 + 12.0 * ((i * 7919) % 1000) as f64 / 999.0)
        .collect()
}

#[test]
fn every_kind_and_dimension_for_batch_sizes_around_the_block() {
    for dim in 1..=3 {
        let m = 3;
        let means: Vec<f64> = (0..m * dim).map(|i| i as f64 * 0.7 - 1.0).collect();
        let sigmas: Vec<f64> = (0..m * dim).map(|i| 0.3 + 0.2 * i as f64).collect();
        let lower: Vec<f64> = (0..m * dim * dim)
            .map(|i| 0.1 * (i % 5) as f64 - 0.2)
            .collect();
        let covariances = [
            Covariance::Isotropic(sigmas[..m].to_vec()),
            Covariance::Diagonal(sigmas.clone()),
            Covariance::Cholesky(cholesky_factors(m, dim, &sigmas, &lower)),
        ];
        for covariance in covariances {
            let mixture =
                GaussianMixture::new(dim, vec![0.2, 0.5, 0.3], means.clone(), covariance).unwrap();
            for n in [0, 1, 2, 3, 5, 255, 256, 257, 511, 512, 513, 1000] {
                check_against_scalar(&mixture, &spread(n, dim));
            }
        }
    }
}

#[test]
fn full_covariance_matrices_in_two_dimensions() {
    // The reference mixture of tests/reference.rs, given as covariance matrices.
    let mixture = GaussianMixture::new(
        2,
        vec![0.2, 0.5, 0.3],
        vec![0.0, 1.0, 2.0, -1.0, -1.5, 0.5],
        Covariance::Full(vec![
            0.5, 0.3, 0.3, 0.4, 1.0, -0.6, -0.6, 2.0, 0.2, 0.05, 0.05, 0.1,
        ]),
    )
    .unwrap();
    check_against_scalar(&mixture, &spread(700, 2));
    // SciPy's value at (10, −20) (tests/reference.rs), far in the tail.
    let log_p = mixture.log_prob_many(&[10.0, -20.0]);
    assert!(
        (log_p[0] - -96.25398212398493).abs() / 96.25 < 1e-10,
        "{log_p:?}"
    );
}

#[test]
fn many_components_and_dimensions_beyond_the_stack_buffers() {
    // 20 components in 17 dimensions: past the scalar path's stack arrays (16 of each).
    let (m, dim) = (20, 17);
    let means: Vec<f64> = (0..m * dim)
        .map(|i| ((i * 37) % 11) as f64 * 0.2 - 1.0)
        .collect();
    let sigmas: Vec<f64> = (0..m * dim)
        .map(|i| 0.5 + ((i * 13) % 7) as f64 * 0.1)
        .collect();
    let lower: Vec<f64> = (0..m * dim * dim)
        .map(|i| ((i * 29) % 9) as f64 * 0.02 - 0.08)
        .collect();
    let logits: Vec<f64> = (0..m).map(|i| (i % 4) as f64 * 0.5).collect();
    for covariance in [
        Covariance::Diagonal(sigmas.clone()),
        Covariance::Cholesky(cholesky_factors(m, dim, &sigmas, &lower)),
    ] {
        let mixture =
            GaussianMixture::from_log_weights(dim, logits.clone(), means.clone(), covariance)
                .unwrap();
        let points: Vec<f64> = spread(300, dim).iter().map(|v| v / 4.0).collect();
        check_against_scalar(&mixture, &points);
        // The scalar path itself, through its heap fallback: logsumexp of its parts.
        let t = &points[..dim];
        let parts: Vec<f64> = mixture
            .component_log_densities(t)
            .iter()
            .zip(mixture.log_weights())
            .map(|(d, w)| d + w)
            .collect();
        assert_log_agrees(
            mixture.log_prob(t),
            mdn_mixture::logsumexp(&parts),
            "scalar",
        );
    }
}

#[test]
fn a_zero_weight_component_never_counts() {
    let with = GaussianMixture::new(
        1,
        vec![0.0, 1.0, 0.0],
        vec![5.0, 0.0, -3.0],
        Covariance::Isotropic(vec![1.0, 1.0, 0.01]),
    )
    .unwrap();
    let without =
        GaussianMixture::new(1, vec![1.0], vec![0.0], Covariance::Isotropic(vec![1.0])).unwrap();
    let points = [-3.0, -2.0, 0.0, 5.0, 40.0];
    for (a, b) in with
        .log_prob_many(&points)
        .iter()
        .zip(without.log_prob_many(&points))
    {
        assert!((a - b).abs() < 1e-14, "{a} vs {b}");
    }
    for (a, b) in with
        .prob_many(&points)
        .iter()
        .zip(without.prob_many(&points))
    {
        assert!((a - b).abs() <= 1e-14 * b, "{a} vs {b}");
    }
    check_against_scalar(&with, &points);
}

#[test]
fn the_tail_underflows_exactly_where_the_scalar_does() {
    // Two unit normals at 0 and 0.5: log p(t) crosses −708 (where the direct sum stops being
    // exact enough) near t = 37.9 and the end of the subnormal range, −745.1, near t = 38.9.
    let mixture = GaussianMixture::new(
        1,
        vec![0.5, 0.5],
        vec![0.0, 0.5],
        Covariance::Isotropic(vec![1.0, 1.0]),
    )
    .unwrap();
    let points: Vec<f64> = (0..4000).map(|i| 36.0 + 1e-3 * f64::from(i)).collect();
    let p = mixture.prob_many(&points);
    let mut subnormal = 0;
    for (t, p) in points.iter().zip(&p) {
        let scalar = mixture.prob(&[*t]);
        assert_prob_agrees(*p, scalar, &format!("t = {t}"));
        subnormal += usize::from(*p > 0.0 && *p < f64::MIN_POSITIVE);
    }
    assert!(
        subnormal > 100,
        "the subnormal range was crossed: {subnormal}"
    );
    assert_eq!(*p.last().unwrap(), 0.0);
    // Its log stays finite and exact throughout.
    let log_p = mixture.log_prob_many(&points);
    let log_half_normal =
        |d: f64| 0.5f64.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln() - d * d / 2.0;
    for (t, lp) in points.iter().zip(log_p) {
        let exact = mdn_mixture::logsumexp(&[log_half_normal(*t), log_half_normal(t - 0.5)]);
        assert_log_agrees(lp, exact, &format!("t = {t}"));
    }
}

#[test]
fn far_targets_with_tiny_and_subnormal_sigma() {
    let mixture = GaussianMixture::new(
        1,
        vec![0.25, 0.25, 0.5],
        vec![0.0, 1.0, 3.0],
        Covariance::Isotropic(vec![1e-8, 1.0, 1e-310]),
    )
    .unwrap();
    let points = [0.0, 1e-9, 0.5, 1.0, 3.0, 3.0 + 1e-320, 1e8, -1e8, 1e200];
    check_against_scalar(&mixture, &points);
    let log_p = mixture.log_prob_many(&points);
    assert!(log_p[..8].iter().all(|v| v.is_finite()), "{log_p:?}");
    assert_eq!(
        log_p[8],
        f64::NEG_INFINITY,
        "(1e200)² overflows, as in log_prob"
    );
}

#[test]
fn non_finite_targets_behave_as_in_the_scalar_path() {
    let mixture = GaussianMixture::new(
        2,
        vec![0.5, 0.5],
        vec![0.0, 0.0, 1.0, 1.0],
        Covariance::Diagonal(vec![1.0, 2.0, 0.5, 0.5]),
    )
    .unwrap();
    let points = [
        f64::NAN,
        0.0,
        f64::INFINITY,
        0.0,
        0.0,
        f64::NEG_INFINITY,
        0.3,
        0.4,
    ];
    let log_p = mixture.log_prob_many(&points);
    let p = mixture.prob_many(&points);
    for (i, t) in points.chunks(2).enumerate() {
        let (scalar_log, scalar) = (mixture.log_prob(t), mixture.prob(t));
        assert!(
            log_p[i] == scalar_log || (log_p[i].is_nan() && scalar_log.is_nan()),
            "{t:?}: {} vs {scalar_log}",
            log_p[i]
        );
        assert!(
            p[i] == scalar || (p[i].is_nan() && scalar.is_nan()) || (p[i] - scalar).abs() < 1e-15,
            "{t:?}: {} vs {scalar}",
            p[i]
        );
    }
}

#[test]
fn no_targets() {
    let mixture =
        GaussianMixture::new(3, vec![1.0], vec![0.0; 3], Covariance::Isotropic(vec![1.0])).unwrap();
    mixture.log_prob_batch(&[], &mut []);
    mixture.prob_batch(&[], &mut []);
    assert!(mixture.log_prob_many(&[]).is_empty());
    assert!(mixture.prob_many(&[]).is_empty());
}

fn two_dimensional() -> GaussianMixture {
    GaussianMixture::new(2, vec![1.0], vec![0.0; 2], Covariance::Isotropic(vec![1.0])).unwrap()
}

#[test]
#[should_panic(expected = "points has 3 values, not a multiple of the mixture's dimension 2")]
fn points_must_hold_whole_targets() {
    two_dimensional().log_prob_batch(&[0.0; 3], &mut [0.0; 1]);
}

#[test]
#[should_panic(expected = "points has 5 values, not a multiple of the mixture's dimension 2")]
fn points_must_hold_whole_targets_for_many() {
    two_dimensional().prob_many(&[0.0; 5]);
}

#[test]
#[should_panic(expected = "out has 3 entries for 2 targets")]
fn out_must_have_one_entry_per_target() {
    two_dimensional().prob_batch(&[0.0; 4], &mut [0.0; 3]);
}

#[test]
#[should_panic(expected = "out has 1 entries for 2 targets")]
fn out_must_have_one_entry_per_target_for_log() {
    two_dimensional().log_prob_batch(&[0.0; 4], &mut [0.0; 1]);
}
