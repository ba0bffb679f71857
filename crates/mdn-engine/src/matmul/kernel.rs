//! The micro-kernels: one tile of `rows × (vectors · lanes)` results accumulated over a
//! segmented reduction, for AVX-512, for AVX2 + FMA and for any other target (plain arrays
//! and `f32::mul_add`).
//!
//! This file holds the crate's only `unsafe` code: raw-pointer loads and stores and calls of
//! `#[target_feature]` functions. Its single entry, [`run`], is called by
//! [`super::tile`] only after it has checked that every address the tile reads or writes lies
//! inside its slice, and with the level [`crate::simd::level`] reports (so the CPU has the
//! instructions).
#![allow(unsafe_code)]

use super::Segment;
use crate::simd::Level;

/// A tile's operands, as raw pointers (see [`super::Operands`] for the meaning of each).
#[derive(Clone, Copy)]
pub(super) struct Args {
    pub a: *const f32,
    pub a_row: usize,
    pub a_step: usize,
    pub b: *const f32,
    pub b_step: usize,
    pub segments: *const Segment,
    pub segment_count: usize,
    /// Lanes of the last vector of a `b` row that are read (1..=lanes).
    pub last: usize,
    /// What the accumulators start from.
    pub start: Start,
    /// `rows × (vectors · lanes)` accumulators, row `i` at `out + i·out_stride`: read first
    /// when `start` is [`Start::Out`], overwritten with the result.
    pub out: *mut f32,
    /// Floats from the start of one `out` row to the next, at least `vectors · lanes`.
    pub out_stride: usize,
}

impl Args {
    /// The same operands for the tile rows from `row` on.
    #[inline(always)]
    fn at_row(&self, row: usize) -> Args {
        Args {
            a: self.a.wrapping_add(row * self.a_row),
            out: self.out.wrapping_add(row * self.out_stride),
            ..*self
        }
    }
}

/// Runs `tile(rows, args)` over `rows` result rows cut into tiles of at most `most` rows, as
/// [`super::split`] cuts them.
#[inline(always)]
fn in_tiles(rows: usize, most: usize, args: &Args, tile: impl Fn(usize, &Args)) {
    for (r0, n) in super::split(rows, most) {
        tile(n, &args.at_row(r0));
    }
}

/// The starting values of a tile's accumulators.
#[derive(Clone, Copy)]
pub(super) enum Start {
    /// What `out` holds.
    Out,
    /// The same row of `vectors · lanes` floats for every tile row (of which only the first
    /// `last` lanes of the last vector are read), e.g. a bias.
    Row(*const f32),
    /// Zero.
    Zero,
}

/// One SIMD instruction set: a vector of `L` f32 lanes and the five operations the kernel
/// needs. Every method is `#[inline(always)]` so that it is compiled inside the
/// `#[target_feature]` function that calls it.
trait Isa {
    type V: Copy;
    const L: usize;
    fn zero() -> Self::V;
    /// `L` floats from `p`.
    unsafe fn load(p: *const f32) -> Self::V;
    /// The first `n` floats from `p` (the rest zero), reading nothing beyond them.
    unsafe fn load_first(p: *const f32, n: usize) -> Self::V;
    /// `*p` in every lane.
    unsafe fn splat(p: *const f32) -> Self::V;
    /// `a · b + c`, rounded once.
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    unsafe fn store(p: *mut f32, v: Self::V);
}

/// The tile: `acc[i][v] = start[i][v] + Σ_segments Σ_c a[s.a + c·a_step + i·a_row] ·
/// b[s.b + c·b_step + v·L ..][..L]`, the products added one at a time, in order, each with a
/// single rounding. `MASK`: the last vector of each `b` row is partial (`args.last < L`).
#[inline(always)]
unsafe fn tile<I: Isa, const MR: usize, const NV: usize, const MASK: bool>(args: &Args) {
    unsafe {
        let stride = args.out_stride;
        let mut acc = [[I::zero(); NV]; MR];
        match args.start {
            Start::Out => {
                for (i, row) in acc.iter_mut().enumerate() {
                    for (v, value) in row.iter_mut().enumerate() {
                        *value = I::load(args.out.wrapping_add(i * stride + v * I::L));
                    }
                }
            }
            Start::Row(start) => {
                let mut first = [I::zero(); NV];
                for (v, value) in first.iter_mut().enumerate() {
                    *value = if MASK && v == NV - 1 {
                        I::load_first(start.wrapping_add(v * I::L), args.last)
                    } else {
                        I::load(start.wrapping_add(v * I::L))
                    };
                }
                acc = [first; MR];
            }
            Start::Zero => {}
        }
        let segments = std::slice::from_raw_parts(args.segments, args.segment_count);
        for segment in segments {
            let mut a = args.a.wrapping_add(segment.a);
            let mut b = args.b.wrapping_add(segment.b);
            for _ in 0..segment.len {
                let mut bv = [I::zero(); NV];
                for (v, value) in bv.iter_mut().enumerate() {
                    *value = if MASK && v == NV - 1 {
                        I::load_first(b.wrapping_add(v * I::L), args.last)
                    } else {
                        I::load(b.wrapping_add(v * I::L))
                    };
                }
                for (i, row) in acc.iter_mut().enumerate() {
                    let x = I::splat(a.wrapping_add(i * args.a_row));
                    for (value, &bv) in row.iter_mut().zip(&bv) {
                        *value = I::fma(x, bv, *value);
                    }
                }
                a = a.wrapping_add(args.a_step);
                b = b.wrapping_add(args.b_step);
            }
        }
        for (i, row) in acc.iter().enumerate() {
            for (v, &value) in row.iter().enumerate() {
                I::store(args.out.wrapping_add(i * stride + v * I::L), value);
            }
        }
    }
}

