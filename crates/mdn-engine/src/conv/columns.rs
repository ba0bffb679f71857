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
    out.clear();
    out.resize(padded_shape(shape, pad).len(), 0.0);
    copy_interiors(input, shape, pad, out);
}

/// Copies NHWC images into the interiors of `out`, which holds [`padded_shape`]`(shape, pad)`
/// values whose borders are zero.
///
/// # Panics
/// If `input` does not hold `shape`'s values.
fn copy_interiors(input: &[f32], shape: ImageShape, pad: usize, out: &mut [f32]) {
    assert_eq!(
        input.len(),
        shape.len(),
        "pad_images: the input does not have shape {shape:?}"
    );
    if shape.image_len() == 0 {
        return;
    }
    let padded = padded_shape(shape, pad);
    let row = shape.width * shape.channels;
    let padded_row = padded.width * shape.channels;
    let first = pad * padded_row + pad * shape.channels;
    vectorized!({
        for (image, dst) in input
            .chunks_exact(shape.image_len())
            .zip(out.chunks_exact_mut(padded.image_len()))
        {
            for (y, src) in image.chunks_exact(row).enumerate() {
                let at = first + y * padded_row;
                dst[at..at + row].copy_from_slice(src);
            }
        }
    },);
}

/// Zero-padded NHWC images kept from one call to the next, as a network's workspace keeps
/// them between training steps: [`pad_images`] writes every value, but once the borders of an
/// image geometry are zero they stay zero (nothing else writes here), so later calls with the
/// same geometry copy only the images' interiors (the borders' memsets were about half of
/// padding's 3.2% of W2's samples).
#[derive(Debug, Default, Clone)]
pub(crate) struct PaddedImages {
    values: Vec<f32>,
    /// `(height, width, channels, pad)` of the images whose zero borders `values` holds.
    borders: Option<(usize, usize, usize, usize)>,
}

impl PaddedImages {
    /// `input` (NHWC, `shape`) padded as [`pad_images`] pads it.
    ///
    /// # Panics
    /// If `input` does not hold `shape`'s values.
    pub(crate) fn pad(&mut self, input: &[f32], shape: ImageShape, pad: usize) {
        let geometry = (shape.height, shape.width, shape.channels, pad);
        if self.borders != Some(geometry) {
            self.values.clear();
            self.borders = Some(geometry);
        }
        // Both lengths are whole images of this geometry: images are cut off, or added as
        // zeros, so every border stays zero.
        self.values.resize(padded_shape(shape, pad).len(), 0.0);
        copy_interiors(input, shape, pad, &mut self.values);
    }

    /// Pads into `values`' allocation, whose contents are taken as unknown.
    pub(crate) fn in_buffer(values: Vec<f32>) -> Self {
        Self {
            values,
            borders: None,
        }
    }

    /// The buffer, for a caller that keeps it between calls.
    pub(crate) fn into_values(self) -> Vec<f32> {
        self.values
    }

    /// The padded images of the last [`pad`](Self::pad).
    pub(crate) fn values(&self) -> &[f32] {
        &self.values
    }
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
