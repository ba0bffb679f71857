//! Times the convolution kernels on one shard of the MNIST CNN's training step: 16 images of
//! 28 × 28, conv 5 × 5 1 → 16, 2 × 2 max-pool, conv 5 × 5 16 → 32 on 14 × 14, single-threaded.
//!
//! `cargo run --release -p mdn-engine --example conv_speed`
//!
//! Besides the kernels themselves, it times the copies around them alone: the zero-padded
//! input and the repacked weights (which the network makes once per call, not per shard).

use std::hint::black_box;
use std::time::Instant;

use mdn_engine::conv::{
    Conv2dShape, ImageShape, conv_backward, conv_forward, maxpool2_backward, maxpool2_forward,
    pack_backward, pack_forward, pad_images,
};

/// The fastest of 200 rounds of 3 calls of `f` (time per call, in milliseconds): the machine
/// may be shared, and the minimum is the least disturbed by other processes.
fn time_ms(mut f: impl FnMut()) -> f64 {
    let (rounds, reps) = (200, 3);
    for _ in 0..reps {
        f();
    }
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() * 1e3 / reps as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn report(what: &str, ms: f64, gemm_flops: f64) {
    if gemm_flops > 0.0 {
        let rate = gemm_flops / ms * 1e-6;
        println!("  {what:<48} {ms:7.3} ms  {rate:6.1} GFLOP/s of GEMM work");
    } else {
        println!("  {what:<48} {ms:7.3} ms");
    }
}

/// Times one convolution layer: its parts alone, then the kernels.
fn layer(name: &str, shape: ImageShape, conv: Conv2dShape, with_d_input: bool) -> f64 {
    let (pixels, patch, c_out) = (shape.pixels(), conv.patch_len(), conv.c_out);
    let _ = patch;
    let flops = conv.gemm_flops(pixels);
    println!(
        "{name}: {} images {}x{}x{} -> {c_out} channels, kernel {k}x{k}; \
         GEMM [{pixels}x{patch}]·[{patch}x{c_out}] = {:.1} MFLOP",
        shape.images,
        shape.height,
        shape.width,
        shape.channels,
        flops * 1e-6,
        k = conv.kernel,
    );
    let input = values(shape.len(), 1);
    let weight = values(conv.weight_len(), 2);
    let bias = values(c_out, 3);
    let d_out = values(pixels * c_out, 4);
    let mut out = vec![0.0; pixels * c_out];
    let mut d_weight = vec![0.0; weight.len()];
    let mut d_bias = vec![0.0; c_out];
    let mut d_input = vec![0.0; shape.len()];

    let mut padded = Vec::new();
    let t = time_ms(|| pad_images(black_box(&input), shape, conv.padding(), &mut padded));
    report("pad_images", t, 0.0);
    let mut packed = Vec::new();
    let t = time_ms(|| pack_forward(conv, black_box(&weight), &mut packed));
    report("pack_forward", t, 0.0);
    if with_d_input {
        let t = time_ms(|| pack_backward(conv, black_box(&weight), &mut packed));
        report("pack_backward", t, 0.0);
    }

    let (mut cols, mut d_cols) = (Vec::new(), Vec::new());

    let forward = time_ms(|| {
        conv_forward(
            black_box(&input),
            shape,
            conv,
            &weight,
            &bias,
            &mut cols,
            &mut out,
        )
    });
    report("conv_forward", forward, flops);
    // One backward pass, with the input gradient or without it.
    let mut backward_pass = |input_gradient: bool| {
        conv_backward(
            black_box(&d_out),
            &cols,
            shape,
            conv,
            &weight,
            &mut d_weight,
            &mut d_bias,
            input_gradient.then_some(&mut d_input[..]),
            &mut d_cols,
        )
    };
    let backward = time_ms(|| backward_pass(with_d_input));
    if with_d_input {
        // The weight and bias gradients alone, to tell the two products of the backward pass
        // apart.
        let t = time_ms(|| backward_pass(false));
        report("conv_backward (no d_input)", t, flops);
    }
    let backward_flops = if with_d_input { 2.0 * flops } else { flops };
    let label = if with_d_input {
        "conv_backward (with d_input)"
    } else {
        "conv_backward (no d_input)"
    };
    report(label, backward, backward_flops);
    report(
        "forward + backward",
        forward + backward,
        flops + backward_flops,
    );
    black_box((&out, &d_weight, &d_bias, &d_input));
    forward + backward
}

fn main() {
    let images = 16;
    let input = ImageShape::new(images, 28, 28, 1);
    let conv1 = layer("conv1", input, Conv2dShape::new(1, 16, 5), false);

    let pool_in = input.with_channels(16);
    let pooled = pool_in.pooled();
    let x = values(pool_in.len(), 6);
    let d_out = values(pooled.len(), 7);
    let mut out = vec![0.0; pooled.len()];
    let mut argmax = vec![0u32; pooled.len()];
    let mut d_input = vec![0.0; pool_in.len()];
    println!("pool: 16 images 28x28x16 -> 14x14x16");
    let forward = time_ms(|| maxpool2_forward(black_box(&x), pool_in, &mut out, &mut argmax));
    report("maxpool2_forward", forward, 0.0);
    let backward = time_ms(|| maxpool2_backward(black_box(&d_out), &argmax, &mut d_input));
    report("maxpool2_backward", backward, 0.0);

    let conv2 = layer("conv2", pooled, Conv2dShape::new(16, 32, 5), true);
    println!(
        "conv1 + pool + conv2, forward and backward: {:.3} ms per shard of {images} images",
        conv1 + forward + backward + conv2
    );
}
