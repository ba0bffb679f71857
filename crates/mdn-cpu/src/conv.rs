//! Convolution and pooling kernels for the CNN backbone.
//!
//! The backbone (`mdn`'s `Cnn`) runs blocks `conv (k × k, stride 1, "same" padding) →
//! activation → 2 × 2 max-pool`, then flattens and applies a dense layer. These kernels do the
//! conv, the pool and the layout changes around them, forward and backward, on one thread (the
//! caller splits the batch into shards, one per thread, and applies the activations).
//!
//! # Layouts
//! - Activations are **NHWC**: `[images, height, width, channels]`, contiguous. A convolution
//!   is im2col followed by one GEMM, `out = cols · weightᵀ + bias`, whose rows are the pixels
//!   `(n, y, x)` and whose columns are the output channels: that *is* NHWC, so nothing is
//!   transposed between layers, and the max-pool reads each pixel's channels as one
//!   contiguous run.
//! - Parameters are in **Burn's layout**: weight `[c_out, c_in, k, k]` row-major (seen by the
//!   GEMM as `[c_out, c_in·k·k]`), bias `[c_out]`. The im2col matrix orders its columns
//!   `(ci, ky, kx)` to match, so parameters and their gradients need no conversion.
//! - Burn flattens the last feature map NCHW (`c·H·W + y·W + x`); [`nhwc_to_nchw`] and
//!   [`nchw_to_nhwc`] convert at the boundary with the dense layer.
//!
//! # Speed
//! A row of the im2col matrix is `c_in · k` runs of `k` consecutive pixels of one channel and
//! one image row. NHWC interleaves the channels, so [`im2col`] first transposes each image row
//! into a small zero-padded, channel-planar buffer on the stack (a ring holding the `k` rows
//! that a line of output pixels reads, each transposed once); every run is then one
//! fixed-size copy, and `cols` is written front to back. [`col2im_add`] does the reverse
//! through the same ring. Shapes whose ring does not fit fall back to a direct (slower)
//! gather.
//!
//! The input gradient in [`conv_backward`] does not go through [`col2im_add`]: it computes
//! `d_out · weight` for a block of whole images (about 200 pixels, so that the result stays
//! in the L2 cache) into a *column-major* scratch matrix, in which the gradient of each
//! im2col column is contiguous over an image's pixels. Folding it back is then one long
//! vectorised, shifted addition per column into a channel-planar buffer, and one transpose
//! to NHWC. Matrix products go through [`crate::matmul`]; the copy and add loops run inside
//! [`crate::simd::vectorized`], their closures marked `#[inline(always)]` (a closure that is
//! not inlined into the dispatching function runs at the baseline instruction set).

use crate::matmul::{MatMut, MatRef, matmul};
use crate::simd::vectorized;

/// Shape of a batch of NHWC images: `[images, height, width, channels]`, contiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageShape {
    /// Number of images.
    pub images: usize,
    /// Rows per image.
    pub height: usize,
    /// Pixels per row.
    pub width: usize,
    /// Values per pixel.
    pub channels: usize,
}

impl ImageShape {
    /// The shape `[images, height, width, channels]`.
    pub fn new(images: usize, height: usize, width: usize, channels: usize) -> Self {
        Self {
            images,
            height,
            width,
            channels,
        }
    }

    /// Number of values, `images · height · width · channels`.
    pub fn len(&self) -> usize {
        self.pixels() * self.channels
    }

    /// Whether the batch holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of pixels, `images · height · width` (the rows of an im2col matrix or of a
    /// convolution's output).
    pub fn pixels(&self) -> usize {
        self.images * self.height * self.width
    }

    /// Values per image, `height · width · channels`.
    pub fn image_len(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// The same images with `channels` channels (a convolution's output shape).
    pub fn with_channels(&self, channels: usize) -> Self {
        Self { channels, ..*self }
    }

    /// The shape after a 2 × 2, stride-2 max-pool in floor mode:
    /// `[images, ⌊height/2⌋, ⌊width/2⌋, channels]`.
    pub fn pooled(&self) -> Self {
        Self {
            height: self.height / 2,
            width: self.width / 2,
            ..*self
        }
    }
}

/// A "same"-padded, stride-1 convolution with an odd square kernel, parameters in Burn's
/// layout: weight `[c_out, c_in, kernel, kernel]`, bias `[c_out]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dShape {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Side of the square kernel (odd).
    pub kernel: usize,
}

impl Conv2dShape {
    /// The shape of a `kernel × kernel` convolution from `c_in` to `c_out` channels.
    pub fn new(c_in: usize, c_out: usize, kernel: usize) -> Self {
        Self {
            c_in,
            c_out,
            kernel,
        }
    }

    /// Padding on each side, `kernel / 2`.
    pub fn padding(&self) -> usize {
        self.kernel / 2
    }

    /// Length of one im2col row (one receptive field), `c_in · kernel²`.
    pub fn patch_len(&self) -> usize {
        self.c_in * self.kernel * self.kernel
    }

    /// Number of weights, `c_out · c_in · kernel²`.
    pub fn weight_len(&self) -> usize {
        self.c_out * self.patch_len()
    }

    /// Floating-point operations of one of the three GEMMs of a convolution over `pixels`
    /// pixels (forward, weight gradient and input gradient cost the same):
    /// `2 · pixels · c_out · c_in · kernel²`.
    pub fn gemm_flops(&self, pixels: usize) -> f64 {
        2.0 * pixels as f64 * self.weight_len() as f64
    }
}

/// Floats in the stack buffer holding the im2col / col2im ring of transposed rows (32 KiB).
const RING: usize = 8192;

/// Pixels per GEMM of the input gradient in [`conv_backward`] (whole images, at least one):
/// one 14 × 14 image, whose `d_out · weight` for a 5 × 5 kernel on 16 channels (313 KB)
/// stays in the L2 cache for the fold that follows.
const CHUNK_PIXELS: usize = 196;

/// Entries of the per-row table of run offsets, `c_in · kernel` at most.
const TABLE: usize = 1024;

/// The length of the ring for these shapes, `kernel` rows of `channels` planes of
/// `width + 2·pad` floats, if it and the run table fit on the stack.
fn ring_len(shape: ImageShape, kernel: usize) -> Option<usize> {
    let len = kernel * shape.channels * (shape.width + 2 * (kernel / 2));
    (len <= RING && shape.channels * kernel <= TABLE).then_some(len)
}

fn check_kernel(kernel: usize) {
    assert!(kernel % 2 == 1, "the kernel side must be odd, got {kernel}");
}

fn check_cols(what: &str, cols: &[f32], shape: ImageShape, kernel: usize) {
    let patch = shape.channels * kernel * kernel;
    assert_eq!(
        cols.len(),
        shape.pixels() * patch,
        "{what} must be [{} pixels, {patch}] for {shape:?} and kernel {kernel}",
        shape.pixels()
    );
}

