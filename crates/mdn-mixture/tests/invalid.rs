//! Every invalid parameter is rejected with the error that names it.

use mdn_mixture::{Covariance, GaussianMixture, MixtureError, Temperature};

fn iso(
    weights: Vec<f64>,
    means: Vec<f64>,
    sigma: Vec<f64>,
) -> Result<GaussianMixture, MixtureError> {
    GaussianMixture::new(1, weights, means, Covariance::Isotropic(sigma))
}

#[test]
fn negative_or_non_finite_weights() {
    assert_eq!(
        iso(vec![1.5, -0.5], vec![0.0, 1.0], vec![1.0, 1.0]),
        Err(MixtureError::InvalidWeight {
            component: 1,
            value: -0.5
        })
    );
    assert!(matches!(
        iso(vec![f64::NAN, 1.0], vec![0.0, 1.0], vec![1.0, 1.0]),
        Err(MixtureError::InvalidWeight { component: 0, .. })
    ));
    assert!(matches!(
        iso(vec![f64::INFINITY, 1.0], vec![0.0, 1.0], vec![1.0, 1.0]),
        Err(MixtureError::InvalidWeight { component: 0, .. })
    ));
}

#[test]
fn weights_not_summing_to_one() {
    let error = iso(vec![0.5, 0.6], vec![0.0, 1.0], vec![1.0, 1.0]).unwrap_err();
    assert!(
        matches!(error, MixtureError::WeightsNotNormalised { sum, .. } if (sum - 1.1).abs() < 1e-12)
    );
    assert!(
        error.to_string().contains("from_log_weights"),
        "says what to do: {error}"
    );
    // Within tolerance is accepted and renormalised.
    let m = iso(vec![0.5, 0.5 + 1e-9], vec![0.0, 1.0], vec![1.0, 1.0]).unwrap();
    assert!((m.weights().iter().sum::<f64>() - 1.0).abs() < 1e-15);
}

#[test]
fn invalid_log_weights() {
    let build = |w: Vec<f64>| {
        GaussianMixture::from_log_weights(
            1,
            w,
            vec![0.0, 1.0],
            Covariance::Isotropic(vec![1.0, 1.0]),
        )
    };
    assert!(matches!(
        build(vec![0.0, f64::NAN]),
        Err(MixtureError::InvalidLogWeight { component: 1, .. })
    ));
    assert!(matches!(
        build(vec![f64::INFINITY, 0.0]),
        Err(MixtureError::InvalidLogWeight { component: 0, .. })
    ));
    assert!(matches!(
        build(vec![f64::NEG_INFINITY, f64::NEG_INFINITY]),
        Err(MixtureError::InvalidLogWeight { .. })
    ));
    // One −∞ is a component of weight zero, which is fine; large logits are fine too.
    let m = build(vec![f64::NEG_INFINITY, 0.0]).unwrap();
    assert_eq!(m.weights(), vec![0.0, 1.0]);
    let m = build(vec![1000.0, 1000.0]).unwrap();
    assert!(
        m.weights().iter().all(|w| (w - 0.5).abs() < 1e-12),
        "{:?}",
        m.weights()
    );
}

#[test]
fn invalid_sigma() {
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let error = iso(vec![0.5, 0.5], vec![0.0, 1.0], vec![1.0, bad]).unwrap_err();
        assert!(
            matches!(
                error,
                MixtureError::InvalidSigma {
                    component: 1,
                    dimension: 0,
                    ..
                }
            ),
            "{bad}: {error:?}"
        );
    }
    let error = GaussianMixture::new(
        2,
        vec![1.0],
        vec![0.0, 0.0],
        Covariance::Diagonal(vec![1.0, -2.0]),
    )
    .unwrap_err();
    assert!(matches!(
        error,
        MixtureError::InvalidSigma {
            component: 0,
            dimension: 1,
            ..
        }
    ));
}

#[test]
fn non_finite_mean() {
    let error = GaussianMixture::new(
        2,
        vec![0.5, 0.5],
        vec![0.0, 0.0, 1.0, f64::NAN],
        Covariance::Isotropic(vec![1.0, 1.0]),
    )
    .unwrap_err();
    assert!(matches!(
        error,
        MixtureError::NonFiniteMean {
            component: 1,
            dimension: 1,
            ..
        }
    ));
}

