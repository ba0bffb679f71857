//! The hand-written backward passes against central finite differences of the forward loss,
//! for every backbone, activation, head and covariance kind; and the same results on any
//! number of threads.

use mdn_engine::{Activation, Architecture, Backbone, CovarianceKind, Head, Network};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn mlp(activation: Activation, head: Head) -> Architecture {
    Architecture {
        backbone: Backbone::Mlp {
            input: 3,
            hidden: vec![6, 5],
            activation,
        },
        head,
    }
}

fn cnn(activation: Activation, head: Head) -> Architecture {
    Architecture {
        backbone: Backbone::Cnn {
            height: 8,
            width: 6,
            channels: vec![2, 3],
            kernel: 3,
            hidden: 4,
            activation,
        },
        head,
    }
}

fn mixture(target_dim: usize, covariance: CovarianceKind) -> Head {
    Head::Mixture {
        target_dim,
        components: 3,
        covariance,
        min_sigma: 1e-3,
    }
}

/// A network with parameters from U(−1/√fan_in, 1/√fan_in), and a batch of inputs and targets.
fn problem(arch: Architecture, rows: usize, seed: u64) -> (Network, Vec<f32>, Vec<f32>) {
    let arch = arch.check().expect("a valid architecture");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut params = Vec::new();
    for shape in arch.tensors() {
        let fan_in = if shape.dims.len() == 4 {
            shape.dims[1..].iter().product::<usize>()
        } else {
            shape.dims[0]
        };
        let bound = 1.0 / (fan_in as f32).sqrt();
        params.extend((0..shape.len()).map(|_| rng.random_range(-bound..bound)));
    }
    let x = (0..rows * arch.input_dim())
        .map(|_| rng.random_range(-1.5f32..1.5))
        .collect();
    let t = (0..rows * arch.target_dim())
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    (Network::new(arch, params).expect("valid network"), x, t)
}

/// Mean loss of the batch.
fn mean_loss(network: &Network, x: &[f32], t: &[f32], rows: usize) -> f64 {
    network.loss(x, t, None, rows).loss / rows as f64
}

/// Checks the analytic gradient of the mean loss against central differences at a sample of
/// parameters (every parameter for small networks).
fn check_gradient(arch: Architecture, rows: usize) {
    let name = format!("{arch:?}");
    let (network, x, t) = problem(arch, rows, 7);
    let mut grads = vec![0.0; network.params().len()];
    let sums = network.gradient(&x, &t, None, rows, &mut grads, &mut Vec::new());
    let forward = network.loss(&x, &t, None, rows);
    assert!(
        (sums.loss - forward.loss).abs() <= 1e-5 * forward.loss.abs().max(1.0),
        "{name}: the training pass and the loss pass disagree: {} vs {}",
        sums.loss,
        forward.loss
    );
    let scale = grads.iter().fold(0.0f32, |m, g| m.max(g.abs())) as f64;
    let stride = (network.params().len() / 150).max(1);
    let mut worst = 0.0f64;
    for i in (0..network.params().len()).step_by(stride) {
        // Two steps: a large one can straddle a kink (ReLU, or a max-pool window whose maximum
        // changes), a small one drowns in f32 rounding. A correct gradient matches at least one
        // of them; a wrong one matches neither.
        let error = [2e-3f32, 5e-4]
            .iter()
            .map(|&h| {
                let mut plus = network.clone();
                plus.params_mut()[i] += h;
                let mut minus = network.clone();
                minus.params_mut()[i] -= h;
                let actual_h = f64::from(plus.params()[i]) - f64::from(minus.params()[i]);
                let numeric =
                    (mean_loss(&plus, &x, &t, rows) - mean_loss(&minus, &x, &t, rows)) / actual_h;
                (f64::from(grads[i]) - numeric).abs() / (scale + 1e-3)
            })
            .fold(f64::INFINITY, f64::min);
        worst = worst.max(error);
        assert!(
            error < 2e-3,
            "{name}: parameter {i}: analytic {} is {error:.1e} (relative to max |g| {scale}) \
             from the finite differences",
            grads[i]
        );
    }
    eprintln!("{name}: worst relative gradient error {worst:.2e}");
}

#[test]
fn mlp_gradients_match_finite_differences_for_every_head() {
    for activation in [Activation::Tanh, Activation::Relu, Activation::Gelu] {
        check_gradient(mlp(activation, mixture(1, CovarianceKind::Isotropic)), 9);
    }
    for covariance in [
        CovarianceKind::Isotropic,
        CovarianceKind::Diagonal,
        CovarianceKind::Full,
    ] {
        check_gradient(mlp(Activation::Tanh, mixture(2, covariance)), 9);
        check_gradient(mlp(Activation::Tanh, mixture(3, covariance)), 7);
    }
    check_gradient(
        mlp(Activation::Tanh, Head::LeastSquares { target_dim: 2 }),
        9,
    );
}

#[test]
fn a_linear_mdn_without_hidden_layers_has_gradients_too() {
    let arch = Architecture {
        backbone: Backbone::Mlp {
            input: 2,
            hidden: vec![],
            activation: Activation::Tanh,
        },
        head: mixture(1, CovarianceKind::Isotropic),
    };
    check_gradient(arch, 11);
}

