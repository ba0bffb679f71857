//! Tests of the elementwise maths: errors against f64 references, special values and random
//! bit patterns.

mod harness;
mod reference;

use super::*;
use harness::*;
use reference::*;

#[test]
fn erf_reference_matches_known_values() {
    // From Python's `math.erf`.
    let known = [
        (0.1, 0.1124629160182849),
        (0.5, 0.5204998778130465),
        (1.0, 0.8427007929497149),
        (2.0, 0.9953222650189527),
        (3.0, 0.9999779095030014),
    ];
    for (x, want) in known {
        for (x, want) in [(x, want), (-x, -want)] {
            let got = erf_reference(x);
            assert!(
                (got - want).abs() < 1e-15,
                "erf_reference({x}) = {got}, want {want}"
            );
        }
    }
    assert_eq!(erf_reference(0.0), 0.0);
    assert_eq!(erf_reference(7.0), 1.0);
}

// --- exp -----------------------------------------------------------------------------------

#[test]
fn exp_relative_error_over_normal_range() {
    let xs = grid(EXP_MIN_ARG as f64, EXP_MAX_ARG as f64, GRID_POINTS)
        .chain(grid(-1.0, 1.0, GRID_POINTS))
        .chain(log_grid(1e-30, 1.0, GRID_POINTS / 2));
    check("exp", xs, exp, f64::exp, relative, 3e-7);
}

#[test]
fn exp_special_values_and_thresholds() {
    assert_eq!(exp(0.0), 1.0);
    assert_eq!(exp(-0.0), 1.0);
    assert_eq!(exp(f32::INFINITY), f32::INFINITY);
    assert_eq!(exp(f32::NEG_INFINITY), 0.0);
    assert!(exp(f32::NAN).is_nan());
    // Overflow: the last finite result is close to f32::MAX, the next input overflows.
    let top = exp(EXP_MAX_ARG);
    assert!(
        top.is_finite() && top > 3.4e38,
        "exp({EXP_MAX_ARG}) = {top:e}"
    );
    assert_eq!(exp(EXP_MAX_ARG.next_up()), f32::INFINITY);
    assert_eq!(exp(88.73), f32::INFINITY);
    assert_eq!(exp(1e30), f32::INFINITY);
    // Underflow: the last result is the smallest normal, the next input flushes to 0.
    let bottom = exp(EXP_MIN_ARG);
    assert!(
        (f32::MIN_POSITIVE..1.2e-38).contains(&bottom),
        "exp(min) = {bottom:e}"
    );
    assert!(exp(-87.33) >= f32::MIN_POSITIVE);
    assert_eq!(exp(EXP_MIN_ARG.next_down()), 0.0);
    assert_eq!(exp(-87.34), 0.0);
    assert_eq!(exp(-1e30), 0.0);
}

#[test]
fn exp_on_random_bit_patterns() {
    let mut accurate = Vec::new();
    for x in random_bit_patterns(1 << 20) {
        let y = exp(x);
        if x.is_nan() {
            assert!(y.is_nan());
        } else if x > EXP_MAX_ARG {
            assert_same("exp", x, y, f32::INFINITY);
        } else if x < EXP_MIN_ARG {
            assert_same("exp", x, y, 0.0);
        } else {
            accurate.push(x);
        }
    }
    check(
        "exp random",
        accurate.into_iter(),
        exp,
        f64::exp,
        relative,
        3e-7,
    );
}

// --- ln ------------------------------------------------------------------------------------

#[test]
fn ln_relative_error_over_normal_range() {
    let xs = grid(-126.0, 127.99, GRID_POINTS)
        .map(|t| (t as f64).exp2() as f32)
        .chain(grid(0.5, 2.0, GRID_POINTS))
        .chain(grid(0.999, 1.001, GRID_POINTS));
    check("ln", xs, ln, f64::ln, relative, 3e-7);
}

#[test]
fn ln_absolute_error_near_one() {
    check(
        "ln near 1",
        grid(0.9, 1.1, GRID_POINTS),
        ln,
        f64::ln,
        absolute,
        1.5e-7,
    );
}

