//! Data sets: generated toy and robot-arm data.

pub mod robot;
pub mod toy;
