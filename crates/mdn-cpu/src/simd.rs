//! Run-time SIMD dispatch.
//!
//! The crate is compiled for the baseline x86-64 target (SSE2), so a plain loop never uses
//! AVX2 or FMA. [`vectorized`] runs a closure inside a function compiled for the best
//! instruction set the CPU reports (through `pulp`), so that loops in the closure, and the
//! `#[inline(always)]` maths of [`crate::math`] they call, are auto-vectorised with it.
//! Anything the closure calls that is *not* inlined runs at the baseline level — including
//! the closure itself: LLVM does not always inline a large closure into pulp's dispatched
//! function, so every call site writes `vectorized(#[inline(always)] || { ... })`.

/// Runs `f` compiled for the widest SIMD instruction set this CPU supports.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}