#[test]
fn ln_special_values() {
    assert_same("ln", 1.0, ln(1.0), 0.0);
    assert_eq!(ln(0.0), f32::NEG_INFINITY);
    assert_eq!(ln(-0.0), f32::NEG_INFINITY);
    assert_eq!(ln(1e-45), f32::NEG_INFINITY, "subnormals count as 0");
    assert_eq!(ln(f32::INFINITY), f32::INFINITY);
    assert!(ln(-1.0).is_nan());
    assert!(ln(-f32::MIN_POSITIVE).is_nan());
    assert!(ln(f32::NEG_INFINITY).is_nan());
    assert!(ln(f32::NAN).is_nan());
    let e = relative(ln(f32::MAX) as f64, (f32::MAX as f64).ln());
    assert!(e <= 3e-7, "ln(MAX): {e:e}");
    let e = relative(
        ln(f32::MIN_POSITIVE) as f64,
        (f32::MIN_POSITIVE as f64).ln(),
    );
    assert!(e <= 3e-7, "ln(MIN_POSITIVE): {e:e}");
}

#[test]
fn ln_on_random_bit_patterns() {
    let mut accurate = Vec::new();
    for x in random_bit_patterns(1 << 20) {
        let y = ln(x);
        if x.is_nan() || x < 0.0 {
            assert!(y.is_nan(), "ln({x:e}) = {y:e}");
        } else if x < f32::MIN_POSITIVE {
            assert_same("ln", x, y, f32::NEG_INFINITY);
        } else {
            accurate.push(x);
        }
    }
    check(
        "ln random",
        accurate.into_iter(),
        ln,
        f64::ln,
        relative,
        3e-7,
    );
}

// --- log1p ---------------------------------------------------------------------------------

#[test]
fn log1p_relative_error_for_tiny_x() {
    let xs = grid(-1e-3, 1e-3, GRID_POINTS).chain(log_grid(1e-30, 1e-3, GRID_POINTS / 2));
    check("log1p tiny", xs, log1p, f64::ln_1p, relative, 3e-7);
}

#[test]
fn log1p_relative_error_over_domain() {
    let xs = grid(-0.999_999, 10.0, GRID_POINTS)
        .chain(grid(-127.0, 127.9, GRID_POINTS).map(|t| (t as f64).exp2() as f32))
        .chain(grid(-0.999_999_9, -0.99, GRID_POINTS));
    check("log1p", xs, log1p, f64::ln_1p, relative, 3e-7);
}

#[test]
fn log1p_special_values() {
    assert_same("log1p", 0.0, log1p(0.0), 0.0);
    assert_same("log1p", -0.0, log1p(-0.0), -0.0);
    assert_eq!(log1p(-1.0), f32::NEG_INFINITY);
    assert!(log1p(-1.000_001).is_nan());
    assert!(log1p(f32::NEG_INFINITY).is_nan());
    assert_eq!(log1p(f32::INFINITY), f32::INFINITY);
    assert!(log1p(f32::NAN).is_nan());
    assert_eq!(log1p(1e-30), 1e-30);
    let e = relative(log1p(f32::MAX) as f64, (f32::MAX as f64).ln_1p());
    assert!(e <= 3e-7, "log1p(MAX): {e:e}");
}

#[test]
fn log1p_on_random_bit_patterns() {
    let mut accurate = Vec::new();
    for x in random_bit_patterns(1 << 20) {
        let y = log1p(x);
        if x.is_nan() || x < -1.0 {
            assert!(y.is_nan(), "log1p({x:e}) = {y:e}");
        } else {
            accurate.push(x);
        }
    }
    check(
        "log1p random",
        accurate.into_iter(),
        log1p,
        f64::ln_1p,
        relative,
        3e-7,
    );
}

// --- tanh ----------------------------------------------------------------------------------

#[test]
fn tanh_absolute_error_everywhere() {
    let xs = grid(-12.0, 12.0, GRID_POINTS).chain(grid(-1.0, 1.0, GRID_POINTS));
    check("tanh", xs, tanh, f64::tanh, absolute, 3e-7);
}

#[test]
fn tanh_relative_error_near_zero() {
    let xs = grid(-0.625, 0.625, GRID_POINTS).chain(log_grid(1e-30, 0.625, GRID_POINTS / 2));
    check("tanh small", xs, tanh, f64::tanh, relative, 3e-7);
}

