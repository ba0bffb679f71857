//! Training steps on Burn's tensors and autodiff (the general engine, on any device).

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;

use super::pass::{PassTotals, gather_rows, training_totals};
use super::{NonFinite, Prepared};
use crate::network::{Network, Prediction};

/// One pass of mini-batch Adam over the training rows in `order`.
pub(super) fn train_epoch(
    network: &mut Network,
    optimizer: &mut ModuleOptimizer,
    data: &Prepared,
    order: &[usize],
    batch_size: usize,
    lr: f64,
    device: &Device,
) -> Result<PassTotals, NonFinite> {
    let (d, c) = (data.input_dim, data.target_dim);
    let mut loss_sum = 0.0;
    // Least squares: squared residuals per target, summed on the device to avoid a second
    // host round-trip per step.
    let mut squared_sum: Option<Tensor<2>> = None;
    for batch in order.chunks(batch_size) {
        let x = gather(&data.train_x, d, batch, device);
        let t = gather(&data.train_t, c, batch, device);
        let loss = match network.forward(x) {
            Prediction::Mixture(mixture) => mixture.nll(t),
            Prediction::Point(mean) => {
                let squared = (mean - t).powi_scalar(2);
                let per_dim = squared.clone().detach().sum_dim(0);
                squared_sum = Some(match squared_sum.take() {
                    Some(sum) => sum + per_dim,
                    None => per_dim,
                });
                squared.mean()
            }
        };
        let value = f64::from(loss.clone().into_scalar::<f32>());
        if !value.is_finite() {
            return Err(NonFinite);
        }
        loss_sum += value * batch.len() as f64;
        let grads = GradientsParams::from_grads(loss.backward(), &*network);
        *network = optimizer.step(lr, network.clone(), grads);
    }
    let squared = squared_sum.map(|sum| sum.into_data().iter::<f64>().collect());
    training_totals(loss_sum, squared, order.len())
}

/// Rows `rows` of a row-major f32 matrix with `width` columns, as a tensor on `device`.
fn gather(values: &[f32], width: usize, rows: &[usize], device: &Device) -> Tensor<2> {
    let mut batch = Vec::with_capacity(rows.len() * width);
    gather_rows(values, width, rows, &mut batch);
    Tensor::from_data(TensorData::new(batch, [rows.len(), width]), device)
}
