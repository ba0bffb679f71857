//! The CPU kernels against Burn: the same network and batch must give the same loss and the
//! same gradient of every parameter, and Adam the same step, to f32 rounding.

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{architecture, export, import};
use crate::backbone::{BackboneConfig, CnnConfig, MlpConfig};
use crate::network::{Network, NetworkConfig, Prediction};
use crate::{Activation, CovarianceKind};

/// Gradients in parameter (visiting) order; zeros where Burn has none.
struct GradsInOrder<'a> {
    grads: &'a GradientsParams,
    values: Vec<f32>,
}

impl ModuleVisitor for GradsInOrder<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        match self.grads.get::<D>(param.id) {
            Some(g) => self.values.extend(g.into_data().iter::<f32>()),
            None => self
                .values
                .extend(std::iter::repeat_n(0.0, param.val().shape().num_elements())),
        }
    }
}

/// Parameter ids in visiting order.
#[derive(Default)]
struct Ids(Vec<(ParamId, Vec<usize>)>);

impl ModuleVisitor for Ids {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push((param.id, param.val().dims().to_vec()));
    }
}

/// A batch of standardised-looking inputs and targets.
fn batch(config: &NetworkConfig, rows: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = (0..rows * config.input())
        .map(|_| rng.random_range(-2.0f32..2.0))
        .collect();
    let t = (0..rows * config.target_dim())
        .map(|_| rng.random_range(-1.5f32..1.5))
        .collect();
    (x, t)
}

/// Burn's mean loss and gradients for `network` (on the autodiff device).
fn burn_gradient(
    network: &Network,
    config: &NetworkConfig,
    x: &[f32],
    t: &[f32],
    rows: usize,
) -> (f64, Vec<f32>) {
    let device = Device::flex().autodiff();
    let xs = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [rows, config.input()]), &device);
    let ts = Tensor::<2>::from_data(
        TensorData::new(t.to_vec(), [rows, config.target_dim()]),
        &device,
    );
    let loss = match network.forward(xs) {
        Prediction::Mixture(mixture) => mixture.nll(ts),
        Prediction::Point(mean) => (mean - ts).powi_scalar(2).mean(),
    };
    let value = f64::from(loss.clone().into_scalar::<f32>());
    let grads = GradientsParams::from_grads(loss.backward(), network);
    let mut visitor = GradsInOrder {
        grads: &grads,
        values: Vec::new(),
    };
    network.visit(&mut visitor);
    (value, visitor.values)
}

/// Checks that both engines give the same mean loss and gradient for `config` at `rows` rows.
fn check(config: NetworkConfig, rows: usize) {
    let name = format!("{:?} / {:?}", config.backbone, config.head);
    let network = config.init(&Device::flex().autodiff(), 11).unwrap();
    let (x, t) = batch(&config, rows, 5);
    let (burn_loss, burn_grads) = burn_gradient(&network, &config, &x, &t, rows);

    let arch = architecture(&config).expect("the CPU kernels run every configuration");
    let cpu = mdn_cpu::Network::new(arch.clone(), export(&network, &arch)).unwrap();
    let mut cpu_grads = vec![0.0; cpu.params().len()];
    let sums = cpu.gradient(&x, &t, rows, &mut cpu_grads, &mut Vec::new());
    let cpu_loss = sums.loss / rows as f64;

    assert!(
        (burn_loss - cpu_loss).abs() <= 2e-6 * burn_loss.abs().max(1.0),
        "{name}: loss {burn_loss} (Burn) vs {cpu_loss} (CPU)"
    );
    let scale = burn_grads.iter().fold(0.0f32, |m, g| m.max(g.abs()));
    let worst = burn_grads
        .iter()
        .zip(&cpu_grads)
        .map(|(b, c)| (b - c).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= 1e-4 * scale,
        "{name}: gradients differ by up to {worst} (largest gradient {scale})"
    );
    eprintln!(
        "{name}: loss {burn_loss:.7} vs {cpu_loss:.7}, worst gradient difference {:.1e} of the largest",
        worst / scale
    );
}

fn mlp(activation: Activation) -> BackboneConfig {
    BackboneConfig::Mlp(MlpConfig::new(3, vec![32, 16]).with_activation(activation))
}

#[test]
fn the_toy_mdn_gives_the_same_loss_and_gradients() {
    let toy = NetworkConfig::mdn(BackboneConfig::Mlp(MlpConfig::new(1, vec![32, 32])), 1, 5);
    check(toy.clone(), 128);
    check(toy, 4096); // several shards
}

