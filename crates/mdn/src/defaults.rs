//! What `mdn train` — and every front end built on this library — uses for an option that is
//! not given: the network's defaults here, training's in [`TrainConfig::default`]. They were
//! chosen on the real-data benchmark by the procedure of `bench/realdata/choose_defaults.py`
//! (its report: `docs/results/defaults.md`); the poster experiments keep settings of their own.
//!
//! [`TrainConfig::default`]: crate::TrainConfig

use mdn_engine::{Activation, CovarianceKind};

/// Mixture components.
pub const COMPONENTS: usize = 5;
/// Hidden layer widths of the MLP.
pub const HIDDEN: [usize; 2] = [32, 32];
/// Hidden-unit activation.
pub const ACTIVATION: Activation = Activation::Tanh;
/// Covariance of each component.
pub const COVARIANCE: CovarianceKind = CovarianceKind::Isotropic;
/// Floor on every standard deviation, in units of the target's standard deviation.
pub const MIN_SIGMA: f32 = 1e-3;

/// [`HIDDEN`] as the command line writes it (`32,32`).
pub fn hidden_text() -> String {
    HIDDEN.map(|w| w.to_string()).join(",")
}
