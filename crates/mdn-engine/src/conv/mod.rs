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
//! - Parameters are in **PyTorch's layout**: weight `[c_out, c_in, k, k]` row-major (seen by the
//!   GEMM as `[c_out, c_in·k·k]`), bias `[c_out]`. The im2col matrix orders its columns
//!   `(ci, ky, kx)` to match, so parameters and their gradients need no conversion.
//! - The last feature map is flattened NCHW (`c·H·W + y·W + x`); [`nhwc_to_nchw`] and
//!   [`nchw_to_nhwc`] convert at the boundary with the dense layer.
//!
//! # Speed
//! A row of the im2col matrix is `c_in · k` runs of `k` consecutive pixels of one channel and
//! one image row. NHWC interleaves the channels, so [`im2col`] first transposes each image row
//! into a small zero-padded, channel-planar buffer on the stack (a ring holding the `k` rows
//! that a line of output pixels reads, each transposed once); every run is then one
//! fixed-size copy, and `cols` is written front to back. Shapes whose ring does not fit fall
//! back to a direct (slower) gather.
//!
//! The input gradient in [`conv_backward`] is not an im2col matrix folded back: it computes
//! `d_out · weight` for a block of whole images (about 200 pixels, so that the result stays
//! in the L2 cache) into a *column-major* scratch matrix, in which the gradient of each
//! im2col column is contiguous over an image's pixels. Folding it back is then one long
//! vectorised, shifted addition per column into a channel-planar buffer, and one transpose
//! to NHWC. Matrix products go through [`crate::matmul`]; the copy and add loops run inside
//! [`vectorized!`](crate::vectorized), their closures marked `#[inline(always)]` (a closure that is
//! not inlined into the dispatching function runs at the baseline instruction set).

mod columns;
mod layer;
mod layout;
mod pool;
mod shape;

pub use columns::{pack_backward, pack_forward, pad_images, padded_shape};
pub(crate) use layer::{backward_padded, forward_padded};
pub use layer::{conv_backward, conv_forward};
pub use layout::{nchw_to_nhwc, nhwc_to_nchw};
pub use pool::{maxpool2_backward, maxpool2_forward};
pub use shape::{Conv2dShape, ImageShape};

#[cfg(test)]
mod tests;
