//! One component, a weight of zero, σ = 1e-8, targets at 1e8.

use mdn_mixture::{Covariance, GaussianMixture, ModeOptions, Temperature};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[test]
fn one_component_is_a_plain_gaussian() {
    let m =
        GaussianMixture::new(1, vec![1.0], vec![2.0], Covariance::Isotropic(vec![0.5])).unwrap();
    // scipy.stats.norm(2, 0.5).logpdf(3.0) = -2.2257913526447273
    assert!((m.log_prob(&[3.0]) - -2.2257913526447273).abs() < 1e-14);
    assert_eq!(m.best_mean(), &[2.0]);
    assert_eq!(m.mean(), vec![2.0]);
    let modes = m.modes(&ModeOptions::default());
    assert_eq!(modes.len(), 1);
    assert!((modes[0].location[0] - 2.0).abs() < 1e-12);
    // scipy.stats.norm(2, 0.5).ppf(0.9) = 2.6407757827723
    assert!((m.marginal_quantile(0, 0.9).unwrap() - 2.6407757827723).abs() < 1e-10);
}

#[test]
fn a_weight_of_zero_never_counts() {
    let with = GaussianMixture::new(
        1,
        vec![0.0, 1.0],
        vec![5.0, 0.0],
        Covariance::Isotropic(vec![1.0, 1.0]),
    )
    .unwrap();
    let without =
        GaussianMixture::new(1, vec![1.0], vec![0.0], Covariance::Isotropic(vec![1.0])).unwrap();
    for t in [-2.0, 0.0, 5.0, 40.0] {
        assert!(
            (with.log_prob(&[t]) - without.log_prob(&[t])).abs() < 1e-14,
            "t = {t}"
        );
    }
    assert_eq!(with.best_component(), 1);
    assert_eq!(with.modes(&ModeOptions::default()).len(), 1);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let draws = with.sample_n(2000, &mut rng, Temperature::ONE);
    assert!(
        draws.iter().all(|d| d[0] < 4.5),
        "no draw from the zero-weight component"
    );
    assert_eq!(with.responsibilities(&[5.0])[0], 0.0);
}

#[test]
fn tiny_sigma_and_far_targets_stay_finite() {
    let m = GaussianMixture::new(
        1,
        vec![0.5, 0.5],
        vec![0.0, 1.0],
        Covariance::Isotropic(vec![1e-8, 1.0]),
    )
    .unwrap();
    // At the narrow mean: log(0.5 / (1e-8 √(2π)) + 0.5 φ(0)) ≈ 16.8919…
    let expected = (0.5 / (1e-8 * (2.0 * std::f64::consts::PI).sqrt())
        + 0.5 * (-0.5f64).exp() / (2.0 * std::f64::consts::PI).sqrt())
    .ln();
    assert!((m.log_prob(&[0.0]) - expected).abs() < 1e-12);
    // Far out, where every density underflows, the log density is exact: the wide component
    // dominates with log(0.5) − ½ ln 2π − (1e8 − 1)²/2.
    let far = 1e8;
    let expected =
        0.5f64.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln() - 0.5 * (far - 1.0) * (far - 1.0);
    let got = m.log_prob(&[far]);
    assert!(
        got.is_finite() && ((got - expected) / expected).abs() < 1e-14,
        "{got} vs {expected}"
    );
    assert_eq!(m.prob(&[far]), 0.0);
    let r = m.responsibilities(&[far]);
    assert!(
        r.iter().all(|v| v.is_finite()) && (r[1] - 1.0).abs() < 1e-15,
        "{r:?}"
    );
    // Quantiles resolve the narrow component.
    let q = m.marginal_quantile(0, 0.25).unwrap();
    assert!(
        q.abs() < 1e-7,
        "the 25% quantile sits inside the narrow spike: {q}"
    );
    let modes = m.modes(&ModeOptions::default());
    assert!((modes[0].location[0]).abs() < 1e-12 && modes[0].log_density > 16.0);
}

#[test]
fn temperature_sharpens_and_flattens() {
    let m = GaussianMixture::new(
        1,
        vec![0.2, 0.8],
        vec![-1.0, 1.0],
        Covariance::Isotropic(vec![0.1, 0.1]),
    )
    .unwrap();
    let cold = m.with_temperature(Temperature::new(0.5).unwrap());
    // α^(1/T) renormalised: 0.04 / 0.68 and 0.64 / 0.68; σ scaled by √T.
    assert!((cold.weights()[0] - 0.04 / 0.68).abs() < 1e-12);
    assert!((cold.component_std(1)[0] - 0.1 * 0.5f64.sqrt()).abs() < 1e-12);
    let hot = m.with_temperature(Temperature::new(100.0).unwrap());
    assert!((hot.weights()[0] - 0.5).abs() < 0.01);
    // The tempered mixture is still a normalised density: compare a Riemann sum.
    let h = 1e-4;
    let total: f64 = (0..60_000)
        .map(|i| cold.prob(&[-3.0 + h * i as f64]) * h)
        .sum();
    assert!((total - 1.0).abs() < 1e-6, "{total}");
}
