//! Tests of the convolution, pooling and layout kernels against their definitions.

mod reference;

use super::*;
use crate::test_rng::SplitMix64;
use reference::*;

/// `(images, height, width, c_in, c_out, kernel)`: odd and non-square sizes, kernels
/// larger than the image, channel counts that fill no vector (3, 20), the MNIST CNN's
/// second convolution (16 → 20 on 14 × 14) and a long image row (300 pixels).
const CASES: &[(usize, usize, usize, usize, usize, usize)] = &[
    (1, 5, 5, 1, 1, 1),
    (3, 7, 5, 1, 4, 3),
    (1, 7, 5, 3, 2, 5),
    (3, 6, 9, 3, 16, 3),
    (2, 4, 4, 2, 3, 5),
    (1, 3, 3, 2, 2, 7),
    (2, 5, 6, 2, 3, 9),
    (3, 1, 8, 3, 2, 3),
    (7, 7, 5, 2, 3, 3),
    (2, 14, 14, 16, 20, 5),
    (1, 3, 300, 8, 2, 5),
];

fn case_shapes(case: (usize, usize, usize, usize, usize, usize)) -> (ImageShape, Conv2dShape) {
    let (images, h, w, c_in, c_out, k) = case;
    (
        ImageShape::new(images, h, w, c_in),
        Conv2dShape::new(c_in, c_out, k),
    )
}

#[test]
fn padding_surrounds_every_image_with_zeros() {
    let mut rng = SplitMix64(1);
    for &case in CASES {
        let (s, conv) = case_shapes(case);
        let input = rng.vec(s.len());
        let pad = conv.padding();
        let mut padded = vec![f32::NAN; 3];
        pad_images(&input, s, pad, &mut padded);
        let p = padded_shape(s, pad);
        assert_eq!(padded.len(), p.len());
        for n in 0..s.images {
            for y in 0..p.height {
                for x in 0..p.width {
                    for ci in 0..s.channels {
                        let inside =
                            (pad..pad + s.height).contains(&y) && (pad..pad + s.width).contains(&x);
                        let want = if inside {
                            input[nhwc(s, n, y - pad, x - pad, ci)]
                        } else {
                            0.0
                        };
                        let got = padded[nhwc(p, n, y, x, ci)];
                        assert_eq!(
                            got.to_bits(),
                            want.to_bits(),
                            "{case:?} ({n}, {y}, {x}, {ci})"
                        );
                    }
                }
            }
        }
    }
}

/// A kept buffer padded again and again — more images, fewer, another geometry, back — holds
/// what a fresh `pad_images` writes each time, borders included.
#[test]
fn kept_padded_images_match_fresh_padding_across_calls() {
    let mut rng = SplitMix64(2);
    let mut kept = PaddedImages::default();
    let calls = [
        (3, 7, 5, 2, 1),
        (5, 7, 5, 2, 1),
        (2, 7, 5, 2, 1),
        (2, 7, 5, 2, 2),
        (4, 6, 6, 3, 1),
        (4, 7, 5, 2, 1),
        (0, 7, 5, 2, 1),
        (1, 7, 5, 2, 1),
    ];
    for (images, h, w, c, pad) in calls {
        let s = ImageShape::new(images, h, w, c);
        // Values that are never zero, so a border left holding an old value shows.
        let input: Vec<f32> = rng.vec(s.len()).iter().map(|v| v + 10.0).collect();
        kept.pad(&input, s, pad);
        let mut fresh = Vec::new();
        pad_images(&input, s, pad, &mut fresh);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(kept.values()),
            bits(&fresh),
            "{images} images {h}×{w}×{c} pad {pad}"
        );
    }
}

