//! Data sets: the generated toy and robot-arm data, and MNIST read from IDX files (with
//! `mdn::idx`).

pub mod mnist;
pub mod robot;
pub mod toy;