#[test]
fn tanh_is_odd_and_never_beyond_one() {
    // Every f32 from 7 to just past the saturation point, where the rational function comes
    // closest to 1 (and would pass it above TANH_SATURATION), and a grid below.
    let near_one =
        (7.0f32.to_bits()..=TANH_SATURATION.next_up().next_up().to_bits()).map(f32::from_bits);
    for x in near_one.chain(grid(0.0, 7.0, GRID_POINTS)) {
        let y = tanh(x);
        assert!((0.0..=1.0).contains(&y), "tanh({x:e}) = {y:e}");
        assert_same("tanh", -x, tanh(-x), -y);
    }
    assert!(tanh(TANH_SATURATION) < 1.0);
}

/// Every non-negative f32 up to 9.3 (past which tanh is exactly 1), against f64's tanh: where
/// the measured maxima in [`tanh`]'s documentation come from. About a minute on two cores in
/// release mode: `cargo test --release -p mdn-engine tanh_every_f32 -- --ignored`.
#[test]
#[ignore = "a billion inputs; run it when tanh changes"]
fn tanh_every_f32() {
    use rayon::prelude::*;
    let worst = (0..=9.3f32.to_bits())
        .into_par_iter()
        .map(|bits| {
            let x = f32::from_bits(bits);
            let (y, t) = (f64::from(tanh(x)), (f64::from(x)).tanh());
            let relative = if x < 0.625 && x > 0.0 {
                (y - t).abs() / t
            } else {
                0.0
            };
            assert!(y <= 1.0, "tanh({x:e}) = {y:e}");
            ((y - t).abs(), relative)
        })
        .reduce(|| (0.0, 0.0), |a, b| (a.0.max(b.0), a.1.max(b.1)));
    println!(
        "largest absolute error {:.3e}, relative below 0.625 {:.3e}",
        worst.0, worst.1
    );
    assert!(worst.0 <= 3e-7 && worst.1 <= 3e-7, "{worst:?}");
}

#[test]
fn tanh_special_values() {
    assert_same("tanh", 0.0, tanh(0.0), 0.0);
    assert_same("tanh", -0.0, tanh(-0.0), -0.0);
    // Tiny inputs are their own tanh, subnormals included.
    for x in [1e-30, 1e-10, 1e-5, f32::MIN_POSITIVE, 1e-40] {
        assert_same("tanh", x, tanh(x), x);
        assert_same("tanh", -x, tanh(-x), -x);
    }
    // From the saturation point on: ±1 exactly.
    for x in [
        TANH_SATURATION.next_up(),
        9.0,
        10.0,
        20.0,
        88.0,
        1e30,
        f32::MAX,
        f32::INFINITY,
    ] {
        assert_same("tanh", x, tanh(x), 1.0);
        assert_same("tanh", -x, tanh(-x), -1.0);
    }
    assert!(tanh(f32::NAN).is_nan());
}

#[test]
fn tanh_on_random_bit_patterns() {
    let mut accurate = Vec::new();
    for x in random_bit_patterns(1 << 20) {
        if x.is_nan() {
            assert!(tanh(x).is_nan());
        } else {
            accurate.push(x);
        }
    }
    check(
        "tanh random",
        accurate.into_iter(),
        tanh,
        f64::tanh,
        absolute,
        3e-7,
    );
}

// --- sigmoid -------------------------------------------------------------------------------

#[test]
fn sigmoid_relative_error() {
    let xs = grid(-87.0, 30.0, GRID_POINTS).chain(grid(-5.0, 5.0, GRID_POINTS));
    check("sigmoid", xs, sigmoid, sigmoid_reference, relative, 5e-7);
}

#[test]
fn sigmoid_special_values() {
    assert_eq!(sigmoid(0.0), 0.5);
    assert_eq!(sigmoid(f32::INFINITY), 1.0);
    assert_eq!(sigmoid(f32::NEG_INFINITY), 0.0);
    assert_eq!(sigmoid(100.0), 1.0);
    assert_eq!(sigmoid(-100.0), 0.0);
    assert!(sigmoid(-88.0) < 1e-38);
    assert!(sigmoid(f32::NAN).is_nan());
}

#[test]
fn sigmoid_on_random_bit_patterns() {
    let mut accurate = Vec::new();
    for x in random_bit_patterns(1 << 20) {
        let y = sigmoid(x);
        if x.is_nan() {
            assert!(y.is_nan());
        } else {
            assert!((0.0..=1.0).contains(&y), "sigmoid({x:e}) = {y:e}");
            if x >= -87.0 {
                accurate.push(x);
            }
        }
    }
    let xs = accurate.into_iter();
    check(
        "sigmoid random",
        xs,
        sigmoid,
        sigmoid_reference,
        relative,
        5e-7,
    );
}