#[test]
fn packed_weights_follow_their_layouts() {
    let conv = Conv2dShape::new(3, 4, 5);
    let weight: Vec<f32> = (0..conv.weight_len()).map(|i| i as f32).collect();
    let (mut forward, mut backward) = (Vec::new(), Vec::new());
    pack_forward(conv, &weight, &mut forward);
    pack_backward(conv, &weight, &mut backward);
    let k = conv.kernel;
    for co in 0..4 {
        for ci in 0..3 {
            for ky in 0..k {
                for kx in 0..k {
                    let w = weight[((co * 3 + ci) * k + ky) * k + kx];
                    assert_eq!(forward[((ky * k + kx) * 3 + ci) * 4 + co], w);
                    assert_eq!(
                        backward[(((k - 1 - ky) * k + k - 1 - kx) * 4 + co) * 3 + ci],
                        w
                    );
                }
            }
        }
    }
}

#[test]
fn conv_forward_matches_the_definition() {
    let mut rng = SplitMix64(4);
    for &case in CASES {
        let (s, conv) = case_shapes(case);
        let input = rng.vec(s.len());
        let weight = rng.vec(conv.weight_len());
        let bias = rng.vec(conv.c_out);
        let so = s.with_channels(conv.c_out);
        let (want, scale) = conv_reference(
            &to_nchw_f64(&input, s),
            s,
            conv,
            &f64s(&weight),
            &f64s(&bias),
        );
        // Scratch of the wrong size and an output full of NaN: both must be replaced.
        let mut padded = vec![7.0; 3];
        let mut out = vec![f32::NAN; so.len()];
        conv_forward(&input, s, conv, &weight, &bias, &mut padded, &mut out);
        assert_close(
            &format!("{case:?} out"),
            &out,
            &to_nhwc(&want, so),
            &to_nhwc(&scale, so),
        );
        let mut expected = Vec::new();
        pad_images(&input, s, conv.padding(), &mut expected);
        assert_eq!(padded, expected, "{case:?}: the padded input is kept");
    }
}

#[test]
fn the_reference_backward_matches_finite_differences() {
    // Σ g ⊙ conv(x) is linear in each of x, weight and bias, so central differences of the
    // f64 reference are exact up to rounding.
    let mut rng = SplitMix64(5);
    let (s, conv) = case_shapes((2, 4, 3, 2, 3, 3));
    let so = s.with_channels(conv.c_out);
    let x = f64s(&rng.vec(s.len()));
    let weight = f64s(&rng.vec(conv.weight_len()));
    let bias = f64s(&rng.vec(conv.c_out));
    let g = f64s(&rng.vec(so.len()));
    let loss = |x: &[f64], w: &[f64], b: &[f64]| -> f64 {
        let (out, _) = conv_reference(x, s, conv, w, b);
        out.iter().zip(&g).map(|(o, g)| o * g).sum()
    };
    let (d_weight, d_bias, d_input) = conv_reference_backward(&g, &x, s, conv, &weight);
    let eps = 1e-3;
    let diff = |f: &dyn Fn(f64) -> f64| (f(eps) - f(-eps)) / (2.0 * eps);
    for i in 0..weight.len() {
        let fd = diff(&|e| {
            let mut w = weight.clone();
            w[i] += e;
            loss(&x, &w, &bias)
        });
        assert!(
            (fd - d_weight[i]).abs() < 1e-8,
            "d_weight[{i}]: {fd} vs {}",
            d_weight[i]
        );
    }
    for i in 0..bias.len() {
        let fd = diff(&|e| {
            let mut b = bias.clone();
            b[i] += e;
            loss(&x, &weight, &b)
        });
        assert!(
            (fd - d_bias[i]).abs() < 1e-8,
            "d_bias[{i}]: {fd} vs {}",
            d_bias[i]
        );
    }
    for i in 0..x.len() {
        let fd = diff(&|e| {
            let mut xe = x.clone();
            xe[i] += e;
            loss(&xe, &weight, &bias)
        });
        assert!(
            (fd - d_input[i]).abs() < 1e-8,
            "d_input[{i}]: {fd} vs {}",
            d_input[i]
        );
    }
}

