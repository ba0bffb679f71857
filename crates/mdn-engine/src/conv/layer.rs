//! The forward and backward passes of a convolution, read straight from zero-padded images
//! by the tile kernels of [`crate::matmul`] (no im2col matrix).

use super::columns::{
    PaddedImages, check_kernel, pack_backward, pack_forward, pad_images, padded_shape,
};
use super::shape::{Conv2dShape, ImageShape};
use crate::activation::{activate_in_place, activate_into};
use crate::arch::Activation;
use crate::buffers::{column_sums_add, sized};
use crate::matmul::{
    Block, Operands, Phase, Run, Segment, TileStart, fits_in_place, lanes, max_rows, padded_width,
    product_rows, product_runs_in_place,
};
use crate::vectorized;

fn check_conv(shape: ImageShape, conv: Conv2dShape, weight_len: usize, bias_len: usize) {
    check_kernel(conv.kernel);
    assert_eq!(
        shape.channels, conv.c_in,
        "the images have {} channels but the convolution takes {}",
        shape.channels, conv.c_in
    );
    assert_eq!(
        weight_len,
        conv.weight_len(),
        "the weight must be [c_out = {}, c_in = {}, {k}, {k}]",
        conv.c_out,
        conv.c_in,
        k = conv.kernel
    );
    assert_eq!(
        bias_len, conv.c_out,
        "the bias must have c_out = {} entries",
        conv.c_out
    );
}

/// One segment per kernel row: the `k · channels` values of a pixel's receptive field in
/// that row are contiguous in a padded NHWC image (`padded_width` pixels a row), and meet
/// rows of a weight packed `[k, k, channels, outputs]`.
fn kernel_rows(
    kernel: usize,
    channels: usize,
    padded_width: usize,
    outputs: usize,
) -> Vec<Segment> {
    if channels == 0 {
        return Vec::new();
    }
    (0..kernel)
        .map(|ky| Segment {
            a: ky * padded_width * channels,
            b: ky * kernel * channels * outputs,
            len: kernel * channels,
        })
        .collect()
}

/// One run per image row of `shape`: the pixels of output row `(n, y)`, whose receptive
/// fields start at row `y`, column 0 of the padded image.
fn image_rows(shape: ImageShape, padded: ImageShape) -> Vec<Run> {
    let mut runs = Vec::with_capacity(shape.images * shape.height);
    if shape.width == 0 {
        return runs;
    }
    for n in 0..shape.images {
        for y in 0..shape.height {
            runs.push(Run {
                row: (n * shape.height + y) * shape.width,
                a_at: ((n * padded.height + y) * padded.width) * padded.channels,
                len: shape.width,
            });
        }
    }
    runs
}

/// Writes a tile of rows of results (pixels × channels) into the NHWC `out` (`width` values
/// a pixel), through the activation; for GELU its input into `pre` too.
#[inline(always)]
fn store_pixels(
    block: &Block<'_>,
    out: &mut [f32],
    width: usize,
    activation: Option<Activation>,
    pre: Option<&mut [f32]>,
) {
    let mut pre = pre;
    for i in 0..block.rows {
        let at = (block.row + i) * width + block.col;
        let z = block.row(i);
        if let Some(pre) = pre.as_deref_mut() {
            pre[at..at + block.cols].copy_from_slice(z);
        }
        activate_into(activation, z, &mut out[at..at + block.cols]);
    }
}

