//! Seeded initialisation: the same seed gives the same network, on any machine and whatever
//! else runs in the process (each network draws from a generator of its own).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::arch::ValidArchitecture;
use crate::network::Network;

impl Network {
    /// A freshly initialised network: every weight and bias drawn from U(−k, k) with
    /// k = 1/√fan_in (PyTorch's default bound; fan_in is a dense layer's inputs or a
    /// convolution's c_in·k·k, the bias using its weight's), tensor after tensor in
    /// [`ValidArchitecture::tensors`] order from a ChaCha8 generator seeded with `seed`.
    pub fn init(architecture: ValidArchitecture, seed: u64) -> Network {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params = Vec::with_capacity(architecture.parameter_count());
        let mut bound = 1.0;
        for tensor in architecture.tensors() {
            if tensor.dims.len() > 1 {
                bound = 1.0 / (tensor.fan_in() as f32).sqrt();
            }
            params.extend((0..tensor.len()).map(|_| rng.random_range(-bound..=bound)));
        }
        Network::new(architecture, params).expect("one value per parameter")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::{Architecture, Backbone};
    use mdn_mixture::CovarianceKind;

    /// The sum of the parameters, and their sum weighted by ((i mod 97) − 48): two numbers that
    /// change if any draw, its order or its bound changes.
    fn fingerprint(network: &Network) -> (usize, f64, f64) {
        let p = network.params();
        let sum = p.iter().map(|&v| f64::from(v)).sum();
        let weighted = p
            .iter()
            .enumerate()
            .map(|(i, &v)| f64::from(v) * ((i % 97) as f64 - 48.0))
            .sum();
        (p.len(), sum, weighted)
    }

    #[test]
    fn the_same_seeds_give_the_networks_they_always_gave() {
        // The values `NetworkConfig::init_cpu` gave for these networks while Burn still
        // initialised them (mdn at commit d642db5), so that models trained since then, and the
        // experiments' published results, are reproduced draw for draw.
        let toy = Architecture::mdn(Backbone::mlp(1, vec![32, 32]), 1, 5);
        let cnn = Architecture::mdn(Backbone::cnn(28, 28), 1, 5);
        let full = Architecture::mdn(Backbone::mlp(2, vec![8]), 2, 3)
            .with_covariance(CovarianceKind::Full);
        let cases = [
            (
                toy,
                0,
                1615,
                1.1306814789772034e1,
                -2.1808760806918144e2,
                [0.30939412, 0.41815066],
            ),
            (
                cnn,
                0,
                216015,
                2.7796735046431422e0,
                2.722913728589192e2,
                [0.061878815, 0.08363013],
            ),
            (
                full,
                7,
                186,
                -6.456999197602272e0,
                7.363205823302269e1,
                [-0.5091122, -0.48394948],
            ),
        ];
        for (arch, seed, len, sum, weighted, first) in cases {
            let network = Network::init(arch.clone().check().unwrap(), seed);
            let (n, s, w) = fingerprint(&network);
            assert_eq!(n, len, "{arch:?}");
            assert_eq!(&network.params()[..2], &first, "{arch:?}");
            assert!(
                (s - sum).abs() <= 1e-12 * sum.abs(),
                "{arch:?}: sum {s} vs {sum}"
            );
            assert!(
                (w - weighted).abs() <= 1e-12 * weighted.abs(),
                "{arch:?}: {w} vs {weighted}"
            );
        }
    }

    #[test]
    fn seeds_give_different_networks_and_bounds_follow_the_fan_in() {
        let arch = Architecture::mdn(Backbone::mlp(4, vec![16]), 1, 3)
            .check()
            .unwrap();
        let (a, b) = (
            Network::init(arch.clone(), 1),
            Network::init(arch.clone(), 2),
        );
        assert_ne!(a.params(), b.params());
        let layout = arch.param_layout();
        for (i, tensor) in layout.tensors().iter().enumerate() {
            let fan_in = if i % 2 == 0 {
                tensor.fan_in()
            } else {
                layout.tensors()[i - 1].fan_in()
            };
            let bound = 1.0 / (fan_in as f32).sqrt();
            assert!(a.params()[layout.range(i)].iter().all(|v| v.abs() <= bound));
        }
    }
}