#[test]
fn conv_backward_matches_the_definition_accumulates_and_overwrites() {
    let mut rng = SplitMix64(6);
    for &case in CASES {
        let (s, conv) = case_shapes(case);
        let so = s.with_channels(conv.c_out);
        let input = rng.vec(s.len());
        let weight = rng.vec(conv.weight_len());
        let bias = rng.vec(conv.c_out);
        let d_out = rng.vec(so.len());
        let mut padded = Vec::new();
        let mut out = vec![0.0; so.len()];
        conv_forward(&input, s, conv, &weight, &bias, &mut padded, &mut out);

        let (x64, g64, w64) = (
            to_nchw_f64(&input, s),
            to_nchw_f64(&d_out, so),
            f64s(&weight),
        );
        let (dw, db, dx) = conv_reference_backward(&g64, &x64, s, conv, &w64);
        let (dw_scale, db_scale, dx_scale) = backward_scales(&g64, &x64, s, conv, &w64);

        // Start from non-zero gradients: they must be added to.
        let dw0 = rng.vec(dw.len());
        let db0 = rng.vec(db.len());
        let mut d_weight = dw0.clone();
        let mut d_bias = db0.clone();
        let mut d_input = vec![f32::NAN; s.len()];
        let mut scratch = vec![3.0; 5];
        conv_backward(
            &d_out,
            &padded,
            s,
            conv,
            &weight,
            &mut d_weight,
            &mut d_bias,
            Some(&mut d_input),
            &mut scratch,
        );
        let plus = |start: &[f32], d: &[f64], times: f64| -> Vec<f64> {
            start
                .iter()
                .zip(d)
                .map(|(&a, &b)| f64::from(a) + times * b)
                .collect()
        };
        let shifted = |scale: &[f64], start: &[f32], times: f64| -> Vec<f64> {
            scale
                .iter()
                .zip(start)
                .map(|(&s, &a)| times * s + f64::from(a).abs())
                .collect()
        };
        // The gradients after `calls` calls: the parameter gradients added that many times to
        // their starting values, the input gradient overwritten each time.
        let check = |after: &str, calls: f64, d_weight: &[f32], d_bias: &[f32], d_input: &[f32]| {
            assert_close(
                &format!("{case:?} d_weight{after}"),
                d_weight,
                &plus(&dw0, &dw, calls),
                &shifted(&dw_scale, &dw0, calls),
            );
            assert_close(
                &format!("{case:?} d_bias{after}"),
                d_bias,
                &plus(&db0, &db, calls),
                &shifted(&db_scale, &db0, calls),
            );
            assert_close(
                &format!("{case:?} d_input{after}"),
                d_input,
                &to_nhwc(&dx, s),
                &to_nhwc(&dx_scale, s),
            );
        };
        check("", 1.0, &d_weight, &d_bias, &d_input);

        // A second call adds the parameter gradients again and overwrites d_input (here
        // full of garbage) with the same values; without d_input, scratch is untouched.
        d_input.fill(1e30);
        conv_backward(
            &d_out,
            &padded,
            s,
            conv,
            &weight,
            &mut d_weight,
            &mut d_bias,
            Some(&mut d_input),
            &mut scratch,
        );
        let scratch_before = scratch.clone();
        conv_backward(
            &d_out,
            &padded,
            s,
            conv,
            &weight,
            &mut d_weight,
            &mut d_bias,
            None,
            &mut scratch,
        );
        assert_eq!(scratch, scratch_before);
        check(" after three calls", 3.0, &d_weight, &d_bias, &d_input);
    }
}