/// The forward pass from an already padded input (`padded`, [`padded_shape`] of `shape`
/// with `kernel / 2`) and the weight packed by [`pack_forward`]: `out = act(conv + bias)`;
/// for GELU `pre` receives `conv + bias`. Every output is its bias plus the products in a
/// fixed order, whatever the other images of the batch.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward_padded(
    padded: &[f32],
    shape: ImageShape,
    conv: Conv2dShape,
    packed: &[f32],
    bias: &[f32],
    out: &mut [f32],
    activation: Option<Activation>,
    pre: &mut Vec<f32>,
) {
    check_conv(shape, conv, packed.len(), bias.len());
    let padded_shape = padded_shape(shape, conv.padding());
    assert_eq!(padded.len(), padded_shape.len(), "conv: the padded input");
    let c_out = conv.c_out;
    assert_eq!(
        out.len(),
        shape.pixels() * c_out,
        "conv_forward: out must be [{} pixels, c_out = {c_out}]",
        shape.pixels()
    );
    if out.is_empty() {
        return;
    }
    let segments = kernel_rows(conv.kernel, conv.c_in, padded_shape.width, c_out);
    let runs = image_rows(shape, padded_shape);
    let ops = Operands::new(padded, conv.c_in, 1, packed, c_out, &segments);
    let gelu = activation == Some(Activation::Gelu);
    if !gelu && fits_in_place(c_out) {
        // Channels of whole vectors: the kernel starts from the bias and adds into `out`
        // itself, and the activation runs as a vectorised pass.
        vectorized!(product_runs_in_place(
            &ops,
            &runs,
            c_out,
            out,
            c_out,
            TileStart::Row(bias)
        ),);
        if let Some(activation) = activation {
            activate_in_place(activation, out);
        }
        return;
    }
    let mut pre = gelu.then(|| sized(pre, out.len()));
    vectorized!(product_rows(
        &ops,
        &runs,
        0,
        c_out,
        |block, phase| match phase {
            Phase::Init => {
                for i in 0..block.rows {
                    let (col, cols) = (block.col, block.cols);
                    block.row_mut(i).copy_from_slice(&bias[col..col + cols]);
                }
            }
            Phase::Finish => store_pixels(block, out, c_out, activation, pre.as_deref_mut()),
        },
    ),);
}

/// Forward pass of a "same"-padded, stride-1 convolution:
/// `out[n, y, x, co] = bias[co] + Σ_{ci, ky, kx} input[n, y + ky − p, x + kx − p, ci] ·
/// weight[co, ci, ky, kx]` (zero outside the image, p = kernel / 2).
///
/// `padded` is scratch, left holding the zero-padded input ([`pad_images`]) for
/// [`conv_backward`].
///
/// # Shapes
/// - `input`: NHWC, `shape` (`shape.channels == conv.c_in`)
/// - `weight`: `[c_out, c_in, k, k]` row-major (PyTorch's layout); `bias`: `[c_out]`
/// - `out`: NHWC, `shape.with_channels(conv.c_out)`, i.e. row-major `[pixels, c_out]`,
///   overwritten
///
/// # Panics
/// If the kernel side is even or a length disagrees with the shapes.
pub fn conv_forward(
    input: &[f32],
    shape: ImageShape,
    conv: Conv2dShape,
    weight: &[f32],
    bias: &[f32],
    padded: &mut Vec<f32>,
    out: &mut [f32],
) {
    check_conv(shape, conv, weight.len(), bias.len());
    assert_eq!(
        input.len(),
        shape.len(),
        "conv_forward: the input does not have shape {shape:?}"
    );
    pad_images(input, shape, conv.padding(), padded);
    let mut packed = Vec::new();
    pack_forward(conv, weight, &mut packed);
    forward_padded(
        padded,
        shape,
        conv,
        &packed,
        bias,
        out,
        None,
        &mut Vec::new(),
    );
}

/// When a weight gradient has at least this many tiles, [`weight_gradient`] takes the pixels
/// in blocks of about `BLOCK_PIXELS`.
///
/// Every tile of a weight gradient passes over all the pixels; in blocks of image rows, every
/// tile over one block before the next, the block's padded rows and output gradients stay in
/// the L1 cache between the tiles' passes. The sums are stored and reloaded between blocks,
/// which costs more than the cache misses it saves where few tiles pass. Measured on a Zen 4
/// (`conv_speed`, the weight gradient of W2's conv 2 on 16 images): AVX2's 28 tiles (at most 6
/// rows × 16 channels) 0.96 ms over all the pixels, 0.82 in blocks; AVX-512's 6 tiles 0.74
/// against 0.78, and conv 1's single tile 0.10 against 0.12.
const BLOCKED_PASSES: usize = 12;
/// Pixels per block of [`weight_gradient`]'s reduction (whole image rows, at least one).
const BLOCK_PIXELS: usize = 128;

