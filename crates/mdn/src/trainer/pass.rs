//! Loss totals of a pass over rows, in standardised units, and the Gaussian NLL that lets the
//! least-squares network be scored beside an MDN.

use burn::prelude::*;

use super::{NonFinite, Prepared};
use crate::network::{Network, Prediction};

/// Loss sums of one pass, in standardised units.
#[derive(Default)]
pub(super) struct PassTotals {
    /// Σ over rows of the per-row loss (NLL for an MDN, mean squared error over the target
    /// dimensions for least squares).
    pub(super) loss: f64,
    /// Σ over rows of the negative log-likelihood.
    pub(super) nll: f64,
    /// Σ squared residual per target dimension: `Some` for least squares only.
    pub(super) squared: Option<Vec<f64>>,
    pub(super) rows: usize,
}

impl PassTotals {
    pub(super) fn mean_loss(&self) -> f64 {
        self.loss / self.rows as f64
    }

    pub(super) fn mean_nll(&self) -> f64 {
        self.nll / self.rows as f64
    }

    /// The totals, or [`NonFinite`] if the loss or NLL is not finite.
    pub(super) fn finite(self) -> Result<Self, NonFinite> {
        if self.loss.is_finite() && self.nll.is_finite() {
            Ok(self)
        } else {
            Err(NonFinite)
        }
    }
}

/// The totals of a training pass: `loss` summed over its rows (an MDN's is its NLL) and, for
/// least squares, the squared residuals per target, whose NLL then uses σ fitted to those same
/// residuals; [`NonFinite`] if anything is not finite.
pub(super) fn training_totals(
    loss: f64,
    squared: Option<Vec<f64>>,
    rows: usize,
) -> Result<PassTotals, NonFinite> {
    let mut totals = PassTotals {
        loss,
        nll: loss,
        squared,
        rows,
    };
    if totals.squared.is_some() {
        totals.nll = gaussian_nll(&totals, &residual_std(&totals)) * rows as f64;
    }
    totals.finite()
}

/// Appends rows `rows` of a row-major matrix with `width` columns to `out`: a batch.
pub(super) fn gather_rows(values: &[f32], width: usize, rows: &[usize], out: &mut Vec<f32>) {
    for &r in rows {
        out.extend_from_slice(&values[r * width..(r + 1) * width]);
    }
}

/// Per-dimension standard deviation of least-squares residuals (floored so that a perfect
/// fit still has a density).
pub(super) fn residual_std(totals: &PassTotals) -> Vec<f64> {
    let squared = totals.squared.as_deref().unwrap_or(&[]);
    squared
        .iter()
        .map(|s| (s / totals.rows.max(1) as f64).sqrt().max(1e-6))
        .collect()
}

/// Mean Gaussian NLL per row of least-squares residuals with per-dimension σ (standardised
/// units).
pub(super) fn gaussian_nll(totals: &PassTotals, sigma: &[f64]) -> f64 {
    let n = totals.rows as f64;
    let squared = totals.squared.as_deref().unwrap_or(&[]);
    squared
        .iter()
        .zip(sigma)
        .map(|(s, sd)| 0.5 * (2.0 * std::f64::consts::PI * sd * sd).ln() + 0.5 * s / n / (sd * sd))
        .sum()
}

/// Loss totals of an inference-mode network over standardised `(inputs, targets)` rows, in
/// chunks. Least-squares NLL needs the residual σ; without it only the loss is computed.
pub(super) fn pass_totals(
    network: &Network,
    (x, t): (&[f32], &[f32]),
    data: &Prepared,
    device: &Device,
    residual: Option<&[f64]>,
) -> PassTotals {
    let (d, c) = (data.input_dim, data.target_dim);
    let rows = t.len() / c;
    let mut totals = PassTotals {
        rows,
        ..Default::default()
    };
    let chunk = crate::model::PREDICT_CHUNK_ROWS;
    for start in (0..rows).step_by(chunk) {
        let end = (start + chunk).min(rows);
        let xs = TensorData::new(x[start * d..end * d].to_vec(), [end - start, d]);
        let ts = TensorData::new(t[start * c..end * c].to_vec(), [end - start, c]);
        let ts = Tensor::<2>::from_data(ts, device);
        match network.forward(Tensor::from_data(xs, device)) {
            Prediction::Mixture(mixture) => {
                let log_lik = mixture.log_likelihood(ts).sum().into_scalar::<f32>();
                totals.nll -= f64::from(log_lik);
            }
            Prediction::Point(mean) => {
                let per_dim = (mean - ts).powi_scalar(2).sum_dim(0).into_data();
                let squared = totals.squared.get_or_insert_with(|| vec![0.0; c]);
                for (acc, v) in squared.iter_mut().zip(per_dim.iter::<f64>()) {
                    *acc += v;
                }
            }
        }
    }
    complete(totals, c, residual)
}

/// The same as [`pass_totals`] on the CPU kernels.
pub(super) fn cpu_pass_totals(
    network: &mdn_cpu::Network,
    (x, t): (&[f32], &[f32]),
    data: &Prepared,
    residual: Option<&[f64]>,
) -> PassTotals {
    let c = data.target_dim;
    let rows = t.len() / c;
    let sums = network.loss(x, t, rows);
    let totals = PassTotals {
        rows,
        nll: sums.loss,
        squared: (!sums.squared.is_empty()).then_some(sums.squared),
        ..Default::default()
    };
    complete(totals, c, residual)
}

/// Fills in the loss (and for least squares the NLL) from what a pass summed: an MDN's loss
/// is its NLL; least squares' loss is the mean squared error and its NLL that of a Gaussian
/// with σ `residual`.
fn complete(mut totals: PassTotals, c: usize, residual: Option<&[f64]>) -> PassTotals {
    match &totals.squared {
        Some(squared) => {
            totals.loss = squared.iter().sum::<f64>() / c as f64;
            let rows = totals.rows as f64;
            totals.nll = residual.map_or(f64::NAN, |r| gaussian_nll(&totals, r) * rows);
        }
        None => totals.loss = totals.nll,
    }
    totals
}
