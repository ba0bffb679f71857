//! The least-squares head: mean squared error per row and its gradient.

use super::{HeadScratch, LossSums, column, column_mut};
use crate::buffers::{sized, transpose};

/// Least squares: per-row mean squared error over the c targets.
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
    sums: &mut LossSums,
) {
    let t = sized(&mut scratch.targets, c * rows);
    transpose(targets, rows, c, t);
    let residual = sized(&mut scratch.sum, rows);
    for j in 0..c {
        for ((e, &p), &t) in residual
            .iter_mut()
            .zip(column(raw, j, rows))
            .zip(column(t, j, rows))
        {
            *e = p - t;
        }
        let squared: f64 = match weights {
            None => residual.iter().map(|&e| f64::from(e * e)).sum(),
            Some(w) => residual
                .iter()
                .zip(w)
                .map(|(&e, &w)| f64::from(w) * f64::from(e * e))
                .sum(),
        };
        sums.squared[j] += squared;
        sums.loss += squared / c as f64;
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
