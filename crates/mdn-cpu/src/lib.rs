//! Hand-written CPU kernels for mixture density networks.
//!
//! The `mdn` crate trains and queries its networks through Burn; on the CPU, for the
//! architectures it builds (an MLP or a small CNN, followed by a mixture density head or a
//! least-squares layer), it hands the work to this crate instead, which does the same
//! arithmetic without a tensor framework:
//!
//! - matrix products through `gemm` ([`matmul`]), the crate's only `unsafe` code;
//! - the mixture head and its loss fused into one pass over the batch, forward and backward
//!   ([`head`]), with the head's outputs laid out feature-major so that every step is a
//!   vectorised loop;
//! - elementwise maths written to auto-vectorise ([`math`]) inside run-time SIMD dispatch
//!   ([`vectorized!`]);
//! - convolutions as im2col + GEMM on NHWC images ([`conv`]);
//! - batches split into shards whose gradients are computed on rayon's threads and summed in
//!   a fixed order ([`network::shard_ranges`]), so results do not depend on the number of
//!   threads;
//! - Adam exactly as Burn arranges it ([`Adam`]).
//!
//! Everything is f32, as Burn's Flex backend is; `mdn`'s tests check that both give the same
//! losses and gradients to f32 tolerance. Parameters are one flat vector in Burn's tensor
//! layouts ([`Architecture::tensor_shapes`]), so they move between the two without
//! reordering.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod adam;
mod arch;
mod buffers;
pub mod conv;
mod error;
pub mod head;
mod layers;
pub mod math;
pub mod matmul;
pub mod network;
mod session;
pub mod simd;
#[cfg(test)]
mod test_rng;

pub use adam::{Adam, AdamConfig, AdamState};
pub use arch::{Activation, Architecture, Backbone, Covariance, Head, Layout, TensorShape};
pub use error::{CpuError, Result};
pub use head::{HeadOutput, LossSums, MixtureParams};
pub use network::{Network, Workspace};
pub use session::Session;
