//! Fully connected layers and activations, forward and backward, on row-major batches.

use crate::arch::Activation;
use crate::buffers::{column_sums_add, fill_rows};
use crate::math;
use crate::matmul::{MatMut, MatRef, matmul};
use crate::vectorized;

/// The memory order of a layer's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// `[rows, outputs]`: the input of the next layer.
    RowMajor,
    /// `[outputs, rows]`: what the head's fused loss reads.
    FeatureMajor,
}

fn output_view(out: &mut [f32], rows: usize, outputs: usize, order: Order) -> MatMut<'_> {
    match order {
        Order::RowMajor => MatMut::row_major(out, rows, outputs),
        Order::FeatureMajor => MatMut::col_major(out, rows, outputs),
    }
}

fn output_ref(out: &[f32], rows: usize, outputs: usize, order: Order) -> MatRef<'_> {
    match order {
        Order::RowMajor => MatRef::row_major(out, rows, outputs),
        Order::FeatureMajor => MatRef::col_major(out, rows, outputs),
    }
}

/// `out = input · weight + bias`.
///
/// # Shapes
/// - `input`: `[rows, inputs]`; `weight`: `[inputs, outputs]`; `bias`: `[outputs]`
/// - `out`: `[rows, outputs]` or `[outputs, rows]` as `order` says
pub(crate) fn dense_forward(
    input: &[f32],
    rows: usize,
    weight: &[f32],
    bias: &[f32],
    out: &mut [f32],
    order: Order,
) {
    let outputs = bias.len();
    let inputs = weight.len() / outputs;
    match order {
        Order::RowMajor => fill_rows(out, bias),
        Order::FeatureMajor => {
            for (column, &b) in out.chunks_exact_mut(rows).zip(bias) {
                column.fill(b);
            }
        }
    }
    matmul(
        output_view(out, rows, outputs, order),
        MatRef::row_major(input, rows, inputs),
        MatRef::row_major(weight, inputs, outputs),
        true,
    );
}

/// Backward pass of [`dense_forward`]: adds the weight and bias gradients into `d_weight`
/// and `d_bias`, and when `d_input` is given overwrites it with the input gradient.
///
/// # Shapes
/// - `d_out`: like the forward `out`; `d_input`: `[rows, inputs]`
#[allow(clippy::too_many_arguments)]
pub(crate) fn dense_backward(
    input: &[f32],
    rows: usize,
    weight: &[f32],
    d_out: &[f32],
    order: Order,
    d_weight: &mut [f32],
    d_bias: &mut [f32],
    d_input: Option<&mut [f32]>,
) {
    let outputs = d_bias.len();
    let inputs = weight.len() / outputs;
    let d_out_view = output_ref(d_out, rows, outputs, order);
    matmul(
        MatMut::row_major(d_weight, inputs, outputs),
        MatRef::row_major(input, rows, inputs).t(),
        d_out_view,
        true,
    );
    vectorized!(match order {
        Order::RowMajor => column_sums_add(d_out, outputs, d_bias),
        Order::FeatureMajor => {
            for (acc, column) in d_bias.iter_mut().zip(d_out.chunks_exact(rows)) {
                *acc += sum(column);
            }
        }
    },);
    if let Some(d_input) = d_input {
        matmul(
            MatMut::row_major(d_input, rows, inputs),
            d_out_view,
            MatRef::row_major(weight, inputs, outputs).t(),
            false,
        );
    }
}

/// Σ of a slice with eight interleaved partial sums, so that it vectorises (a single running
/// sum must be evaluated in order) and still gives the same result every time.
#[inline(always)]
pub(crate) fn sum(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    let mut total = lanes.iter().sum::<f32>();
    for &v in rest {
        total += v;
    }
    total
}

/// Applies the activation in place: `values` holds z on entry, act(z) on return. For GELU,
/// whose derivative needs z, `pre` receives a copy of z (other activations leave it alone).
pub(crate) fn activate(activation: Activation, values: &mut [f32], pre: &mut Vec<f32>) {
    if activation == Activation::Gelu {
        pre.clear();
        pre.extend_from_slice(values);
    }
    vectorized!(match activation {
        Activation::Tanh => values.iter_mut().for_each(|v| *v = math::tanh(*v)),
        Activation::Relu => values.iter_mut().for_each(|v| *v = v.max(0.0)),
        Activation::Gelu => values.iter_mut().for_each(|v| *v = math::gelu(*v)),
    },);
}

/// Multiplies the gradient `d` (with respect to act(z)) by act′(z) in place, given the
/// activation's output `out` and, for GELU, its input `pre`.
pub(crate) fn activation_backward(activation: Activation, out: &[f32], pre: &[f32], d: &mut [f32]) {
    vectorized!(match activation {
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
    },);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_forward_adds_the_bias_in_both_orders() {
        // input [2, 3], weight [3, 2]
        let input = [1.0, 2.0, 3.0, -1.0, 0.5, 2.0];
        let weight = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let bias = [0.5, -0.5];
        let mut row_major = [0.0; 4];
        dense_forward(&input, 2, &weight, &bias, &mut row_major, Order::RowMajor);
        assert_eq!(row_major, [4.5, 4.5, 1.5, 2.0]);
        let mut feature_major = [0.0; 4];
        dense_forward(
            &input,
            2,
            &weight,
            &bias,
            &mut feature_major,
            Order::FeatureMajor,
        );
        assert_eq!(feature_major, [4.5, 1.5, 4.5, 2.0]);
    }

    #[test]
    fn dense_backward_gives_the_gradients_of_a_weighted_sum() {
        // loss = Σ g ⊙ out; ∂/∂W = inputᵀ g, ∂/∂b = Σ_rows g, ∂/∂input = g Wᵀ.
        let input = [1.0, 2.0, 3.0, -1.0, 0.5, 2.0];
        let weight = [1.0, 2.0, 0.0, 1.0, -1.0, 1.0];
        let g = [1.0, -2.0, 0.5, 3.0];
        let (mut d_w, mut d_b, mut d_x) = ([0.0; 6], [0.0; 2], [0.0; 6]);
        dense_backward(
            &input,
            2,
            &weight,
            &g,
            Order::RowMajor,
            &mut d_w,
            &mut d_b,
            Some(&mut d_x),
        );
        assert_eq!(d_w, [0.5, -5.0, 2.25, -2.5, 4.0, 0.0]);
        assert_eq!(d_b, [1.5, 1.0]);
        assert_eq!(d_x, [-3.0, -2.0, -3.0, 6.5, 3.0, 2.5]);
        // Feature-major g is the transpose; the gradients accumulate.
        let g_t = [1.0, 0.5, -2.0, 3.0];
        dense_backward(
            &input,
            2,
            &weight,
            &g_t,
            Order::FeatureMajor,
            &mut d_w,
            &mut d_b,
            None,
        );
        assert_eq!(d_b, [3.0, 2.0]);
        assert_eq!(d_w, [1.0, -10.0, 4.5, -5.0, 8.0, 0.0]);
    }

    #[test]
    fn the_lane_sum_matches_a_plain_sum() {
        let values: Vec<f32> = (0..37).map(|i| i as f32 * 0.25).collect();
        assert_eq!(sum(&values), values.iter().sum::<f32>());
        assert_eq!(sum(&[]), 0.0);
    }

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
