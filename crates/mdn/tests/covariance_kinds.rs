//! Each covariance kind trains, and the full-covariance head learns a correlation the others
//! cannot represent.

use mdn::{Architecture, Backbone, CovarianceKind, Dataset, TrainConfig, Trainer};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// t = (x, x) + noise with correlation 0.9 and std 0.2 in both coordinates.
fn correlated(n: usize) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut x = Vec::new();
    let mut t = Vec::new();
    for _ in 0..n {
        let xi: f64 = rng.random_range(-1.0..1.0);
        let (e1, e2): (f64, f64) = (rng.sample(StandardNormal), rng.sample(StandardNormal));
        x.push(xi);
        t.push(xi + 0.2 * e1);
        t.push(xi + 0.2 * (0.9 * e1 + (1.0f64 - 0.81).sqrt() * e2));
    }
    Dataset::new(x, 1, t, 2).unwrap()
}

#[test]
fn full_covariance_learns_the_correlation() {
    let data = correlated(1000);
    let backbone = Backbone::mlp(1, vec![16]);
    let config = TrainConfig {
        epochs: 60,
        validation_fraction: 0.0,
        ensemble: 1,
        noise_y: mdn::Noise::Off,
        ..TrainConfig::default()
    };
    let trainer = Trainer::new(config.check().unwrap()).with_progress(false);
    let mut nll = Vec::new();
    for kind in [
        CovarianceKind::Isotropic,
        CovarianceKind::Diagonal,
        CovarianceKind::Full,
    ] {
        let network = Architecture::mdn(backbone.clone(), 2, 1)
            .with_covariance(kind)
            .check()
            .unwrap();
        let model = trainer.fit(&network, &data).unwrap().model;
        let mixture = model.predict_one(&[0.0]).unwrap().into_mixture();
        let cov = mixture.covariance();
        let correlation = cov[1] / (cov[0] * cov[3]).sqrt();
        let ll = model.log_likelihood(data.inputs(), data.targets()).unwrap();
        nll.push(-ll.iter().sum::<f64>() / ll.len() as f64);
        eprintln!(
            "{kind:?}: correlation {correlation:.3}, std {:.3} {:.3}",
            cov[0].sqrt(),
            cov[3].sqrt()
        );
        if kind == CovarianceKind::Full {
            assert!(
                (correlation - 0.9).abs() < 0.05,
                "learned correlation {correlation}"
            );
            assert!((cov[0].sqrt() - 0.2).abs() < 0.03 && (cov[3].sqrt() - 0.2).abs() < 0.03);
        } else {
            assert!(correlation.abs() < 1e-9, "{kind:?} cannot correlate");
        }
    }
    // Exact entropy of the noise: ln(2πe σ²) + ½ ln(1 − ρ²) ≈ −1.13 nats.
    assert!(
        nll[2] < nll[1] - 0.4 && nll[2] < nll[0] - 0.4,
        "NLLs {nll:?}"
    );
}