#[test]
fn conv_backward_accumulates_and_repeats_itself_exactly() {
    let mut rng = SplitMix64(7);
    let (s, conv) = case_shapes((2, 6, 5, 3, 4, 3));
    let input = rng.vec(s.len());
    let weight = rng.vec(conv.weight_len());
    let bias = rng.vec(conv.c_out);
    let d_out = rng.vec(s.pixels() * conv.c_out);
    let (mut padded, mut scratch) = (Vec::new(), Vec::new());
    let mut out = vec![0.0; d_out.len()];
    conv_forward(&input, s, conv, &weight, &bias, &mut padded, &mut out);
    let mut step = |d_weight: &mut [f32], d_bias: &mut [f32]| {
        conv_backward(
            &d_out,
            &padded,
            s,
            conv,
            &weight,
            d_weight,
            d_bias,
            None,
            &mut scratch,
        );
    };
    let mut d_weight = vec![0.0; weight.len()];
    let mut d_bias = vec![0.0; bias.len()];
    step(&mut d_weight, &mut d_bias);
    let (once_w, once_b) = (d_weight.clone(), d_bias.clone());
    assert!(once_w.iter().any(|&v| v != 0.0) && once_b.iter().any(|&v| v != 0.0));
    // From zero again: the same bits.
    let (mut again_w, mut again_b) = (vec![0.0; weight.len()], vec![0.0; bias.len()]);
    step(&mut again_w, &mut again_b);
    assert_eq!((&again_w, &again_b), (&once_w, &once_b));
    // On top of the first: twice the gradient, to rounding (the products are added to what
    // is there one at a time).
    step(&mut d_weight, &mut d_bias);
    let largest = once_w.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    for (two, one) in d_weight.iter().zip(&once_w) {
        assert!(
            (two - 2.0 * one).abs() <= 1e-5 * largest,
            "{two} vs 2 × {one}"
        );
    }
    assert_eq!(d_bias, once_b.iter().map(|v| 2.0 * v).collect::<Vec<_>>());
}

#[test]
fn the_weight_gradient_is_the_same_in_any_blocks_of_image_rows() {
    // Blocks of 1, 2 and 5 image rows and all of them at once: the same bits, overwriting
    // and accumulating (W2's conv 2 takes blocks at AVX2, a whole batch at AVX-512).
    let mut rng = SplitMix64(11);
    for &case in CASES {
        let (s, conv) = case_shapes(case);
        let input = rng.vec(s.len());
        let d_out = rng.vec(s.pixels() * conv.c_out);
        let start = rng.vec(conv.weight_len());
        let mut padded = Vec::new();
        pad_images(&input, s, conv.padding(), &mut padded);
        let image_rows = s.images * s.height;
        for accumulate in [false, true] {
            let gradient = |block_rows: usize| {
                let mut d_weight = start.clone();
                super::layer::weight_gradient(
                    &d_out,
                    &padded,
                    s,
                    conv,
                    &mut d_weight,
                    accumulate,
                    block_rows,
                );
                d_weight.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            };
            let whole = gradient(image_rows);
            for block_rows in [1, 2, 5] {
                assert_eq!(
                    gradient(block_rows),
                    whole,
                    "case {case:?}, blocks of {block_rows} rows, accumulate {accumulate}"
                );
            }
        }
    }
}

/// Values from a small set, so that windows often hold ties.
fn tied_values(rng: &mut SplitMix64, n: usize) -> Vec<f32> {
    (0..n).map(|_| (rng.next_u64() % 3) as f32 - 1.0).collect()
}

