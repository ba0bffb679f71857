//! Run-time SIMD dispatch.
//!
//! The crate is compiled for the baseline x86-64 target (SSE2), so a plain loop never uses
//! AVX2 or FMA. [`vectorized!`](crate::vectorized) runs its body inside a function compiled
//! for the best instruction set the CPU reports (through `pulp`), so that loops in the body,
//! and the `#[inline(always)]` maths of [`crate::math`] they call, are auto-vectorised with
//! it. Anything the body calls that is *not* inlined runs at the baseline level — including
//! the body itself if it were a closure of its own: LLVM does not always inline a large
//! closure into pulp's dispatched function, so the macro marks it `#[inline(always)]`.

/// Runs `f` compiled for the widest SIMD instruction set this CPU supports. Call it through
/// [`vectorized!`](crate::vectorized), which marks the closure `#[inline(always)]`.
#[doc(hidden)]
#[inline(always)]
pub fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// `vectorized!(body)` evaluates the expression `body` (a block, loop, match or call) compiled
/// for the widest SIMD instruction set this CPU supports; see [`crate::simd`].
///
/// # Examples
/// ```
/// let mut xs = vec![0.5f32; 1024];
/// mdn_engine::vectorized!(for x in xs.iter_mut() { *x = mdn_engine::math::exp(*x) });
/// assert!((xs[0] - 0.5f32.exp()).abs() < 1e-6);
/// ```
#[macro_export]
macro_rules! vectorized {
    ($body:expr $(,)?) => {
        $crate::simd::dispatch(
            #[inline(always)]
            || $body,
        )
    };
}
