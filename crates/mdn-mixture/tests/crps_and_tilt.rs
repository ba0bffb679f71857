//! The closed-form CRPS against numerical integration of its definition and against the
//! single-Gaussian formula; the tilted mixture against p(t)·exp(−a·t) pointwise.

use mdn_mixture::{Covariance, GaussianMixture};

fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// ∫ (F(x) − 1{x ≥ y})² dx by composite Simpson on [lo, y] and [y, hi], n panels each.
fn crps_by_integration(m: &GaussianMixture, j: usize, y: f64, lo: f64, hi: f64) -> f64 {
    let n = 20_000;
    let simpson = |a: f64, b: f64, f: &dyn Fn(f64) -> f64| {
        let h = (b - a) / n as f64;
        let mut total = f(a) + f(b);
        for k in 1..n {
            total += f(a + h * k as f64) * if k % 2 == 1 { 4.0 } else { 2.0 };
        }
        total * h / 3.0
    };
    let cdf = |x: f64| m.marginal_cdf(j, x).unwrap();
    simpson(lo, y, &|x| cdf(x).powi(2)) + simpson(y, hi, &|x| (1.0 - cdf(x)).powi(2))
}

#[test]
fn crps_matches_a_numerical_integral_of_its_definition() {
    let bimodal = GaussianMixture::new(
        1,
        vec![0.3, 0.7],
        vec![-1.0, 2.0],
        Covariance::Isotropic(vec![0.4, 0.9]),
    )
    .unwrap();
    let correlated = GaussianMixture::new(
        2,
        vec![0.5, 0.25, 0.25],
        vec![0.0, 1.0, 3.0, -2.0, -1.0, 0.5],
        Covariance::Full(vec![
            1.0, 0.6, 0.6, 2.0, //
            0.3, -0.1, -0.1, 0.2, //
            2.5, 0.0, 0.0, 0.7,
        ]),
    )
    .unwrap();
    for (m, j) in [(&bimodal, 0), (&correlated, 0), (&correlated, 1)] {
        for y in [-4.0, -1.0, 0.0, 0.7, 2.0, 9.0] {
            let closed = m.marginal_crps(j, y).unwrap();
            let numeric = crps_by_integration(m, j, y, -30.0, 30.0);
            assert!(
                (closed - numeric).abs() < 1e-6,
                "dim {j}, y {y}: closed form {closed}, integral {numeric}"
            );
        }
    }
}

#[test]
fn crps_of_one_gaussian_is_the_textbook_formula() {
    // CRPS(N(μ, σ²), y) = σ [z (2Φ(z) − 1) + 2φ(z) − 1/√π], z = (y − μ)/σ (Gneiting & Raftery
    // 2007; properscoring.crps_gaussian(y, mu, sig)).
    let (mu, sigma) = (0.4, 1.7);
    let one =
        GaussianMixture::new(1, vec![1.0], vec![mu], Covariance::Isotropic(vec![sigma])).unwrap();
    for y in [-3.0, 0.0, 0.4, 2.5] {
        let z: f64 = (y - mu) / sigma;
        let pdf = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let expected = sigma
            * (z * (2.0 * normal_cdf(z) - 1.0) + 2.0 * pdf - 1.0 / std::f64::consts::PI.sqrt());
        let got = one.marginal_crps(0, y).unwrap();
        assert!((got - expected).abs() < 1e-12, "y {y}: {got} vs {expected}");
    }
    assert!(one.marginal_crps(1, 0.0).is_err());
}

#[test]
fn the_tilted_mixture_is_the_density_times_an_exponential() {
    let m = GaussianMixture::new(
        2,
        vec![0.6, 0.4],
        vec![0.0, 1.0, 2.0, -1.0],
        Covariance::Full(vec![1.0, 0.3, 0.3, 0.5, 0.4, 0.0, 0.0, 2.0]),
    )
    .unwrap();
    let a = [1.0, -0.5];
    let tilted = m.tilted(&a);
    let points = [[0.0, 0.0], [1.5, -2.0], [-1.0, 3.0], [2.2, 0.4]];
    let ratios: Vec<f64> = points
        .iter()
        .map(|t| {
            let target = m.log_prob(t) - (a[0] * t[0] + a[1] * t[1]);
            tilted.log_prob(t) - target
        })
        .collect();
    for r in &ratios {
        assert!((r - ratios[0]).abs() < 1e-10, "log ratios {ratios:?}");
    }
    let total: f64 = tilted.weights().iter().sum();
    assert!((total - 1.0).abs() < 1e-12);
}
