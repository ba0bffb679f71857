//! Times `mdn_engine::math` against the standard library, in ns per element.
//!
//! Each function is applied to a 4096-element f32 slice many times over, and the fastest of
//! several trials is reported: inside `mdn_engine::vectorized!` (the way the crate's kernels
//! use it), in a plain loop (the baseline SSE2 build), and, where the standard library has one,
//! with its libm-backed equivalent. Run with
//! `cargo run --release -p mdn-engine --example math_speed`.

use std::hint::black_box;
use std::time::Instant;

use mdn_engine::math;
use mdn_engine::vectorized;

/// Elements per slice: small enough to stay in L1 cache, so that only the arithmetic counts.
const LEN: usize = 4096;
/// Passes over the slice per trial.
const REPEATS: usize = 500;
/// Trials per measurement; the fastest is kept, as the least disturbed by other processes.
const TRIALS: usize = 15;

/// Nanoseconds per element of `pass`, which maps `input` into `output` once.
fn time_per_element(input: &[f32], output: &mut [f32], pass: impl Fn(&[f32], &mut [f32])) -> f64 {
    pass(input, output); // warm-up
    (0..TRIALS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..REPEATS {
                pass(black_box(input), black_box(&mut *output));
            }
            start.elapsed().as_nanos() as f64 / (REPEATS * LEN) as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// `LEN` inputs spread evenly over [lo, hi].
fn inputs(lo: f32, hi: f32) -> Vec<f32> {
    (0..LEN)
        .map(|i| lo + (hi - lo) * i as f32 / (LEN - 1) as f32)
        .collect()
}

/// Times `ours` dispatched and undispatched, and `std` if given, over inputs in [lo, hi], and
/// prints one line. A macro so that every loop inlines its own function, as real callers do.
macro_rules! compare {
    ($name:expr, $lo:expr, $hi:expr, $ours:expr, $std:expr) => {{
        let input = inputs($lo, $hi);
        let mut output = vec![0.0f32; LEN];
        let dispatched = time_per_element(&input, &mut output, |x, y| {
            // `#[inline(always)]`: a closure this large is otherwise not inlined into pulp's
            // AVX2 function, and then runs at the baseline level.
            vectorized!({
                for (y, &x) in y.iter_mut().zip(x) {
                    *y = $ours(x);
                }
            },)
        });
        let baseline = time_per_element(&input, &mut output, |x, y| {
            for (y, &x) in y.iter_mut().zip(x) {
                *y = $ours(x);
            }
        });
        let std: Option<fn(f32) -> f32> = $std;
        let std_line = match std {
            Some(f) => {
                let t = time_per_element(&input, &mut output, |x, y| {
                    for (y, &x) in y.iter_mut().zip(x) {
                        *y = f(x);
                    }
                });
                format!("{t:8.3} ns   ({:4.1}x)", t / dispatched)
            }
            None => "       -".to_string(),
        };
        println!(
            "{:<16} {dispatched:8.3} ns   {baseline:8.3} ns   {std_line}",
            $name
        );
    }};
}

fn main() {
    println!(
        "{:<16} {:>11}   {:>11}   std (std / dispatched)",
        "", "dispatched", "baseline"
    );
    compare!("exp", -80.0, 80.0, math::exp, Some(f32::exp));
    compare!("ln", 1e-3, 1e3, math::ln, Some(f32::ln));
    compare!("log1p", -0.9, 10.0, math::log1p, Some(f32::ln_1p));
    compare!("tanh", -5.0, 5.0, math::tanh, Some(f32::tanh));
    compare!(
        "sigmoid",
        -20.0,
        20.0,
        math::sigmoid,
        Some(|x: f32| 1.0 / (1.0 + (-x).exp()))
    );
    compare!(
        "softplus",
        -20.0,
        20.0,
        math::softplus,
        Some(|x: f32| x.max(0.0) + (-x.abs()).exp().ln_1p())
    );
    compare!("erf", -4.0, 4.0, math::erf, None);
    compare!("gelu", -5.0, 5.0, math::gelu, None);
    compare!("gelu_derivative", -5.0, 5.0, math::gelu_derivative, None);
}