// --- softplus ------------------------------------------------------------------------------

#[test]
fn softplus_relative_error() {
    let xs = grid(-87.0, 100.0, GRID_POINTS)
        .chain(grid(-5.0, 5.0, GRID_POINTS))
        .chain(log_grid(1.0, 1e38, GRID_POINTS / 2).filter(|&x| x > 0.0));
    check("softplus", xs, softplus, softplus_reference, relative, 5e-7);
}

#[test]
fn softplus_special_values() {
    assert_eq!(softplus(1e30), 1e30);
    assert_eq!(softplus(100.0), 100.0);
    assert_eq!(softplus(f32::MAX), f32::MAX);
    assert_eq!(softplus(f32::INFINITY), f32::INFINITY);
    assert_eq!(softplus(f32::NEG_INFINITY), 0.0);
    assert_eq!(softplus(-90.0), 0.0);
    assert!(softplus(f32::NAN).is_nan());
    let e = relative(softplus(0.0) as f64, 2f64.ln());
    assert!(e <= 5e-7, "softplus(0): {e:e}");
}

#[test]
fn softplus_on_random_bit_patterns() {
    let mut accurate = Vec::new();
    for x in random_bit_patterns(1 << 20) {
        let y = softplus(x);
        if x.is_nan() {
            assert!(y.is_nan());
        } else if x >= EXP_MIN_ARG {
            accurate.push(x);
        } else {
            assert_same("softplus", x, y, 0.0);
        }
    }
    let xs = accurate.into_iter();
    check(
        "softplus random",
        xs,
        softplus,
        softplus_reference,
        relative,
        5e-7,
    );
}

// --- erf and GELU --------------------------------------------------------------------------

#[test]
fn erf_absolute_error() {
    let xs = grid(-6.0, 6.0, GRID_POINTS).chain(grid(-2.5, 2.5, GRID_POINTS));
    check("erf", xs, erf, erf_reference, absolute, 3e-7);
}

#[test]
fn erf_relative_error_below_one() {
    let xs = grid(-1.0, 1.0, GRID_POINTS).chain(log_grid(1e-30, 1.0, GRID_POINTS / 2));
    check("erf small", xs, erf, erf_reference, relative, 3e-7);
}

#[test]
fn erf_special_values() {
    assert_same("erf", 0.0, erf(0.0), 0.0);
    assert_same("erf", -0.0, erf(-0.0), -0.0);
    for x in [4.0, 10.0, 1e30, f32::INFINITY] {
        assert_same("erf", x, erf(x), 1.0);
        assert_same("erf", -x, erf(-x), -1.0);
    }
    assert!(erf(f32::NAN).is_nan());
}

#[test]
fn erf_on_random_bit_patterns() {
    let mut accurate = Vec::new();
    for x in random_bit_patterns(1 << 20) {
        if x.is_nan() {
            assert!(erf(x).is_nan());
        } else {
            accurate.push(x);
        }
    }
    check(
        "erf random",
        accurate.into_iter(),
        erf,
        erf_reference,
        absolute,
        3e-7,
    );
}

#[test]
fn gelu_error() {
    let xs = grid(-12.0, 12.0, GRID_POINTS)
        .chain(grid(-3.0, 3.0, GRID_POINTS))
        .chain(log_grid(1e-30, 1e30, GRID_POINTS / 2));
    check("gelu", xs, gelu, gelu_reference, mixed, 3e-7);
}

#[test]
fn gelu_derivative_absolute_error() {
    let xs = grid(-12.0, 12.0, GRID_POINTS)
        .chain(grid(-3.0, 3.0, GRID_POINTS))
        .chain(log_grid(1e-30, 1e30, GRID_POINTS / 2));
    check(
        "gelu'",
        xs,
        gelu_derivative,
        gelu_derivative_reference,
        absolute,
        3e-7,
    );
}