/// Picks the tile function for `rows` (1..=`$max`) and the mask flag.
macro_rules! by_rows {
    ($isa:ty, $nv:literal, $rows:expr, $mask:expr, $args:expr, [$($mr:literal)*]) => {
        match ($rows, $mask) {
            $(
                ($mr, false) => tile::<$isa, $mr, $nv, false>($args),
                ($mr, true) => tile::<$isa, $mr, $nv, true>($args),
            )*
            _ => unreachable!("rows checked by the caller"),
        }
    };
}

/// The most rows a tile of `vectors` vectors may have at `level`, and the lanes of a vector.
pub(super) fn shape(level: Level, vectors: usize) -> (usize, usize) {
    debug_assert!((1..=2).contains(&vectors));
    match level {
        // 32 vector registers: 14 × 2 accumulators and 2 of b (the broadcasts are memory
        // operands).
        Level::Avx512 => (14, 16),
        // 16: 12 × 1 or 6 × 2 accumulators, the b vectors and one broadcast.
        Level::Avx2 => (if vectors == 1 { 12 } else { 6 }, 8),
        Level::Baseline => (if vectors == 1 { 8 } else { 4 }, 8),
    }
}

/// Computes `rows` result rows (any number) at `level`, in tiles of at most
/// `shape(level, vectors).0` rows cut as [`super::split`] cuts them; the loop runs inside the
/// instruction set's function, so a panel of many rows costs one call.
///
/// # Safety
/// `vectors` is 1 or 2; the CPU supports `level`; every `a` and `b` element the tile formula
/// above reads for rows `0..rows`, the `vectors · lanes` floats of each of the `rows` rows at
/// `out` (`out_stride ≥ vectors · lanes` apart), and a [`Start::Row`]'s row, lie inside live
/// allocations (`b`'s last vector and the start row's only up to `last` lanes), and `out`
/// aliases none of them.
pub(super) unsafe fn run(level: Level, rows: usize, vectors: usize, args: &Args) {
    let (most, lanes) = shape(level, vectors);
    let mask = args.last < lanes;
    unsafe {
        match level {
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => x86::avx512(rows, most, vectors, mask, args),
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => x86::avx2(rows, most, vectors, mask, args),
            _ => portable(rows, most, vectors, mask, args),
        }
    }
}

/// `iterations` rounds of 12 independent fused multiply-adds on vectors of `level`'s width:
/// the instruction set's f32 FMA peak, for the roofline of `bench/compare.sh`. Returns the
/// floating-point operations done (2 per lane per FMA) and a value that depends on them all.
pub(super) fn fma_peak(level: Level, iterations: usize) -> (f64, f32) {
    #[inline(always)]
    unsafe fn chains<I: Isa>(iterations: usize) -> f32 {
        unsafe {
            let (a, b) = std::hint::black_box((0.999_999_9f32, 1e-7f32));
            let (a, b) = (I::splat(&a), I::splat(&b));
            let mut acc = [I::splat(&1.0); 12];
            for _ in 0..iterations {
                for v in acc.iter_mut() {
                    *v = I::fma(*v, a, b);
                }
            }
            let mut out = [0.0f32; 16];
            let mut total = 0.0;
            for v in acc {
                I::store(out.as_mut_ptr(), v);
                total += out[0];
            }
            total
        }
    }
    let lanes = shape(level, 1).1;
    let flops = (iterations * 12 * lanes * 2) as f64;
    // SAFETY: `level` is one this CPU supports (the caller's `simd::level`); `out` holds 16
    // floats, at least one vector of any level.
    let value = unsafe {
        match level {
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => x86::with_avx512(|| chains::<x86::Avx512>(iterations)),
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => x86::with_avx2(|| chains::<x86::Avx2>(iterations)),
            _ => chains::<Portable>(iterations),
        }
    };
    (flops, value)
}

