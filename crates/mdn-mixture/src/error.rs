//! The one error type of the crate: every invalid parameter is named, with what to change.

use thiserror::Error;

/// Why a mixture could not be built or queried.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MixtureError {
    /// The target dimension is zero.
    #[error("target dimension is 0: a mixture needs at least one dimension")]
    ZeroDimension,
    /// There are no components.
    #[error("no components: a mixture needs at least one component")]
    NoComponents,
    /// A parameter vector has the wrong length for the number of components and dimension.
    #[error("{what} has {got} values, expected {expected}")]
    ShapeMismatch {
        /// Which parameter.
        what: &'static str,
        /// The length it should have.
        expected: usize,
        /// The length it has.
        got: usize,
    },
    /// A mixing weight is negative or not finite.
    #[error("weight of component {component} is {value}: weights must be finite and >= 0")]
    InvalidWeight {
        /// The component.
        component: usize,
        /// Its weight.
        value: f64,
    },
    /// The weights do not sum to 1.
    #[error(
        "weights sum to {sum}, not 1 (within {tolerance}); use from_log_weights for unnormalised weights"
    )]
    WeightsNotNormalised {
        /// Their sum.
        sum: f64,
        /// The tolerance allowed.
        tolerance: f64,
    },
    /// A log-weight is NaN or +∞, or every log-weight is −∞.
    #[error(
        "log-weight of component {component} is {value}: log-weights must be < +inf, not NaN, and not all -inf"
    )]
    InvalidLogWeight {
        /// The component.
        component: usize,
        /// Its log-weight.
        value: f64,
    },
    /// A mean is not finite.
    #[error(
        "mean of component {component}, dimension {dimension} is {value}: means must be finite"
    )]
    NonFiniteMean {
        /// The component.
        component: usize,
        /// The target dimension.
        dimension: usize,
        /// The value.
        value: f64,
    },
    /// A standard deviation is zero, negative or not finite.
    #[error(
        "sigma of component {component}, dimension {dimension} is {value}: standard deviations must be finite and > 0"
    )]
    InvalidSigma {
        /// The component.
        component: usize,
        /// The target dimension.
        dimension: usize,
        /// The value.
        value: f64,
    },
    /// A covariance matrix is not symmetric positive definite, or a Cholesky factor is not
    /// lower triangular with a positive diagonal.
    #[error("covariance of component {component} is not positive definite: {reason}")]
    NotPositiveDefinite {
        /// The component.
        component: usize,
        /// What was found.
        reason: String,
    },
    /// A target dimension index is out of range.
    #[error("dimension {index} is out of range for a {dim}-dimensional mixture")]
    DimensionOutOfRange {
        /// The index asked for.
        index: usize,
        /// The mixture's dimension.
        dim: usize,
    },
    /// A probability level is outside (0, 1).
    #[error("probability {value} is outside (0, 1)")]
    InvalidProbability {
        /// The level asked for.
        value: f64,
    },
    /// A sampling temperature is not a positive finite number.
    #[error("temperature {value} must be a finite number > 0 (1 leaves the mixture as it is)")]
    InvalidTemperature {
        /// The temperature asked for.
        value: f64,
    },
}
