//! Run-time SIMD dispatch, and the instruction set it picks.
//!
//! The crate is compiled for the baseline x86-64 target (SSE2), so a plain loop never uses
//! AVX2, FMA or AVX-512. [`vectorized!`](crate::vectorized) runs its body inside a function
//! compiled for the instruction set [`level`] names (through `pulp`), so that loops in the
//! body, and the `#[inline(always)]` maths of [`crate::math`] they call, are auto-vectorised
//! with it. Anything the body calls that is *not* inlined runs at the baseline level —
//! including the body itself if it were a closure of its own: LLVM does not always inline a
//! large closure into pulp's dispatched function, so the macro marks it `#[inline(always)]`.
//! The matrix products of [`crate::matmul`] pick their kernels by the same [`level`].
//!
//! # Choosing the level
//! The level is the widest the CPU supports: [`Level::Avx512`] (AVX-512F/BW/CD/DQ/VL, with
//! AVX2 and FMA), else [`Level::Avx2`] (AVX2 and FMA), else [`Level::Baseline`]. The
//! environment variable `MDN_SIMD` (`avx512`, `avx2` or `baseline`, read once, at the first
//! use) lowers it, so that the AVX2 path can be measured on an AVX-512 machine; a level the
//! CPU lacks is never chosen.
//!
//! Every level computes the same bits: no kernel contracts `a * b + c` into a fused
//! multiply-add unless every level does (the matrix products and the polynomials of
//! [`crate::math`] always fuse, through `f32::mul_add` where there is no FMA instruction), and
//! every reduction fixes its order independently of the vector width.

use std::sync::OnceLock;

/// An instruction-set level the kernels are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The target's baseline (SSE2 on x86-64; on other architectures, what `pulp` detects).
    Baseline,
    /// x86-64 with AVX2 and FMA (x86-64-v3).
    Avx2,
    /// x86-64 with AVX-512F, BW, CD, DQ and VL (x86-64-v4).
    Avx512,
}

impl Level {
    /// The name `MDN_SIMD` takes.
    pub fn name(self) -> &'static str {
        match self {
            Level::Baseline => "baseline",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Level::Baseline, Level::Avx2, Level::Avx512]
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// The widest level this CPU supports.
pub fn detected() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if pulp::x86::V4::try_new().is_some() {
            return Level::Avx512;
        }
        if pulp::x86::V3::try_new().is_some() {
            return Level::Avx2;
        }
    }
    Level::Baseline
}

/// The level every kernel runs at: [`detected`], lowered by `MDN_SIMD` (see the module
/// documentation). Fixed at the first call.
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let best = detected();
        match std::env::var("MDN_SIMD") {
            Ok(name) => match Level::parse(&name) {
                Some(asked) => asked.min(best),
                None => {
                    eprintln!(
                        "warning: MDN_SIMD={name} is not one of avx512, avx2, baseline; using {}",
                        best.name()
                    );
                    best
                }
            },
            Err(_) => best,
        }
    })
}

/// Runs `f` compiled for [`level`]'s instruction set. Call it through
/// [`vectorized!`](crate::vectorized), which marks the closure `#[inline(always)]`.
#[doc(hidden)]
#[inline(always)]
pub fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        match level() {
            Level::Avx512 => {
                if let Some(simd) = pulp::x86::V4::try_new() {
                    return simd.vectorize(f);
                }
            }
            Level::Avx2 => {
                if let Some(simd) = pulp::x86::V3::try_new() {
                    return simd.vectorize(f);
                }
            }
            Level::Baseline => {}
        }
        f()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        pulp::Arch::new().dispatch(f)
    }
}

/// `vectorized!(body)` evaluates the expression `body` (a block, loop, match or call) compiled
/// for the instruction set of [`level`]; see [`crate::simd`].
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_by_name_and_never_exceed_the_cpu() {
        for l in [Level::Baseline, Level::Avx2, Level::Avx512] {
            assert_eq!(Level::parse(l.name()), Some(l));
        }
        assert_eq!(Level::parse(" AVX2 "), Some(Level::Avx2));
        assert_eq!(Level::parse("sse9"), None);
        assert!(level() <= detected());
    }
}
