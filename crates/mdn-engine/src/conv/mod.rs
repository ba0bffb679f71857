//! Convolution and pooling kernels for the CNN backbone.
//!
//! The backbone (`mdn`'s `Cnn`) runs blocks `conv (k × k, stride 1, "same" padding) →
//! activation → 2 × 2 max-pool`, then flattens and applies a dense layer. These kernels do the
//! conv, the pool and the layout changes around them, forward and backward, on one thread (the
//! caller splits the batch into shards; the forward pass applies the activation, the caller
//! its derivative).
//!
//! # Layouts
//! - Activations are **NHWC**: `[images, height, width, channels]`, contiguous. A convolution's
//!   result rows are the pixels `(n, y, x)` and its columns the output channels: that *is*
//!   NHWC, so nothing is transposed between layers, and the max-pool reads each pixel's
//!   channels as one contiguous run.
//! - Parameters are in **PyTorch's layout**: weight `[c_out, c_in, k, k]` row-major, bias
//!   `[c_out]`; [`pack_forward`] and [`pack_backward`] rearrange the weight once per call for
//!   the kernels, and the weight gradient is written in PyTorch's layout directly.
//! - The last feature map is flattened NCHW (`c·H·W + y·W + x`); [`nhwc_to_nchw`] and
//!   [`nchw_to_nhwc`] convert at the boundary with the dense layer.
//!
//! # Speed
//! There is no im2col matrix. The input is zero-padded once ([`pad_images`]); in NHWC a
//! kernel row `ky` of an output pixel reads `k · c_in` consecutive values of the padded image
//! row, so a convolution is one product of [`crate::matmul`] whose reduction has a segment
//! per kernel row, read straight from the padded image, and whose tiles run along an image row
//! of output pixels. The weight gradient takes, for each kernel row, tiles over
//! `kx · c_in + ci` and the output channels with the reduction over every pixel (a segment per
//! image row); the input gradient is the convolution of the padded output gradient with the
//! flipped, channel-swapped weight ([`pack_backward`]). Where the channel count is a whole
//! number of vectors, the forward pass and the input gradient accumulate in the output itself
//! (from the bias, or zero) and the activation runs as a vectorised pass of its own; the
//! copy loops run inside [`vectorized!`](crate::vectorized).

mod columns;
mod layer;
mod layout;
mod pool;
mod shape;

pub(crate) use columns::PaddedImages;
pub use columns::{pack_backward, pack_forward, pad_images, padded_shape};
pub(crate) use layer::{backward_padded, forward_padded};
pub use layer::{conv_backward, conv_forward};
pub use layout::{nchw_to_nhwc, nhwc_to_nchw};
pub use pool::{maxpool2_backward, maxpool2_forward};
pub use shape::{Conv2dShape, ImageShape};

#[cfg(test)]
mod tests;
