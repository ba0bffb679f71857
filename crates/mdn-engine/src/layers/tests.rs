//! Tests of the dense layers: in-place and tiled products, bias, gradients.

use super::*;
use crate::activation::{activate, activation_backward};

#[test]
fn the_in_place_product_gives_the_tiled_products_bits() {
    // Row-major widths of whole vectors run in place, other widths through the tile
    // buffer; feature-major output runs in place into rows padded to whole vectors and
    // is transposed: the same results, bit for bit.
    for outputs in [8, 15, 16, 32, 40] {
        let (rows, inputs) = (37, 13);
        let value = |i: usize| ((i as u32).wrapping_mul(2_654_435_761) >> 9) as f32 / 4e6 - 1.0;
        let input: Vec<f32> = (0..rows * inputs).map(value).collect();
        let weight: Vec<f32> = (0..inputs * outputs).map(|i| value(i + 7) * 0.3).collect();
        let bias: Vec<f32> = (0..outputs).map(|i| value(i + 99)).collect();
        for activation in [None, Some(Activation::Tanh)] {
            let (mut direct, mut tiled) = (vec![0.0; rows * outputs], vec![0.0; rows * outputs]);
            let mut pre = Vec::new();
            let args = (&input[..], rows, &weight[..], &bias[..]);
            dense_forward(
                args.0,
                args.1,
                args.2,
                args.3,
                &mut direct,
                Order::RowMajor,
                activation,
                &mut pre,
            );
            dense_forward(
                args.0,
                args.1,
                args.2,
                args.3,
                &mut tiled,
                Order::FeatureMajor,
                activation,
                &mut pre,
            );
            for r in 0..rows {
                for o in 0..outputs {
                    assert_eq!(
                        direct[r * outputs + o].to_bits(),
                        tiled[o * rows + r].to_bits(),
                        "width {outputs}, row {r}, output {o}"
                    );
                }
            }
        }
    }
}

#[test]
fn dense_forward_adds_the_bias_in_both_orders() {
    // input [2, 3], weight [3, 2]
    let input = [1.0, 2.0, 3.0, -1.0, 0.5, 2.0];
    let weight = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    let bias = [0.5, -0.5];
    let mut row_major = [0.0; 4];
    let mut pre = Vec::new();
    dense_forward(
        &input,
        2,
        &weight,
        &bias,
        &mut row_major,
        Order::RowMajor,
        None,
        &mut pre,
    );
    assert_eq!(row_major, [4.5, 4.5, 1.5, 2.0]);
    let mut feature_major = [0.0; 4];
    dense_forward(
        &input,
        2,
        &weight,
        &bias,
        &mut feature_major,
        Order::FeatureMajor,
        None,
        &mut pre,
    );
    assert_eq!(feature_major, [4.5, 1.5, 4.5, 2.0]);
    // With an activation, in both orders; GELU keeps its input.
    for order in [Order::RowMajor, Order::FeatureMajor] {
        for activation in [Activation::Tanh, Activation::Relu, Activation::Gelu] {
            let mut z = [0.0; 4];
            dense_forward(&input, 2, &weight, &bias, &mut z, order, None, &mut pre);
            let mut out = [0.0; 4];
            let mut pre = vec![f32::NAN; 1];
            dense_forward(
                &input,
                2,
                &weight,
                &bias,
                &mut out,
                order,
                Some(activation),
                &mut pre,
            );
            let mut want = z;
            let mut want_pre = vec![f32::NAN; 1];
            activate(activation, &mut want, &mut want_pre);
            assert_eq!(out, want, "{activation:?} {order:?}");
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&pre), bits(&want_pre), "{activation:?} {order:?}");
        }
    }
}

