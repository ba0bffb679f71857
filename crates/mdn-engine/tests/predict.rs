//! What `Network::predict` returns describes the density that `Network::loss` scores: the
//! negative log-likelihood of the targets under the predicted mixtures, computed here in f64
//! from the returned parameters, equals the loss.

use mdn_engine::{
    Activation, Architecture, Backbone, CovarianceKind, Head, HeadOutput, MixtureParams, Network,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn network(head: Head, seed: u64) -> Network {
    let arch = Architecture {
        backbone: Backbone::Mlp {
            input: 2,
            hidden: vec![7],
            activation: Activation::Tanh,
        },
        head,
    }
    .check()
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let params = (0..arch.param_layout().len())
        .map(|_| rng.random_range(-0.8f32..0.8))
        .collect();
    Network::new(arch, params).unwrap()
}

/// log N(t; μ, L Lᵀ) with L lower-triangular (diagonal `diag`, strictly lower `lower` row by
/// row), in f64.
fn log_normal(t: &[f64], mu: &[f64], diag: &[f64], lower: &[f64]) -> f64 {
    let c = t.len();
    let mut y = vec![0.0; c];
    let mut log_det = 0.0;
    for j in 0..c {
        let mut rhs = t[j] - mu[j];
        for k in 0..j {
            rhs -= lower[j * (j - 1) / 2 + k] * y[k];
        }
        y[j] = rhs / diag[j];
        log_det += diag[j].ln();
    }
    -0.5 * y.iter().map(|v| v * v).sum::<f64>()
        - log_det
        - c as f64 * 0.5 * (2.0 * std::f64::consts::PI).ln()
}

/// −Σ_rows log p(t|x) from the predicted parameters.
fn nll(p: &MixtureParams, targets: &[f32]) -> f64 {
    let (m, c) = (p.components, p.target_dim);
    let lower_count = c * (c - 1) / 2;
    let wide = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
    (0..p.rows)
        .map(|r| {
            let t = wide(&targets[r * c..(r + 1) * c]);
            let joint: Vec<f64> = (0..m)
                .map(|i| {
                    let k = r * m + i;
                    let mu = wide(&p.means[k * c..(k + 1) * c]);
                    let (diag, lower) = match p.covariance {
                        CovarianceKind::Isotropic => {
                            (vec![f64::from(p.sigma[k]); c], vec![0.0; lower_count])
                        }
                        CovarianceKind::Diagonal => {
                            (wide(&p.sigma[k * c..(k + 1) * c]), vec![0.0; lower_count])
                        }
                        CovarianceKind::Full => (
                            wide(&p.sigma[k * c..(k + 1) * c]),
                            wide(&p.lower[k * lower_count..(k + 1) * lower_count]),
                        ),
                    };
                    f64::from(p.log_alpha[k]) + log_normal(&t, &mu, &diag, &lower)
                })
                .collect();
            let max = joint.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            -(max + joint.iter().map(|j| (j - max).exp()).sum::<f64>().ln())
        })
        .sum()
}

#[test]
fn predicted_mixtures_score_the_targets_as_the_loss_does() {
    for c in [1, 2, 3] {
        for covariance in [
            CovarianceKind::Isotropic,
            CovarianceKind::Diagonal,
            CovarianceKind::Full,
        ] {
            let head = Head::Mixture {
                target_dim: c,
                components: 4,
                covariance,
                min_sigma: 1e-3,
            };
            let net = network(head, c as u64);
            let rows = 37;
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let x: Vec<f32> = (0..rows * 2)
                .map(|_| rng.random_range(-2.0f32..2.0))
                .collect();
            let t: Vec<f32> = (0..rows * c)
                .map(|_| rng.random_range(-2.0f32..2.0))
                .collect();
            let HeadOutput::Mixture(params) = net.predict(&x, rows) else {
                panic!("a mixture head predicts mixtures");
            };
            assert_eq!((params.rows, params.covariance), (rows, covariance));
            // Every weight vector is normalised and every scale positive.
            for r in 0..rows {
                let total: f64 = params.log_alpha[r * 4..(r + 1) * 4]
                    .iter()
                    .map(|&l| f64::from(l).exp())
                    .sum();
                assert!((total - 1.0).abs() < 1e-6);
            }
            assert!(params.sigma.iter().all(|&s| s >= 1e-3));
            let expected = net.loss(&x, &t, None, rows).loss;
            let got = nll(&params, &t);
            assert!(
                (got - expected).abs() <= 1e-5 * expected.abs().max(1.0),
                "c = {c}, {covariance:?}: {got} from the parameters vs {expected} from the loss"
            );
        }
    }
}

#[test]
fn least_squares_predicts_its_raw_outputs_row_major() {
    let net = network(Head::LeastSquares { target_dim: 3 }, 4);
    let x = [0.5f32, -1.0, 2.0, 0.25];
    let HeadOutput::Point(means) = net.predict(&x, 2) else {
        panic!("least squares predicts points");
    };
    assert_eq!(means.len(), 6);
    // The loss against the predictions themselves is zero.
    assert_eq!(net.loss(&x, &means, None, 2).loss, 0.0);
}

#[test]
fn large_batches_are_predicted_in_order_across_shards() {
    let head = Head::Mixture {
        target_dim: 1,
        components: 3,
        covariance: CovarianceKind::Isotropic,
        min_sigma: 1e-3,
    };
    let net = network(head, 9);
    let rows = 50_000;
    let x: Vec<f32> = (0..rows * 2).map(|i| (i as f32 * 0.001).sin()).collect();
    assert!(mdn_engine::network::shard_ranges(net.architecture(), rows).len() > 1);
    let HeadOutput::Mixture(all) = net.predict(&x, rows) else {
        unreachable!()
    };
    // The GEMM sums in a different order for different batch sizes, so a row predicted alone
    // can differ from the same row in a large batch in the last bit (as in PyTorch);
    // what matters here is that every row lands in its place.
    let close = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .all(|(a, b)| (a - b).abs() <= 1e-6 * (1.0 + a.abs()))
    };
    for r in [0, 1, 12_345, 24_999, 25_000, rows - 1] {
        let HeadOutput::Mixture(one) = net.predict(&x[r * 2..r * 2 + 2], 1) else {
            unreachable!()
        };
        assert!(close(&one.means, &all.means[r * 3..r * 3 + 3]), "row {r}");
        assert!(
            close(&one.log_alpha, &all.log_alpha[r * 3..r * 3 + 3]),
            "row {r}"
        );
        assert!(close(&one.sigma, &all.sigma[r * 3..r * 3 + 3]), "row {r}");
    }
}

