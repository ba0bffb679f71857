//! The least-squares head: mean squared error per row and its gradient.

use super::{HeadScratch, column, column_mut};
use crate::buffers::{sized, transpose};

/// Least squares: each row's weight × its mean squared error over the c targets into
/// `per_row`, and its weight × squared residual of each target into `squared` (`[rows, c]`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn squared_loss(
    c: usize,
    raw: &[f32],
    rows: usize,
    targets: &[f32],
    weights: Option<&[f32]>,
    mut grad: Option<(&mut [f32], &[f32])>,
    scratch: &mut HeadScratch,
    per_row: &mut [f64],
    squared: &mut [f64],
) {
    let t = sized(&mut scratch.targets, c * rows);
    transpose(targets, rows, c, t);
    let residual = sized(&mut scratch.sum, rows);
    per_row.fill(0.0);
    for j in 0..c {
        for ((e, &p), &t) in residual
            .iter_mut()
            .zip(column(raw, j, rows))
            .zip(column(t, j, rows))
        {
            *e = p - t;
        }
        for (r, &e) in residual.iter().enumerate() {
            let w = weights.map_or(1.0, |w| f64::from(w[r]));
            let s = w * f64::from(e * e);
            squared[r * c + j] = s;
            per_row[r] += s / c as f64;
        }
        if let Some((d_raw, scale)) = &mut grad {
            for ((d, &e), &scale) in column_mut(d_raw, j, rows)
                .iter_mut()
                .zip(&*residual)
                .zip(scale.iter())
            {
                *d = 2.0 * scale / c as f32 * e;
            }
        }
    }
}