/// Plain arrays of 8 lanes and `f32::mul_add` (a fused multiply-add instruction where the
/// target has one, as aarch64 always does; a correctly rounded library call otherwise).
#[derive(Clone, Copy)]
struct Portable;

impl Isa for Portable {
    type V = [f32; 8];
    const L: usize = 8;
    #[inline(always)]
    fn zero() -> [f32; 8] {
        [0.0; 8]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> [f32; 8] {
        unsafe { p.cast::<[f32; 8]>().read_unaligned() }
    }
    #[inline(always)]
    unsafe fn load_first(p: *const f32, n: usize) -> [f32; 8] {
        let mut v = [0.0; 8];
        for (j, x) in v.iter_mut().enumerate().take(n) {
            *x = unsafe { p.wrapping_add(j).read() };
        }
        v
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> [f32; 8] {
        [unsafe { p.read() }; 8]
    }
    #[inline(always)]
    unsafe fn fma(a: [f32; 8], b: [f32; 8], c: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|j| a[j].mul_add(b[j], c[j]))
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: [f32; 8]) {
        unsafe { p.cast::<[f32; 8]>().write_unaligned(v) }
    }
}

unsafe fn portable(rows: usize, most: usize, vectors: usize, mask: bool, args: &Args) {
    unsafe {
        in_tiles(rows, most, args, |rows, args| match vectors {
            1 => by_rows!(Portable, 1, rows, mask, args, [1 2 3 4 5 6 7 8]),
            _ => by_rows!(Portable, 2, rows, mask, args, [1 2 3 4]),
        })
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Args, Isa, in_tiles, tile};
    use std::arch::x86_64::*;

    #[derive(Clone, Copy)]
    pub(super) struct Avx512;

    impl Isa for Avx512 {
        type V = __m512;
        const L: usize = 16;
        #[inline(always)]
        fn zero() -> __m512 {
            unsafe { _mm512_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m512 {
            unsafe { _mm512_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn load_first(p: *const f32, n: usize) -> __m512 {
            // Masked-off lanes are not read (no fault past the end of the slice).
            unsafe { _mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, p) }
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> __m512 {
            unsafe { _mm512_set1_ps(p.read()) }
        }
        #[inline(always)]
        unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
            unsafe { _mm512_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            unsafe { _mm512_storeu_ps(p, v) }
        }
    }

    #[derive(Clone, Copy)]
    pub(super) struct Avx2;

    impl Isa for Avx2 {
        type V = __m256;
        const L: usize = 8;
        #[inline(always)]
        fn zero() -> __m256 {
            unsafe { _mm256_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m256 {
            unsafe { _mm256_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn load_first(p: *const f32, n: usize) -> __m256 {
            unsafe {
                let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
                let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), lane);
                _mm256_maskload_ps(p, mask)
            }
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> __m256 {
            unsafe { _mm256_broadcast_ss(&*p) }
        }
        #[inline(always)]
        unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
            unsafe { _mm256_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m256) {
            unsafe { _mm256_storeu_ps(p, v) }
        }
    }

    /// Runs `f` (inlined) with AVX-512 enabled.
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub(super) unsafe fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
        f()
    }

    /// Runs `f` (inlined) with AVX2 and FMA enabled.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
        f()
    }

    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub(super) unsafe fn avx512(rows: usize, most: usize, vectors: usize, mask: bool, args: &Args) {
        unsafe {
            in_tiles(rows, most, args, |rows, args| match vectors {
                1 => by_rows!(Avx512, 1, rows, mask, args, [1 2 3 4 5 6 7 8 9 10 11 12 13 14]),
                _ => by_rows!(Avx512, 2, rows, mask, args, [1 2 3 4 5 6 7 8 9 10 11 12 13 14]),
            })
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2(rows: usize, most: usize, vectors: usize, mask: bool, args: &Args) {
        unsafe {
            in_tiles(rows, most, args, |rows, args| match vectors {
                1 => by_rows!(Avx2, 1, rows, mask, args, [1 2 3 4 5 6 7 8 9 10 11 12]),
                _ => by_rows!(Avx2, 2, rows, mask, args, [1 2 3 4 5 6]),
            })
        }
    }
}
