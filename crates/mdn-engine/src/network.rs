//! A network on a flat parameter vector: forward passes for predictions and losses, backward
//! passes for gradients.
//!
//! A batch is split into shards by [`shard_ranges`], a function of the architecture and the
//! batch size only; shards run on rayon's threads, each with its own [`Workspace`], and their
//! losses and gradients are summed in shard order. The result is therefore the same on any
//! number of threads.

use std::ops::Range;

use rayon::prelude::*;

use crate::activation::activation_backward;
use crate::arch::{Activation, Backbone, ValidArchitecture};
use crate::buffers::sized;
use crate::conv::{self, Conv2dShape, ImageShape, PaddedImages};
use crate::error::LengthError;
use crate::head::{self, HeadOutput, HeadScratch, LossSums, MixtureParams};
use crate::layers::{self, dense_backward, dense_forward};
use crate::params::ParamLayout;

/// Multiply-adds below which a batch is not split further: about 20 µs of work, so that a
/// shard's fixed costs (a thread hand-off, a gradient buffer to sum) stay small beside it.
const MIN_SHARD_MACS: usize = 1 << 19;
/// At most this many shards. A fixed power of two, so that results do not depend on the
/// machine and the shards divide evenly between 2, 4 or 8 threads.
const MAX_SHARDS: usize = 8;
/// Multiply-adds per forward pass over many rows (prediction, evaluation): passes are cut to
/// about this much work so that their buffers stay small — the im2col matrices of a CNN hold
/// some 100,000 floats per image — yet large enough to keep every thread busy.
const PASS_MACS: usize = 1 << 28;
/// At most this many rows per pass.
const MAX_PASS_ROWS: usize = 8192;

/// Rows per forward pass over many rows: about 2²⁸ multiply-adds of work, at least one row
/// and at most 8,192 (about 88 MNIST images, or 8,192 rows of a small MLP).
pub fn pass_rows(arch: &ValidArchitecture) -> usize {
    rows_per_pass(arch.forward_macs_per_row())
}

fn rows_per_pass(macs_per_row: usize) -> usize {
    (PASS_MACS / macs_per_row.max(1)).clamp(1, MAX_PASS_ROWS)
}

/// How a batch of `rows` examples is split: consecutive row ranges of (nearly) equal size.
pub fn shard_ranges(arch: &ValidArchitecture, rows: usize) -> Vec<Range<usize>> {
    shards(arch.forward_macs_per_row(), rows)
}

fn shards(macs_per_row: usize, rows: usize) -> Vec<Range<usize>> {
    let work = rows.saturating_mul(macs_per_row.max(1));
    let wanted = (work / MIN_SHARD_MACS)
        .clamp(1, MAX_SHARDS)
        .min(rows.max(1));
    // The largest power of two not above `wanted`.
    let shards = 1 << (usize::BITS - 1 - wanted.leading_zeros());
    (0..shards)
        .map(|s| s * rows / shards..(s + 1) * rows / shards)
        .collect()
}

/// Buffers of one shard's forward and backward passes, kept between calls so that training
/// steps allocate nothing.
#[derive(Debug, Default, Clone)]
pub struct Workspace {
    /// Post-activation outputs: of each MLP layer, or of each convolution (before pooling)
    /// and then the CNN's dense layer.
    hidden: Vec<Vec<f32>>,
    /// Pre-activation copies (GELU only), indexed like `hidden`.
    pre: Vec<Vec<f32>>,
    /// CNN: each block's pooled output, its argmax indices and its zero-padded input (what
    /// the convolution reads, forward and backward).
    pooled: Vec<Vec<f32>>,
    argmax: Vec<Vec<u32>>,
    padded: Vec<PaddedImages>,
    /// CNN: the last pooled output flattened channel-major (NCHW), as PyTorch flattens.
    flat: Vec<f32>,
    /// The head's raw outputs row-major, rows padded to whole vectors, before they are
    /// transposed into `raw` (feature-major).
    raw_rows: Vec<f32>,
    raw: Vec<f32>,
    d_raw: Vec<f32>,
    d_a: Vec<f32>,
    d_b: Vec<f32>,
    /// CNN: the zero-padded output gradient of a convolution.
    padded_grad: PaddedImages,
    /// CNN: the gradient of the dense layer's outputs (before its activation), kept with
    /// `flat` for the layer's weight gradient, which [`Network::gradient`] takes over the
    /// whole batch.
    d_dense: Vec<f32>,
    head: HeadScratch,
    grads: Vec<f32>,
    /// The first shard's workspace keeps the last [`Packed`] weights between calls, so that
    /// repacking them each training step reuses their buffers (W2's dense weight alone is
    /// 200,704 floats).
    packed: Packed,
}

