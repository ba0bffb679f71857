//! Adam with per-tensor gradient-norm clipping and L2 weight decay, arranged as Burn 0.22's
//! `AdamConfig` arranges it (this crate's first reference), so models trained before and since
//! take the same steps.

use rayon::prelude::*;

use crate::params::ParamLayout;
use crate::vectorized;

/// Adam's hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Decay of the first moment (0.9).
    pub beta_1: f32,
    /// Decay of the second moment (0.999).
    pub beta_2: f32,
    /// Added to √v (PyTorch's 1e-8; Burn's default is 1e-5).
    pub epsilon: f32,
    /// L2 penalty added to each gradient: g ← g + penalty · θ.
    pub weight_decay: Option<f32>,
    /// Scale each parameter tensor's gradient down to at most this L2 norm.
    pub clip_norm: Option<f32>,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            weight_decay: None,
            clip_norm: None,
        }
    }
}

/// Adam's moment estimates and step count: everything needed to continue a run exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct AdamState {
    /// Steps taken.
    pub time: u64,
    /// First moment m, one value per parameter.
    pub moment_1: Vec<f32>,
    /// Second moment v, one value per parameter.
    pub moment_2: Vec<f32>,
}

/// The Adam optimiser over a flat parameter vector.
///
/// # Formula
/// Per step t (from 1), for each tensor's gradient g: clip g to norm c
/// (g ← g · min(1, c / (‖g‖ + f32::MIN_POSITIVE))), add weight decay (g ← g + λθ), then
///
/// ```text
/// m ← β₁m + (1 − β₁)g      v ← β₂v + (1 − β₂)g²
/// θ ← θ − lr · m · √(1 − β₂ᵗ)/(1 − β₁ᵗ) / (√v + ε √(1 − β₂ᵗ))
/// ```
///
/// which is Burn's arrangement of the usual bias-corrected update.
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    config: AdamConfig,
    state: AdamState,
}

impl Adam {
    /// A fresh optimiser for `len` parameters.
    pub fn new(config: AdamConfig, len: usize) -> Self {
        let state = AdamState {
            time: 0,
            moment_1: vec![0.0; len],
            moment_2: vec![0.0; len],
        };
        Self { config, state }
    }

    /// An optimiser continuing from `state`.
    pub fn from_state(config: AdamConfig, state: AdamState) -> Self {
        Self { config, state }
    }

