//! Training steps on the hand-written CPU kernels of `mdn-cpu`.

use mdn_cpu::{LossSums, Session};

use super::pass::{PassTotals, gather_rows, training_totals};
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
    let mut total = LossSums::default();
    for batch in order.chunks(batch_size) {
        x.clear();
        t.clear();
        gather_rows(&data.train_x, d, batch, &mut x);
        gather_rows(&data.train_t, c, batch, &mut t);
        let sums = session.step(&x, &t, batch.len(), lr);
        if !sums.is_finite() {
            return Err(NonFinite);
        }
        total.add(&sums);
    }
    let squared = (!total.squared.is_empty()).then_some(total.squared);
    training_totals(total.loss, squared, order.len())
}