/// The weights rearranged for the kernels, once per call and shared by its shards: each
/// convolution's weight packed for the forward pass and (for gradients) for the input
/// gradient, and (for gradients) each fully connected weight transposed. Indexed by
/// parameter tensor; empty where not needed.
#[derive(Debug, Default, Clone)]
struct Packed {
    forward: Vec<Vec<f32>>,
    backward: Vec<Vec<f32>>,
}

/// A network: an architecture and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    arch: ValidArchitecture,
    layout: ParamLayout,
    params: Vec<f32>,
    /// [`ValidArchitecture::forward_macs_per_row`], which sizes every pass and shard: worked
    /// out once, not on every training step.
    macs_per_row: usize,
}

impl Network {
    /// A network with the given parameters, stored as [`ValidArchitecture::tensors`] lists
    /// them (see [`crate::Architecture`] for the order and layouts).
    pub fn new(arch: ValidArchitecture, params: Vec<f32>) -> Result<Self, LengthError> {
        let layout = arch.param_layout();
        if params.len() != layout.len() {
            return Err(LengthError {
                what: "the parameter vector",
                expected: layout.len(),
                got: params.len(),
            });
        }
        Ok(Self {
            macs_per_row: arch.forward_macs_per_row(),
            arch,
            layout,
            params,
        })
    }

    /// The architecture.
    pub fn architecture(&self) -> &ValidArchitecture {
        &self.arch
    }

