//! Errors of this crate.

/// What went wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CpuError {
    /// The architecture cannot be built.
    #[error("unsupported architecture: {0}")]
    Architecture(String),
    /// A buffer has the wrong length.
    #[error("{what} has {got} values; expected {expected}")]
    Length {
        /// Which buffer.
        what: &'static str,
        /// The length it should have.
        expected: usize,
        /// The length it has.
        got: usize,
    },
}

/// Result with [`CpuError`].
pub type Result<T> = std::result::Result<T, CpuError>;
