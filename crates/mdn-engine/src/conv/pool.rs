//! 2 × 2 max-pooling, forward and backward.

use super::shape::ImageShape;
use crate::vectorized;

/// 2 × 2 max-pool with stride 2 in floor mode (an odd last row or column is dropped), on NHWC.
///
/// `argmax[i]` receives the index into `input` of the maximum of output element `i`'s window;
/// ties go to the first in window order `(0,0), (0,1), (1,0), (1,1)`. The comparisons are
/// strict `>`, so a NaN is the result only when it is the window's first element.
///
/// # Shapes
/// - `input`: NHWC, `shape`
/// - `out`, `argmax`: NHWC, `shape.pooled()`, overwritten
///
/// # Panics
/// If a length disagrees with the shapes, or `input` has more than 2³² entries.
pub fn maxpool2_forward(input: &[f32], shape: ImageShape, out: &mut [f32], argmax: &mut [u32]) {
    let pooled = shape.pooled();
    assert_eq!(
        input.len(),
        shape.len(),
        "maxpool2_forward: the input does not have shape {shape:?}"
    );
    assert_eq!(
        out.len(),
        pooled.len(),
        "maxpool2_forward: out must have shape {pooled:?}"
    );
    assert_eq!(
        argmax.len(),
        pooled.len(),
        "maxpool2_forward: argmax must have shape {pooled:?}"
    );
    assert!(
        u32::try_from(input.len()).is_ok(),
        "maxpool2_forward: argmax indices are u32, the input has {} entries",
        input.len()
    );
    if pooled.is_empty() {
        return;
    }
    let (h, w, c) = (shape.height, shape.width, shape.channels);
    let row = w * c;
    vectorized!({
        let outputs = out
            .chunks_exact_mut(pooled.width * c)
            .zip(argmax.chunks_exact_mut(pooled.width * c));
        for (oy_all, (out_row, arg_row)) in outputs.enumerate() {
            let (n, oy) = (oy_all / pooled.height, oy_all % pooled.height);
            let top = (n * h + 2 * oy) * row;
            let bottom = top + row;
            let (top_row, bottom_row) = (&input[top..top + row], &input[bottom..bottom + row]);
            let pixels = out_row.chunks_exact_mut(c).zip(arg_row.chunks_exact_mut(c));
            for (ox, (o, a)) in pixels.enumerate() {
                let x = 2 * ox * c;
                let (v00, v01) = (&top_row[x..x + c], &top_row[x + c..x + 2 * c]);
                let (v10, v11) = (&bottom_row[x..x + c], &bottom_row[x + c..x + 2 * c]);
                let i00 = (top + x) as u32;
                let (i01, i10, i11) = (i00 + c as u32, i00 + row as u32, i00 + (row + c) as u32);
                for ci in 0..c {
                    let (mut m, mut i) = (v00[ci], i00);
                    if v01[ci] > m {
                        (m, i) = (v01[ci], i01);
                    }
                    if v10[ci] > m {
                        (m, i) = (v10[ci], i10);
                    }
                    if v11[ci] > m {
                        (m, i) = (v11[ci], i11);
                    }
                    o[ci] = m;
                    a[ci] = i + ci as u32;
                }
            }
        }
    },);
}

/// Backward pass of [`maxpool2_forward`]: overwrites `d_input` with zeros, then adds `d_out[i]`
/// at `argmax[i]`.
///
/// # Shapes
/// - `d_out`, `argmax`: the pool's output shape
/// - `d_input`: the pool's input shape
///
/// # Panics
/// If `d_out` and `argmax` differ in length or an index is out of range.
pub fn maxpool2_backward(d_out: &[f32], argmax: &[u32], d_input: &mut [f32]) {
    assert_eq!(
        d_out.len(),
        argmax.len(),
        "maxpool2_backward: d_out and argmax must have the same length"
    );
    d_input.fill(0.0);
    for (&g, &i) in d_out.iter().zip(argmax) {
        d_input[i as usize] += g;
    }
}