#[test]
fn a_cnn_predicts_many_images_in_several_passes_in_order() {
    let arch = Architecture {
        backbone: Backbone::Cnn {
            height: 28,
            width: 28,
            channels: vec![16, 32],
            kernel: 5,
            hidden: 32,
            activation: Activation::Relu,
        },
        head: Head::Mixture {
            target_dim: 1,
            components: 2,
            covariance: CovarianceKind::Isotropic,
            min_sigma: 1e-3,
        },
    }
    .check()
    .unwrap();
    let rows = 2 * mdn_engine::network::pass_rows(&arch) + 5;
    assert!(
        rows < 1000,
        "a pass of MNIST images is kept small ({rows} rows in three)"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let params = (0..arch.param_layout().len())
        .map(|_| rng.random_range(-0.1f32..0.1))
        .collect();
    let net = Network::new(arch, params).unwrap();
    let x: Vec<f32> = (0..rows * 784)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    let HeadOutput::Mixture(all) = net.predict(&x, rows) else {
        unreachable!()
    };
    assert_eq!(all.rows, rows);
    for r in [0, rows / 2, rows - 1] {
        let HeadOutput::Mixture(one) = net.predict(&x[r * 784..(r + 1) * 784], 1) else {
            unreachable!()
        };
        for (a, b) in one.means.iter().zip(&all.means[r * 2..r * 2 + 2]) {
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
                "row {r}: {a} vs {b}"
            );
        }
    }
}