#[test]
fn gelu_special_values() {
    assert_same("gelu", 0.0, gelu(0.0), 0.0);
    assert_eq!(gelu(f32::INFINITY), f32::INFINITY);
    assert_same("gelu", f32::NEG_INFINITY, gelu(f32::NEG_INFINITY), -0.0);
    assert_eq!(gelu(1e30), 1e30);
    assert_eq!(gelu(-1e30), 0.0);
    assert!(gelu(f32::NAN).is_nan());
    assert_eq!(gelu_derivative(0.0), 0.5);
    assert_eq!(gelu_derivative(f32::INFINITY), 1.0);
    assert_eq!(gelu_derivative(f32::NEG_INFINITY), 0.0);
    assert_eq!(gelu_derivative(1e30), 1.0);
    assert_eq!(gelu_derivative(-1e30), 0.0);
    assert!(gelu_derivative(f32::NAN).is_nan());
}

#[test]
fn gelu_on_random_bit_patterns() {
    let mut accurate = Vec::new();
    for x in random_bit_patterns(1 << 20) {
        let (g, d) = (gelu(x), gelu_derivative(x));
        if x.is_nan() {
            assert!(
                g.is_nan() && d.is_nan(),
                "gelu({x:e}) = {g:e}, gelu'({x:e}) = {d:e}"
            );
        } else if x.is_finite() {
            accurate.push(x);
        }
    }
    let xs = accurate.iter().copied();
    check("gelu random", xs, gelu, gelu_reference, mixed, 3e-7);
    let (f, reference) = (gelu_derivative, gelu_derivative_reference);
    check(
        "gelu' random",
        accurate.into_iter(),
        f,
        reference,
        absolute,
        3e-7,
    );
}

// --- Same results under run-time dispatch --------------------------------------------------

/// Distance in ulps between two f32: 0 for two NaNs, `u32::MAX` for a NaN and a number or
/// for numbers of opposite signs (±0 included), which never count as close.
fn ulp_distance(a: f32, b: f32) -> u32 {
    if a.is_nan() && b.is_nan() {
        return 0;
    }
    if a.is_nan() || b.is_nan() || a.is_sign_negative() != b.is_sign_negative() {
        return u32::MAX;
    }
    a.to_bits().abs_diff(b.to_bits())
}

#[test]
/// One element at a time, the baseline loop (SSE2-vectorised in an optimised build) and the
/// dispatched loop (AVX2 where the CPU has it) must give the same bits. Only an optimised build
/// (`cargo test --release`) vectorises the loops; at the dev profile's opt-level 1 this
/// checks the scalar code paths only.
fn vectorized_results_match_scalar_ones() {
    let specials = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        1e-45,
        EXP_MAX_ARG,
        EXP_MIN_ARG,
    ];
    let inputs: Vec<f32> = specials
        .into_iter()
        .chain(grid(-100.0, 100.0, 20_000))
        .chain(grid(-2.0, 2.0, 20_000))
        .chain(log_grid(1e-30, 1e30, 10_000))
        .chain(random_bit_patterns(20_000))
        .collect();
    // A macro rather than a function taking `fn(f32) -> f32`: each loop must inline its own
    // function for the dispatched copy to vectorise (a call through a pointer would not).
    macro_rules! compare {
        ($name:expr, $f:expr) => {{
            let mut scalar = inputs.clone();
            for v in scalar.iter_mut() {
                *v = $f(*v);
            }
            let mut vector = inputs.clone();
            // Without `#[inline(always)]` a closure this large is called, not inlined, from
            // pulp's AVX2 function, and runs at the baseline level.
            crate::vectorized!({
                for v in vector.iter_mut() {
                    *v = $f(*v);
                }
            },);
            for ((&x, &s), &v) in inputs.iter().zip(&scalar).zip(&vector) {
                // `black_box` keeps this call out of any vector code.
                let one = $f(std::hint::black_box(x));
                assert!(
                    ulp_distance(one, s) == 0 && ulp_distance(one, v) == 0,
                    "{}({x:e}): {one:e} alone, {s:e} in a loop, {v:e} dispatched",
                    $name
                );
            }
        }};
    }
    compare!("exp", exp);
    compare!("ln", ln);
    compare!("log1p", log1p);
    compare!("tanh", tanh);
    compare!("sigmoid", sigmoid);
    compare!("softplus", softplus);
    compare!("erf", erf);
    compare!("gelu", gelu);
    compare!("gelu_derivative", gelu_derivative);
}
