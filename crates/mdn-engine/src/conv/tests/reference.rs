//! The convolution and its gradients by their definitions, in f64 on NCHW arrays: what the
//! kernels are tested against.

use super::super::{Conv2dShape, ImageShape};

/// NHWC index of `(n, y, x, c)`.
pub(super) fn nhwc(s: ImageShape, n: usize, y: usize, x: usize, c: usize) -> usize {
    ((n * s.height + y) * s.width + x) * s.channels + c
}

/// NCHW index of `(n, c, y, x)`.
pub(super) fn nchw(s: ImageShape, n: usize, c: usize, y: usize, x: usize) -> usize {
    ((n * s.channels + c) * s.height + y) * s.width + x
}

/// Converts NHWC to NCHW by the index formulas, in f64.
pub(super) fn to_nchw_f64(v: &[f32], s: ImageShape) -> Vec<f64> {
    let mut out = vec![0.0; s.len()];
    for n in 0..s.images {
        for c in 0..s.channels {
            for y in 0..s.height {
                for x in 0..s.width {
                    out[nchw(s, n, c, y, x)] = f64::from(v[nhwc(s, n, y, x, c)]);
                }
            }
        }
    }
    out
}

/// Converts NCHW to NHWC by the index formulas.
pub(super) fn to_nhwc(v: &[f64], s: ImageShape) -> Vec<f64> {
    let mut out = vec![0.0; s.len()];
    for n in 0..s.images {
        for c in 0..s.channels {
            for y in 0..s.height {
                for x in 0..s.width {
                    out[nhwc(s, n, y, x, c)] = v[nchw(s, n, c, y, x)];
                }
            }
        }
    }
    out
}

/// Calls `f(n, co, ci, y, x, ky, kx, yy, xx)` for every term of the convolution whose
/// input position `(yy, xx)` lies inside the image.
pub(super) fn for_each_term(s: ImageShape, conv: Conv2dShape, mut f: impl FnMut([usize; 9])) {
    let (k, pad) = (conv.kernel, conv.padding() as isize);
    for n in 0..s.images {
        for co in 0..conv.c_out {
            for y in 0..s.height {
                for x in 0..s.width {
                    for ci in 0..conv.c_in {
                        for ky in 0..k {
                            for kx in 0..k {
                                let yy = y as isize + ky as isize - pad;
                                let xx = x as isize + kx as isize - pad;
                                if (0..s.height as isize).contains(&yy)
                                    && (0..s.width as isize).contains(&xx)
                                {
                                    f([n, co, ci, y, x, ky, kx, yy as usize, xx as usize]);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn widx(conv: Conv2dShape, co: usize, ci: usize, ky: usize, kx: usize) -> usize {
    ((co * conv.c_in + ci) * conv.kernel + ky) * conv.kernel + kx
}

/// The convolution by its definition, NCHW in f64: the output and, per output, the sum of
/// the absolute values of its terms (the scale of its rounding error).
pub(super) fn conv_reference(
    x: &[f64],
    s: ImageShape,
    conv: Conv2dShape,
    weight: &[f64],
    bias: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let so = s.with_channels(conv.c_out);
    let mut out = vec![0.0; so.len()];
    let mut scale = vec![0.0; so.len()];
    for n in 0..s.images {
        for co in 0..conv.c_out {
            for y in 0..s.height {
                for xx in 0..s.width {
                    out[nchw(so, n, co, y, xx)] = bias[co];
                    scale[nchw(so, n, co, y, xx)] = bias[co].abs();
                }
            }
        }
    }
    for_each_term(s, conv, |[n, co, ci, y, xo, ky, kx, yy, xx]| {
        let term = weight[widx(conv, co, ci, ky, kx)] * x[nchw(s, n, ci, yy, xx)];
        out[nchw(so, n, co, y, xo)] += term;
        scale[nchw(so, n, co, y, xo)] += term.abs();
    });
    (out, scale)
}

/// The gradients of `Σ g ⊙ conv(x)` by their definition, NCHW in f64:
/// `(d_weight, d_bias, d_input)`.
pub(super) fn conv_reference_backward(
    g: &[f64],
    x: &[f64],
    s: ImageShape,
    conv: Conv2dShape,
    weight: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let so = s.with_channels(conv.c_out);
    let mut d_weight = vec![0.0; conv.weight_len()];
    let mut d_bias = vec![0.0; conv.c_out];
    let mut d_input = vec![0.0; s.len()];
    for n in 0..s.images {
        for (co, db) in d_bias.iter_mut().enumerate() {
            for y in 0..s.height {
                for xx in 0..s.width {
                    *db += g[nchw(so, n, co, y, xx)];
                }
            }
        }
    }
    for_each_term(s, conv, |[n, co, ci, y, xo, ky, kx, yy, xx]| {
        let go = g[nchw(so, n, co, y, xo)];
        d_weight[widx(conv, co, ci, ky, kx)] += go * x[nchw(s, n, ci, yy, xx)];
        d_input[nchw(s, n, ci, yy, xx)] += go * weight[widx(conv, co, ci, ky, kx)];
    });
    (d_weight, d_bias, d_input)
}

pub(super) fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&v| f64::from(v)).collect()
}

pub(super) fn assert_close(what: &str, got: &[f32], want: &[f64], scale: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, ((&g, &w), &s)) in got.iter().zip(want).zip(scale).enumerate() {
        let err = (f64::from(g) - w).abs();
        assert!(
            err <= 1e-5 * (1.0 + s),
            "{what}[{i}]: {g} vs {w} (scale {s})"
        );
    }
}

/// The sums of absolute values of the terms of each gradient entry, for tolerances.
pub(super) fn backward_scales(
    g: &[f64],
    x: &[f64],
    s: ImageShape,
    conv: Conv2dShape,
    weight: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let abs = |v: &[f64]| v.iter().map(|v| v.abs()).collect::<Vec<_>>();
    conv_reference_backward(&abs(g), &abs(x), s, conv, &abs(weight))
}