#[test]
fn dense_backward_gives_the_gradients_of_a_weighted_sum() {
    // loss = Σ g ⊙ out; ∂/∂W = inputᵀ g, ∂/∂b = Σ_rows g, ∂/∂input = g Wᵀ.
    let input = [1.0, 2.0, 3.0, -1.0, 0.5, 2.0];
    let weight = [1.0, 2.0, 0.0, 1.0, -1.0, 1.0];
    let g = [1.0, -2.0, 0.5, 3.0];
    let (mut d_w, mut d_b, mut d_x) = ([0.0; 6], [0.0; 2], [0.0; 6]);
    let mut weight_t = Vec::new();
    transpose_into(&weight, 2, &mut weight_t);
    dense_backward(
        &input,
        2,
        &weight_t,
        &g,
        Order::RowMajor,
        Some(&mut d_w),
        &mut d_b,
        Some((&mut d_x, None)),
        true,
    );
    assert_eq!(d_w, [0.5, -5.0, 2.25, -2.5, 4.0, 0.0]);
    assert_eq!(d_b, [1.5, 1.0]);
    assert_eq!(d_x, [-3.0, -2.0, -3.0, 6.5, 3.0, 2.5]);
    // Feature-major g is the transpose; the gradients accumulate.
    let g_t = [1.0, 0.5, -2.0, 3.0];
    let mut d_x_t = [0.0; 6];
    dense_backward(
        &input,
        2,
        &weight_t,
        &g_t,
        Order::FeatureMajor,
        Some(&mut d_w),
        &mut d_b,
        Some((&mut d_x_t, None)),
        true,
    );
    assert_eq!(d_b, [3.0, 2.0]);
    assert_eq!(d_w, [1.0, -10.0, 4.5, -5.0, 8.0, 0.0]);
    assert_eq!(d_x_t, d_x);
    // The input gradient times the derivative of the activation that made the input.
    let h = [0.5, -0.25, 0.0, 0.9, 0.1, -0.7];
    let derivative = Derivative {
        activation: Activation::Tanh,
        out: &h,
        pre: &[],
    };
    let mut d_x_act = [0.0; 6];
    dense_backward(
        &input,
        2,
        &weight_t,
        &g,
        Order::RowMajor,
        Some(&mut [0.0; 6]),
        &mut [0.0; 2],
        Some((&mut d_x_act, Some(derivative))),
        false,
    );
    let mut want = d_x;
    activation_backward(Activation::Tanh, &h, &[], &mut want);
    assert_eq!(d_x_act, want);
}

#[test]
fn the_weight_gradient_is_the_same_over_any_batches_and_rows() {
    // A batch cut into shards, and the weight rows into blocks, give the bits of one
    // product over all the rows: widths in place (16, 32) and through the tile buffer
    // (15, 40), overwriting and accumulating.
    let value = |i: usize| ((i as u32).wrapping_mul(2_654_435_761) >> 9) as f32 / 4e6 - 1.0;
    let (rows, inputs) = (37, 23);
    for outputs in [15, 16, 32, 40] {
        let input: Vec<f32> = (0..rows * inputs).map(value).collect();
        let d_out: Vec<f32> = (0..rows * outputs).map(|i| value(i + 5)).collect();
        let start: Vec<f32> = (0..inputs * outputs).map(|i| value(i + 9)).collect();
        for accumulate in [false, true] {
            let mut whole = start.clone();
            weight_gradient(
                &[(&input, &d_out)],
                inputs,
                outputs,
                0,
                &mut whole,
                accumulate,
            );
            for cuts in [vec![0, 37], vec![0, 1, 20, 37], vec![0, 9, 9, 30, 37]] {
                let batches: Vec<(&[f32], &[f32])> = cuts
                    .windows(2)
                    .map(|w| {
                        (
                            &input[w[0] * inputs..w[1] * inputs],
                            &d_out[w[0] * outputs..w[1] * outputs],
                        )
                    })
                    .collect();
                let mut pieces = start.clone();
                for (first, block) in [(0, 7), (7, 10), (17, 6)] {
                    weight_gradient(
                        &batches,
                        inputs,
                        outputs,
                        first,
                        &mut pieces[first * outputs..(first + block) * outputs],
                        accumulate,
                    );
                }
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&pieces),
                    bits(&whole),
                    "outputs {outputs}, cuts {cuts:?}, accumulate {accumulate}"
                );
            }
            if !accumulate {
                // And the gradient itself: Σ_r input[r, i] · d_out[r, j].
                for (i, j) in [(0, 0), (22, outputs - 1), (11, 3)] {
                    let want: f64 = (0..rows)
                        .map(|r| {
                            f64::from(input[r * inputs + i]) * f64::from(d_out[r * outputs + j])
                        })
                        .sum();
                    assert!((f64::from(whole[i * outputs + j]) - want).abs() < 1e-4);
                }
            }
        }
    }
}

#[test]
fn the_lane_sum_matches_a_plain_sum() {
    let values: Vec<f32> = (0..37).map(|i| i as f32 * 0.25).collect();
    assert_eq!(sum(&values), values.iter().sum::<f32>());
    assert_eq!(sum(&[]), 0.0);
}
