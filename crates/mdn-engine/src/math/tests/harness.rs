//! Measuring a function's error over grids and random bit patterns against an f64 reference.

use crate::test_rng::SplitMix64;

/// Points per dense grid.
pub(super) const GRID_POINTS: usize = 200_000;

/// `n` points evenly spread over [lo, hi], both ends included.
pub(super) fn grid(lo: f64, hi: f64, n: usize) -> impl Iterator<Item = f32> {
    (0..n).map(move |i| (lo + (hi - lo) * i as f64 / (n - 1) as f64) as f32)
}

/// `n` points log-spaced over ±[lo, hi] (lo > 0), positive and negative.
pub(super) fn log_grid(lo: f64, hi: f64, n: usize) -> impl Iterator<Item = f32> {
    grid(lo.ln(), hi.ln(), n).flat_map(|t| {
        let v = (t as f64).exp() as f32;
        [v, -v]
    })
}

/// `n` f32 with uniformly random bit patterns: every sign, exponent, NaN and infinity.
pub(super) fn random_bit_patterns(n: usize) -> Vec<f32> {
    let mut rng = SplitMix64(0x5eed);
    (0..n).map(|_| f32::from_bits(rng.next_u32())).collect()
}

/// Largest error of `f` against `reference` over `xs`, with the x where it occurs.
/// `error(got, want)` measures one error; NaN errors count as infinite.
pub(super) fn max_error(
    xs: impl Iterator<Item = f32>,
    f: impl Fn(f32) -> f32,
    reference: impl Fn(f64) -> f64,
    error: impl Fn(f64, f64) -> f64,
) -> (f64, f32) {
    let mut worst = (0.0, f32::NAN);
    for x in xs {
        let e = error(f(x) as f64, reference(x as f64));
        let e = if e.is_nan() { f64::INFINITY } else { e };
        if e > worst.0 {
            worst = (e, x);
        }
    }
    worst
}

pub(super) fn relative(got: f64, want: f64) -> f64 {
    if got == want {
        0.0
    } else {
        ((got - want) / want).abs()
    }
}

pub(super) fn absolute(got: f64, want: f64) -> f64 {
    if got == want { 0.0 } else { (got - want).abs() }
}

/// Relative where |want| ≥ 1, absolute below.
pub(super) fn mixed(got: f64, want: f64) -> f64 {
    absolute(got, want) / want.abs().max(1.0)
}

/// Measures, prints and checks the largest error of `f` over `xs`.
pub(super) fn check(
    name: &str,
    xs: impl Iterator<Item = f32>,
    f: impl Fn(f32) -> f32,
    reference: impl Fn(f64) -> f64,
    error: impl Fn(f64, f64) -> f64,
    bound: f64,
) {
    let (e, x) = max_error(xs, f, reference, error);
    eprintln!("{name}: max error {e:.3e} at x = {x:e} (bound {bound:.1e})");
    assert!(
        e <= bound,
        "{name}: error {e:e} at x = {x:e} exceeds {bound:e}"
    );
}

/// Asserts that two f32 are the same value: identical bits, or both NaN.
pub(super) fn assert_same(name: &str, x: f32, got: f32, want: f32) {
    assert!(
        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
        "{name}({x:e}) = {got:e}, expected {want:e}"
    );
}
