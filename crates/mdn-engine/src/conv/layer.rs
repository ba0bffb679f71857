//! The forward and backward passes of a convolution, as im2col and GEMMs.

use super::columns::{check_kernel, im2col};
use super::shape::{Conv2dShape, ImageShape};
use crate::buffers::{add_assign, column_sums_add, fill_rows, transpose};
use crate::matmul::{MatMut, MatRef, matmul};
use crate::vectorized;

/// Pixels per GEMM of the input gradient in [`conv_backward`] (whole images, at least one):
/// one 14 × 14 image, whose `d_out · weight` for a 5 × 5 kernel on 16 channels (313 KB)
/// stays in the L2 cache for the fold that follows.
const CHUNK_PIXELS: usize = 196;

/// The input gradient of one image, overwriting `d_image` (NHWC), from the gradient of its
/// im2col matrix stored column-major: column `j = (ci·k + ky)·k + kx` is
/// `d_cols_t[j·column_stride ..][..height·width]`, pixels in row-major order.
///
/// Column `j` adds into plane `ci` of the channel-planar `planar` (`pad` floats, then
/// `[channels, height·width]`, then `pad` floats) shifted by `(ky − pad)·width + kx − pad`:
/// one long vectorised addition over all its rows at once. The entries of the column whose
/// input pixel `x + kx − pad` falls outside the row would land on the neighbouring row's edge
/// (or in the `pad` floats at either end), so they are zeroed first; the column is scratch.
/// `planar` is then transposed into `d_image`.
#[inline(always)]
fn col2im_image_transposed(
    d_cols_t: &mut [f32],
    column_stride: usize,
    shape: ImageShape,
    kernel: usize,
    planar: &mut [f32],
    d_image: &mut [f32],
) {
    let (h, w, c) = (shape.height, shape.width, shape.channels);
    let (k, pad, plane) = (kernel, kernel / 2, h * w);
    // Zero the entries of each column whose input pixel lies left or right of the image, all
    // before the additions (a vector load right after a scalar store to the same place would
    // stall on store forwarding). At most `pad` per row: strided stores, not tiny memsets.
    for j in 0..c * k * k {
        let kx = j % k;
        let (x0, x1) = (pad.saturating_sub(kx), (w + pad).saturating_sub(kx).min(w));
        let column = &mut d_cols_t[j * column_stride..][..plane];
        for x in (0..x0.min(w)).chain(x1.max(x0)..w) {
            for v in column[x..].iter_mut().step_by(w) {
                *v = 0.0;
            }
        }
    }
    planar.fill(0.0);
    // The channels innermost, so that additions into the same plane are far apart (a region
    // added into and at once re-read, shifted, would stall on store forwarding).
    for ky in 0..k {
        // Output rows y whose input row y + ky − pad lies inside the image.
        let (y0, y1) = (pad.saturating_sub(ky), (h + pad).saturating_sub(ky).min(h));
        if y0 >= y1 {
            continue;
        }
        for kx in 0..k {
            if kx >= w + pad || kx + w <= pad {
                continue; // no output column reads inside the image
            }
            for ci in 0..c {
                let first = ((ci * k + ky) * k + kx) * column_stride;
                let column = &d_cols_t[first + y0 * w..first + y1 * w];
                // Where input pixel (y0 + ky − pad, −pad + kx) of plane ci is, with the
                // leading pad floats: pad + ci·plane + (y0 + ky − pad)·w + kx − pad.
                let to = ci * plane + (y0 + ky - pad) * w + kx;
                add_assign(&mut planar[to..to + column.len()], column);
            }
        }
    }
    transpose(&planar[pad..pad + c * plane], c, plane, d_image);
}

fn check_conv(shape: ImageShape, conv: Conv2dShape, weight: &[f32], bias: &[f32]) {
    check_kernel(conv.kernel);
    assert_eq!(
        shape.channels, conv.c_in,
        "the images have {} channels but the convolution takes {}",
        shape.channels, conv.c_in
    );
    assert_eq!(
        weight.len(),
        conv.weight_len(),
        "the weight must be [c_out = {}, c_in = {}, {k}, {k}]",
        conv.c_out,
        conv.c_in,
        k = conv.kernel
    );
    assert_eq!(
        bias.len(),
        conv.c_out,
        "the bias must have c_out = {} entries",
        conv.c_out
    );
}