#[test]
fn maxpool_matches_the_definition_with_floor_and_first_ties() {
    let mut rng = SplitMix64(8);
    for &(images, h, w, c) in &[
        (2, 5, 7, 3),
        (1, 4, 4, 1),
        (3, 6, 3, 16),
        (1, 2, 2, 2),
        (1, 1, 3, 2),
        (2, 9, 8, 5),
    ] {
        let s = ImageShape::new(images, h, w, c);
        let p = s.pooled();
        assert_eq!((p.height, p.width), (h / 2, w / 2));
        for input in [tied_values(&mut rng, s.len()), rng.vec(s.len())] {
            let mut out = vec![f32::NAN; p.len()];
            let mut argmax = vec![u32::MAX; p.len()];
            maxpool2_forward(&input, s, &mut out, &mut argmax);
            for n in 0..images {
                for oy in 0..p.height {
                    for ox in 0..p.width {
                        for ci in 0..c {
                            let window = [(0, 0), (0, 1), (1, 0), (1, 1)]
                                .map(|(dy, dx)| nhwc(s, n, 2 * oy + dy, 2 * ox + dx, ci));
                            let mut best = window[0];
                            for &i in &window[1..] {
                                if input[i] > input[best] {
                                    best = i;
                                }
                            }
                            let o = nhwc(p, n, oy, ox, ci);
                            assert_eq!(out[o], input[best], "{s:?} output {o}");
                            assert_eq!(argmax[o] as usize, best, "{s:?} output {o}");
                        }
                    }
                }
            }

            let d_out = rng.vec(p.len());
            let mut d_input = vec![f32::NAN; s.len()];
            maxpool2_backward(&d_out, &argmax, &mut d_input);
            let mut want = vec![0.0; s.len()];
            for (&g, &i) in d_out.iter().zip(&argmax) {
                want[i as usize] = g;
            }
            assert_eq!(d_input, want, "{s:?}: backward");
        }
    }
}

#[test]
fn maxpool_ties_go_to_the_first_in_window_order() {
    let s = ImageShape::new(1, 2, 4, 1);
    // Window 0: all equal → (0,0). Window 1: (0,1) and (1,1) tie at the max → (0,1).
    let input = [2.0, 2.0, 0.0, 5.0, 2.0, 2.0, 1.0, 5.0];
    let (mut out, mut argmax) = ([0.0; 2], [0u32; 2]);
    maxpool2_forward(&input, s, &mut out, &mut argmax);
    assert_eq!(out, [2.0, 5.0]);
    assert_eq!(argmax, [0, 3]);
}

#[test]
fn layout_conversions_follow_the_nchw_flatten_order_and_invert_each_other() {
    for &(images, h, w, c) in &[(2, 3, 4, 5), (1, 7, 7, 32), (3, 1, 2, 1)] {
        let s = ImageShape::new(images, h, w, c);
        let code =
            |n: usize, y: usize, x: usize, ci: usize| (((n * 100 + y) * 100 + x) * 100 + ci) as f32;
        let mut input = vec![0.0; s.len()];
        for n in 0..images {
            for y in 0..h {
                for x in 0..w {
                    for ci in 0..c {
                        input[nhwc(s, n, y, x, ci)] = code(n, y, x, ci);
                    }
                }
            }
        }
        let mut flat = vec![f32::NAN; s.len()];
        nhwc_to_nchw(&input, s, &mut flat);
        for n in 0..images {
            for y in 0..h {
                for x in 0..w {
                    for ci in 0..c {
                        // PyTorch's x.flatten(1) on [images, c, h, w].
                        let i = n * (c * h * w) + ci * h * w + y * w + x;
                        assert_eq!(flat[i], code(n, y, x, ci), "{s:?} ({n}, {y}, {x}, {ci})");
                    }
                }
            }
        }
        let mut back = vec![f32::NAN; s.len()];
        nchw_to_nhwc(&flat, s, &mut back);
        assert_eq!(back, input);
    }
}

