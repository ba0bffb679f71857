//! Log densities, quantiles, moments and responsibilities against SciPy/NumPy.
//!
//! The values were produced with SciPy 1.17.1 / NumPy 2.4.6; the Python line that produced
//! each one is quoted. `lp` is
//! `lp = lambda w, mus, covs, t: logsumexp([np.log(wi) + multivariate_normal(mu, c).logpdf(t) for wi, mu, c in zip(w, mus, covs)])`.

use mdn_mixture::{Covariance, GaussianMixture};

const WEIGHTS: [f64; 3] = [0.2, 0.5, 0.3];
const MEANS: [f64; 6] = [0.0, 1.0, 2.0, -1.0, -1.5, 0.5];
const POINTS: [[f64; 2]; 4] = [[0.1, 0.9], [2.5, -0.3], [-1.4, 0.6], [10.0, -20.0]];

fn assert_rel(got: f64, expected: f64, tolerance: f64, what: &str) {
    let error = (got - expected).abs() / expected.abs().max(1e-300);
    assert!(
        error <= tolerance,
        "{what}: got {got:e}, expected {expected:e} (relative error {error:e})"
    );
}

fn mixture(covariance: Covariance) -> GaussianMixture {
    GaussianMixture::new(2, WEIGHTS.to_vec(), MEANS.to_vec(), covariance).unwrap()
}

fn full() -> GaussianMixture {
    mixture(Covariance::Full(vec![
        0.5, 0.3, 0.3, 0.4, 1.0, -0.6, -0.6, 2.0, 0.2, 0.05, 0.05, 0.1,
    ]))
}

fn check(mixture: &GaussianMixture, expected: [f64; 4], kind: &str) {
    for (t, e) in POINTS.iter().zip(expected) {
        assert_rel(
            mixture.log_prob(t),
            e,
            1e-10,
            &format!("{kind} log_prob at {t:?}"),
        );
    }
}

#[test]
fn isotropic_log_density_matches_scipy() {
    // s = [0.5, 1.2, 0.3]; lp(w, mus, [si**2*np.eye(2) for si in s], t)
    let expected = [
        -2.0648567709286514,
        -3.1526114270157666,
        -0.7402978968911852,
        -150.46511180500167,
    ];
    check(
        &mixture(Covariance::Isotropic(vec![0.5, 1.2, 0.3])),
        expected,
        "isotropic",
    );
}

#[test]
fn diagonal_log_density_matches_scipy() {
    // sd = [[0.5, 0.2], [1.2, 0.7], [0.3, 2.0]]; lp(w, mus, [np.diag(np.array(x)**2) for x in sd], t)
    let expected = [
        -1.2872640967688491,
        -2.9434764153800534,
        -2.5748755442469884,
        -392.94624002082236,
    ];
    check(
        &mixture(Covariance::Diagonal(vec![0.5, 0.2, 1.2, 0.7, 0.3, 2.0])),
        expected,
        "diagonal",
    );
}

#[test]
fn full_log_density_matches_scipy() {
    // covs = [[[0.5, 0.3], [0.3, 0.4]], [[1.0, -0.6], [-0.6, 2.0]], [[0.2, 0.05], [0.05, 0.1]]]
    let expected = [
        -2.314472382544837,
        -3.208250416584118,
        -1.0504776268564633,
        -96.25398212398493,
    ];
    check(&full(), expected, "full");
}

#[test]
fn cholesky_input_matches_full_input() {
    let from_matrices = full();
    let factors: Vec<f64> = (0..3)
        .flat_map(|k| {
            let s = from_matrices.component_covariance(k);
            let l00 = s[0].sqrt();
            let l10 = s[2] / l00;
            let l11 = (s[3] - l10 * l10).sqrt();
            [l00, 0.0, l10, l11]
        })
        .collect();
    let from_factors = mixture(Covariance::Cholesky(factors));
    for t in POINTS {
        assert_rel(
            from_factors.log_prob(&t),
            from_matrices.log_prob(&t),
            1e-12,
            "Cholesky vs full",
        );
    }
}

#[test]
fn three_dimensional_full_log_density_matches_scipy() {
    // lp([0.4, 0.6], [[0, 1, -1], [2, -1, .5]], [[[4, 1.2, .4], [1.2, 2, -.3], [.4, -.3, 1.5]],
    //    [[1, .2, 0], [.2, .5, .1], [0, .1, .3]]], t)
    let mixture = GaussianMixture::new(
        3,
        vec![0.4, 0.6],
        vec![0.0, 1.0, -1.0, 2.0, -1.0, 0.5],
        Covariance::Full(vec![
            4.0, 1.2, 0.4, 1.2, 2.0, -0.3, 0.4, -0.3, 1.5, //
            1.0, 0.2, 0.0, 0.2, 0.5, 0.1, 0.0, 0.1, 0.3,
        ]),
    )
    .unwrap();
    assert_rel(
        mixture.log_prob(&[0.5, 0.5, 0.5]),
        -5.354432077803957,
        1e-10,
        "3-d at (.5,.5,.5)",
    );
    assert_rel(
        mixture.log_prob(&[2.0, -1.0, 0.4]),
        -2.2520974199525967,
        1e-10,
        "3-d at (2,-1,.4)",
    );
}

#[test]
fn marginal_quantiles_match_scipy() {
    // f = lambda x, p: sum(wi*norm(mu[1], np.sqrt(c[1,1])).cdf(x) for ...) - p
    // brentq(f, -50, 50, args=(p,), xtol=1e-14, rtol=1e-15)
    let mixture = full();
    for (p, expected) in [
        (0.05, -2.8123876075504355),
        (0.5, 0.2641853499197975),
        (0.95, 1.6079829428344843),
    ] {
        assert_rel(
            mixture.marginal_quantile(1, p).unwrap(),
            expected,
            1e-10,
            &format!("quantile {p}"),
        );
    }
}

#[test]
fn moments_match_numpy() {
    // mean = sum(wi*np.array(mu) ...); cov = sum(wi*(c + np.outer(mu, mu)) ...) - np.outer(mean, mean)
    let mixture = full();
    let mean = mixture.mean();
    assert_rel(mean[0], 0.55, 1e-12, "mean 0");
    assert_rel(mean[1], -0.15, 1e-12, "mean 1");
    for (got, expected) in mixture
        .covariance()
        .iter()
        .zip([3.0325, -1.3675, -1.3675, 1.8625])
    {
        assert_rel(*got, expected, 1e-12, "covariance");
    }
}

#[test]
fn responsibilities_match_scipy() {
    // lj = [np.log(wi) + mvn(mu, c).logpdf([1, 0]) ...]; np.exp(lj - logsumexp(lj))
    let expected = [
        2.9157549637955082e-03,
        9.970_842_438_493_776e-1,
        1.1868267497097406e-09,
    ];
    for (got, e) in full().responsibilities(&[1.0, 0.0]).iter().zip(expected) {
        assert_rel(*got, e, 1e-9, "responsibility");
    }
}
