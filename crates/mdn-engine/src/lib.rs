//! The engine of mixture density networks: what a network is, and every number it computes.
//!
//! - [`Architecture`] describes a network (an MLP or a small CNN, followed by a mixture density
//!   head or a least-squares layer); [`Architecture::check`] makes it a [`ValidArchitecture`],
//!   whose parameters have stable names and shapes ([`ValidArchitecture::tensors`]) and live in
//!   one flat f32 vector ([`ParamLayout`]) — the model file stores exactly those tensors;
//! - [`Network::init`] draws the parameters from a seed; [`Network::predict`],
//!   [`Network::loss`] and [`Network::gradient`] run it; [`Session`] trains it with [`Adam`].
//!
//! The arithmetic is written for the CPU, without a tensor framework:
//!
//! - matrix products on micro-kernels of our own ([`matmul`]; AVX-512, AVX2 or portable, chosen
//!   at run time), the crate's only `unsafe` code;
//! - the mixture head and its loss fused into one pass over the batch, forward and backward
//!   ([`head`]), with the head's outputs laid out feature-major so that every step is a
//!   vectorised loop;
//! - elementwise maths written to auto-vectorise ([`math`]) inside run-time SIMD dispatch
//!   ([`vectorized!`]);
//! - convolutions read straight from padded NHWC images by the same kernels ([`conv`]);
//! - batches split into shards whose gradients are computed on rayon's threads and summed in
//!   a fixed order ([`network::shard_ranges`]), so results do not depend on the number of
//!   threads.
//!
//! Everything is f32. `tests/torch_reference.rs` checks losses and gradients against a
//! float64 PyTorch script, `tests/gradients.rs` against finite differences.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod activation;
mod adam;
mod arch;
mod buffers;
pub mod conv;
mod error;
pub mod head;
mod init;
mod layers;
pub mod math;
pub mod matmul;
pub mod network;
mod params;
mod session;
pub mod simd;
#[cfg(test)]
mod test_rng;

pub use adam::{Adam, AdamConfig, AdamState};
pub use arch::{
    Activation, Architecture, ArchitectureError, ArchitectureParameter, Backbone, Head,
    MAX_COMPONENTS, MAX_KERNEL, MAX_PARAMETERS, MAX_WIDTH, ValidArchitecture,
};
pub use error::LengthError;
pub use head::{HeadOutput, LossSums, MixtureParams};
pub use mdn_mixture::CovarianceKind;
pub use network::{Network, Workspace};
pub use params::{ParamLayout, ParamTensor};
pub use session::Session;
