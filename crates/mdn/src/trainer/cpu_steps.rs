//! Training steps on the hand-written CPU kernels of `mdn-cpu`.

use mdn_cpu::Session;

use super::pass::{PassTotals, gaussian_nll, residual_std};
use super::{NonFinite, Prepared};

/// One pass of mini-batch Adam over the training rows in `order`: the same batches, loss and
/// optimiser as the Burn engine's pass.
pub(super) fn train_epoch(
    session: &mut Session,
    data: &Prepared,
    order: &[usize],
    batch_size: usize,
    lr: f64,
) -> Result<PassTotals, NonFinite> {
    let (d, c) = (data.input_dim, data.target_dim);
    let mut x = Vec::with_capacity(batch_size * d);
    let mut t = Vec::with_capacity(batch_size * c);
    let mut loss = 0.0;
    let mut squared: Option<Vec<f64>> = None;
    for batch in order.chunks(batch_size) {
        x.clear();
        t.clear();
        for &r in batch {
            x.extend_from_slice(&data.train_x[r * d..(r + 1) * d]);
            t.extend_from_slice(&data.train_t[r * c..(r + 1) * c]);
        }
        let sums = session.step(&x, &t, batch.len(), lr);
        if !sums.is_finite() {
            return Err(NonFinite);
        }
        loss += sums.loss;
        if !sums.squared.is_empty() {
            let total = squared.get_or_insert_with(|| vec![0.0; c]);
            for (acc, s) in total.iter_mut().zip(&sums.squared) {
                *acc += s;
            }
        }
    }
    let mut totals = PassTotals {
        loss,
        nll: loss,
        squared,
        rows: order.len(),
    };
    if totals.squared.is_some() {
        totals.nll = gaussian_nll(&totals, &residual_std(&totals)) * totals.rows as f64;
    }
    totals.finite()
}
