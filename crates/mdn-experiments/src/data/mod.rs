//! Data sets: generated toy and robot-arm data.

pub mod idx;
pub mod mnist;
pub mod robot;
pub mod toy;