/// Runs `$call` vectorised with the const generic `$k` set to `kernel` for the common kernel
/// sides (1, 3, 5, 7), whose copies then compile to fixed-size moves, and to 0 (the kernel
/// side is read at run time) for any other.
macro_rules! by_kernel {
    ($kernel:expr, $k:ident => $call:expr) => {
        match $kernel {
            1 => vectorized(
                #[inline(always)]
                || {
                    const $k: usize = 1;
                    $call
                },
            ),
            3 => vectorized(
                #[inline(always)]
                || {
                    const $k: usize = 3;
                    $call
                },
            ),
            5 => vectorized(
                #[inline(always)]
                || {
                    const $k: usize = 5;
                    $call
                },
            ),
            7 => vectorized(
                #[inline(always)]
                || {
                    const $k: usize = 7;
                    $call
                },
            ),
            _ => vectorized(
                #[inline(always)]
                || {
                    const $k: usize = 0;
                    $call
                },
            ),
        }
    };
}

/// im2col for a "same"-padded, stride-1 `kernel × kernel` convolution.
///
/// Row `(n, y, x)` of `cols` (row index `(n·height + y)·width + x`), column
/// `(ci·kernel + ky)·kernel + kx`, receives `input[n, y + ky − kernel/2, x + kx − kernel/2, ci]`,
/// or 0 where that lies outside the image. The column order matches Burn's weight layout
/// flattened to `[c_out, c_in·kernel²]`, so `cols · weightᵀ` is the convolution.
///
/// # Shapes
/// - `input`: NHWC, `shape`
/// - `cols`: row-major `[shape.pixels(), shape.channels · kernel²]`, overwritten
///
/// # Panics
/// If `kernel` is even or a length disagrees with the shapes.
pub fn im2col(input: &[f32], shape: ImageShape, kernel: usize, cols: &mut [f32]) {
    check_kernel(kernel);
    assert_eq!(
        input.len(),
        shape.len(),
        "im2col: the input does not have shape {shape:?}"
    );
    check_cols("im2col: cols", cols, shape, kernel);
    if cols.is_empty() {
        return;
    }
    let Some(len) = ring_len(shape, kernel) else {
        return vectorized(
            #[inline(always)]
            || im2col_direct(input, shape, kernel, cols),
        );
    };
    let mut buffer = [0.0f32; RING];
    let ring = &mut buffer[..len];
    by_kernel!(kernel, K => im2col_ring::<K>(input, shape, kernel, cols, ring));
}

/// The adjoint of [`im2col`]: adds each entry of `d_cols` into the position of `d_input` it
/// would have been copied from (entries that came from the zero padding are dropped).
///
/// # Shapes
/// - `d_cols`: row-major `[shape.pixels(), shape.channels · kernel²]`
/// - `d_input`: NHWC, `shape`, accumulated into
///
/// # Panics
/// If `kernel` is even or a length disagrees with the shapes.
pub fn col2im_add(d_cols: &[f32], shape: ImageShape, kernel: usize, d_input: &mut [f32]) {
    check_kernel(kernel);
    assert_eq!(
        d_input.len(),
        shape.len(),
        "col2im_add: d_input does not have shape {shape:?}"
    );
    check_cols("col2im_add: d_cols", d_cols, shape, kernel);
    if d_cols.is_empty() {
        return;
    }
    let Some(len) = ring_len(shape, kernel) else {
        return vectorized(
            #[inline(always)]
            || col2im_direct(d_cols, shape, kernel, d_input),
        );
    };
    let mut buffer = [0.0f32; RING];
    let ring = &mut buffer[..len];
    by_kernel!(kernel, K => col2im_ring::<K>(d_cols, shape, kernel, d_input, ring));
}

/// `dst = src` for runs of `k` floats; `K` is `k` when known at compile time (the copy is
/// then a couple of moves), 0 otherwise.
#[inline(always)]
fn copy_run<const K: usize>(dst: &mut [f32], src: &[f32]) {
    let k = if K == 0 { dst.len() } else { K };
    dst[..k].copy_from_slice(&src[..k]);
}

/// `dst += src` for runs of `k` floats, `K` as in [`copy_run`].
#[inline(always)]
fn add_run<const K: usize>(dst: &mut [f32], src: &[f32]) {
    let k = if K == 0 { src.len() } else { K };
    add_assign(&mut dst[..k], &src[..k]);
}

