//! Zero-padded copies of NHWC images: what the convolution kernels read their receptive
//! fields from, and the layouts the weights are repacked into for them.

use super::shape::{Conv2dShape, ImageShape};
use crate::vectorized;

pub(super) fn check_kernel(kernel: usize) {
    assert!(kernel % 2 == 1, "the kernel side must be odd, got {kernel}");
}

/// The shape of `shape`'s images with `pad` zeros added on each side.
pub fn padded_shape(shape: ImageShape, pad: usize) -> ImageShape {
    ImageShape {
        height: shape.height + 2 * pad,
        width: shape.width + 2 * pad,
        ..shape
    }
}

/// Copies NHWC images into `out` with `pad` zero rows above and below and `pad` zero pixels
/// left and right of every image: `out` becomes NHWC, [`padded_shape`]`(shape, pad)`.
///
/// # Panics
/// If `input` does not hold `shape`'s values.
pub fn pad_images(input: &[f32], shape: ImageShape, pad: usize, out: &mut Vec<f32>) {
    assert_eq!(
        input.len(),
        shape.len(),
        "pad_images: the input does not have shape {shape:?}"
    );
    let padded = padded_shape(shape, pad);
    out.resize(padded.len(), 0.0);
    if out.is_empty() {
        return;
    }
    let (h, c) = (shape.height, shape.channels);
    let row = shape.width * c;
    let padded_row = padded.width * c;
    let side = pad * c;
    vectorized!({
        for (image, dst) in input
            .chunks_exact(shape.image_len().max(1))
            .zip(out.chunks_exact_mut(padded.image_len()))
        {
            let (top, rest) = dst.split_at_mut(pad * padded_row);
            top.fill(0.0);
            let (middle, bottom) = rest.split_at_mut(h * padded_row);
            bottom.fill(0.0);
            for (src, dst) in image
                .chunks_exact(row.max(1))
                .zip(middle.chunks_exact_mut(padded_row))
            {
                dst[..side].fill(0.0);
                dst[side..side + row].copy_from_slice(src);
                dst[side + row..].fill(0.0);
            }
            if row == 0 {
                middle.fill(0.0);
            }
        }
    },);
}

/// The weight `[c_out, c_in, k, k]` (PyTorch's layout) as the forward kernel reads it:
/// row-major `[k, k, c_in, c_out]`, so that one kernel row's `k · c_in` inputs of a pixel,
/// contiguous in a padded NHWC image, meet contiguous rows of output channels.
pub fn pack_forward(conv: Conv2dShape, weight: &[f32], out: &mut Vec<f32>) {
    let (k, c_in, c_out) = (conv.kernel, conv.c_in, conv.c_out);
    out.resize(weight.len(), 0.0);
    for co in 0..c_out {
        for ci in 0..c_in {
            for ky in 0..k {
                for kx in 0..k {
                    out[((ky * k + kx) * c_in + ci) * c_out + co] =
                        weight[((co * c_in + ci) * k + ky) * k + kx];
                }
            }
        }
    }
}

/// The weight as the input gradient's kernel reads it: flipped and with the channels
/// swapped, row-major `[k, k, c_out, c_in]` with entry `(ky, kx, co, ci)` =
/// `weight[co, ci, k − 1 − ky, k − 1 − kx]`: the input gradient is then the convolution of
/// the zero-padded output gradient with it.
pub fn pack_backward(conv: Conv2dShape, weight: &[f32], out: &mut Vec<f32>) {
    let (k, c_in, c_out) = (conv.kernel, conv.c_in, conv.c_out);
    out.resize(weight.len(), 0.0);
    for co in 0..c_out {
        for ci in 0..c_in {
            for ky in 0..k {
                for kx in 0..k {
                    out[(((k - 1 - ky) * k + (k - 1 - kx)) * c_out + co) * c_in + ci] =
                        weight[((co * c_in + ci) * k + ky) * k + kx];
                }
            }
        }
    }
}
