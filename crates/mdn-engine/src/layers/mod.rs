//! Fully connected layers, forward and backward, on row-major batches.

use crate::activation::{activate_in_place, derivative_into};
use crate::arch::Activation;
use crate::buffers::{column_sums_add, sized, transpose_columns};
use crate::matmul::{
    Operands, Phase, Run, Segment, TileStart, fits_in_place, padded_width, product_rows,
    product_rows_in_place, product_runs_in_place,
};
use crate::vectorized;

/// The memory order of a layer's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// `[rows, outputs]`: the input of the next layer.
    RowMajor,
    /// `[outputs, rows]`: what the head's fused loss reads.
    FeatureMajor,
}

/// `out` ← `weight` (`[inputs, outputs]` row-major) transposed, `[outputs, inputs]` (its
/// allocation reused): what [`dense_backward`] multiplies by.
pub(crate) fn transpose_into(weight: &[f32], outputs: usize, out: &mut Vec<f32>) {
    let inputs = weight.len() / outputs.max(1);
    crate::buffers::transpose(weight, inputs, outputs, sized(out, weight.len()));
}

/// The single segment of a product over `k` steps (none when `k` is 0).
fn whole(k: usize) -> Vec<Segment> {
    if k == 0 {
        Vec::new()
    } else {
        vec![Segment { a: 0, b: 0, len: k }]
    }
}

/// `out = act(input · weight + bias)` (no activation for `None`). For GELU, `scratch`
/// receives `input · weight + bias`, which the backward pass needs; for feature-major output
/// without an activation it holds the row-major products before they are transposed;
/// otherwise it is left alone.
///
/// Each output is its bias plus the products in input order (see [`crate::matmul`]):
/// it does not depend on the other rows of the batch.
///
/// # Shapes
/// - `input`: `[rows, inputs]`; `weight`: `[inputs, outputs]`; `bias`: `[outputs]`
/// - `out` (and `scratch` for GELU): `[rows, outputs]` or `[outputs, rows]` as `order` says
#[allow(clippy::too_many_arguments)]
pub(crate) fn dense_forward(
    input: &[f32],
    rows: usize,
    weight: &[f32],
    bias: &[f32],
    out: &mut [f32],
    order: Order,
    activation: Option<Activation>,
    scratch: &mut Vec<f32>,
) {
    let outputs = bias.len();
    let inputs = weight.len() / outputs.max(1);
    assert_eq!(input.len(), rows * inputs, "dense_forward: input");
    assert_eq!(out.len(), rows * outputs, "dense_forward: out");
    let segments = whole(inputs);
    let ops = Operands::new(input, inputs, 1, weight, outputs, &segments);
    let runs = [Run {
        row: 0,
        a_at: 0,
        len: rows,
    }];
    let gelu = activation == Some(Activation::Gelu);
    if order == Order::RowMajor && !gelu && fits_in_place(outputs) {
        // A tile's rows are `out`'s rows (hidden widths of whole vectors): the kernel starts
        // from the bias and adds into `out` itself, instead of into a tile copied out row by
        // row (which cost W1 about a third of its time in small copies).
        vectorized!(product_rows_in_place(
            &ops,
            rows,
            outputs,
            out,
            outputs,
            TileStart::Row(bias)
        ),);
        if let Some(activation) = activation {
            activate_in_place(activation, out);
        }
        return;
    }
    if order == Order::FeatureMajor && activation.is_none() {
        // The head: the products row-major in place (rows padded to whole vectors), then
        // transposed in cache-sized blocks; the tile epilogue that wrote them feature-major
        // one value at a time (and copied the bias in row by row) took 7% of W1's samples.
        let width = padded_width(outputs);
        let products = sized(scratch, rows * width);
        vectorized!({
            product_rows_in_place(&ops, rows, outputs, products, width, TileStart::Row(bias));
            transpose_columns(products, rows, width, outputs, out);
        },);
        return;
    }
    let mut pre = gelu.then(|| sized(scratch, rows * outputs));
    vectorized!(product_rows(
        &ops,
        &runs,
        0,
        outputs,
        |block, phase| match phase {
            Phase::Init => {
                for i in 0..block.rows {
                    let col = block.col;
                    let cols = block.cols;
                    block.row_mut(i).copy_from_slice(&bias[col..col + cols]);
                }
            }
            Phase::Finish => match order {
                Order::RowMajor => {
                    for i in 0..block.rows {
                        let at = (block.row + i) * outputs + block.col;
                        let z = block.row(i);
                        if let Some(pre) = pre.as_deref_mut() {
                            pre[at..at + block.cols].copy_from_slice(z);
                        }
                        out[at..at + block.cols].copy_from_slice(z);
                    }
                }
                Order::FeatureMajor => {
                    for j in 0..block.cols {
                        let at = (block.col + j) * rows + block.row;
                        for i in 0..block.rows {
                            let z = block.values[i * block.stride + j];
                            if let Some(pre) = pre.as_deref_mut() {
                                pre[at + i] = z;
                            }
                            out[at + i] = z;
                        }
                    }
                }
            },
        },
    ),);
    // The activation runs as a pass of its own rather than in the tile epilogue: the
    // epilogue is a closure the compiler does not inline into the SIMD-dispatched kernel, so
    // its tanh ran without vector instructions (W1 batch 128 was 28% slower that way).
    if let Some(activation) = activation {
        activate_in_place(activation, out);
    }
}