/// `d_weight[co, ci, ky, kx] (+)= Σ_pixels d_out[pixel, co] · padded[pixel + (ky, kx), ci]`
/// (overwritten unless `accumulate`), the reduction in blocks of `block_rows` image rows.
///
/// For each kernel row ky, tiles over j = kx·c_in + ci (contiguous in the padded image) and
/// the output channels accumulate in place in `sums` (rows of whole vectors), the reduction
/// running over the pixels, one segment per image row, a block of rows at a time; the sums
/// are then scattered into PyTorch's layout. Each result is its start plus the products in
/// pixel order whatever the blocks: the sums go to memory between blocks as the f32 values
/// they are.
pub(super) fn weight_gradient(
    d_out: &[f32],
    padded: &[f32],
    shape: ImageShape,
    conv: Conv2dShape,
    d_weight: &mut [f32],
    accumulate: bool,
    block_rows: usize,
) {
    let (c_in, c_out, k) = (conv.c_in, conv.c_out, conv.kernel);
    let padded_shape = padded_shape(shape, conv.padding());
    let mut rows = Vec::with_capacity(shape.images * shape.height);
    if shape.width > 0 {
        for n in 0..shape.images {
            for y in 0..shape.height {
                rows.push(Segment {
                    a: ((n * padded_shape.height + y) * padded_shape.width) * c_in,
                    b: ((n * shape.height + y) * shape.width) * c_out,
                    len: shape.width,
                });
            }
        }
    }
    let patch = conv.patch_len();
    let (taps, width) = (k * c_in, padded_width(c_out));
    if width == 0 {
        // No output channels: no weight gradient to write.
        return;
    }
    let mut sums = vec![0.0f32; taps * width];
    vectorized!({
        for ky in 0..k {
            let at = |j: usize, co: usize| {
                co * patch + (j % c_in.max(1)) * k * k + ky * k + j / c_in.max(1)
            };
            let mut start = TileStart::Zero;
            if accumulate {
                for (j, row) in sums.chunks_exact_mut(width).enumerate() {
                    for (co, v) in row[..c_out].iter_mut().enumerate() {
                        *v = d_weight[at(j, co)];
                    }
                }
                start = TileStart::Out;
            } else if rows.is_empty() {
                sums.fill(0.0);
            }
            let runs = [Run {
                row: 0,
                a_at: ky * padded_shape.width * c_in,
                len: taps,
            }];
            for block in rows.chunks(block_rows.max(1)) {
                let ops = Operands::new(padded, 1, c_in, d_out, c_out, block);
                product_runs_in_place(&ops, &runs, c_out, &mut sums, width, start);
                start = TileStart::Out;
            }
            for (j, row) in sums.chunks_exact(width).enumerate() {
                for (co, &v) in row[..c_out].iter().enumerate() {
                    d_weight[at(j, co)] = v;
                }
            }
        }
    },);
}

