//! The block loops of the batched densities, as `pulp` operations.
//!
//! They implement [`pulp::WithSimd`] rather than being closures handed to
//! `pulp::Arch::dispatch` because `with_simd` is `#[inline(always)]`: its body, and the
//! `#[inline(always)]` term and `exp` code it calls, is compiled inside pulp's AVX2/FMA
//! function. A closure's body is a function of its own that the compiler declined to inline
//! there (the disassembly showed it called, and compiled for baseline SSE2).

use pulp::{Simd, WithSimd};

use super::terms::BlockScratch;
use crate::mixture::GaussianMixture;
use crate::vexp;

/// Points per block: the block's per-point accumulators live on the stack and stay in L1.
const BLOCK: usize = 256;

/// Where Σ_k e^{term_k} is exact enough: if the largest term is at least this, the sum is at
/// least e^−708 ≈ 3.3e-308, a normal number, and terms that underflow into subnormals carry
/// errors below 2⁻¹⁰⁷⁵, far under its last place.
const DIRECT_SUM_FLOOR: f64 = -708.0;

/// log p below this rounds p to 0: e^−745.2 is less than half the smallest subnormal.
const UNDERFLOW: f64 = -745.2;

/// log p(t) for every target: `out[i]` for the row-major target `points[i·c..(i + 1)·c]`.
pub(super) struct LogProbBlocks<'a> {
    pub(super) mixture: &'a GaussianMixture,
    pub(super) points: &'a [f64],
    pub(super) out: &'a mut [f64],
}

impl WithSimd for LogProbBlocks<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let Self {
            mixture,
            points,
            out,
        } = self;
        let mut scratch = BlockScratch::new(mixture, out.len().min(BLOCK));
        let (mut term, mut max, mut exponent) = ([0.0; BLOCK], [0.0; BLOCK], [0.0; BLOCK]);
        for (points, out) in points
            .chunks(BLOCK * mixture.dim())
            .zip(out.chunks_mut(BLOCK))
        {
            let mut block = scratch.load(points);
            let len = out.len();
            let (term, max, exponent) = (&mut term[..len], &mut max[..len], &mut exponent[..len]);
            // First pass: the largest term of each point.
            max.fill(f64::NEG_INFINITY);
            for k in 0..mixture.n_components() {
                block.joint_log_densities(k, term);
                for (m, &t) in max.iter_mut().zip(term.iter()) {
                    // f64::max, as in `logsumexp`: skips NaN, and is a plain vector maximum
                    // (a comparison and assignment became a slow masked store).
                    *m = m.max(t);
                }
            }
            // Second pass: recomputing the terms is cheaper than storing m of them.
            out.fill(0.0);
            for k in 0..mixture.n_components() {
                block.joint_log_densities(k, term);
                for ((t, n), &m) in term.iter_mut().zip(exponent.iter_mut()).zip(max.iter()) {
                    (*t, *n) = vexp::reduce(*t - m);
                }
                for ((sum, &r), &n) in out.iter_mut().zip(term.iter()).zip(exponent.iter()) {
                    *sum += vexp::reconstruct(r, n);
                }
            }
            for (value, &m) in out.iter_mut().zip(max.iter()) {
                // No finite term (a non-finite target): log p is the maximum, as in
                // `logsumexp`.
                *value = if m.is_infinite() { m } else { m + value.ln() };
            }
        }
    }
}

/// p(t) for every target: `out[i]` for the row-major target `points[i·c..(i + 1)·c]`.
pub(super) struct ProbBlocks<'a> {
    pub(super) mixture: &'a GaussianMixture,
    pub(super) points: &'a [f64],
    pub(super) out: &'a mut [f64],
}

impl WithSimd for ProbBlocks<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let Self {
            mixture,
            points,
            out,
        } = self;
        let c = mixture.dim();
        // p ≤ m · e^{max term}: below this largest term, p is 0.
        let zero_below = UNDERFLOW - (mixture.n_components() as f64).ln();
        let mut scratch = BlockScratch::new(mixture, out.len().min(BLOCK));
        let (mut term, mut max, mut exponent) = ([0.0; BLOCK], [0.0; BLOCK], [0.0; BLOCK]);
        for (points, out) in points.chunks(BLOCK * c).zip(out.chunks_mut(BLOCK)) {
            let mut block = scratch.load(points);
            let len = out.len();
            let (term, max, exponent) = (&mut term[..len], &mut max[..len], &mut exponent[..len]);
            max.fill(f64::NEG_INFINITY);
            out.fill(0.0);
            for k in 0..mixture.n_components() {
                block.joint_log_densities(k, term);
                for ((t, n), m) in term.iter_mut().zip(exponent.iter_mut()).zip(max.iter_mut()) {
                    *m = m.max(*t);
                    (*t, *n) = vexp::reduce(*t);
                }
                for ((sum, &r), &n) in out.iter_mut().zip(term.iter()).zip(exponent.iter()) {
                    *sum += vexp::reconstruct(r, n);
                }
            }
            // Rare: points so far out that the direct sum would lose bits to subnormals. (A
            // branch-free fold finds them: it vectorises, where a search would not.)
            if !max
                .iter()
                .fold(false, |any, &m| any | (m < DIRECT_SUM_FLOOR))
            {
                continue;
            }
            for (i, (value, &m)) in out.iter_mut().zip(max.iter()).enumerate() {
                if m < DIRECT_SUM_FLOOR {
                    *value = if m < zero_below {
                        0.0
                    } else {
                        mixture.prob(&points[i * c..(i + 1) * c])
                    };
                }
            }
        }
    }
}
