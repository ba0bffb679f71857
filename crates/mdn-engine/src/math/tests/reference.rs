//! The functions of [`crate::math`] in f64, to measure them against.

/// erf in f64 from the series erf(x) = 2/√π · e^{−x²} · Σ (2x²)ⁿ x / (1·3·…·(2n+1)), whose
/// terms are all positive (no cancellation); beyond |x| = 6, erf(x) is ±1 in f64.
pub(super) fn erf_reference(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x.abs() > 6.0 {
        return x.signum();
    }
    let two_x2 = 2.0 * x * x;
    let (mut term, mut sum) = (x, x);
    let mut n = 0.0;
    while term.abs() > 1e-18 * sum.abs() {
        n += 1.0;
        term *= two_x2 / (2.0 * n + 1.0);
        sum += term;
    }
    2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp() * sum
}

pub(super) fn sigmoid_reference(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

pub(super) fn softplus_reference(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

pub(super) fn gelu_reference(x: f64) -> f64 {
    0.5 * x * (1.0 + erf_reference(x / 2f64.sqrt()))
}

pub(super) fn gelu_derivative_reference(x: f64) -> f64 {
    let density = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    0.5 * (1.0 + erf_reference(x / 2f64.sqrt())) + x * density
}
