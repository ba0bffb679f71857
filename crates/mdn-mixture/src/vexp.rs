//! A branch-free f64 exponential that loops can auto-vectorise.
//!
//! `f64::exp` is a libm call, which no compiler vectorises: in a density grid it costs more
//! than everything else together. [`exp`] is made only of additions, multiplications,
//! comparisons that become selects and integer bit operations, so a loop that calls it is
//! compiled to SIMD code (AVX2 inside `pulp` dispatch). It is not a drop-in for `f64::exp`
//! everywhere: it is a few ulp from correctly rounded rather than below one.
//!
//! # Method
//! 1. Cody–Waite reduction: x = n ln 2 + r with n = round(x / ln 2) and |r| ≤ ½ ln 2. ln 2 is
//!    split into a head with trailing zero bits (so n · head is exact for every n that occurs)
//!    and a tail, so r carries no cancellation error.
//! 2. e^r = 1 + r + r² q(r), with q a degree-9 Chebyshev fit to (e^r − 1 − r) / r² on
//!    |r| ≤ ½ ln 2 (approximation error ≈ 2e-17 relative), evaluated by Estrin's scheme.
//! 3. 2^n is built from bits: adding 1.5 · 2⁵² rounds to an integer held in the low mantissa
//!    bits, and shifting those into the exponent field gives 2^n without a float→int cast. The
//!    scaling is split into 2^n₁ · 2^n₂ (n₁ ≈ n/2) so that both factors stay normal: results in
//!    the subnormal range are rounded once, and 2^1024 · (something < 1) stays finite.

/// 1.5 · 2⁵²: x + ROUND_MAGIC − ROUND_MAGIC is x rounded to the nearest integer for
/// |x| < 2⁵¹, and the integer then sits in the low bits of x + ROUND_MAGIC.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;
/// The exponent bias of f64, already in the exponent field.
const EXPONENT_BIAS_BITS: u64 = 1023 << 52;
/// 1 / ln 2.
const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// ln 2 rounded to 32 significant bits (fdlibm's ln2HI; the low 21 mantissa bits are zero), so
/// n · LN2_HI is exact for |n| < 2²¹.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
/// ln 2 − LN2_HI rounded to a double (fdlibm's ln2LO): LN2_HI + LN2_LO is ln 2 within 1.2e-26.
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// Below this e^x rounds to 0 (e^−746 < 2⁻¹⁰⁷⁵); clamping here keeps n small enough for the
/// bit construction of 2^n.
const CLAMP_LOW: f64 = -746.0;
/// Above this e^x overflows (ln(f64::MAX) ≈ 709.78); the clamped value still gives +∞.
const CLAMP_HIGH: f64 = 710.0;
/// Coefficients of q(r) ≈ (e^r − 1 − r) / r², lowest degree first (Chebyshev fit, mpmath).
const Q: [f64; 10] = [
    0.500_000_000_000_000_1,
    0.166_666_666_666_666_69,
    0.041_666_666_666_624_13,
    0.008_333_333_333_330_062,
    0.001_388_888_891_721_371_7,
    0.000_198_412_698_630_536_18,
    2.480_152_129_595_437_6e-5,
    2.755_726_845_999_706_4e-6,
    2.762_008_844_540_974_6e-7,
    2.510_038_549_551_032e-8,
];

/// e^x within a few ulp on [−708, 709]; 0 where e^x underflows, +∞ where it overflows, NaN
/// for NaN; subnormal results are rounded once from the exact scaling.
#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "the kernels call the two stages; the tests check them here"
    )
)]
#[inline(always)]
pub(crate) fn exp(x: f64) -> f64 {
    let (r, n) = reduce(x);
    reconstruct(r, n)
}

/// The first stage of [`exp`]: (r, n) with x = n ln 2 + r, |r| ≤ ½ ln 2 (x clamped first).
///
/// [`exp`] comes in two stages so that a loop over a block can run them as two passes: each
/// pass has half the dependency chain per element, so twice as many elements are in flight
/// (about 18% faster on Zen 3, where the chain, not the arithmetic, bounds the loop).
#[inline(always)]
pub(crate) fn reduce(x: f64) -> (f64, f64) {
    // Comparisons (not f64::max/min) so that NaN passes through untouched.
    let x = if x < CLAMP_LOW { CLAMP_LOW } else { x };
    let x = if x > CLAMP_HIGH { CLAMP_HIGH } else { x };

    let n = (x * LOG2_E + ROUND_MAGIC) - ROUND_MAGIC;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    (r, n)
}

/// The second stage of [`exp`]: e^r · 2^n for the (r, n) of [`reduce`].
#[inline(always)]
pub(crate) fn reconstruct(r: f64, n: f64) -> f64 {
    // Estrin's scheme rather than Horner's: the same work in a dependency chain of 4
    // multiply-adds instead of 9, so that more loop iterations overlap in flight.
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let q01 = Q[0] + Q[1] * r;
    let q23 = Q[2] + Q[3] * r;
    let q45 = Q[4] + Q[5] * r;
    let q67 = Q[6] + Q[7] * r;
    let q89 = Q[8] + Q[9] * r;
    let q03 = q01 + q23 * r2;
    let q47 = q45 + q67 * r2;
    let q = (q03 + q47 * r4) + q89 * r8;
    let e_r = 1.0 + (r + r2 * q);

    // n = n₁ + n₂ with both halves in [−539, 513]: each 2^nᵢ is a normal number.
    let n1_rounded = n * 0.5 + ROUND_MAGIC;
    let n1 = n1_rounded - ROUND_MAGIC;
    let n2_rounded = (n - n1) + ROUND_MAGIC;
    e_r * power_of_two(n1_rounded) * power_of_two(n2_rounded)
}

