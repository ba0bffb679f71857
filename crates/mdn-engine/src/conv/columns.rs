//! im2col and its adjoint, through a ring of transposed image rows or a direct fallback.

use super::shape::ImageShape;
use crate::vectorized;

/// Floats in the stack buffer holding the im2col ring of transposed rows (32 KiB).
const RING: usize = 8192;

/// Entries of the per-row table of run offsets, `c_in · kernel` at most.
const TABLE: usize = 1024;

/// The length of the ring for these shapes, `kernel` rows of `channels` planes of
/// `width + 2·pad` floats, if it and the run table fit on the stack.
pub(super) fn ring_len(shape: ImageShape, kernel: usize) -> Option<usize> {
    let len = kernel * shape.channels * (shape.width + 2 * (kernel / 2));
    (len <= RING && shape.channels * kernel <= TABLE).then_some(len)
}

pub(super) fn check_kernel(kernel: usize) {
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
            1 => vectorized!({
                const $k: usize = 1;
                $call
            },),
            3 => vectorized!({
                const $k: usize = 3;
                $call
            },),
            5 => vectorized!({
                const $k: usize = 5;
                $call
            },),
            7 => vectorized!({
                const $k: usize = 7;
                $call
            },),
            _ => vectorized!({
                const $k: usize = 0;
                $call
            },),
        }
    };
}

/// im2col for a "same"-padded, stride-1 `kernel × kernel` convolution.
///
/// Row `(n, y, x)` of `cols` (row index `(n·height + y)·width + x`), column
/// `(ci·kernel + ky)·kernel + kx`, receives `input[n, y + ky − kernel/2, x + kx − kernel/2, ci]`,
/// or 0 where that lies outside the image. The column order matches the weight layout
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
        return vectorized!(im2col_direct(input, shape, kernel, cols),);
    };
    let mut buffer = [0.0f32; RING];
    let ring = &mut buffer[..len];
    by_kernel!(kernel, K => im2col_ring::<K>(input, shape, kernel, cols, ring));
}

/// `dst = src` for runs of `k` floats; `K` is `k` when known at compile time (the copy is
/// then a couple of moves), 0 otherwise.
#[inline(always)]
fn copy_run<const K: usize>(dst: &mut [f32], src: &[f32]) {
    let k = if K == 0 { dst.len() } else { K };
    dst[..k].copy_from_slice(&src[..k]);
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

/// [`im2col`] by a direct gather from NHWC, for shapes whose ring does not fit on the stack.
#[inline(always)]
pub(super) fn im2col_direct(input: &[f32], shape: ImageShape, kernel: usize, cols: &mut [f32]) {
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
