//! One module per subcommand.

pub mod data;
pub mod eval;
pub mod experiment;
pub mod info;
pub mod predict;
pub mod train;