#[test]
fn cnn_gradients_match_finite_differences() {
    check_gradient(
        cnn(Activation::Tanh, mixture(1, CovarianceKind::Isotropic)),
        3,
    );
    check_gradient(
        cnn(Activation::Gelu, Head::LeastSquares { target_dim: 1 }),
        2,
    );
}

#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    // 4096 rows of the toy MLP, and 300 images of a small CNN (whose dense layer's weight
    // gradient is taken over the whole batch, by blocks of weight rows on the threads), are
    // split into several shards.
    let mlp = Architecture {
        backbone: Backbone::Mlp {
            input: 1,
            hidden: vec![32, 32],
            activation: Activation::Tanh,
        },
        head: mixture(1, CovarianceKind::Isotropic),
    };
    let mut cnn = cnn(Activation::Relu, mixture(1, CovarianceKind::Isotropic));
    if let Backbone::Cnn {
        height,
        width,
        channels,
        ..
    } = &mut cnn.backbone
    {
        // 12 × 6 × 4 = 288 dense inputs: several blocks of weight rows (84 each).
        (*height, *width, *channels) = (24, 16, vec![2, 12]);
    }
    for (arch, rows) in [(mlp, 4096), (cnn, 300)] {
        assert!(mdn_engine::network::shard_ranges(&arch.clone().check().unwrap(), rows).len() > 1);
        let (network, x, t) = problem(arch, rows, 3);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut grads = vec![0.0; network.params().len()];
                let sums = network.gradient(&x, &t, None, rows, &mut grads, &mut Vec::new());
                (sums.loss, grads, network.loss(&x, &t, None, rows).loss)
            })
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
    }
}

#[test]
fn shards_cover_every_row_once() {
    let arch = mlp(Activation::Tanh, mixture(1, CovarianceKind::Isotropic))
        .check()
        .unwrap();
    for rows in [0, 1, 5, 128, 1000, 4096, 100_000] {
        let ranges = mdn_engine::network::shard_ranges(&arch, rows);
        assert!(ranges.len().is_power_of_two() && ranges.len() <= 8);
        assert_eq!(ranges.first().unwrap().start, 0);
        assert_eq!(ranges.last().unwrap().end, rows);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
    }
}

#[test]
fn row_weights_count_rows_as_often_as_they_say() {
    // Integer weights are the same as repeating rows: loss and gradient of a weighted batch
    // equal those of the batch with each row repeated `weight` times (to f32 rounding), and
    // weights of 1 are exactly no weights at all.
    for head in [
        mixture(1, CovarianceKind::Isotropic),
        mixture(2, CovarianceKind::Full),
        Head::LeastSquares { target_dim: 2 },
    ] {
        let arch = mlp(Activation::Tanh, head);
        let (network, x, t) = problem(arch, 6, 11);
        let (d, c) = (
            network.architecture().input_dim(),
            network.architecture().target_dim(),
        );
        let weights = [1.0f32, 0.0, 3.0, 2.0, 1.0, 4.0];
        let (mut xr, mut tr) = (Vec::new(), Vec::new());
        for (r, &w) in weights.iter().enumerate() {
            for _ in 0..w as usize {
                xr.extend_from_slice(&x[r * d..(r + 1) * d]);
                tr.extend_from_slice(&t[r * c..(r + 1) * c]);
            }
        }
        let repeated_rows = tr.len() / c;
        let n = network.params().len();
        let (mut g_weighted, mut g_repeated) = (vec![0.0; n], vec![0.0; n]);
        let weighted =
            network.gradient(&x, &t, Some(&weights), 6, &mut g_weighted, &mut Vec::new());
        let repeated = network.gradient(
            &xr,
            &tr,
            None,
            repeated_rows,
            &mut g_repeated,
            &mut Vec::new(),
        );
        assert!((weighted.loss - repeated.loss).abs() < 1e-5 * repeated.loss.abs().max(1.0));
        assert_eq!(weighted.weight, repeated_rows as f64);
        let largest = g_repeated.iter().fold(0.0f32, |a, g| a.max(g.abs()));
        for (a, b) in g_weighted.iter().zip(&g_repeated) {
            assert!((a - b).abs() <= 1e-5 * largest, "{head:?}: {a} vs {b}");
        }
        let loss = network.loss(&x, &t, Some(&weights), 6);
        assert!((loss.loss - weighted.loss).abs() < 1e-9 * loss.loss.abs().max(1.0));

        let ones = [1.0f32; 6];
        let (mut g_ones, mut g_none) = (vec![0.0; n], vec![0.0; n]);
        let with_ones = network.gradient(&x, &t, Some(&ones), 6, &mut g_ones, &mut Vec::new());
        let without = network.gradient(&x, &t, None, 6, &mut g_none, &mut Vec::new());
        assert_eq!(with_ones.loss, without.loss, "{head:?}");
        assert_eq!(g_ones, g_none, "{head:?}");
    }
}