#[test]
fn non_positive_definite_covariance() {
    let build =
        |cov: Vec<f64>| GaussianMixture::new(2, vec![1.0], vec![0.0, 0.0], Covariance::Full(cov));
    // Indefinite: eigenvalues 3 and −1.
    assert!(matches!(
        build(vec![1.0, 2.0, 2.0, 1.0]),
        Err(MixtureError::NotPositiveDefinite { component: 0, .. })
    ));
    // Singular.
    assert!(matches!(
        build(vec![1.0, 1.0, 1.0, 1.0]),
        Err(MixtureError::NotPositiveDefinite { .. })
    ));
    // Not symmetric.
    let error = build(vec![1.0, 0.5, 0.2, 1.0]).unwrap_err();
    assert!(error.to_string().contains("not symmetric"), "{error}");
    // Cholesky factors: non-positive diagonal, or a non-zero entry above the diagonal.
    let chol =
        |l: Vec<f64>| GaussianMixture::new(2, vec![1.0], vec![0.0, 0.0], Covariance::Cholesky(l));
    assert!(matches!(
        chol(vec![1.0, 0.0, 0.3, -1.0]),
        Err(MixtureError::NotPositiveDefinite { .. })
    ));
    assert!(matches!(
        chol(vec![1.0, 0.3, 0.0, 1.0]),
        Err(MixtureError::NotPositiveDefinite { .. })
    ));
}

#[test]
fn mismatched_shapes() {
    let error = GaussianMixture::new(
        2,
        vec![0.5, 0.5],
        vec![0.0, 1.0, 2.0],
        Covariance::Isotropic(vec![1.0, 1.0]),
    )
    .unwrap_err();
    assert_eq!(
        error,
        MixtureError::ShapeMismatch {
            what: "means",
            expected: 4,
            got: 3
        }
    );
    let error = GaussianMixture::new(
        1,
        vec![0.5, 0.5],
        vec![0.0, 1.0],
        Covariance::Isotropic(vec![1.0]),
    )
    .unwrap_err();
    assert!(matches!(
        error,
        MixtureError::ShapeMismatch {
            what: "isotropic sigma",
            expected: 2,
            got: 1
        }
    ));
    let error = GaussianMixture::new(
        2,
        vec![1.0],
        vec![0.0, 1.0],
        Covariance::Diagonal(vec![1.0]),
    )
    .unwrap_err();
    assert!(matches!(
        error,
        MixtureError::ShapeMismatch {
            expected: 2,
            got: 1,
            ..
        }
    ));
    let error = GaussianMixture::new(
        2,
        vec![1.0],
        vec![0.0, 1.0],
        Covariance::Cholesky(vec![1.0, 0.0, 1.0]),
    )
    .unwrap_err();
    assert!(matches!(
        error,
        MixtureError::ShapeMismatch {
            expected: 4,
            got: 3,
            ..
        }
    ));
    assert_eq!(
        GaussianMixture::new(0, vec![1.0], vec![], Covariance::Isotropic(vec![1.0])),
        Err(MixtureError::ZeroDimension)
    );
    assert_eq!(
        GaussianMixture::new(1, vec![], vec![], Covariance::Isotropic(vec![])),
        Err(MixtureError::NoComponents)
    );
}

#[test]
fn invalid_queries() {
    let m = iso(vec![1.0], vec![0.0], vec![1.0]).unwrap();
    for p in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
        assert!(
            matches!(
                m.marginal_quantile(0, p),
                Err(MixtureError::InvalidProbability { .. })
            ),
            "{p}"
        );
    }
    assert_eq!(
        m.marginal_quantile(1, 0.5),
        Err(MixtureError::DimensionOutOfRange { index: 1, dim: 1 })
    );
    assert_eq!(
        m.marginal_cdf(3, 0.5),
        Err(MixtureError::DimensionOutOfRange { index: 3, dim: 1 })
    );
    for t in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(
                Temperature::new(t),
                Err(MixtureError::InvalidTemperature { .. })
            ),
            "{t}"
        );
    }
}