#[test]
fn every_head_and_activation_gives_the_same_loss_and_gradients() {
    for activation in [Activation::Tanh, Activation::Relu, Activation::Gelu] {
        check(NetworkConfig::mdn(mlp(activation), 2, 4), 300);
    }
    for covariance in [
        CovarianceKind::Isotropic,
        CovarianceKind::Diagonal,
        CovarianceKind::Full,
    ] {
        check(
            NetworkConfig::mdn(mlp(Activation::Tanh), 3, 3).with_covariance(covariance),
            300,
        );
    }
    check(NetworkConfig::least_squares(mlp(Activation::Relu), 2), 300);
    check(
        NetworkConfig::mdn(BackboneConfig::Mlp(MlpConfig::new(2, vec![])), 1, 2),
        50,
    );
}

#[test]
fn the_mnist_cnn_gives_the_same_loss_and_gradients() {
    check(
        NetworkConfig::mdn(BackboneConfig::Cnn(CnnConfig::new(28, 28)), 1, 5),
        16,
    );
    let small = CnnConfig::new(12, 10)
        .with_channels(vec![3, 4])
        .with_kernel(3)
        .with_hidden(8);
    check(
        NetworkConfig::mdn(
            BackboneConfig::Cnn(small.with_activation(Activation::Tanh)),
            2,
            3,
        )
        .with_covariance(CovarianceKind::Full),
        5,
    );
}

#[test]
fn adam_takes_the_same_step_as_burns() {
    // Identical gradients into both optimisers, with weight decay and clipping, for a few
    // steps: any difference is the optimiser's.
    let config = NetworkConfig::mdn(mlp(Activation::Tanh), 1, 3);
    let arch = architecture(&config).unwrap();
    let device = Device::flex().autodiff();
    let mut network = config.init(&device, 3).unwrap();
    let mut ids = Ids::default();
    network.visit(&mut ids);
    let mut burn_adam = AdamConfig::new()
        .with_epsilon(1e-8)
        .with_weight_decay(Some(burn::optim::decay::WeightDecayConfig::new(0.01)))
        .with_grad_clipping(Some(burn::grad_clipping::GradientClippingConfig::Norm(
            0.05,
        )))
        .init();
    let cpu_config = mdn_cpu::AdamConfig {
        weight_decay: Some(0.01),
        clip_norm: Some(0.05),
        ..mdn_cpu::AdamConfig::default()
    };
    let mut cpu_params = export(&network, &arch);
    let mut cpu_adam = mdn_cpu::Adam::new(cpu_config, cpu_params.len());
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for _ in 0..5 {
        let grads: Vec<f32> = (0..cpu_params.len())
            .map(|_| rng.random_range(-0.1f32..0.1))
            .collect();
        let mut burn_grads = GradientsParams::new();
        let mut offset = 0;
        for (id, dims) in &ids.0 {
            let len: usize = dims.iter().product();
            let values = grads[offset..offset + len].to_vec();
            offset += len;
            let plain = Device::flex();
            match dims.len() {
                1 => burn_grads.register(
                    *id,
                    Tensor::<1>::from_data(TensorData::new(values, dims.clone()), &plain),
                ),
                2 => burn_grads.register(
                    *id,
                    Tensor::<2>::from_data(TensorData::new(values, dims.clone()), &plain),
                ),
                _ => unreachable!("an MLP has vectors and matrices only"),
            }
        }
        network = burn_adam.step(1e-2, network, burn_grads);
        cpu_adam.step(&arch.layout(), &mut cpu_params, &mut grads.clone(), 1e-2);
    }
    let burn_params = export(&network, &arch);
    let worst = burn_params
        .iter()
        .zip(&cpu_params)
        .map(|(b, c)| (b - c).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 1e-6,
        "parameters differ by up to {worst} after 5 Adam steps"
    );
}

#[test]
fn parameters_survive_export_and_import() {
    let config = NetworkConfig::mdn(
        BackboneConfig::Cnn(CnnConfig::new(8, 8).with_channels(vec![2])),
        2,
        2,
    )
    .with_covariance(CovarianceKind::Full);
    let arch = architecture(&config).unwrap();
    let network = config.init(&Device::flex(), 1).unwrap();
    let params = export(&network, &arch);
    let shifted: Vec<f32> = params.iter().map(|p| p + 1.0).collect();
    let other = import(config.init(&Device::flex(), 2).unwrap(), &arch, &shifted);
    assert_eq!(export(&other, &arch), shifted);
}
