//! One module per subcommand.

pub mod data;
pub mod engine;
pub mod eval;
pub mod experiment;
pub mod info;
pub mod predict;
pub mod train;