#[test]
fn a_cnn_block_chain_has_consistent_shapes() {
    // conv 5×5 1→4, pool, conv 5×5 4→6, pool, flatten, on 2 images of 9×7.
    let mut rng = SplitMix64(9);
    let s0 = ImageShape::new(2, 9, 7, 1);
    let (c1, c2) = (Conv2dShape::new(1, 4, 5), Conv2dShape::new(4, 6, 5));
    let x = rng.vec(s0.len());
    let (w1, b1, w2, b2) = (
        rng.vec(c1.weight_len()),
        rng.vec(4),
        rng.vec(c2.weight_len()),
        rng.vec(6),
    );
    let mut padded = Vec::new();
    let s1 = s0.with_channels(4);
    let mut a1 = vec![0.0; s1.len()];
    conv_forward(&x, s0, c1, &w1, &b1, &mut padded, &mut a1);
    let p1 = s1.pooled();
    let (mut q1, mut i1) = (vec![0.0; p1.len()], vec![0; p1.len()]);
    maxpool2_forward(&a1, s1, &mut q1, &mut i1);
    let s2 = p1.with_channels(6);
    let mut a2 = vec![0.0; s2.len()];
    conv_forward(&q1, p1, c2, &w2, &b2, &mut padded, &mut a2);
    let p2 = s2.pooled();
    assert_eq!(p2, ImageShape::new(2, 2, 1, 6));
    let (mut q2, mut i2) = (vec![0.0; p2.len()], vec![0; p2.len()]);
    maxpool2_forward(&a2, s2, &mut q2, &mut i2);
    let mut flat = vec![0.0; p2.len()];
    nhwc_to_nchw(&q2, p2, &mut flat);
    assert!(flat.iter().all(|v| v.is_finite()));
}

#[test]
fn empty_batches_and_channels_are_handled() {
    let mut rng = SplitMix64(10);
    for &(images, c_in, c_out) in &[(0, 2, 3), (2, 2, 0), (2, 0, 3)] {
        let s = ImageShape::new(images, 4, 3, c_in);
        let conv = Conv2dShape::new(c_in, c_out, 3);
        let input = rng.vec(s.len());
        let weight = rng.vec(conv.weight_len());
        let bias = rng.vec(c_out);
        let so = s.with_channels(c_out);
        let (mut padded, mut scratch) = (vec![1.0; 4], Vec::new());
        let mut out = vec![f32::NAN; so.len()];
        conv_forward(&input, s, conv, &weight, &bias, &mut padded, &mut out);
        // With no input channels, every output is its bias.
        let want: Vec<f32> = (0..so.len()).map(|i| bias[i % c_out.max(1)]).collect();
        assert_eq!(out, want, "({images}, {c_in}, {c_out})");
        let d_out = rng.vec(so.len());
        let mut d_weight = vec![0.5; weight.len()];
        let mut d_bias = vec![0.5; c_out];
        let mut d_input = vec![f32::NAN; s.len()];
        conv_backward(
            &d_out,
            &padded,
            s,
            conv,
            &weight,
            &mut d_weight,
            &mut d_bias,
            Some(&mut d_input),
            &mut scratch,
        );
        // No output channels: the input gradient is zero.
        assert!(
            d_input.iter().all(|&v| v == 0.0),
            "({images}, {c_in}, {c_out})"
        );
        if images == 0 {
            assert!(d_weight.iter().chain(&d_bias).all(|&v| v == 0.5));
        }
    }
}

#[test]
#[should_panic(expected = "must be odd")]
fn an_even_kernel_is_refused() {
    let s = ImageShape::new(1, 3, 3, 1);
    let conv = Conv2dShape::new(1, 1, 2);
    let mut out = vec![0.0; 9];
    conv_forward(
        &[0.0; 9],
        s,
        conv,
        &[0.0; 4],
        &[0.0],
        &mut Vec::new(),
        &mut out,
    );
}

#[test]
#[should_panic(expected = "channels but the convolution takes")]
fn mismatched_channels_are_refused() {
    let s = ImageShape::new(1, 3, 3, 2);
    let conv = Conv2dShape::new(1, 1, 1);
    let mut out = vec![0.0; 9];
    conv_forward(
        &[0.0; 18],
        s,
        conv,
        &[0.0],
        &[0.0],
        &mut Vec::new(),
        &mut out,
    );
}