    /// The moments and step count.
    pub fn state(&self) -> &AdamState {
        &self.state
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// One step: updates `params` from `grads` (which are clipped in place).
    ///
    /// # Panics
    /// If the buffers do not all have `layout.len()` values.
    pub fn step(
        &mut self,
        layout: &ParamLayout,
        params: &mut [f32],
        grads: &mut [f32],
        learning_rate: f64,
    ) {
        assert_eq!(params.len(), layout.len(), "parameters");
        assert_eq!(grads.len(), layout.len(), "gradients");
        assert_eq!(self.state.moment_1.len(), layout.len(), "Adam moments");
        if let Some(max_norm) = self.config.clip_norm {
            for i in 0..layout.count() {
                clip_norm(&mut grads[layout.range(i)], max_norm);
            }
        }
        self.state.time += 1;
        let AdamConfig {
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
            ..
        } = self.config;
        let time = i32::try_from(self.state.time).unwrap_or(i32::MAX);
        let correction_2 = (1.0 - beta_2.powi(time)).sqrt();
        let combined = correction_2 / (1.0 - beta_1.powi(time));
        let epsilon = epsilon * correction_2;
        let lr = learning_rate as f32;
        let penalty = weight_decay.unwrap_or(0.0);
        let (m1, m2) = (&mut self.state.moment_1, &mut self.state.moment_2);
        let update = |params: &mut [f32], grads: &[f32], m1: &mut [f32], m2: &mut [f32]| {
            vectorized!({
                for (((theta, &g), m), v) in params
                    .iter_mut()
                    .zip(grads)
                    .zip(m1.iter_mut())
                    .zip(m2.iter_mut())
                {
                    let g = if weight_decay.is_some() {
                        *theta * penalty + g
                    } else {
                        g
                    };
                    *m = *m * beta_1 + g * (1.0 - beta_1);
                    *v = *v * beta_2 + g * g * (1.0 - beta_2);
                    *theta -= *m * combined / (v.sqrt() + epsilon) * lr;
                }
            },);
        };
        // Each parameter's update depends on its own values only: blocks of them on all
        // threads give the same bits as one loop.
        const BLOCK: usize = 1 << 14;
        if params.len() >= 4 * BLOCK {
            params
                .par_chunks_mut(BLOCK)
                .zip(grads.par_chunks(BLOCK))
                .zip(m1.par_chunks_mut(BLOCK))
                .zip(m2.par_chunks_mut(BLOCK))
                .for_each(|(((p, g), m1), m2)| update(p, g, m1, m2));
        } else {
            update(params, grads, m1, m2);
        }
    }
}

/// Scales `grad` so that its L2 norm is at most `max_norm`, as Burn's `GradientClipping::Norm`.
fn clip_norm(grad: &mut [f32], max_norm: f32) {
    let norm = grad
        .iter()
        .map(|&g| f64::from(g) * f64::from(g))
        .sum::<f64>()
        .sqrt() as f32;
    let coefficient = (max_norm / (norm + f32::MIN_POSITIVE)).min(1.0);
    if coefficient < 1.0 {
        grad.iter_mut().for_each(|g| *g *= coefficient);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamTensor;

    fn layout(lengths: &[usize]) -> ParamLayout {
        ParamLayout::new(
            lengths
                .iter()
                .map(|&n| ParamTensor {
                    name: String::new(),
                    dims: vec![n],
                })
                .collect(),
        )
    }

    #[test]
    fn the_first_step_moves_each_parameter_by_the_learning_rate() {
        // With bias correction, step 1 is lr · g / (|g| + ε) ≈ lr · sign(g).
        let layout = layout(&[3]);
        let mut adam = Adam::new(AdamConfig::default(), 3);
        let mut params = vec![1.0, 1.0, 1.0];
        let mut grads = vec![0.5, -2.0, 1e-3];
        adam.step(&layout, &mut params, &mut grads, 0.01);
        for (p, want) in params.iter().zip([0.99, 1.01, 0.99]) {
            assert!((p - want).abs() < 1e-6, "{p} vs {want}");
        }
        assert_eq!(adam.state().time, 1);
    }

    #[test]
    fn matches_the_textbook_update_over_several_steps() {
        let layout = layout(&[2]);
        let config = AdamConfig {
            epsilon: 1e-8,
            ..AdamConfig::default()
        };
        let mut adam = Adam::new(config, 2);
        let mut params = vec![0.3f32, -0.7];
        let (mut m, mut v, mut theta) = ([0.0f64; 2], [0.0f64; 2], [0.3f64, -0.7]);
        for t in 1..=20 {
            let g = [(t as f32 * 0.37).sin(), (t as f32 * 0.11).cos()];
            let mut grads = g.to_vec();
            adam.step(&layout, &mut params, &mut grads, 1e-2);
            for k in 0..2 {
                let gk = f64::from(g[k]);
                m[k] = 0.9 * m[k] + 0.1 * gk;
                v[k] = 0.999 * v[k] + 0.001 * gk * gk;
                let m_hat = m[k] / (1.0 - 0.9f64.powi(t));
                let v_hat = v[k] / (1.0 - 0.999f64.powi(t));
                theta[k] -= 1e-2 * m_hat / (v_hat.sqrt() + 1e-8);
            }
        }
        for k in 0..2 {
            assert!(
                (f64::from(params[k]) - theta[k]).abs() < 1e-5,
                "{params:?} vs {theta:?}"
            );
        }
    }

    #[test]
    fn a_large_step_on_all_threads_is_the_same_as_one_loop() {
        let n = 100_003;
        let layout = layout(&[n]);
        let config = AdamConfig {
            weight_decay: Some(0.01),
            ..AdamConfig::default()
        };
        let mut adam = Adam::new(config, n);
        let mut params: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
        let (mut want, mut m, mut v) = (params.clone(), vec![0.0f32; n], vec![0.0f32; n]);
        for t in 1..=3 {
            let g: Vec<f32> = (0..n).map(|i| ((i * t) as f32 * 0.11).cos()).collect();
            adam.step(&layout, &mut params, &mut g.clone(), 1e-2);
            let correction_2 = (1.0 - 0.999f32.powi(t as i32)).sqrt();
            let combined = correction_2 / (1.0 - 0.9f32.powi(t as i32));
            let epsilon = 1e-8 * correction_2;
            for i in 0..n {
                let g = want[i] * 0.01 + g[i];
                m[i] = m[i] * 0.9 + g * (1.0 - 0.9);
                v[i] = v[i] * 0.999 + g * g * (1.0 - 0.999);
                want[i] -= m[i] * combined / (v[i].sqrt() + epsilon) * 1e-2f32;
            }
        }
        assert_eq!(params, want);
    }

    #[test]
    fn clipping_is_per_tensor_and_weight_decay_pulls_towards_zero() {
        let mut grad = vec![3.0f32, 4.0];
        clip_norm(&mut grad, 1.0);
        assert!((grad[0] - 0.6).abs() < 1e-6 && (grad[1] - 0.8).abs() < 1e-6);
        let mut small = vec![0.3f32, 0.4];
        clip_norm(&mut small, 1.0);
        assert_eq!(small, vec![0.3, 0.4]);

        let layout = layout(&[1, 1]);
        let config = AdamConfig {
            clip_norm: Some(1.0),
            ..AdamConfig::default()
        };
        let mut adam = Adam::new(config, 2);
        let mut params = vec![0.0, 0.0];
        // The first tensor's gradient is clipped to norm 1; the second is not touched.
        let mut grads = vec![10.0, 0.5];
        adam.step(&layout, &mut params, &mut grads, 0.1);
        assert_eq!(grads, vec![1.0, 0.5]);

        let decay = AdamConfig {
            weight_decay: Some(0.5),
            ..AdamConfig::default()
        };
        let mut adam = Adam::new(decay, 1);
        let mut params = vec![2.0];
        adam.step(&self::layout(&[1]), &mut params, &mut [0.0], 0.1);
        assert!(
            params[0] < 2.0,
            "zero gradient, positive weight: decay must shrink it"
        );
    }
}