/// The input gradient's activation: `d_input ← d_input · act′(out)` for the layer that
/// produced the input (`out` its output, `pre` its GELU input).
#[derive(Clone, Copy)]
pub(crate) struct Derivative<'a> {
    pub activation: Activation,
    pub out: &'a [f32],
    pub pre: &'a [f32],
}

/// Backward pass of [`dense_forward`] (before its activation): adds the weight gradient into
/// `d_weight` when given (the caller may take it over a larger batch: see
/// [`crate::network`]) and the bias gradient into `d_bias` (overwrites them unless
/// `accumulate`), and when `d_input` is given overwrites it with the input gradient
/// `d_out · weightᵀ`, multiplied by `derivative` when given.
///
/// # Shapes
/// - `d_out`: like the forward `out`; `weight_t`: `[outputs, inputs]` ([`transpose_into`])
/// - `d_weight`: `[inputs, outputs]`; `d_input`: `[rows, inputs]`
#[allow(clippy::too_many_arguments)]
pub(crate) fn dense_backward(
    input: &[f32],
    rows: usize,
    weight_t: &[f32],
    d_out: &[f32],
    order: Order,
    d_weight: Option<&mut [f32]>,
    d_bias: &mut [f32],
    d_input: Option<(&mut [f32], Option<Derivative<'_>>)>,
    accumulate: bool,
) {
    let outputs = d_bias.len();
    let inputs = weight_t.len() / outputs.max(1);
    assert_eq!(input.len(), rows * inputs, "dense_backward: input");
    assert_eq!(d_out.len(), rows * outputs, "dense_backward: d_out");
    if let Some(d_weight) = &d_weight {
        assert_eq!(d_weight.len(), inputs * outputs, "dense_backward: d_weight");
    }
    let over_rows = whole(rows);
    if !accumulate {
        d_bias.fill(0.0);
    }
    vectorized!({
        match order {
            // d_weight[i, j] += Σ_r input[r, i] · d_out[r, j]: tiles of d_weight itself.
            Order::RowMajor => {
                if let Some(d_weight) = d_weight {
                    weight_gradient(&[(input, d_out)], inputs, outputs, 0, d_weight, accumulate);
                }
                column_sums_add(d_out, outputs, d_bias);
            }
            // Feature-major d_out: tiles of d_weightᵀ, d_weightᵀ[j, i] += Σ_r d_out[j, r] ·
            // input[r, i].
            Order::FeatureMajor => {
                let ops = Operands::new(d_out, rows, 1, input, inputs, &over_rows);
                let runs = [Run {
                    row: 0,
                    a_at: 0,
                    len: outputs,
                }];
                if let Some(d_weight) = d_weight {
                    product_rows(&ops, &runs, 0, inputs, |block, phase| match phase {
                        Phase::Init if !accumulate => block.values.fill(0.0),
                        Phase::Init => {
                            for i in 0..block.rows {
                                let j = block.row + i;
                                let col = block.col;
                                for (c, v) in block.row_mut(i).iter_mut().enumerate() {
                                    *v = d_weight[(col + c) * outputs + j];
                                }
                            }
                        }
                        Phase::Finish => {
                            for i in 0..block.rows {
                                let j = block.row + i;
                                for (c, &v) in block.row(i).iter().enumerate() {
                                    d_weight[(block.col + c) * outputs + j] = v;
                                }
                            }
                        }
                    });
                }
                for (acc, column) in d_bias.iter_mut().zip(d_out.chunks_exact(rows.max(1))) {
                    *acc += sum(column);
                }
            }
        }
        if let Some((d_input, derivative)) = d_input {
            assert_eq!(d_input.len(), rows * inputs, "dense_backward: d_input");
            let (a_row, a_step) = match order {
                Order::RowMajor => (outputs, 1),
                Order::FeatureMajor => (1, rows),
            };
            let over_outputs = whole(outputs);
            let ops = Operands::new(d_out, a_row, a_step, weight_t, inputs, &over_outputs);
            if fits_in_place(inputs) {
                // Straight into `d_input`, then the derivative as a vectorised pass (in the
                // tile epilogue below it runs one value at a time).
                product_rows_in_place(&ops, rows, inputs, d_input, inputs, TileStart::Zero);
                if let Some(f) = derivative {
                    let pre = if f.pre.is_empty() { f.out } else { f.pre };
                    derivative_into(f.activation, f.out, pre, d_input);
                }
                return;
            }
            let runs = [Run {
                row: 0,
                a_at: 0,
                len: rows,
            }];
            product_rows(&ops, &runs, 0, inputs, |block, phase| match phase {
                Phase::Init => block.values.fill(0.0),
                Phase::Finish => {
                    for i in 0..block.rows {
                        let at = (block.row + i) * inputs + block.col;
                        let d = &mut d_input[at..at + block.cols];
                        d.copy_from_slice(block.row(i));
                        if let Some(f) = derivative {
                            let (out, pre) = (&f.out[at..at + d.len()], &f.pre);
                            let pre = if pre.is_empty() {
                                out
                            } else {
                                &pre[at..at + d.len()]
                            };
                            derivative_into(f.activation, out, pre, d);
                        }
                    }
                }
            });
        }
    },);
}

/// Rows `first..first + d_weight.len() / outputs` of a dense layer's weight gradient,
/// `d_weight[i, j] (+)= Σ_r input[r, i] · d_out[r, j]`, summed over the rows of `batches`
/// (`(input [rows, inputs], d_out [rows, outputs])` pairs) in order: each result is its start
/// (zero, or what `d_weight` holds when `accumulate`) plus the products of the first batch's
/// rows in order, then the next batch's, whatever the batches. So the gradient of a batch cut
/// into shards can be taken over the whole batch, and its rows over any threads, with the
/// bits of one product over all the rows.
///
/// # Panics
/// If `d_weight` is not whole rows of `outputs`, the rows run past `inputs`, or a batch's
/// lengths disagree.
pub(crate) fn weight_gradient(
    batches: &[(&[f32], &[f32])],
    inputs: usize,
    outputs: usize,
    first: usize,
    d_weight: &mut [f32],
    accumulate: bool,
) {
    let count = d_weight.len() / outputs.max(1);
    assert_eq!(count * outputs, d_weight.len(), "weight_gradient: d_weight");
    assert!(
        first + count <= inputs,
        "weight_gradient: rows past the inputs"
    );
    if count == 0 || outputs == 0 {
        return;
    }
    let runs = [Run {
        row: 0,
        a_at: first,
        len: count,
    }];
    for (b, &(input, d_out)) in batches.iter().enumerate() {
        let rows = d_out.len() / outputs;
        assert_eq!(input.len(), rows * inputs, "weight_gradient: input");
        let over_rows = whole(rows);
        let ops = Operands::new(input, 1, inputs, d_out, outputs, &over_rows);
        let add = accumulate || b > 0;
        vectorized!(if fits_in_place(outputs) {
            // In place: tiles of `d_weight` itself.
            let start = if add { TileStart::Out } else { TileStart::Zero };
            product_runs_in_place(&ops, &runs, outputs, d_weight, outputs, start);
        } else {
            product_rows(&ops, &runs, 0, outputs, |block, phase| match phase {
                Phase::Init if !add => block.values.fill(0.0),
                Phase::Init => {
                    for i in 0..block.rows {
                        let at = (block.row + i) * outputs + block.col;
                        let cols = block.cols;
                        block.row_mut(i).copy_from_slice(&d_weight[at..at + cols]);
                    }
                }
                Phase::Finish => {
                    for i in 0..block.rows {
                        let at = (block.row + i) * outputs + block.col;
                        d_weight[at..at + block.cols].copy_from_slice(block.row(i));
                    }
                }
            });
        },);
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

#[cfg(test)]
mod tests;