/// Forward pass of a "same"-padded, stride-1 convolution:
/// `out = im2col(input) · weightᵀ + bias`.
///
/// `cols` is scratch, resized to the im2col matrix (as [`im2col`] lays it out) and left
/// holding it for [`conv_backward`].
///
/// # Shapes
/// - `input`: NHWC, `shape` (`shape.channels == conv.c_in`)
/// - `weight`: `[c_out, c_in, k, k]` row-major (PyTorch's layout); `bias`: `[c_out]`
/// - `cols`: becomes row-major `[shape.pixels(), conv.patch_len()]`
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
    cols: &mut Vec<f32>,
    out: &mut [f32],
) {
    check_conv(shape, conv, weight, bias);
    assert_eq!(
        input.len(),
        shape.len(),
        "conv_forward: the input does not have shape {shape:?}"
    );
    let (pixels, patch) = (shape.pixels(), conv.patch_len());
    assert_eq!(
        out.len(),
        pixels * conv.c_out,
        "conv_forward: out must be [{pixels} pixels, c_out = {}]",
        conv.c_out
    );
    cols.resize(pixels * patch, 0.0);
    im2col(input, shape, conv.kernel, cols);
    if out.is_empty() {
        return;
    }
    fill_rows(out, bias);
    matmul(
        MatMut::row_major(out, pixels, conv.c_out),
        MatRef::row_major(cols, pixels, patch),
        MatRef::row_major(weight, conv.c_out, patch).t(),
        true,
    );
}

/// Backward pass of [`conv_forward`].
///
/// Given `d_out` and the `cols` that [`conv_forward`] left, **adds** the weight gradient
/// `d_outᵀ · cols` into `d_weight` and the bias gradient (the column sums of `d_out`) into
/// `d_bias` (accumulating, as the caller sums over layers and shards), and, when `d_input` is
/// `Some`, **overwrites** it with the input gradient, the adjoint of im2col applied to
/// `d_out · weight`. Pass `None` for the first layer, whose input needs no gradient.
///
/// `d_cols` is scratch, resized as needed (to `d_out · weight` for a block of whole images,
/// stored column-major, plus one channel-planar image; untouched when `d_input` is `None`).
///
/// # Shapes
/// - `d_out`: NHWC, `shape.with_channels(conv.c_out)` (row-major `[pixels, c_out]`)
/// - `cols`: row-major `[shape.pixels(), conv.patch_len()]`, as left by [`conv_forward`]
/// - `weight`, `d_weight`: `[c_out, c_in, k, k]`; `d_bias`: `[c_out]`
/// - `d_input`: NHWC, `shape`
///
/// # Panics
/// If the kernel side is even or a length disagrees with the shapes.
#[allow(clippy::too_many_arguments)]
pub fn conv_backward(
    d_out: &[f32],
    cols: &[f32],
    shape: ImageShape,
    conv: Conv2dShape,
    weight: &[f32],
    d_weight: &mut [f32],
    d_bias: &mut [f32],
    d_input: Option<&mut [f32]>,
    d_cols: &mut Vec<f32>,
) {
    check_conv(shape, conv, weight, d_bias);
    assert_eq!(
        d_weight.len(),
        weight.len(),
        "d_weight must have the weight's {} entries",
        weight.len()
    );
    let (pixels, patch, c_out) = (shape.pixels(), conv.patch_len(), conv.c_out);
    assert_eq!(
        d_out.len(),
        pixels * c_out,
        "conv_backward: d_out must be [{pixels} pixels, c_out = {c_out}]"
    );
    assert_eq!(
        cols.len(),
        pixels * patch,
        "conv_backward: cols must be the [{pixels}, {patch}] im2col matrix from conv_forward"
    );
    if let Some(d_input) = &d_input {
        assert_eq!(
            d_input.len(),
            shape.len(),
            "conv_backward: d_input does not have shape {shape:?}"
        );
    }
    // d_weight += d_outᵀ · cols.
    matmul(
        MatMut::row_major(d_weight, c_out, patch),
        MatRef::row_major(d_out, pixels, c_out).t(),
        MatRef::row_major(cols, pixels, patch),
        true,
    );
    // d_bias += the column sums of d_out.
    vectorized!(column_sums_add(d_out, c_out, d_bias),);
    let Some(d_input) = d_input else {
        return;
    };
    // A block of images at a time: d_colsᵀ = (d_out · weight)ᵀ, then fold it into d_input.
    let plane = shape.height * shape.width;
    let image_len = shape.image_len();
    if d_input.is_empty() {
        return;
    }
    if c_out == 0 {
        d_input.fill(0.0);
        return;
    }
    let chunk = (CHUNK_PIXELS / plane).clamp(1, shape.images);
    let pad = conv.kernel / 2;
    d_cols.resize(chunk * plane * patch + image_len + 2 * pad, 0.0);
    let (d_cols_t, planar) = d_cols.split_at_mut(chunk * plane * patch);
    let image_shape = ImageShape { images: 1, ..shape };
    for (d_out_chunk, d_input_chunk) in d_out
        .chunks(chunk * plane * c_out)
        .zip(d_input.chunks_mut(chunk * image_len))
    {
        let m = d_out_chunk.len() / c_out;
        let d_cols_t = &mut d_cols_t[..m * patch];
        matmul(
            MatMut::col_major(d_cols_t, m, patch),
            MatRef::row_major(d_out_chunk, m, c_out),
            MatRef::row_major(weight, c_out, patch),
            false,
        );
        for (i, d_image) in d_input_chunk.chunks_exact_mut(image_len).enumerate() {
            let columns = &mut d_cols_t[i * plane..];
            vectorized!(col2im_image_transposed(
                columns,
                m,
                image_shape,
                conv.kernel,
                planar,
                d_image
            ),);
        }
    }
}
