//! Which implementation computes a network: Burn's tensor operations, or the hand-written CPU
//! kernels of `mdn-cpu`.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{MdnError, Result};
use crate::kernels;
use crate::network::NetworkConfig;

/// Which implementation trains (and queries) a network.
///
/// Both compute the same model — the same parameterisation, loss, gradients and Adam — and
/// agree to f32 rounding (`tests/engines_agree.rs`); the CPU kernels are several times faster
/// on the CPU (see BENCHMARKS.md). Training runs are deterministic for a given seed with
/// either, but the two do not round identically, so a model trained with one is not bit for
/// bit the model trained with the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// The CPU kernels on the Flex CPU device for every architecture they run (all that
    /// [`NetworkConfig`] builds today); Burn on other devices (e.g. wgpu).
    #[default]
    Auto,
    /// Burn's tensor operations and autodiff, on any device.
    Burn,
    /// The CPU kernels; an error on another device.
    Cpu,
}

impl Engine {
    /// The implementation to use for `network` on `device`: [`Engine::Burn`] or
    /// [`Engine::Cpu`], never [`Engine::Auto`].
    pub fn resolve(self, device: &Device, network: &NetworkConfig) -> Result<Engine> {
        let runnable = kernels::architecture(network).is_some();
        let on_cpu = *device == Device::flex();
        match self {
            Engine::Burn => Ok(Engine::Burn),
            Engine::Auto if runnable && on_cpu => Ok(Engine::Cpu),
            Engine::Auto => Ok(Engine::Burn),
            Engine::Cpu if !on_cpu => Err(MdnError::invalid(
                "engine",
                "cpu",
                "the CPU kernels run on the Flex CPU device only; use engine auto or burn on \
                 other devices",
            )),
            Engine::Cpu if !runnable => Err(MdnError::invalid(
                "engine",
                "cpu",
                "the CPU kernels do not run this architecture; use engine auto or burn",
            )),
            Engine::Cpu => Ok(Engine::Cpu),
        }
    }

    /// The lower-case name used on the command line and in model files.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Auto => "auto",
            Engine::Burn => "burn",
            Engine::Cpu => "cpu",
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