/// `dst += src`, elementwise.
#[inline(always)]
fn add_assign(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

/// The offset in a ring of `kernel` slots of `slot_len` floats of the slot holding image
/// row `r`, for `−pad ≤ r < height + pad`.
#[inline(always)]
fn slot_of(r: isize, pad: usize, kernel: usize, slot_len: usize) -> usize {
    (r + pad as isize) as usize % kernel * slot_len
}

/// Fills a ring slot (`[channels, width + 2·pad]`) with image row `r` of `image` (NHWC)
/// transposed, or with zeros where `r` lies outside the image. The `pad` columns on each side
/// are left as they are (zero).
#[inline(always)]
fn load_row(slot: &mut [f32], image: &[f32], r: isize, shape: ImageShape, pad: usize) {
    let (h, w, c) = (shape.height, shape.width, shape.channels);
    let stride = w + 2 * pad;
    if !(0..h as isize).contains(&r) {
        for plane in slot.chunks_exact_mut(stride) {
            plane[pad..pad + w].fill(0.0);
        }
    } else if c == 1 {
        let r = r as usize;
        slot[pad..pad + w].copy_from_slice(&image[r * w..(r + 1) * w]);
    } else {
        let r = r as usize;
        for (x, pixel) in image[r * w * c..(r + 1) * w * c]
            .chunks_exact(c)
            .enumerate()
        {
            for (ci, &v) in pixel.iter().enumerate() {
                slot[ci * stride + pad + x] = v;
            }
        }
    }
}

/// Adds the ring slot of the finished image row `r` into `image` (NHWC), transposing it
/// back, and clears the slot.
#[inline(always)]
fn flush_row(slot: &mut [f32], image: &mut [f32], r: usize, shape: ImageShape, pad: usize) {
    let (w, c) = (shape.width, shape.channels);
    let stride = w + 2 * pad;
    let row = &mut image[r * w * c..(r + 1) * w * c];
    if c == 1 {
        add_assign(row, &slot[pad..pad + w]);
    } else {
        for (x, pixel) in row.chunks_exact_mut(c).enumerate() {
            for (ci, v) in pixel.iter_mut().enumerate() {
                *v += slot[ci * stride + pad + x];
            }
        }
    }
    slot.fill(0.0);
}

/// [`im2col`] through a ring of `kernel` transposed, zero-padded image rows: before output
/// row `y`, the ring holds rows `y − pad ..= y + pad`, and the run `(ci, ky)` of pixel `x` is
/// `kernel` consecutive floats of the ring.
#[inline(always)]
fn im2col_ring<const K: usize>(
    input: &[f32],
    shape: ImageShape,
    kernel: usize,
    cols: &mut [f32],
    ring: &mut [f32],
) {
    let k = if K == 0 { kernel } else { K };
    let (h, w, c) = (shape.height, shape.width, shape.channels);
    let pad = k / 2;
    let stride = w + 2 * pad;
    let slot_len = c * stride;
    let patch = c * k * k;
    // table[ci·k + ky]: where in the ring the run (ci, ky) of pixel x = 0 starts.
    let mut table = [0usize; TABLE];
    let table = &mut table[..c * k];
    for (image, out) in input
        .chunks_exact(h * w * c)
        .zip(cols.chunks_exact_mut(h * w * patch))
    {
        for r in -(pad as isize)..pad as isize {
            let at = slot_of(r, pad, k, slot_len);
            load_row(&mut ring[at..at + slot_len], image, r, shape, pad);
        }
        for (y, out_row) in out.chunks_exact_mut(w * patch).enumerate() {
            let r = (y + pad) as isize;
            let at = slot_of(r, pad, k, slot_len);
            load_row(&mut ring[at..at + slot_len], image, r, shape, pad);
            for (j, t) in table.iter_mut().enumerate() {
                let (ci, ky) = (j / k, j % k);
                *t = slot_of(y as isize + ky as isize - pad as isize, pad, k, slot_len)
                    + ci * stride;
            }
            for (x, pixel) in out_row.chunks_exact_mut(patch).enumerate() {
                for (run, &t) in pixel.chunks_exact_mut(k).zip(table.iter()) {
                    copy_run::<K>(run, &ring[t + x..]);
                }
            }
        }
    }
}

/// [`col2im_add`] through a ring of `kernel` transposed, zero-padded image rows: output row
/// `y` adds into the slots of rows `y − pad ..= y + pad` (those inside the image); once it is
/// done, row `y − pad` has all its terms and is added into `d_input`.
#[inline(always)]
fn col2im_ring<const K: usize>(
    d_cols: &[f32],
    shape: ImageShape,
    kernel: usize,
    d_input: &mut [f32],
    ring: &mut [f32],
) {
    let k = if K == 0 { kernel } else { K };
    let (h, w, c) = (shape.height, shape.width, shape.channels);
    let pad = k / 2;
    let stride = w + 2 * pad;
    let slot_len = c * stride;
    let patch = c * k * k;
    // For the runs (ci, ky) whose row lies inside the image: where they go in the ring for
    // pixel x = 0, and where they start in a row of d_cols.
    let mut ring_at = [0usize; TABLE];
    let mut cols_at = [0usize; TABLE];
    for (image, d_image) in d_cols
        .chunks_exact(h * w * patch)
        .zip(d_input.chunks_exact_mut(h * w * c))
    {
        for (y, src_row) in image.chunks_exact(w * patch).enumerate() {
            let ky0 = pad.saturating_sub(y);
            let ky1 = k.min(h + pad - y);
            let mut runs = 0;
            for ci in 0..c {
                for ky in ky0..ky1 {
                    ring_at[runs] =
                        slot_of((y + ky) as isize - pad as isize, pad, k, slot_len) + ci * stride;
                    cols_at[runs] = (ci * k + ky) * k;
                    runs += 1;
                }
            }
            let (ring_at, cols_at) = (&ring_at[..runs], &cols_at[..runs]);
            for (x, pixel) in src_row.chunks_exact(patch).enumerate() {
                for (&r, &s) in ring_at.iter().zip(cols_at) {
                    add_run::<K>(&mut ring[r + x..r + x + k], &pixel[s..s + k]);
                }
            }
            if y >= pad {
                let r = y - pad;
                let at = slot_of(r as isize, pad, k, slot_len);
                flush_row(&mut ring[at..at + slot_len], d_image, r, shape, pad);
            }
        }
        for r in h.saturating_sub(pad)..h {
            let at = slot_of(r as isize, pad, k, slot_len);
            flush_row(&mut ring[at..at + slot_len], d_image, r, shape, pad);
        }
    }
}

/// [`im2col`] by a direct gather from NHWC, for shapes whose ring does not fit on the stack.
#[inline(always)]
fn im2col_direct(input: &[f32], shape: ImageShape, kernel: usize, cols: &mut [f32]) {
    let (h, w, c) = (shape.height, shape.width, shape.channels);
    let k = kernel;
    let pad = k / 2;
    let patch = c * k * k;
    for (row, dst) in cols.chunks_exact_mut(patch).enumerate() {
        let (n, y, x) = (row / (h * w), row / w % h, row % w);
        for ky in 0..k {
            for kx in 0..k {
                let (yy, xx) = ((y + ky).wrapping_sub(pad), (x + kx).wrapping_sub(pad));
                let at = if yy < h && xx < w {
                    Some(((n * h + yy) * w + xx) * c)
                } else {
                    None
                };
                for ci in 0..c {
                    dst[(ci * k + ky) * k + kx] = at.map_or(0.0, |at| input[at + ci]);
                }
            }
        }
    }
}

/// [`col2im_add`] by a direct scatter into NHWC, for shapes whose ring does not fit.
#[inline(always)]
fn col2im_direct(d_cols: &[f32], shape: ImageShape, kernel: usize, d_input: &mut [f32]) {
    let (h, w, c) = (shape.height, shape.width, shape.channels);
    let k = kernel;
    let pad = k / 2;
    let patch = c * k * k;
    for (row, src) in d_cols.chunks_exact(patch).enumerate() {
        let (n, y, x) = (row / (h * w), row / w % h, row % w);
        for ky in 0..k {
            for kx in 0..k {
                let (yy, xx) = ((y + ky).wrapping_sub(pad), (x + kx).wrapping_sub(pad));
                if yy < h && xx < w {
                    let at = ((n * h + yy) * w + xx) * c;
                    for ci in 0..c {
                        d_input[at + ci] += src[(ci * k + ky) * k + kx];
                    }
                }
            }
        }
    }
}

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
    let planar = &planar[pad..pad + c * plane];
    if c == 1 {
        d_image.copy_from_slice(planar);
        return;
    }
    for (p, pixel) in d_image.chunks_exact_mut(c).enumerate() {
        for (ci, v) in pixel.iter_mut().enumerate() {
            *v = planar[ci * plane + p];
        }
    }
}

/// `sums[j] += Σ_r matrix[r·cols + j]` for a row-major matrix with `cols == sums.len()`
/// columns. The sums are taken in blocks of 16 columns held in registers, apart from `sums`.
#[inline(always)]
fn column_sums_add(matrix: &[f32], cols: usize, sums: &mut [f32]) {
    const BLOCK: usize = 16;
    for (block, out) in sums.chunks_mut(BLOCK).enumerate() {
        let first = block * BLOCK;
        let mut acc = [0.0f32; BLOCK];
        if out.len() == BLOCK {
            for row in matrix.chunks_exact(cols) {
                let row: &[f32; BLOCK] = row[first..first + BLOCK].try_into().expect("16 columns");
                for (a, v) in acc.iter_mut().zip(row) {
                    *a += v;
                }
            }
        } else {
            for row in matrix.chunks_exact(cols) {
                add_assign(&mut acc[..out.len()], &row[first..first + out.len()]);
            }
        }
        add_assign(out, &acc[..out.len()]);
    }
}

