//! The `--engine` option of the commands that train.

use clap::ValueEnum;
use mdn::Engine;

/// Which implementation trains the networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// The hand-written CPU kernels on the CPU (every architecture `mdn` builds), Burn
    /// elsewhere.
    Auto,
    /// Burn's tensor operations and autodiff.
    Burn,
    /// The hand-written CPU kernels.
    Cpu,
}

impl From<EngineArg> for Engine {
    fn from(value: EngineArg) -> Self {
        match value {
            EngineArg::Auto => Engine::Auto,
            EngineArg::Burn => Engine::Burn,
            EngineArg::Cpu => Engine::Cpu,
        }
    }
}