/// The backward pass from the padded input the forward pass read and, when `d_input` is
/// wanted, the weight packed by [`pack_backward`]; `scratch` receives the padded output
/// gradient. See [`conv_backward`]; unless `accumulate`, the parameter gradients are
/// overwritten instead of added to.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward_padded(
    d_out: &[f32],
    padded: &[f32],
    shape: ImageShape,
    conv: Conv2dShape,
    d_weight: &mut [f32],
    d_bias: &mut [f32],
    d_input: Option<(&mut [f32], &[f32])>,
    scratch: &mut PaddedImages,
    accumulate: bool,
) {
    check_conv(shape, conv, d_weight.len(), d_bias.len());
    let (pixels, c_in, c_out, k) = (shape.pixels(), conv.c_in, conv.c_out, conv.kernel);
    let padded_shape = padded_shape(shape, conv.padding());
    assert_eq!(padded.len(), padded_shape.len(), "conv: the padded input");
    assert_eq!(
        d_out.len(),
        pixels * c_out,
        "conv_backward: d_out must be [{pixels} pixels, c_out = {c_out}]"
    );
    if let Some((d_input, packed)) = &d_input {
        assert_eq!(
            d_input.len(),
            shape.len(),
            "conv_backward: d_input does not have shape {shape:?}"
        );
        assert_eq!(packed.len(), conv.weight_len(), "conv: the packed weight");
    }
    let passes = (k * c_in).div_ceil(max_rows(2)) * c_out.div_ceil(2 * lanes());
    let block_rows = if passes >= BLOCKED_PASSES {
        (BLOCK_PIXELS / shape.width.max(1)).max(1)
    } else {
        shape.images * shape.height
    };
    weight_gradient(d_out, padded, shape, conv, d_weight, accumulate, block_rows);
    vectorized!({
        if !accumulate {
            d_bias.fill(0.0);
        }
        column_sums_add(d_out, c_out, d_bias);
    },);
    let Some((d_input, packed)) = d_input else {
        return;
    };
    if d_input.is_empty() {
        return;
    }
    if c_out == 0 {
        d_input.fill(0.0);
        return;
    }
    // d_input = the convolution of the padded output gradient with the flipped weight.
    let grad_shape = shape.with_channels(c_out);
    scratch.pad(d_out, grad_shape, conv.padding());
    let padded_grad = padded_shape.with_channels(c_out);
    let segments = kernel_rows(k, c_out, padded_grad.width, c_in);
    let runs = image_rows(shape, padded_grad);
    let ops = Operands::new(scratch.values(), c_out, 1, packed, c_in, &segments);
    if fits_in_place(c_in) {
        vectorized!(product_runs_in_place(
            &ops,
            &runs,
            c_in,
            d_input,
            c_in,
            TileStart::Zero
        ),);
        return;
    }
    vectorized!(product_rows(
        &ops,
        &runs,
        0,
        c_in,
        |block, phase| match phase {
            Phase::Init => block.values.fill(0.0),
            Phase::Finish => store_pixels(block, d_input, c_in, None, None),
        },
    ),);
}

/// Backward pass of [`conv_forward`].
///
/// Given `d_out` and the `padded` input that [`conv_forward`] left, **adds** the weight
/// gradient into `d_weight` and the bias gradient (the column sums of `d_out`) into `d_bias`
/// (accumulating, as the caller sums over layers and shards), and, when `d_input` is
/// `Some`, **overwrites** it with the input gradient. Pass `None` for the first layer, whose
/// input needs no gradient.
///
/// `scratch` is resized as needed (the padded output gradient and the repacked weight;
/// untouched when `d_input` is `None`).
///
/// # Shapes
/// - `d_out`: NHWC, `shape.with_channels(conv.c_out)` (row-major `[pixels, c_out]`)
/// - `padded`: as left by [`conv_forward`]
/// - `weight`, `d_weight`: `[c_out, c_in, k, k]`; `d_bias`: `[c_out]`
/// - `d_input`: NHWC, `shape`
///
/// # Panics
/// If the kernel side is even or a length disagrees with the shapes.
#[allow(clippy::too_many_arguments)]
pub fn conv_backward(
    d_out: &[f32],
    padded: &[f32],
    shape: ImageShape,
    conv: Conv2dShape,
    weight: &[f32],
    d_weight: &mut [f32],
    d_bias: &mut [f32],
    d_input: Option<&mut [f32]>,
    scratch: &mut Vec<f32>,
) {
    check_conv(shape, conv, weight.len(), d_bias.len());
    assert_eq!(
        d_weight.len(),
        weight.len(),
        "d_weight must have the weight's {} entries",
        weight.len()
    );
    let mut packed = Vec::new();
    if d_input.is_some() {
        pack_backward(conv, weight, &mut packed);
    }
    let d_input = d_input.map(|d| (d, &packed[..]));
    let mut padded_grad = PaddedImages::in_buffer(std::mem::take(scratch));
    backward_padded(
        d_out,
        padded,
        shape,
        conv,
        d_weight,
        d_bias,
        d_input,
        &mut padded_grad,
        true,
    );
    *scratch = padded_grad.into_values();
}