/// Copies `row` into every consecutive `row.len()`-long chunk of `out` (whose length is a
/// multiple of it), in a few large copies.
fn fill_rows(out: &mut [f32], row: &[f32]) {
    if out.is_empty() {
        return;
    }
    out[..row.len()].copy_from_slice(row);
    let mut filled = row.len();
    while filled < out.len() {
        let len = filled.min(out.len() - filled);
        out.copy_within(..len, filled);
        filled += len;
    }
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
/// - `weight`: `[c_out, c_in, k, k]` row-major (Burn's layout); `bias`: `[c_out]`
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
    vectorized(
        #[inline(always)]
        || column_sums_add(d_out, c_out, d_bias),
    );
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
            vectorized(
                #[inline(always)]
                || col2im_image_transposed(columns, m, image_shape, conv.kernel, planar, d_image),
            );
        }
    }
}

/// 2 × 2 max-pool with stride 2 in floor mode (an odd last row or column is dropped), on NHWC.
///
/// `argmax[i]` receives the index into `input` of the maximum of output element `i`'s window;
/// ties go to the first in window order `(0,0), (0,1), (1,0), (1,1)`. The comparisons are
/// strict `>`, so a NaN is the result only when it is the window's first element.
///
/// # Shapes
/// - `input`: NHWC, `shape`
/// - `out`, `argmax`: NHWC, `shape.pooled()`, overwritten
///
/// # Panics
/// If a length disagrees with the shapes, or `input` has more than 2³² entries.
pub fn maxpool2_forward(input: &[f32], shape: ImageShape, out: &mut [f32], argmax: &mut [u32]) {
    let pooled = shape.pooled();
    assert_eq!(
        input.len(),
        shape.len(),
        "maxpool2_forward: the input does not have shape {shape:?}"
    );
    assert_eq!(
        out.len(),
        pooled.len(),
        "maxpool2_forward: out must have shape {pooled:?}"
    );
    assert_eq!(
        argmax.len(),
        pooled.len(),
        "maxpool2_forward: argmax must have shape {pooled:?}"
    );
    assert!(
        u32::try_from(input.len()).is_ok(),
        "maxpool2_forward: argmax indices are u32, the input has {} entries",
        input.len()
    );
    if pooled.is_empty() {
        return;
    }
    let (h, w, c) = (shape.height, shape.width, shape.channels);
    let row = w * c;
    vectorized(
        #[inline(always)]
        || {
            let outputs = out
                .chunks_exact_mut(pooled.width * c)
                .zip(argmax.chunks_exact_mut(pooled.width * c));
            for (oy_all, (out_row, arg_row)) in outputs.enumerate() {
                let (n, oy) = (oy_all / pooled.height, oy_all % pooled.height);
                let top = (n * h + 2 * oy) * row;
                let bottom = top + row;
                let (top_row, bottom_row) = (&input[top..top + row], &input[bottom..bottom + row]);
                let pixels = out_row.chunks_exact_mut(c).zip(arg_row.chunks_exact_mut(c));
                for (ox, (o, a)) in pixels.enumerate() {
                    let x = 2 * ox * c;
                    let (v00, v01) = (&top_row[x..x + c], &top_row[x + c..x + 2 * c]);
                    let (v10, v11) = (&bottom_row[x..x + c], &bottom_row[x + c..x + 2 * c]);
                    let i00 = (top + x) as u32;
                    let (i01, i10, i11) =
                        (i00 + c as u32, i00 + row as u32, i00 + (row + c) as u32);
                    for ci in 0..c {
                        let (mut m, mut i) = (v00[ci], i00);
                        if v01[ci] > m {
                            (m, i) = (v01[ci], i01);
                        }
                        if v10[ci] > m {
                            (m, i) = (v10[ci], i10);
                        }
                        if v11[ci] > m {
                            (m, i) = (v11[ci], i11);
                        }
                        o[ci] = m;
                        a[ci] = i + ci as u32;
                    }
                }
            }
        },
    );
}

/// Backward pass of [`maxpool2_forward`]: overwrites `d_input` with zeros, then adds `d_out[i]`
/// at `argmax[i]`.
///
/// # Shapes
/// - `d_out`, `argmax`: the pool's output shape
/// - `d_input`: the pool's input shape
///
/// # Panics
/// If `d_out` and `argmax` differ in length or an index is out of range.
pub fn maxpool2_backward(d_out: &[f32], argmax: &[u32], d_input: &mut [f32]) {
    assert_eq!(
        d_out.len(),
        argmax.len(),
        "maxpool2_backward: d_out and argmax must have the same length"
    );
    d_input.fill(0.0);
    for (&g, &i) in d_out.iter().zip(argmax) {
        d_input[i as usize] += g;
    }
}

/// Converts NHWC images to Burn's NCHW flattening: `out[n, c·H·W + y·W + x] =
/// input[n, y, x, c]`.
///
/// # Shapes
/// - `input`: NHWC, `shape`
/// - `out`: `[images, channels · height · width]`, overwritten
///
/// # Panics
/// If a length disagrees with `shape`.
pub fn nhwc_to_nchw(input: &[f32], shape: ImageShape, out: &mut [f32]) {
    assert_eq!(
        input.len(),
        shape.len(),
        "nhwc_to_nchw: the input does not have shape {shape:?}"
    );
    assert_eq!(
        out.len(),
        shape.len(),
        "nhwc_to_nchw: out does not have shape {shape:?}"
    );
    let (plane, c) = (shape.height * shape.width, shape.channels);
    if shape.is_empty() {
        return;
    }
    for (src, dst) in input
        .chunks_exact(shape.image_len())
        .zip(out.chunks_exact_mut(shape.image_len()))
    {
        for (p, pixel) in src.chunks_exact(c).enumerate() {
            for (ci, &v) in pixel.iter().enumerate() {
                dst[ci * plane + p] = v;
            }
        }
    }
}

