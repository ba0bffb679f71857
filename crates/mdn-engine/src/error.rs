//! Errors of this crate.

/// A buffer of the wrong length was handed over, e.g. a parameter vector that does not fit
/// the architecture.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{what} has {got} values; expected {expected}")]
pub struct LengthError {
    /// Which buffer.
    pub what: &'static str,
    /// The length it should have.
    pub expected: usize,
    /// The length it has.
    pub got: usize,
}