    /// Where each parameter tensor lives in [`params`](Self::params).
    pub fn param_layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// The parameters.
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// The parameters, to update in place.
    pub fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }

    /// The layout and, to update in place, the parameters it describes.
    pub fn layout_and_params_mut(&mut self) -> (&ParamLayout, &mut [f32]) {
        (&self.layout, &mut self.params)
    }

    /// Parameter tensor `i`.
    fn tensor(&self, i: usize) -> &[f32] {
        &self.params[self.layout.range(i)]
    }

    /// Index of the head's weight tensor (its bias follows).
    fn head_tensor(&self) -> usize {
        self.layout.count() - 2
    }

    fn check_rows(&self, inputs: &[f32], rows: usize) {
        assert_eq!(
            inputs.len(),
            rows * self.arch.input_dim(),
            "inputs must be [rows, input_dim]"
        );
    }

    /// What the head predicts for each row, in passes of [`pass_rows`] rows.
    ///
    /// # Shapes
    /// - `inputs`: `[rows, input_dim]` (standardised, images flattened row-major)
    pub fn predict(&self, inputs: &[f32], rows: usize) -> HeadOutput {
        self.check_rows(inputs, rows);
        let d = self.arch.input_dim();
        let packed = self.pack(false);
        concatenate(self.in_passes(rows, |ws, range| {
            let n = range.len();
            self.forward(&inputs[range.start * d..range.end * d], n, ws, &packed);
            head::predict(&self.arch.head, &ws.raw, n, &mut ws.head)
        }))
    }

    /// The summed loss of `rows` examples, each multiplied by its weight where `weights` are
    /// given, in passes of [`pass_rows`] rows.
    ///
    /// # Shapes
    /// - `inputs`: `[rows, input_dim]`; `targets`: `[rows, target_dim]`; `weights`: `[rows]`
    pub fn loss(
        &self,
        inputs: &[f32],
        targets: &[f32],
        weights: Option<&[f32]>,
        rows: usize,
    ) -> LossSums {
        self.check_rows(inputs, rows);
        check_weights(weights, rows);
        let mut total = LossSums::default();
        if rows == 0 {
            return total;
        }
        let (d, c) = (self.arch.input_dim(), self.arch.target_dim());
        let packed = self.pack(false);
        let parts = self.in_passes(rows, |ws, range| {
            let n = range.len();
            self.forward(&inputs[range.start * d..range.end * d], n, ws, &packed);
            let t = &targets[range.start * c..range.end * c];
            let w = weights.map(|w| &w[range.clone()]);
            head::loss_rows(&self.arch.head, &ws.raw, n, t, w, None, &mut ws.head);
            row_losses(&ws.head, range)
        });
        add_in_row_order(&mut total, &self.arch.head, &parts, weights);
        total
    }

    /// `f` over all `rows` (at least one pass, however few): in passes of [`pass_rows`] rows,
    /// each split into shards as [`shard_ranges`] says, with workspaces reused from pass to
    /// pass; the results in row order.
    fn in_passes<R: Send>(
        &self,
        rows: usize,
        f: impl Fn(&mut Workspace, Range<usize>) -> R + Sync,
    ) -> Vec<R> {
        let step = rows_per_pass(self.macs_per_row);
        let mut workspaces = Vec::new();
        let mut results = Vec::new();
        for start in (0..rows.max(1)).step_by(step) {
            let end = (start + step).min(rows);
            let ranges = shards(self.macs_per_row, end - start)
                .into_iter()
                .map(|r| start + r.start..start + r.end)
                .collect();
            results.extend(on_shards(ranges, &mut workspaces, &f));
        }
        results
    }

    /// The summed loss of a batch and, in `grads`, the gradient of its **mean** with respect
    /// to every parameter (what one training step descends): the weighted mean
    /// Σ w·loss / Σ w where `weights` are given.
    ///
    /// # Shapes
    /// - `inputs`: `[rows, input_dim]`; `targets`: `[rows, target_dim]`; `weights`: `[rows]`
    /// - `grads`: as many values as the parameters, overwritten
    pub fn gradient(
        &self,
        inputs: &[f32],
        targets: &[f32],
        weights: Option<&[f32]>,
        rows: usize,
        grads: &mut [f32],
        workspaces: &mut Vec<Workspace>,
    ) -> LossSums {
        self.check_rows(inputs, rows);
        check_weights(weights, rows);
        assert_eq!(grads.len(), self.params.len(), "one gradient per parameter");
        let (d, c) = (self.arch.input_dim(), self.arch.target_dim());
        let ranges = shards(self.macs_per_row, rows);
        let scale = match weights {
            None => 1.0 / rows.max(1) as f32,
            Some(w) => (1.0 / w.iter().map(|&w| f64::from(w)).sum::<f64>()) as f32,
        };
        let mut packed = workspaces
            .first_mut()
            .map(|ws| std::mem::take(&mut ws.packed))
            .unwrap_or_default();
        self.pack_into(true, &mut packed);
        let shard = |ws: &mut Workspace, range: Range<usize>| {
            let n = range.len();
            let x = &inputs[range.start * d..range.end * d];
            let t = &targets[range.start * c..range.end * c];
            let w = weights.map(|w| &w[range.clone()]);
            self.forward(x, n, ws, &packed);
            let d_raw = sized(&mut ws.d_raw, ws.raw.len());
            head::loss_rows(
                &self.arch.head,
                &ws.raw,
                n,
                t,
                w,
                Some((d_raw, scale)),
                &mut ws.head,
            );
            self.backward(x, n, ws, &packed);
            row_losses(&ws.head, range)
        };
        let parts = on_shards(ranges, workspaces, shard);
        match self.batch_weight_gradient(workspaces, grads) {
            Some(range) => {
                sum_gradients(workspaces, grads, 0..range.start);
                sum_gradients(workspaces, grads, range.end..self.params.len());
            }
            None => sum_gradients(workspaces, grads, 0..self.params.len()),
        }
        workspaces[0].packed = packed;
        let mut total = LossSums::default();
        add_in_row_order(&mut total, &self.arch.head, &parts, weights);
        total
    }

    /// The weights rearranged for the kernels ([`Packed`]); `backward` adds what gradients
    /// need.
    fn pack(&self, backward: bool) -> Packed {
        let mut packed = Packed::default();
        self.pack_into(backward, &mut packed);
        packed
    }

    /// [`pack`](Self::pack) into `packed`, reusing its buffers.
    fn pack_into(&self, backward: bool, packed: &mut Packed) {
        let count = self.layout.count();
        packed.forward.resize_with(count, Vec::new);
        packed.backward.resize_with(count, Vec::new);
        let mut dense = Vec::new();
        match &self.arch.backbone {
            Backbone::Mlp { hidden, .. } => dense.extend((0..hidden.len()).map(|l| 2 * l)),
            Backbone::Cnn {
                channels, kernel, ..
            } => {
                let mut c_in = 1;
                for (l, &c_out) in channels.iter().enumerate() {
                    let conv = Conv2dShape::new(c_in, c_out, *kernel);
                    conv::pack_forward(conv, self.tensor(2 * l), &mut packed.forward[2 * l]);
                    if backward && l > 0 {
                        conv::pack_backward(conv, self.tensor(2 * l), &mut packed.backward[2 * l]);
                    }
                    c_in = c_out;
                }
                dense.push(2 * channels.len());
            }
        }
        if backward {
            dense.push(self.head_tensor());
            for i in dense {
                let outputs = self.tensor(i + 1).len();
                layers::transpose_into(self.tensor(i), outputs, &mut packed.backward[i]);
            }
        }
    }

    /// A CNN's dense layer's weight gradient over the whole batch, from what the shards'
    /// backward passes left (`flat`, `d_dense`), written into `grads` in place; returns the
    /// range of `grads` it wrote (`None` for an MLP, whose shards take all their gradients).
    ///
    /// The rows of the batch are summed in order, shard after shard (see
    /// [`layers::weight_gradient`]), on rayon's threads by blocks of weight rows: the bits do
    /// not depend on the number of threads. (A product over all the rows instead of one per
    /// shard over a few: W2's 1568 × 128 weight was eight products over 8 rows, each into a
    /// buffer of its own, summed afterwards.)
    fn batch_weight_gradient(
        &self,
        shards: &[Workspace],
        grads: &mut [f32],
    ) -> Option<Range<usize>> {
        /// Weight rows a task: a multiple of every kernel's tile height (6, 12, 14).
        const ROWS_PER_TASK: usize = 84;
        let Backbone::Cnn {
            channels, hidden, ..
        } = &self.arch.backbone
        else {
            return None;
        };
        let range = self.layout.range(2 * channels.len());
        let outputs = *hidden;
        let inputs = range.len() / outputs.max(1);
        let batches: Vec<(&[f32], &[f32])> = shards
            .iter()
            .map(|ws| (&ws.flat[..], &ws.d_dense[..]))
            .collect();
        grads[range.clone()]
            .par_chunks_mut((ROWS_PER_TASK * outputs).max(1))
            .enumerate()
            .for_each(|(task, d_weight)| {
                layers::weight_gradient(
                    &batches,
                    inputs,
                    outputs,
                    task * ROWS_PER_TASK,
                    d_weight,
                    false,
                );
            });
        Some(range)
    }

    /// Runs the backbone and the head's linear layer, leaving the raw head outputs
    /// (feature-major) in `ws.raw` and every intermediate the backward pass needs.
    fn forward(&self, x: &[f32], rows: usize, ws: &mut Workspace, packed: &Packed) {
        match &self.arch.backbone {
            Backbone::Mlp {
                hidden, activation, ..
            } => {
                ws.hidden.resize_with(hidden.len(), Vec::new);
                ws.pre.resize_with(hidden.len(), Vec::new);
                for (l, &width) in hidden.iter().enumerate() {
                    let (done, rest) = ws.hidden.split_at_mut(l);
                    let input: &[f32] = if l == 0 { x } else { &done[l - 1] };
                    let out = sized(&mut rest[0], rows * width);
                    dense_forward(
                        input,
                        rows,
                        self.tensor(2 * l),
                        self.tensor(2 * l + 1),
                        out,
                        layers::Order::RowMajor,
                        Some(*activation),
                        &mut ws.pre[l],
                    );
                }
            }
            Backbone::Cnn {
                height,
                width,
                channels,
                kernel,
                hidden,
                activation,
            } => {
                let blocks = channels.len();
                for buffers in [&mut ws.hidden, &mut ws.pre, &mut ws.pooled] {
                    buffers.resize_with(blocks + 1, Vec::new);
                }
                ws.padded.resize_with(blocks + 1, PaddedImages::default);
                ws.argmax.resize_with(blocks, Vec::new);
                let mut shape = ImageShape::new(rows, *height, *width, 1);
                for (l, &c_out) in channels.iter().enumerate() {
                    let conv = Conv2dShape::new(shape.channels, c_out, *kernel);
                    let (done, rest) = ws.pooled.split_at_mut(l);
                    let input: &[f32] = if l == 0 { x } else { &done[l - 1] };
                    ws.padded[l].pad(input, shape, conv.padding());
                    let out_shape = shape.with_channels(c_out);
                    let out = sized(&mut ws.hidden[l], out_shape.len());
                    conv::forward_padded(
                        ws.padded[l].values(),
                        shape,
                        conv,
                        &packed.forward[2 * l],
                        self.tensor(2 * l + 1),
                        out,
                        Some(*activation),
                        &mut ws.pre[l],
                    );
                    let pooled_shape = out_shape.pooled();
                    let pooled = sized(&mut rest[0], pooled_shape.len());
                    let argmax = sized(&mut ws.argmax[l], pooled_shape.len());
                    conv::maxpool2_forward(out, out_shape, pooled, argmax);
                    shape = pooled_shape;
                }
                let flat = sized(&mut ws.flat, shape.len());
                conv::nhwc_to_nchw(&ws.pooled[blocks - 1], shape, flat);
                let out = sized(&mut ws.hidden[blocks], rows * hidden);
                let dense = 2 * blocks;
                dense_forward(
                    flat,
                    rows,
                    self.tensor(dense),
                    self.tensor(dense + 1),
                    out,
                    layers::Order::RowMajor,
                    Some(*activation),
                    &mut ws.pre[blocks],
                );
            }
        }
        let features: &[f32] = match &self.arch.backbone {
            Backbone::Mlp { hidden, .. } if hidden.is_empty() => x,
            _ => ws.hidden.last().expect("a hidden layer"),
        };
        let h = self.head_tensor();
        let raw = sized(&mut ws.raw, rows * self.arch.head.width());
        dense_forward(
            features,
            rows,
            self.tensor(h),
            self.tensor(h + 1),
            raw,
            layers::Order::FeatureMajor,
            None,
            &mut ws.raw_rows,
        );
    }

    /// Backpropagates `ws.d_raw` through the head and the backbone into `ws.grads`
    /// (overwritten), using what [`forward`](Self::forward) left in `ws`.
    fn backward(&self, x: &[f32], rows: usize, ws: &mut Workspace, packed: &Packed) {
        let grads = sized(&mut ws.grads, self.params.len());
        // Every parameter's gradient is written once below (overwriting); an empty batch
        // writes none of them.
        let accumulate = false;
        if rows == 0 {
            grads.fill(0.0);
        }
        let layout = &self.layout;
        let h = self.head_tensor();
        let (w_range, b_range) = (layout.range(h), layout.range(h + 1));
        match &self.arch.backbone {
            Backbone::Mlp {
                hidden, activation, ..
            } => {
                let layers_count = hidden.len();
                let features: &[f32] = if layers_count == 0 {
                    x
                } else {
                    &ws.hidden[layers_count - 1]
                };
                let (d_w, d_b) = grads[w_range.start..b_range.end].split_at_mut(w_range.len());
                let d_features = (layers_count > 0).then(|| {
                    let l = layers_count - 1;
                    (
                        sized(&mut ws.d_a, rows * self.arch.feature_dim()),
                        Some(derivative(*activation, &ws.hidden[l], &ws.pre[l])),
                    )
                });
                dense_backward(
                    features,
                    rows,
                    &packed.backward[h],
                    &ws.d_raw,
                    layers::Order::FeatureMajor,
                    Some(d_w),
                    d_b,
                    d_features,
                    accumulate,
                );
                for l in (0..layers_count).rev() {
                    let d_out = &ws.d_a;
                    let input: &[f32] = if l == 0 { x } else { &ws.hidden[l - 1] };
                    let (w_range, b_range) = (layout.range(2 * l), layout.range(2 * l + 1));
                    let (d_w, d_b) = grads[w_range.start..b_range.end].split_at_mut(w_range.len());
                    let d_input = (l > 0).then(|| {
                        (
                            sized(&mut ws.d_b, rows * hidden[l - 1]),
                            Some(derivative(*activation, &ws.hidden[l - 1], &ws.pre[l - 1])),
                        )
                    });
                    dense_backward(
                        input,
                        rows,
                        &packed.backward[2 * l],
                        d_out,
                        layers::Order::RowMajor,
                        Some(d_w),
                        d_b,
                        d_input,
                        accumulate,
                    );
                    std::mem::swap(&mut ws.d_a, &mut ws.d_b);
                }
            }
            Backbone::Cnn {
                height,
                width,
                channels,
                kernel,
                hidden,
                activation,
            } => {
                let blocks = channels.len();
                let (d_w, d_b) = grads[w_range.start..b_range.end].split_at_mut(w_range.len());
                let d_features = sized(&mut ws.d_a, rows * hidden);
                dense_backward(
                    &ws.hidden[blocks],
                    rows,
                    &packed.backward[h],
                    &ws.d_raw,
                    layers::Order::FeatureMajor,
                    Some(d_w),
                    d_b,
                    Some((
                        d_features,
                        Some(derivative(*activation, &ws.hidden[blocks], &ws.pre[blocks])),
                    )),
                    accumulate,
                );
                // The dense layer's weight gradient is left to `gradient`, over the whole
                // batch: per shard it was a product over a few rows into a buffer as large as
                // the weight (W2: 200,704 floats for 8 images), summed over the shards.
                let dense = 2 * blocks;
                let d_b = &mut grads[layout.range(dense + 1)];
                let d_flat = sized(&mut ws.d_b, ws.flat.len());
                dense_backward(
                    &ws.flat,
                    rows,
                    &packed.backward[dense],
                    &ws.d_a,
                    layers::Order::RowMajor,
                    None,
                    d_b,
                    Some((d_flat, None)),
                    accumulate,
                );
                std::mem::swap(&mut ws.d_a, &mut ws.d_dense);
                // Block shapes, first to last: each convolution's input shape.
                let mut shapes = Vec::with_capacity(blocks);
                let mut shape = ImageShape::new(rows, *height, *width, 1);
                for &c_out in channels {
                    shapes.push(shape);
                    shape = shape.with_channels(c_out).pooled();
                }
                // d of the last pooled output, back in NHWC.
                let d_pooled = sized(&mut ws.d_a, shape.len());
                conv::nchw_to_nhwc(&ws.d_b, shape, d_pooled);
                for l in (0..blocks).rev() {
                    let in_shape = shapes[l];
                    let conv = Conv2dShape::new(in_shape.channels, channels[l], *kernel);
                    let d_conv = sized(&mut ws.d_b, in_shape.with_channels(channels[l]).len());
                    conv::maxpool2_backward(&ws.d_a, &ws.argmax[l], d_conv);
                    activation_backward(*activation, &ws.hidden[l], &ws.pre[l], d_conv);
                    let (w_range, b_range) = (layout.range(2 * l), layout.range(2 * l + 1));
                    let (d_w, d_b) = grads[w_range.start..b_range.end].split_at_mut(w_range.len());
                    let d_input = (l > 0).then(|| {
                        (
                            sized(&mut ws.d_a, in_shape.len()),
                            &packed.backward[2 * l][..],
                        )
                    });
                    conv::backward_padded(
                        &ws.d_b,
                        ws.padded[l].values(),
                        in_shape,
                        conv,
                        d_w,
                        d_b,
                        d_input,
                        &mut ws.padded_grad,
                        accumulate,
                    );
                }
            }
        }
    }
}

