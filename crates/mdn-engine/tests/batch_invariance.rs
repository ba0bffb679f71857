//! Inference is batch-invariant: what `Network::predict` returns for a row, and the loss
//! `Network::loss` scores it with, are the same bits whether the row is predicted alone, in a
//! batch of 7 or among 100,000 rows (several passes, several shards). Callers split their
//! data however they like (scikit-learn checks predictions on subsets, Dask partitions differ
//! from in-process chunks) and must get the same numbers.

use mdn_engine::{
    Activation, Architecture, Backbone, CovarianceKind, Head, HeadOutput, MixtureParams, Network,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn mixture(target_dim: usize, components: usize, covariance: CovarianceKind) -> Head {
    Head::Mixture {
        target_dim,
        components,
        covariance,
        min_sigma: 1e-3,
    }
}

fn mlp(input: usize, hidden: Vec<usize>, activation: Activation, head: Head) -> Architecture {
    Architecture {
        backbone: Backbone::Mlp {
            input,
            hidden,
            activation,
        },
        head,
    }
}

fn cnn(
    height: usize,
    width: usize,
    channels: Vec<usize>,
    kernel: usize,
    head: Head,
) -> Architecture {
    Architecture {
        backbone: Backbone::Cnn {
            height,
            width,
            channels,
            kernel,
            hidden: 24,
            activation: Activation::Relu,
        },
        head,
    }
}

/// A network initialised from `seed`, with `rows` random inputs and targets.
fn problem(arch: Architecture, rows: usize, seed: u64) -> (Network, Vec<f32>, Vec<f32>) {
    let arch = arch.check().expect("a valid architecture");
    let (d, c) = (arch.input_dim(), arch.target_dim());
    let network = Network::init(arch, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 1);
    let x = (0..rows * d)
        .map(|_| rng.random_range(-2.0f32..2.0))
        .collect();
    let t = (0..rows * c)
        .map(|_| rng.random_range(-2.0f32..2.0))
        .collect();
    (network, x, t)
}

/// Row `r` of a prediction, every value as its bits.
fn row_bits(output: &HeadOutput, r: usize) -> Vec<u32> {
    let slice = |v: &[f32], rows: usize| {
        let per = v.len() / rows.max(1);
        v[r * per..(r + 1) * per]
            .iter()
            .map(|x| x.to_bits())
            .collect::<Vec<u32>>()
    };
    match output {
        HeadOutput::Point(p) => slice(p, p.len() / p.len().max(1)),
        HeadOutput::Mixture(MixtureParams {
            rows,
            log_alpha,
            means,
            sigma,
            lower,
            ..
        }) => [
            slice(log_alpha, *rows),
            slice(means, *rows),
            slice(sigma, *rows),
            if lower.is_empty() {
                Vec::new()
            } else {
                slice(lower, *rows)
            },
        ]
        .concat(),
    }
}

fn rows_of(output: &HeadOutput) -> usize {
    match output {
        HeadOutput::Point(_) => unreachable!("the point case is sliced by the caller"),
        HeadOutput::Mixture(p) => p.rows,
    }
}

/// Row `r` of a point prediction with `c` targets, as bits.
fn point_bits(output: &HeadOutput, c: usize, r: usize) -> Vec<u32> {
    let HeadOutput::Point(p) = output else {
        unreachable!()
    };
    p[r * c..(r + 1) * c].iter().map(|x| x.to_bits()).collect()
}

/// Checks, for `total` rows: a prediction of all of them at once, of the batch of 7 starting
/// at each probe row and of each probe row alone give the same bits for the probe rows; and
/// the loss of the whole batch is the sum, in row order, of the rows' losses alone.
fn check(arch: Architecture, total: usize, probes: &[usize]) {
    let name = format!("{arch:?}");
    let (network, x, t) = problem(arch, total, 3);
    let (d, c) = (
        network.architecture().input_dim(),
        network.architecture().target_dim(),
    );
    let point = matches!(network.architecture().head, Head::LeastSquares { .. });
    let bits = |output: &HeadOutput, r: usize| {
        if point {
            point_bits(output, c, r)
        } else {
            assert!(r < rows_of(output));
            row_bits(output, r)
        }
    };
    let all = network.predict(&x, total);
    for &r in probes {
        let alone = network.predict(&x[r * d..(r + 1) * d], 1);
        assert_eq!(
            bits(&alone, 0),
            bits(&all, r),
            "{name}: row {r} alone vs in {total}"
        );
        let start = r.saturating_sub(3).min(total.saturating_sub(7));
        let seven = network.predict(&x[start * d..(start + 7) * d], 7);
        assert_eq!(
            bits(&seven, r - start),
            bits(&all, r),
            "{name}: row {r} in a batch of 7 vs in {total}"
        );
    }
    // The loss: the batch's sums are the single rows' sums added in row order.
    let batch = network.loss(&x, &t, None, total);
    let (mut loss, mut squared) = (0.0f64, vec![0.0f64; if point { c } else { 0 }]);
    for r in 0..total {
        let one = network.loss(&x[r * d..(r + 1) * d], &t[r * c..(r + 1) * c], None, 1);
        loss += one.loss;
        for (s, v) in squared.iter_mut().zip(&one.squared) {
            *s += v;
        }
    }
    assert_eq!(
        batch.loss.to_bits(),
        loss.to_bits(),
        "{name}: loss of {total} rows"
    );
    if point {
        assert_eq!(
            batch.squared, squared,
            "{name}: squared errors of {total} rows"
        );
    }
    // Weighted evaluation too.
    let weights: Vec<f32> = (0..total).map(|r| (r % 5) as f32 * 0.5).collect();
    let batch = network.loss(&x, &t, Some(&weights), total);
    let (mut loss, mut weight) = (0.0f64, 0.0f64);
    for r in 0..total {
        let one = network.loss(
            &x[r * d..(r + 1) * d],
            &t[r * c..(r + 1) * c],
            Some(&weights[r..r + 1]),
            1,
        );
        loss += one.loss;
        weight += one.weight;
    }
    assert_eq!(
        batch.loss.to_bits(),
        loss.to_bits(),
        "{name}: weighted loss"
    );
    assert_eq!(
        batch.weight.to_bits(),
        weight.to_bits(),
        "{name}: weight sum"
    );
}

#[test]
fn mlp_predictions_do_not_depend_on_the_batch() {
    let probes = [0, 1, 6, 4_095, 4_096, 12_345, 50_001, 99_999];
    // The toy MDN, several passes and eight shards at 100,000 rows.
    check(
        mlp(
            1,
            vec![32, 32],
            Activation::Tanh,
            mixture(1, 5, CovarianceKind::Isotropic),
        ),
        100_000,
        &probes,
    );
    // Wider layers (several output panels, odd widths), every activation and head.
    check(
        mlp(
            13,
            vec![37, 70],
            Activation::Gelu,
            mixture(2, 3, CovarianceKind::Full),
        ),
        100_000,
        &probes,
    );
    check(
        mlp(
            5,
            vec![20],
            Activation::Relu,
            Head::LeastSquares { target_dim: 3 },
        ),
        20_000,
        &[0, 1, 7, 9_999, 19_999],
    );
    // A linear model.
    check(
        mlp(
            3,
            vec![],
            Activation::Tanh,
            mixture(1, 2, CovarianceKind::Diagonal),
        ),
        1_000,
        &[0, 999],
    );
}

#[test]
fn cnn_predictions_do_not_depend_on_the_batch() {
    // The MNIST CNN's shape on 28 × 28 images: passes of a few dozen images.
    check(
        cnn(
            28,
            28,
            vec![16, 32],
            5,
            mixture(1, 5, CovarianceKind::Isotropic),
        ),
        300,
        &[0, 1, 150, 299],
    );
    // Small images, odd sizes, many passes and shards.
    check(
        cnn(9, 7, vec![3, 5], 3, Head::LeastSquares { target_dim: 2 }),
        20_000,
        &[0, 8, 9_999, 19_999],
    );
}
