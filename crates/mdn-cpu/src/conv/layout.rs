//! Conversions between the NHWC and NCHW layouts.

use super::shape::ImageShape;

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