/// A shard's rows and their weighted losses (and least-squares residuals), as
/// [`head::loss_rows`] left them.
struct RowLosses {
    range: Range<usize>,
    loss: Vec<f64>,
    squared: Vec<f64>,
}

fn row_losses(scratch: &HeadScratch, range: Range<usize>) -> RowLosses {
    let (loss, squared) = scratch.row_losses();
    RowLosses {
        range,
        loss: loss.to_vec(),
        squared: squared.to_vec(),
    }
}

/// Adds the shards' row losses to `total` one row at a time in row order, so that the sums
/// do not depend on how the rows were split into passes and shards (or calls).
fn add_in_row_order(
    total: &mut LossSums,
    head: &crate::arch::Head,
    parts: &[RowLosses],
    weights: Option<&[f32]>,
) {
    if let crate::arch::Head::LeastSquares { target_dim } = *head {
        total.squared.resize(target_dim, 0.0);
    }
    for part in parts {
        let w = weights.map(|w| &w[part.range.clone()]);
        total.add_rows(&part.loss, &part.squared, w);
    }
}

/// The derivative of `activation` at a layer's output `out` (and, for GELU, its input
/// `pre`), for [`dense_backward`].
fn derivative<'a>(
    activation: Activation,
    out: &'a [f32],
    pre: &'a [f32],
) -> layers::Derivative<'a> {
    let pre = if activation == Activation::Gelu {
        pre
    } else {
        &[]
    };
    layers::Derivative {
        activation,
        out,
        pre,
    }
}

