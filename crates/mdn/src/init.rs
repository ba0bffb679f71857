//! Seeded parameter initialisation.
//!
//! Burn's own initialisers draw from one process-wide generator, so two models initialised on
//! different threads (as `cargo test` does) would disturb each other's streams. Every layer
//! here is instead drawn from a caller-owned [`ParamRng`], which makes "same seed ⇒ same
//! model" hold regardless of what else runs in the process.

use burn::module::Param;
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, PaddingConfig2d};
use burn::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random generator used to initialise parameters.
pub type ParamRng = ChaCha8Rng;

/// A generator for initialising a model from `seed`.
pub fn param_rng(seed: u64) -> ParamRng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `count` draws from U(−bound, bound).
fn uniform(rng: &mut ParamRng, count: usize, bound: f32) -> Vec<f32> {
    (0..count)
        .map(|_| rng.random_range(-bound..=bound))
        .collect()
}

/// A fully connected layer `[.., d_input] → [.., d_output]`, weights and bias drawn from
/// U(−k, k) with k = `gain` / √d_input (PyTorch's default for `gain = 1`).
pub fn linear(
    d_input: usize,
    d_output: usize,
    gain: f32,
    rng: &mut ParamRng,
    device: &Device,
) -> Linear {
    let bound = gain / (d_input as f32).sqrt();
    let weight = uniform(rng, d_input * d_output, bound);
    let bias = uniform(rng, d_output, bound);
    Linear {
        weight: Param::from_tensor(Tensor::from_data(
            TensorData::new(weight, [d_input, d_output]),
            device,
        )),
        bias: Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(bias, [d_output]),
            device,
        ))),
    }
}

/// A 2-D convolution with "same" padding and stride 1, weights and bias drawn from U(−k, k)
/// with k = 1 / √(channels_in · kernel²).
pub fn conv2d(
    channels_in: usize,
    channels_out: usize,
    kernel: usize,
    rng: &mut ParamRng,
    device: &Device,
) -> Conv2d {
    let fan_in = channels_in * kernel * kernel;
    let bound = 1.0 / (fan_in as f32).sqrt();
    let weight = uniform(rng, channels_out * fan_in, bound);
    let bias = uniform(rng, channels_out, bound);
    Conv2d {
        weight: Param::from_tensor(Tensor::from_data(
            TensorData::new(weight, [channels_out, channels_in, kernel, kernel]),
            device,
        )),
        bias: Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(bias, [channels_out]),
            device,
        ))),
        stride: [1, 1],
        kernel_size: [kernel, kernel],
        dilation: [1, 1],
        groups: 1,
        padding: PaddingConfig2d::Same,
    }
}
