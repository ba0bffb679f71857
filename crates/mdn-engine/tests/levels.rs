//! Every instruction-set level computes the same bits: predictions, losses and gradients of
//! an MLP and a CNN run here at the detected level and again, in child processes, with
//! `MDN_SIMD` forcing each lower level (AVX2, the portable baseline).

use std::process::Command;

use mdn_engine::simd::{Level, detected, level};
use mdn_engine::{Activation, Architecture, Backbone, CovarianceKind, Head, HeadOutput, Network};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CHILD: &str = "MDN_LEVELS_CHILD";

/// A digest of what the engine computes for a few networks: FNV-1a over the bits of every
/// prediction, loss and gradient.
fn digest() -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |bits: u64| {
        for byte in bits.to_le_bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    let architectures = [
        Architecture {
            backbone: Backbone::Mlp {
                input: 3,
                hidden: vec![37, 20],
                activation: Activation::Tanh,
            },
            head: Head::Mixture {
                target_dim: 2,
                components: 3,
                covariance: CovarianceKind::Full,
                min_sigma: 1e-3,
            },
        },
        Architecture {
            backbone: Backbone::Mlp {
                input: 2,
                hidden: vec![9],
                activation: Activation::Gelu,
            },
            head: Head::LeastSquares { target_dim: 2 },
        },
        Architecture {
            backbone: Backbone::Cnn {
                height: 12,
                width: 10,
                channels: vec![4, 20],
                kernel: 5,
                hidden: 17,
                activation: Activation::Relu,
            },
            head: Head::Mixture {
                target_dim: 1,
                components: 5,
                covariance: CovarianceKind::Isotropic,
                min_sigma: 1e-3,
            },
        },
    ];
    for (i, arch) in architectures.into_iter().enumerate() {
        let arch = arch.check().expect("a valid architecture");
        let (d, c) = (arch.input_dim(), arch.target_dim());
        let network = Network::init(arch, i as u64);
        let rows = 300;
        let mut rng = ChaCha8Rng::seed_from_u64(10 + i as u64);
        let x: Vec<f32> = (0..rows * d).map(|_| rng.random_range(-2.0..2.0)).collect();
        let t: Vec<f32> = (0..rows * c).map(|_| rng.random_range(-2.0..2.0)).collect();
        match network.predict(&x, rows) {
            HeadOutput::Point(p) => p.iter().for_each(|v| eat(u64::from(v.to_bits()))),
            HeadOutput::Mixture(p) => {
                for v in [&p.log_alpha, &p.means, &p.sigma, &p.lower] {
                    v.iter().for_each(|v| eat(u64::from(v.to_bits())));
                }
            }
        }
        eat(network.loss(&x, &t, None, rows).loss.to_bits());
        let mut grads = vec![0.0; network.params().len()];
        let sums = network.gradient(&x, &t, None, rows, &mut grads, &mut Vec::new());
        eat(sums.loss.to_bits());
        grads.iter().for_each(|g| eat(u64::from(g.to_bits())));
    }
    hash
}

/// Run by the parent in a child process with `MDN_SIMD` set: prints the digest.
#[test]
fn digest_at_the_forced_level() {
    if std::env::var_os(CHILD).is_some() {
        println!("\nDIGEST level {} digest {:016x}", level().name(), digest());
    }
}

#[test]
fn every_level_computes_the_same_bits() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let here = digest();
    let lower: Vec<Level> = [Level::Avx2, Level::Baseline]
        .into_iter()
        .filter(|&l| l < detected())
        .collect();
    for forced in lower {
        let output = Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                "--exact",
                "digest_at_the_forced_level",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .env("MDN_SIMD", forced.name())
            .output()
            .expect("the test binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("DIGEST "))
            .unwrap_or_else(|| panic!("no digest from the child at {}: {stdout}", forced.name()));
        let want = format!("level {} digest {here:016x}", forced.name());
        assert_eq!(line, want, "{} vs {}", forced.name(), level().name());
    }
}
