//! Data, experiments and figures that reproduce Bishop's Mixture Density Network results
//! next to a least-squares network of the same backbone.
//!
//! - [`data`]: the toy inverse problem, the two-link robot arm and MNIST (IDX files);
//! - [`experiments`]: one function per experiment, writing figures, `metrics.json` and
//!   `report.md` into a directory;
//! - [`plot`]: figures rendered to PNG and SVG with an embedded font;
//! - [`calibration`]: the calibration figures of `mdn eval --report`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod calibration;
pub mod data;
mod error;
pub mod experiments;
pub mod plot;

pub use error::{ExperimentError, Result};