/// Row weights must be one per row, finite and not negative, and not all zero.
fn check_weights(weights: Option<&[f32]>, rows: usize) {
    if let Some(w) = weights {
        assert_eq!(w.len(), rows, "one weight per row");
        assert!(
            w.iter().all(|w| w.is_finite() && *w >= 0.0),
            "row weights are finite and not negative"
        );
    }
}

/// Runs `f` on every shard of `ranges` (the row ranges of one batch), each with a workspace
/// of its own from `workspaces` (grown or shrunk to one per shard), on rayon's threads — or
/// inline when there is a single shard — and returns the results in shard order.
fn on_shards<R: Send>(
    ranges: Vec<Range<usize>>,
    workspaces: &mut Vec<Workspace>,
    f: impl Fn(&mut Workspace, Range<usize>) -> R + Sync,
) -> Vec<R> {
    workspaces.resize_with(ranges.len(), Workspace::default);
    if let [range] = &ranges[..] {
        return vec![f(&mut workspaces[0], range.clone())];
    }
    workspaces
        .par_iter_mut()
        .zip(ranges)
        .map(|(ws, range)| f(ws, range))
        .collect()
}

/// `grads[range]` ← the sum of the shards' gradients there, in shard order, in parallel over
/// blocks of parameters.
fn sum_gradients(shards: &[Workspace], grads: &mut [f32], range: Range<usize>) {
    const BLOCK: usize = 1 << 14;
    let first = &shards[0].grads;
    let at = range.start;
    let grads = &mut grads[range];
    let sum_block = |(b, out): (usize, &mut [f32])| {
        let range = at + b * BLOCK..at + b * BLOCK + out.len();
        out.copy_from_slice(&first[range.clone()]);
        for shard in &shards[1..] {
            crate::vectorized!({
                for (o, &g) in out.iter_mut().zip(&shard.grads[range.clone()]) {
                    *o += g;
                }
            },);
        }
    };
    if shards.len() == 1 || grads.len() <= BLOCK {
        grads.chunks_mut(BLOCK).enumerate().for_each(sum_block);
    } else {
        grads.par_chunks_mut(BLOCK).enumerate().for_each(sum_block);
    }
}

/// The shards' predictions as one batch, in order.
fn concatenate(parts: Vec<HeadOutput>) -> HeadOutput {
    let mut parts = parts.into_iter();
    let first = parts.next().expect("at least one shard");
    parts.fold(first, |acc, part| match (acc, part) {
        (HeadOutput::Point(mut a), HeadOutput::Point(b)) => {
            a.extend(b);
            HeadOutput::Point(a)
        }
        (HeadOutput::Mixture(mut a), HeadOutput::Mixture(b)) => {
            append_mixture(&mut a, b);
            HeadOutput::Mixture(a)
        }
        _ => unreachable!("every shard has the same head"),
    })
}

fn append_mixture(a: &mut MixtureParams, b: MixtureParams) {
    a.rows += b.rows;
    a.log_alpha.extend(b.log_alpha);
    a.means.extend(b.means);
    a.sigma.extend(b.sigma);
    a.lower.extend(b.lower);
}
