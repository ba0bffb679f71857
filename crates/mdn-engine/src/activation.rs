//! Activations, elementwise and vectorised: act(z), and the gradient through it.

use crate::arch::Activation;
use crate::math;
use crate::vectorized;

/// `act(z)` of every `z` in `z` into `out` (a copy for `None`).
#[inline(always)]
pub(crate) fn activate_into(activation: Option<Activation>, z: &[f32], out: &mut [f32]) {
    match activation {
        None => out.copy_from_slice(z),
        Some(Activation::Tanh) => {
            for (o, &z) in out.iter_mut().zip(z) {
                *o = math::tanh(z);
            }
        }
        Some(Activation::Relu) => {
            for (o, &z) in out.iter_mut().zip(z) {
                *o = z.max(0.0);
            }
        }
        Some(Activation::Gelu) => {
            for (o, &z) in out.iter_mut().zip(z) {
                *o = math::gelu(z);
            }
        }
    }
}

/// `d ← d · act′` given the activation's output `out` and, for GELU, its input `pre`.
#[inline(always)]
pub(crate) fn derivative_into(activation: Activation, out: &[f32], pre: &[f32], d: &mut [f32]) {
    match activation {
        Activation::Tanh => {
            for (d, &h) in d.iter_mut().zip(out) {
                *d *= 1.0 - h * h;
            }
        }
        Activation::Relu => {
            for (d, &h) in d.iter_mut().zip(out) {
                *d = if h > 0.0 { *d } else { 0.0 };
            }
        }
        Activation::Gelu => {
            for (d, &z) in d.iter_mut().zip(pre) {
                *d *= math::gelu_derivative(z);
            }
        }
    }
}

/// `v ← act(v)` for every value, vectorised.
pub(crate) fn activate_in_place(activation: Activation, values: &mut [f32]) {
    vectorized!(match activation {
        Activation::Tanh => values.iter_mut().for_each(|v| *v = math::tanh(*v)),
        Activation::Relu => values.iter_mut().for_each(|v| *v = v.max(0.0)),
        Activation::Gelu => values.iter_mut().for_each(|v| *v = math::gelu(*v)),
    },);
}

/// Multiplies the gradient `d` (with respect to act(z)) by act′(z) in place, given the
/// activation's output `out` and, for GELU, its input `pre`.
pub(crate) fn activation_backward(activation: Activation, out: &[f32], pre: &[f32], d: &mut [f32]) {
    vectorized!(derivative_into(activation, out, pre, d),);
}

#[cfg(test)]
/// Applies the activation in place: `values` holds z on entry, act(z) on return. For GELU,
/// whose derivative needs z, `pre` receives a copy of z (other activations leave it alone).
pub(crate) fn activate(activation: Activation, values: &mut [f32], pre: &mut Vec<f32>) {
    if activation == Activation::Gelu {
        pre.clear();
        pre.extend_from_slice(values);
    }
    activate_in_place(activation, values);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_derivatives_match_finite_differences() {
        for activation in [Activation::Tanh, Activation::Relu, Activation::Gelu] {
            for &z in &[-2.5f32, -0.3, 0.4, 1.7] {
                let f = |z: f32| {
                    let mut v = [z];
                    activate(activation, &mut v, &mut Vec::new());
                    f64::from(v[0])
                };
                let h = 1e-3f32;
                let numeric = (f(z + h) - f(z - h)) / (2.0 * f64::from(h));
                let mut out = [z];
                let mut pre = Vec::new();
                activate(activation, &mut out, &mut pre);
                let mut d = [1.0];
                activation_backward(activation, &out, &pre, &mut d);
                assert!(
                    (f64::from(d[0]) - numeric).abs() < 2e-3,
                    "{activation:?} at {z}: {} vs {numeric}",
                    d[0]
                );
            }
        }
    }
}