/// 2^k for an integer k in [−1022, 1023] given as k + ROUND_MAGIC: the low 12 bits of its
/// mantissa are k in two's complement, and shifting them into the exponent field (the
/// mantissa's leading 2⁵¹ and the exponent fall off the top) and adding the bias gives 2^k.
#[inline(always)]
fn power_of_two(k_rounded: f64) -> f64 {
    f64::from_bits((k_rounded.to_bits() << 52).wrapping_add(EXPONENT_BIAS_BITS))
}

#[cfg(test)]
mod tests {
    use super::exp;

    /// |got − expected| in units of the last place of `expected` (the spacing of doubles
    /// there, down to the smallest subnormal).
    fn ulp_error(got: f64, expected: f64) -> f64 {
        let spacing = (f64::from_bits(expected.to_bits() + 1) - expected).max(f64::from_bits(1));
        (got - expected).abs() / spacing
    }

    /// Largest error in ulp (against `f64::exp`, itself within 1 ulp) over `n` evenly spaced
    /// points of [lo, hi], and where it occurs.
    fn max_ulp_error(lo: f64, hi: f64, n: u32) -> (f64, f64) {
        let mut worst = (0.0, lo);
        for i in 0..=n {
            let x = lo + (hi - lo) * f64::from(i) / f64::from(n);
            let error = ulp_error(exp(x), x.exp());
            if error > worst.0 {
                worst = (error, x);
            }
        }
        worst
    }

    #[test]
    fn within_a_few_ulp_on_the_whole_normal_range() {
        let (error, at) = max_ulp_error(-708.0, 709.0, 4_000_000);
        eprintln!("vexp: max error {error:.3} ulp on [-708, 709] (at x = {at})");
        // 2e-16 · 4 relative is 4 ulp near the bottom of a binade, 8 near the top: allow 4.
        assert!(error <= 4.0, "{error} ulp at {at}");
    }

    #[test]
    fn within_a_few_ulp_near_zero_where_the_polynomial_alone_works() {
        let (error, at) = max_ulp_error(-1.0, 1.0, 2_000_000);
        eprintln!("vexp: max error {error:.3} ulp on [-1, 1] (at x = {at})");
        assert!(error <= 4.0, "{error} ulp at {at}");
        // Around the reduction boundaries ±½ ln 2, where n changes.
        let half_ln2 = 0.5 * std::f64::consts::LN_2;
        let (error, at) = max_ulp_error(half_ln2 - 1e-9, half_ln2 + 1e-9, 100_000);
        assert!(error <= 4.0, "{error} ulp at {at}");
        let (error, at) = max_ulp_error(-half_ln2 - 1e-9, -half_ln2 + 1e-9, 100_000);
        assert!(error <= 4.0, "{error} ulp at {at}");
    }

    #[test]
    fn relative_error_below_eight_times_epsilon_at_random_points() {
        // A fixed-seed linear congruential sequence: dense, irregular points on [−708, 709].
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut worst: f64 = 0.0;
        for _ in 0..1_000_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let unit = f64::from((state >> 32) as u32) / f64::from(u32::MAX);
            let x = -708.0 + 1417.0 * unit;
            let expected = x.exp();
            worst = worst.max(((exp(x) - expected) / expected).abs());
        }
        eprintln!("vexp: max relative error {worst:.3e} at 1e6 random points");
        assert!(worst <= 4.0 * 2e-16, "{worst:e}");
    }

    #[test]
    fn special_values() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert!(ulp_error(exp(1.0), std::f64::consts::E) <= 1.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert!(exp(f64::NAN).is_nan());
        assert!(exp(-f64::NAN).is_nan());
        assert_eq!(exp(f64::MAX), f64::INFINITY);
        assert_eq!(exp(f64::MIN), 0.0);
        // Tiny arguments: e^x = 1 + x to within rounding.
        for x in [1e-300, -1e-300, 1e-17, -1e-17, f64::MIN_POSITIVE] {
            assert_eq!(exp(x), 1.0, "x = {x}");
        }
        assert_eq!(exp(1e-10), 1e-10f64.exp());
    }

    #[test]
    fn overflow_threshold() {
        // ln(f64::MAX) = 709.782712893384: just below is finite and accurate, just above is ∞.
        let below = 709.782_712_893_383_9;
        assert!(exp(below).is_finite());
        assert!(ulp_error(exp(below), below.exp()) <= 4.0);
        assert_eq!(exp(709.782_712_893_385), f64::INFINITY);
        assert_eq!(exp(709.8), f64::INFINITY);
        assert_eq!(exp(710.0), f64::INFINITY);
        assert_eq!(exp(1e10), f64::INFINITY);
    }

    #[test]
    fn underflow_goes_through_subnormals_to_zero() {
        // Subnormal results carry fewer bits; compare in absolute units of the smallest one.
        let (error, at) = max_ulp_error(-745.0, -708.0, 400_000);
        eprintln!("vexp: max error {error:.3} ulp (subnormal spacing) on [-745, -708]");
        assert!(error <= 4.0, "{error} ulp at {at}");
        assert!(exp(-740.0) > 0.0);
        // e^−745.13 is half the smallest subnormal: below it everything rounds to 0.
        assert_eq!(exp(-745.2), 0.0);
        assert_eq!(exp(-746.0), 0.0);
        assert_eq!(exp(-800.0), 0.0);
        assert_eq!(exp(-1e10), 0.0);
        assert_eq!(exp(-745.0), (-745.0f64).exp()); // the smallest subnormal, 2⁻¹⁰⁷⁴
    }
}
