//! The f32 matrix-product throughput of `mdn_engine::matmul` on large square matrices, on one
//! thread and on all of rayon's threads (each thread a band of the result's columns), and the
//! f32 fused multiply-add peak of the instruction set in use (a loop of independent FMAs):
//! the roofline figures of `bench/compare.sh`.
//!
//! ```text
//! cargo run --release -p mdn-engine --example gemm_speed -- [--size N] [--seconds S]
//! ```
//!
//! Prints `RESULT\tname\tGFLOP/s` lines: `gemm:N:threads` for the products and
//! `fma_peak:threads` for the peak, and the level the kernels ran at (`MDN_SIMD` lowers it).

use std::hint::black_box;
use std::time::{Duration, Instant};

use mdn_engine::matmul::{MatMut, MatRef, matmul};
use rayon::prelude::*;

/// Best time per call of `f` over rounds filling at least `seconds`.
fn best_seconds(mut f: impl FnMut(), seconds: f64) -> f64 {
    f();
    let start = Instant::now();
    let mut best = f64::INFINITY;
    while start.elapsed() < Duration::from_secs_f64(seconds) {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

/// `c = a · b` for n × n row-major matrices, the columns of `c` split into one band per
/// thread (`threads` of them).
fn product(a: &[f32], b: &[f32], c: &mut [f32], n: usize, threads: usize) {
    if threads == 1 {
        return matmul(
            MatMut::row_major(c, n, n),
            MatRef::row_major(a, n, n),
            MatRef::row_major(b, n, n),
            false,
        );
    }
    // Each band is a column range of c and b: strided views of the shared buffers, written
    // through disjoint column-major chunks of a band-major copy of c.
    let band = n.div_ceil(threads);
    let mut bands: Vec<Vec<f32>> = (0..threads).map(|_| vec![0.0; n * band]).collect();
    bands.par_iter_mut().enumerate().for_each(|(t, out)| {
        let start = (t * band).min(n);
        let width = band.min(n - start);
        if width == 0 {
            return;
        }
        matmul(
            MatMut::row_major(&mut out[..n * width], n, width),
            MatRef::row_major(a, n, n),
            MatRef::new(&b[start..], n, width, n, 1),
            false,
        );
    });
    for (t, out) in bands.iter().enumerate() {
        let start = (t * band).min(n);
        let width = band.min(n - start);
        for r in 0..n {
            c[r * n + start..r * n + start + width]
                .copy_from_slice(&out[r * width..(r + 1) * width]);
        }
    }
}

fn main() {
    let mut size = 1536;
    let mut seconds = 2.0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--size" => size = args.next().and_then(|s| s.parse().ok()).expect("--size N"),
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--seconds S")
            }
            _ => panic!("usage: gemm_speed [--size N] [--seconds S]"),
        }
    }
    let threads = rayon::current_num_threads();
    println!("level\t{}", mdn_engine::simd::level().name());
    let n = size;
    let a: Vec<f32> = (0..n * n).map(|i| (i % 7) as f32 * 0.25 - 0.75).collect();
    let b: Vec<f32> = (0..n * n).map(|i| (i % 5) as f32 * 0.5 - 1.0).collect();
    let mut c = vec![0.0f32; n * n];
    let flops = 2.0 * (n as f64).powi(3);
    for t in [1, threads] {
        let s = best_seconds(|| product(&a, &b, &mut c, n, t), seconds);
        println!("RESULT\tgemm:{n}:{t}\t{:.1}", flops / s * 1e-9);
        if threads == 1 {
            break;
        }
    }
    // The FMA peak: 12 independent vector FMAs per round, on every thread.
    let iterations = 50_000_000;
    for t in [1, threads] {
        let mut flops = 0.0;
        let s = best_seconds(
            || {
                flops = (0..t)
                    .into_par_iter()
                    .map(|_| {
                        let (flops, value) = mdn_engine::matmul::fma_peak_probe(iterations);
                        black_box(value);
                        flops
                    })
                    .sum();
            },
            seconds,
        );
        println!("RESULT\tfma_peak:{t}\t{:.1}", flops / s * 1e-9);
        if threads == 1 {
            break;
        }
    }
}
