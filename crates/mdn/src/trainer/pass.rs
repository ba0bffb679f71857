//! Loss totals of a pass over rows, in standardised units, and the Gaussian NLL that lets the
//! least-squares network be scored beside an MDN.

use mdn_engine::{LossSums, Network};

/// Loss sums of one pass, in standardised units.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct PassTotals {
    /// Σ over rows of the per-row loss (NLL for an MDN, mean squared error over the target
    /// dimensions for least squares).
    pub(super) loss: f64,
    /// Σ over rows of the negative log-likelihood.
    pub(super) nll: f64,
    /// Σ squared residual per target dimension: `Some` for least squares only.
    pub(super) squared: Option<Vec<f64>>,
    pub(super) rows: usize,
    /// Σ of the rows' weights (`rows` without weights): the sums above are weighted by them,
    /// and means are over it.
    pub(super) weight: f64,
}

/// A non-finite loss met in a training step or validation pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NonFinite;

impl PassTotals {
    pub(super) fn mean_loss(&self) -> f64 {
        self.loss / self.weight
    }

    pub(super) fn mean_nll(&self) -> f64 {
        self.nll / self.weight
    }

    /// The totals, or [`NonFinite`] if the loss or NLL is not finite.
    pub(super) fn finite(self) -> Result<Self, NonFinite> {
        if self.loss.is_finite() && self.nll.is_finite() {
            Ok(self)
        } else {
            Err(NonFinite)
        }
    }

    /// The totals of a training pass from the engine's sums: an MDN's loss is its NLL; for
    /// least squares the NLL uses σ fitted to the pass's own residuals. [`NonFinite`] if
    /// anything is not finite.
    pub(super) fn of_training(sums: LossSums) -> Result<Self, NonFinite> {
        let mut totals = PassTotals {
            loss: sums.loss,
            nll: sums.loss,
            squared: (!sums.squared.is_empty()).then_some(sums.squared),
            rows: sums.rows,
            weight: sums.weight,
        };
        if totals.squared.is_some() {
            totals.nll = gaussian_nll(&totals, &residual_std(&totals)) * totals.weight;
        }
        totals.finite()
    }

    /// Loss totals of `network` over standardised `(inputs, targets)` rows. Least-squares NLL
    /// needs the residual σ; without it only the loss is computed.
    pub(super) fn of_network(
        network: &Network,
        (x, t, w): (&[f32], &[f32], Option<&[f32]>),
        residual: Option<&[f64]>,
    ) -> Self {
        let c = network.architecture().target_dim();
        let rows = t.len() / c;
        let sums = network.loss(x, t, w, rows);
        let mut totals = PassTotals {
            rows,
            weight: sums.weight,
            nll: sums.loss,
            squared: (!sums.squared.is_empty()).then_some(sums.squared),
            ..Default::default()
        };
        match &totals.squared {
            Some(squared) => {
                totals.loss = squared.iter().sum::<f64>() / c as f64;
                totals.nll =
                    residual.map_or(f64::NAN, |r| gaussian_nll(&totals, r) * totals.weight);
            }
            None => totals.loss = totals.nll,
        }
        totals
    }
}

/// Appends rows `rows` of a row-major matrix with `width` columns to `out`: a batch.
pub(super) fn gather_rows(values: &[f32], width: usize, rows: &[usize], out: &mut Vec<f32>) {
    let start = out.len();
    out.resize(start + rows.len() * width, 0.0);
    let out = &mut out[start..];
    if width == 1 {
        // One value a row (the usual target, or a weight): a plain gather, not a copy call
        // per row.
        for (o, &r) in out.iter_mut().zip(rows) {
            *o = values[r];
        }
        return;
    }
    for (o, &r) in out.chunks_exact_mut(width).zip(rows) {
        o.copy_from_slice(&values[r * width..(r + 1) * width]);
    }
}

/// Per-dimension standard deviation of least-squares residuals (floored so that a perfect
/// fit still has a density).
pub(super) fn residual_std(totals: &PassTotals) -> Vec<f64> {
    let squared = totals.squared.as_deref().unwrap_or(&[]);
    squared
        .iter()
        .map(|s| (s / totals.weight.max(f64::MIN_POSITIVE)).sqrt().max(1e-6))
        .collect()
}

/// Mean Gaussian NLL per row of least-squares residuals with per-dimension σ (standardised
/// units).
pub(super) fn gaussian_nll(totals: &PassTotals, sigma: &[f64]) -> f64 {
    let n = totals.weight;
    let squared = totals.squared.as_deref().unwrap_or(&[]);
    squared
        .iter()
        .zip(sigma)
        .map(|(s, sd)| 0.5 * (2.0 * std::f64::consts::PI * sd * sd).ln() + 0.5 * s / n / (sd * sd))
        .sum()
}
