//! The experiments, one command each.

pub mod common;
pub mod mnist;
pub mod robot;
pub mod toy;
