//! Conversions between the NHWC and NCHW layouts.

use super::shape::ImageShape;
use crate::buffers::transpose;

/// Converts NHWC images to the channel-major (NCHW) flattening: `out[n, c·H·W + y·W + x] =
/// input[n, y, x, c]`.
///
/// # Shapes
/// - `input`: NHWC, `shape`
/// - `out`: `[images, channels · height · width]`, overwritten
///
/// # Panics
/// If a length disagrees with `shape`.
pub fn nhwc_to_nchw(input: &[f32], shape: ImageShape, out: &mut [f32]) {
    per_image("nhwc_to_nchw", input, shape, out, |src, dst, plane, c| {
        transpose(src, plane, c, dst)
    });
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
    per_image("nchw_to_nhwc", input, shape, out, |src, dst, plane, c| {
        transpose(src, c, plane, dst)
    });
}

/// Checks that `input` and `out` both hold `shape`'s values (naming `what` otherwise), then
/// calls `f(image in, image out, height·width, channels)` for every image.
fn per_image(
    what: &str,
    input: &[f32],
    shape: ImageShape,
    out: &mut [f32],
    f: impl Fn(&[f32], &mut [f32], usize, usize),
) {
    assert_eq!(
        input.len(),
        shape.len(),
        "{what}: the input does not have shape {shape:?}"
    );
    assert_eq!(
        out.len(),
        shape.len(),
        "{what}: out does not have shape {shape:?}"
    );
    if shape.is_empty() {
        return;
    }
    let (plane, c) = (shape.height * shape.width, shape.channels);
    for (src, dst) in input
        .chunks_exact(shape.image_len())
        .zip(out.chunks_exact_mut(shape.image_len()))
    {
        f(src, dst, plane, c);
    }
}