/// The inverse of [`nhwc_to_nchw`]: `out[n, y, x, c] = input[n, c·H·W + y·W + x]`.
///
/// # Shapes
/// - `input`: `[images, channels · height · width]` (NCHW)
/// - `out`: NHWC, `shape`, overwritten
///
/// # Panics
/// If a length disagrees with `shape`.
pub fn nchw_to_nhwc(input: &[f32], shape: ImageShape, out: &mut [f32]) {
    assert_eq!(
        input.len(),
        shape.len(),
        "nchw_to_nhwc: the input does not have shape {shape:?}"
    );
    assert_eq!(
        out.len(),
        shape.len(),
        "nchw_to_nhwc: out does not have shape {shape:?}"
    );
    let (plane, c) = (shape.height * shape.width, shape.channels);
    if shape.is_empty() {
        return;
    }
    for (src, dst) in input
        .chunks_exact(shape.image_len())
        .zip(out.chunks_exact_mut(shape.image_len()))
    {
        for (p, pixel) in dst.chunks_exact_mut(c).enumerate() {
            for (ci, v) in pixel.iter_mut().enumerate() {
                *v = src[ci * plane + p];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (splitmix64), so that the tests need no RNG crate API.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in [−1, 1).
        fn uniform(&mut self) -> f32 {
            (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        }

        fn vec(&mut self, n: usize) -> Vec<f32> {
            (0..n).map(|_| self.uniform()).collect()
        }
    }

    /// `(images, height, width, c_in, c_out, kernel)`: odd and non-square sizes, kernels
    /// larger than the image, a kernel without a compile-time specialisation (9), several
    /// images per block of the input gradient with a partial last block (7 images of 7 × 5),
    /// one image per block (14 × 14) and a shape whose ring does not fit on the stack (the
    /// direct fallback).
    const CASES: &[(usize, usize, usize, usize, usize, usize)] = &[
        (1, 5, 5, 1, 1, 1),
        (3, 7, 5, 1, 4, 3),
        (1, 7, 5, 3, 2, 5),
        (3, 6, 9, 3, 16, 3),
        (2, 4, 4, 2, 3, 5),
        (1, 3, 3, 2, 2, 7),
        (2, 5, 6, 2, 3, 9),
        (3, 1, 8, 3, 2, 3),
        (7, 7, 5, 2, 3, 3),
        (2, 14, 14, 16, 20, 5),
        (1, 3, 300, 8, 2, 5),
    ];

    fn case_shapes(case: (usize, usize, usize, usize, usize, usize)) -> (ImageShape, Conv2dShape) {
        let (images, h, w, c_in, c_out, k) = case;
        (
            ImageShape::new(images, h, w, c_in),
            Conv2dShape::new(c_in, c_out, k),
        )
    }

    /// NHWC index of `(n, y, x, c)`.
    fn nhwc(s: ImageShape, n: usize, y: usize, x: usize, c: usize) -> usize {
        ((n * s.height + y) * s.width + x) * s.channels + c
    }

    /// NCHW index of `(n, c, y, x)`.
    fn nchw(s: ImageShape, n: usize, c: usize, y: usize, x: usize) -> usize {
        ((n * s.channels + c) * s.height + y) * s.width + x
    }

    /// Converts NHWC to NCHW by the index formulas, in f64.
    fn to_nchw_f64(v: &[f32], s: ImageShape) -> Vec<f64> {
        let mut out = vec![0.0; s.len()];
        for n in 0..s.images {
            for c in 0..s.channels {
                for y in 0..s.height {
                    for x in 0..s.width {
                        out[nchw(s, n, c, y, x)] = f64::from(v[nhwc(s, n, y, x, c)]);
                    }
                }
            }
        }
        out
    }

    /// Converts NCHW to NHWC by the index formulas.
    fn to_nhwc(v: &[f64], s: ImageShape) -> Vec<f64> {
        let mut out = vec![0.0; s.len()];
        for n in 0..s.images {
            for c in 0..s.channels {
                for y in 0..s.height {
                    for x in 0..s.width {
                        out[nhwc(s, n, y, x, c)] = v[nchw(s, n, c, y, x)];
                    }
                }
            }
        }
        out
    }

    /// Calls `f(n, co, ci, y, x, ky, kx, yy, xx)` for every term of the convolution whose
    /// input position `(yy, xx)` lies inside the image.
    fn for_each_term(s: ImageShape, conv: Conv2dShape, mut f: impl FnMut([usize; 9])) {
        let (k, pad) = (conv.kernel, conv.padding() as isize);
        for n in 0..s.images {
            for co in 0..conv.c_out {
                for y in 0..s.height {
                    for x in 0..s.width {
                        for ci in 0..conv.c_in {
                            for ky in 0..k {
                                for kx in 0..k {
                                    let yy = y as isize + ky as isize - pad;
                                    let xx = x as isize + kx as isize - pad;
                                    if (0..s.height as isize).contains(&yy)
                                        && (0..s.width as isize).contains(&xx)
                                    {
                                        f([n, co, ci, y, x, ky, kx, yy as usize, xx as usize]);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn widx(conv: Conv2dShape, co: usize, ci: usize, ky: usize, kx: usize) -> usize {
        ((co * conv.c_in + ci) * conv.kernel + ky) * conv.kernel + kx
    }

    /// The convolution by its definition, NCHW in f64: the output and, per output, the sum of
    /// the absolute values of its terms (the scale of its rounding error).
    fn conv_reference(
        x: &[f64],
        s: ImageShape,
        conv: Conv2dShape,
        weight: &[f64],
        bias: &[f64],
    ) -> (Vec<f64>, Vec<f64>) {
        let so = s.with_channels(conv.c_out);
        let mut out = vec![0.0; so.len()];
        let mut scale = vec![0.0; so.len()];
        for n in 0..s.images {
            for co in 0..conv.c_out {
                for y in 0..s.height {
                    for xx in 0..s.width {
                        out[nchw(so, n, co, y, xx)] = bias[co];
                        scale[nchw(so, n, co, y, xx)] = bias[co].abs();
                    }
                }
            }
        }
        for_each_term(s, conv, |[n, co, ci, y, xo, ky, kx, yy, xx]| {
            let term = weight[widx(conv, co, ci, ky, kx)] * x[nchw(s, n, ci, yy, xx)];
            out[nchw(so, n, co, y, xo)] += term;
            scale[nchw(so, n, co, y, xo)] += term.abs();
        });
        (out, scale)
    }

    /// The gradients of `Σ g ⊙ conv(x)` by their definition, NCHW in f64:
    /// `(d_weight, d_bias, d_input)`.
    fn conv_reference_backward(
        g: &[f64],
        x: &[f64],
        s: ImageShape,
        conv: Conv2dShape,
        weight: &[f64],
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let so = s.with_channels(conv.c_out);
        let mut d_weight = vec![0.0; conv.weight_len()];
        let mut d_bias = vec![0.0; conv.c_out];
        let mut d_input = vec![0.0; s.len()];
        for n in 0..s.images {
            for (co, db) in d_bias.iter_mut().enumerate() {
                for y in 0..s.height {
                    for xx in 0..s.width {
                        *db += g[nchw(so, n, co, y, xx)];
                    }
                }
            }
        }
        for_each_term(s, conv, |[n, co, ci, y, xo, ky, kx, yy, xx]| {
            let go = g[nchw(so, n, co, y, xo)];
            d_weight[widx(conv, co, ci, ky, kx)] += go * x[nchw(s, n, ci, yy, xx)];
            d_input[nchw(s, n, ci, yy, xx)] += go * weight[widx(conv, co, ci, ky, kx)];
        });
        (d_weight, d_bias, d_input)
    }

    fn f64s(v: &[f32]) -> Vec<f64> {
        v.iter().map(|&v| f64::from(v)).collect()
    }

    fn assert_close(what: &str, got: &[f32], want: &[f64], scale: &[f64]) {
        assert_eq!(got.len(), want.len(), "{what}: lengths differ");
        for (i, ((&g, &w), &s)) in got.iter().zip(want).zip(scale).enumerate() {
            let err = (f64::from(g) - w).abs();
            assert!(
                err <= 1e-5 * (1.0 + s),
                "{what}[{i}]: {g} vs {w} (scale {s})"
            );
        }
    }

    /// The sums of absolute values of the terms of each gradient entry, for tolerances.
    fn backward_scales(
        g: &[f64],
        x: &[f64],
        s: ImageShape,
        conv: Conv2dShape,
        weight: &[f64],
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let abs = |v: &[f64]| v.iter().map(|v| v.abs()).collect::<Vec<_>>();
        conv_reference_backward(&abs(g), &abs(x), s, conv, &abs(weight))
    }

    #[test]
    fn im2col_follows_its_definition() {
        let mut rng = Rng(1);
        for &case in CASES {
            let (s, conv) = case_shapes(case);
            let input = rng.vec(s.len());
            let mut cols = vec![f32::NAN; s.pixels() * conv.patch_len()];
            im2col(&input, s, conv.kernel, &mut cols);
            let (k, pad) = (conv.kernel, conv.padding() as isize);
            for n in 0..s.images {
                for y in 0..s.height {
                    for x in 0..s.width {
                        let row = (n * s.height + y) * s.width + x;
                        for ci in 0..s.channels {
                            for ky in 0..k {
                                for kx in 0..k {
                                    let yy = y as isize + ky as isize - pad;
                                    let xx = x as isize + kx as isize - pad;
                                    let inside = (0..s.height as isize).contains(&yy)
                                        && (0..s.width as isize).contains(&xx);
                                    let want = if inside {
                                        input[nhwc(s, n, yy as usize, xx as usize, ci)]
                                    } else {
                                        0.0
                                    };
                                    let got = cols[row * conv.patch_len() + (ci * k + ky) * k + kx];
                                    assert_eq!(
                                        got.to_bits(),
                                        want.to_bits(),
                                        "{case:?}: row ({n}, {y}, {x}), column ({ci}, {ky}, {kx})"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn col2im_add_is_the_adjoint_of_im2col_and_accumulates() {
        let mut rng = Rng(2);
        for &case in CASES {
            let (s, conv) = case_shapes(case);
            let x = rng.vec(s.len());
            let y = rng.vec(s.pixels() * conv.patch_len());
            let mut cols = vec![0.0; y.len()];
            im2col(&x, s, conv.kernel, &mut cols);
            let start = rng.vec(s.len());
            let mut back = start.clone();
            col2im_add(&y, s, conv.kernel, &mut back);
            let lhs: f64 = cols
                .iter()
                .zip(&y)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum();
            let rhs: f64 = x
                .iter()
                .zip(back.iter().zip(&start))
                .map(|(&a, (&b, &b0))| f64::from(a) * (f64::from(b) - f64::from(b0)))
                .sum();
            let scale: f64 = y.iter().map(|v| v.abs() as f64).sum();
            assert!(
                (lhs - rhs).abs() <= 1e-5 * scale,
                "{case:?}: <im2col(x), y> = {lhs} but <x, col2im(y)> = {rhs}"
            );
        }
    }

    #[test]
    fn the_ring_and_the_direct_paths_agree() {
        let mut rng = Rng(3);
        for &case in CASES {
            let (s, conv) = case_shapes(case);
            let x = rng.vec(s.len());
            let mut ring = vec![0.0; s.pixels() * conv.patch_len()];
            im2col(&x, s, conv.kernel, &mut ring);
            let mut direct = vec![0.0; ring.len()];
            im2col_direct(&x, s, conv.kernel, &mut direct);
            assert_eq!(ring, direct, "{case:?}: im2col");
            let y = rng.vec(ring.len());
            let mut ring_back = vec![0.5; s.len()];
            col2im_add(&y, s, conv.kernel, &mut ring_back);
            let mut direct_back = vec![0.5; s.len()];
            col2im_direct(&y, s, conv.kernel, &mut direct_back);
            for (i, (a, b)) in ring_back.iter().zip(&direct_back).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                    "{case:?} [{i}]: {a} vs {b}"
                );
            }
        }
        // The last case really takes the fallback, the others the ring.
        let (last, conv) = case_shapes(CASES[CASES.len() - 1]);
        assert!(ring_len(last, conv.kernel).is_none());
        for &case in &CASES[..CASES.len() - 1] {
            let (s, conv) = case_shapes(case);
            assert!(ring_len(s, conv.kernel).is_some(), "{case:?}");
        }
    }

    #[test]
    fn conv_forward_matches_the_definition() {
        let mut rng = Rng(4);
        for &case in CASES {
            let (s, conv) = case_shapes(case);
            let input = rng.vec(s.len());
            let weight = rng.vec(conv.weight_len());
            let bias = rng.vec(conv.c_out);
            let so = s.with_channels(conv.c_out);
            let (want, scale) = conv_reference(
                &to_nchw_f64(&input, s),
                s,
                conv,
                &f64s(&weight),
                &f64s(&bias),
            );
            // Scratch of the wrong size and an output full of NaN: both must be replaced.
            let mut cols = vec![7.0; 3];
            let mut out = vec![f32::NAN; so.len()];
            conv_forward(&input, s, conv, &weight, &bias, &mut cols, &mut out);
            assert_close(
                &format!("{case:?} out"),
                &out,
                &to_nhwc(&want, so),
                &to_nhwc(&scale, so),
            );
            let mut expected_cols = vec![0.0; s.pixels() * conv.patch_len()];
            im2col(&input, s, conv.kernel, &mut expected_cols);
            assert_eq!(
                cols, expected_cols,
                "{case:?}: cols must hold the im2col matrix"
            );
        }
    }

    #[test]
    fn the_reference_backward_matches_finite_differences() {
        // Σ g ⊙ conv(x) is linear in each of x, weight and bias, so central differences of the
        // f64 reference are exact up to rounding.
        let mut rng = Rng(5);
        let (s, conv) = case_shapes((2, 4, 3, 2, 3, 3));
        let so = s.with_channels(conv.c_out);
        let x = f64s(&rng.vec(s.len()));
        let weight = f64s(&rng.vec(conv.weight_len()));
        let bias = f64s(&rng.vec(conv.c_out));
        let g = f64s(&rng.vec(so.len()));
        let loss = |x: &[f64], w: &[f64], b: &[f64]| -> f64 {
            let (out, _) = conv_reference(x, s, conv, w, b);
            out.iter().zip(&g).map(|(o, g)| o * g).sum()
        };
        let (d_weight, d_bias, d_input) = conv_reference_backward(&g, &x, s, conv, &weight);
        let eps = 1e-3;
        let diff = |f: &dyn Fn(f64) -> f64| (f(eps) - f(-eps)) / (2.0 * eps);
        for i in 0..weight.len() {
            let fd = diff(&|e| {
                let mut w = weight.clone();
                w[i] += e;
                loss(&x, &w, &bias)
            });
            assert!(
                (fd - d_weight[i]).abs() < 1e-8,
                "d_weight[{i}]: {fd} vs {}",
                d_weight[i]
            );
        }
        for i in 0..bias.len() {
            let fd = diff(&|e| {
                let mut b = bias.clone();
                b[i] += e;
                loss(&x, &weight, &b)
            });
            assert!(
                (fd - d_bias[i]).abs() < 1e-8,
                "d_bias[{i}]: {fd} vs {}",
                d_bias[i]
            );
        }
        for i in 0..x.len() {
            let fd = diff(&|e| {
                let mut xe = x.clone();
                xe[i] += e;
                loss(&xe, &weight, &bias)
            });
            assert!(
                (fd - d_input[i]).abs() < 1e-8,
                "d_input[{i}]: {fd} vs {}",
                d_input[i]
            );
        }
    }

    #[test]
    fn conv_backward_matches_the_definition_accumulates_and_overwrites() {
        let mut rng = Rng(6);
        for &case in CASES {
            let (s, conv) = case_shapes(case);
            let so = s.with_channels(conv.c_out);
            let input = rng.vec(s.len());
            let weight = rng.vec(conv.weight_len());
            let bias = rng.vec(conv.c_out);
            let d_out = rng.vec(so.len());
            let mut cols = Vec::new();
            let mut out = vec![0.0; so.len()];
            conv_forward(&input, s, conv, &weight, &bias, &mut cols, &mut out);

            let (x64, g64, w64) = (
                to_nchw_f64(&input, s),
                to_nchw_f64(&d_out, so),
                f64s(&weight),
            );
            let (dw, db, dx) = conv_reference_backward(&g64, &x64, s, conv, &w64);
            let (dw_scale, db_scale, dx_scale) = backward_scales(&g64, &x64, s, conv, &w64);

            // Start from non-zero gradients: they must be added to.
            let dw0 = rng.vec(dw.len());
            let db0 = rng.vec(db.len());
            let mut d_weight = dw0.clone();
            let mut d_bias = db0.clone();
            let mut d_input = vec![f32::NAN; s.len()];
            let mut d_cols = vec![3.0; 5];
            conv_backward(
                &d_out,
                &cols,
                s,
                conv,
                &weight,
                &mut d_weight,
                &mut d_bias,
                Some(&mut d_input),
                &mut d_cols,
            );
            let plus = |start: &[f32], d: &[f64], times: f64| -> Vec<f64> {
                start
                    .iter()
                    .zip(d)
                    .map(|(&a, &b)| f64::from(a) + times * b)
                    .collect()
            };
            let shifted = |scale: &[f64], start: &[f32], times: f64| -> Vec<f64> {
                scale
                    .iter()
                    .zip(start)
                    .map(|(&s, &a)| times * s + f64::from(a).abs())
                    .collect()
            };
            assert_close(
                &format!("{case:?} d_weight"),
                &d_weight,
                &plus(&dw0, &dw, 1.0),
                &shifted(&dw_scale, &dw0, 1.0),
            );
            assert_close(
                &format!("{case:?} d_bias"),
                &d_bias,
                &plus(&db0, &db, 1.0),
                &shifted(&db_scale, &db0, 1.0),
            );
            assert_close(
                &format!("{case:?} d_input"),
                &d_input,
                &to_nhwc(&dx, s),
                &to_nhwc(&dx_scale, s),
            );

            // A second call adds the parameter gradients again and overwrites d_input (here
            // full of garbage) with the same values; without d_input, d_cols is untouched.
            d_input.fill(1e30);
            conv_backward(
                &d_out,
                &cols,
                s,
                conv,
                &weight,
                &mut d_weight,
                &mut d_bias,
                Some(&mut d_input),
                &mut d_cols,
            );
            let d_cols_before = d_cols.clone();
            conv_backward(
                &d_out,
                &cols,
                s,
                conv,
                &weight,
                &mut d_weight,
                &mut d_bias,
                None,
                &mut d_cols,
            );
            assert_eq!(d_cols, d_cols_before);
            assert_close(
                &format!("{case:?} d_weight after three calls"),
                &d_weight,
                &plus(&dw0, &dw, 3.0),
                &shifted(&dw_scale, &dw0, 3.0),
            );
            assert_close(
                &format!("{case:?} d_bias after three calls"),
                &d_bias,
                &plus(&db0, &db, 3.0),
                &shifted(&db_scale, &db0, 3.0),
            );
            assert_close(
                &format!("{case:?} d_input after a second call"),
                &d_input,
                &to_nhwc(&dx, s),
                &to_nhwc(&dx_scale, s),
            );
        }
    }

    #[test]
    fn conv_backward_from_zero_gradients_doubles_on_a_second_call() {
        let mut rng = Rng(7);
        let (s, conv) = case_shapes((2, 6, 5, 3, 4, 3));
        let input = rng.vec(s.len());
        let weight = rng.vec(conv.weight_len());
        let bias = rng.vec(conv.c_out);
        let d_out = rng.vec(s.pixels() * conv.c_out);
        let (mut cols, mut d_cols) = (Vec::new(), Vec::new());
        let mut out = vec![0.0; d_out.len()];
        conv_forward(&input, s, conv, &weight, &bias, &mut cols, &mut out);
        let mut d_weight = vec![0.0; weight.len()];
        let mut d_bias = vec![0.0; bias.len()];
        let mut step = |d_weight: &mut [f32], d_bias: &mut [f32]| {
            conv_backward(
                &d_out,
                &cols,
                s,
                conv,
                &weight,
                d_weight,
                d_bias,
                None,
                &mut d_cols,
            );
        };
        step(&mut d_weight, &mut d_bias);
        let (once_w, once_b) = (d_weight.clone(), d_bias.clone());
        assert!(once_w.iter().any(|&v| v != 0.0) && once_b.iter().any(|&v| v != 0.0));
        step(&mut d_weight, &mut d_bias);
        // x + x is exact in floating point.
        assert_eq!(d_weight, once_w.iter().map(|v| 2.0 * v).collect::<Vec<_>>());
        assert_eq!(d_bias, once_b.iter().map(|v| 2.0 * v).collect::<Vec<_>>());
    }

    /// Values from a small set, so that windows often hold ties.
    fn tied_values(rng: &mut Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| (rng.next_u64() % 3) as f32 - 1.0).collect()
    }

    #[test]
    fn maxpool_matches_the_definition_with_floor_and_first_ties() {
        let mut rng = Rng(8);
        for &(images, h, w, c) in &[
            (2, 5, 7, 3),
            (1, 4, 4, 1),
            (3, 6, 3, 16),
            (1, 2, 2, 2),
            (1, 1, 3, 2),
            (2, 9, 8, 5),
        ] {
            let s = ImageShape::new(images, h, w, c);
            let p = s.pooled();
            assert_eq!((p.height, p.width), (h / 2, w / 2));
            for input in [tied_values(&mut rng, s.len()), rng.vec(s.len())] {
                let mut out = vec![f32::NAN; p.len()];
                let mut argmax = vec![u32::MAX; p.len()];
                maxpool2_forward(&input, s, &mut out, &mut argmax);
                for n in 0..images {
                    for oy in 0..p.height {
                        for ox in 0..p.width {
                            for ci in 0..c {
                                let window = [(0, 0), (0, 1), (1, 0), (1, 1)]
                                    .map(|(dy, dx)| nhwc(s, n, 2 * oy + dy, 2 * ox + dx, ci));
                                let mut best = window[0];
                                for &i in &window[1..] {
                                    if input[i] > input[best] {
                                        best = i;
                                    }
                                }
                                let o = nhwc(p, n, oy, ox, ci);
                                assert_eq!(out[o], input[best], "{s:?} output {o}");
                                assert_eq!(argmax[o] as usize, best, "{s:?} output {o}");
                            }
                        }
                    }
                }

                let d_out = rng.vec(p.len());
                let mut d_input = vec![f32::NAN; s.len()];
                maxpool2_backward(&d_out, &argmax, &mut d_input);
                let mut want = vec![0.0; s.len()];
                for (&g, &i) in d_out.iter().zip(&argmax) {
                    want[i as usize] = g;
                }
                assert_eq!(d_input, want, "{s:?}: backward");
            }
        }
    }

    #[test]
    fn maxpool_ties_go_to_the_first_in_window_order() {
        let s = ImageShape::new(1, 2, 4, 1);
        // Window 0: all equal → (0,0). Window 1: (0,1) and (1,1) tie at the max → (0,1).
        let input = [2.0, 2.0, 0.0, 5.0, 2.0, 2.0, 1.0, 5.0];
        let (mut out, mut argmax) = ([0.0; 2], [0u32; 2]);
        maxpool2_forward(&input, s, &mut out, &mut argmax);
        assert_eq!(out, [2.0, 5.0]);
        assert_eq!(argmax, [0, 3]);
    }

    #[test]
    fn layout_conversions_follow_burns_flatten_order_and_invert_each_other() {
        for &(images, h, w, c) in &[(2, 3, 4, 5), (1, 7, 7, 32), (3, 1, 2, 1)] {
            let s = ImageShape::new(images, h, w, c);
            let code = |n: usize, y: usize, x: usize, ci: usize| {
                (((n * 100 + y) * 100 + x) * 100 + ci) as f32
            };
            let mut input = vec![0.0; s.len()];
            for n in 0..images {
                for y in 0..h {
                    for x in 0..w {
                        for ci in 0..c {
                            input[nhwc(s, n, y, x, ci)] = code(n, y, x, ci);
                        }
                    }
                }
            }
            let mut flat = vec![f32::NAN; s.len()];
            nhwc_to_nchw(&input, s, &mut flat);
            for n in 0..images {
                for y in 0..h {
                    for x in 0..w {
                        for ci in 0..c {
                            // Burn's x.flatten(1, 3) on [images, c, h, w].
                            let i = n * (c * h * w) + ci * h * w + y * w + x;
                            assert_eq!(flat[i], code(n, y, x, ci), "{s:?} ({n}, {y}, {x}, {ci})");
                        }
                    }
                }
            }
            let mut back = vec![f32::NAN; s.len()];
            nchw_to_nhwc(&flat, s, &mut back);
            assert_eq!(back, input);
        }
    }

    #[test]
    fn a_cnn_block_chain_has_consistent_shapes() {
        // conv 5×5 1→4, pool, conv 5×5 4→6, pool, flatten, on 2 images of 9×7.
        let mut rng = Rng(9);
        let s0 = ImageShape::new(2, 9, 7, 1);
        let (c1, c2) = (Conv2dShape::new(1, 4, 5), Conv2dShape::new(4, 6, 5));
        let x = rng.vec(s0.len());
        let (w1, b1, w2, b2) = (
            rng.vec(c1.weight_len()),
            rng.vec(4),
            rng.vec(c2.weight_len()),
            rng.vec(6),
        );
        let mut cols = Vec::new();
        let s1 = s0.with_channels(4);
        let mut a1 = vec![0.0; s1.len()];
        conv_forward(&x, s0, c1, &w1, &b1, &mut cols, &mut a1);
        let p1 = s1.pooled();
        let (mut q1, mut i1) = (vec![0.0; p1.len()], vec![0; p1.len()]);
        maxpool2_forward(&a1, s1, &mut q1, &mut i1);
        let s2 = p1.with_channels(6);
        let mut a2 = vec![0.0; s2.len()];
        conv_forward(&q1, p1, c2, &w2, &b2, &mut cols, &mut a2);
        let p2 = s2.pooled();
        assert_eq!(p2, ImageShape::new(2, 2, 1, 6));
        let (mut q2, mut i2) = (vec![0.0; p2.len()], vec![0; p2.len()]);
        maxpool2_forward(&a2, s2, &mut q2, &mut i2);
        let mut flat = vec![0.0; p2.len()];
        nhwc_to_nchw(&q2, p2, &mut flat);
        assert!(flat.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn empty_batches_and_channels_are_handled() {
        let mut rng = Rng(10);
        for &(images, c_in, c_out) in &[(0, 2, 3), (2, 2, 0), (2, 0, 3)] {
            let s = ImageShape::new(images, 4, 3, c_in);
            let conv = Conv2dShape::new(c_in, c_out, 3);
            let input = rng.vec(s.len());
            let weight = rng.vec(conv.weight_len());
            let bias = rng.vec(c_out);
            let so = s.with_channels(c_out);
            let (mut cols, mut d_cols) = (vec![1.0; 4], Vec::new());
            let mut out = vec![f32::NAN; so.len()];
            conv_forward(&input, s, conv, &weight, &bias, &mut cols, &mut out);
            // With no input channels, every output is its bias.
            let want: Vec<f32> = (0..so.len()).map(|i| bias[i % c_out.max(1)]).collect();
            assert_eq!(out, want, "({images}, {c_in}, {c_out})");
            let d_out = rng.vec(so.len());
            let mut d_weight = vec![0.5; weight.len()];
            let mut d_bias = vec![0.5; c_out];
            let mut d_input = vec![f32::NAN; s.len()];
            conv_backward(
                &d_out,
                &cols,
                s,
                conv,
                &weight,
                &mut d_weight,
                &mut d_bias,
                Some(&mut d_input),
                &mut d_cols,
            );
            // No output channels: the input gradient is zero.
            assert!(
                d_input.iter().all(|&v| v == 0.0),
                "({images}, {c_in}, {c_out})"
            );
            if images == 0 {
                assert!(d_weight.iter().chain(&d_bias).all(|&v| v == 0.5));
            }
        }
    }

    #[test]
    #[should_panic(expected = "must be odd")]
    fn an_even_kernel_is_refused() {
        let s = ImageShape::new(1, 3, 3, 1);
        let mut cols = vec![0.0; 9 * 4];
        im2col(&[0.0; 9], s, 2, &mut cols);
    }

    #[test]
    #[should_panic(expected = "channels but the convolution takes")]
    fn mismatched_channels_are_refused() {
        let s = ImageShape::new(1, 3, 3, 2);
        let conv = Conv2dShape::new(1, 1, 1);
        let mut out = vec![0.0; 9];
        conv_forward(
            &[0.0; 18],
            s,
            conv,
            &[0.0],
            &[0.0],
            &mut Vec::new(),
            &mut out,
        );
    }
}
