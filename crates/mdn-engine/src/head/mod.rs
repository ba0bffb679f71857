//! The output layers' losses, fused with their backward pass: the hot path of MDN training.
//!
//! The head's raw outputs arrive **feature-major**: output unit `w` of row `r` at
//! `raw[w * rows + r]` (the GEMM writes them that way at no cost). Every quantity below is then
//! a contiguous column over the rows, and each step of the mixture density — log-softmax of the
//! logits, σ = floor + softplus(z), the component log densities, logsumexp and, for training,
//! every gradient — is one loop over the rows that the compiler vectorises. A tensor framework
//! does the same arithmetic as some sixty separate operations, each a pass over memory.
//!
//! # Formula
//! With log α = log_softmax(z_α), σ = σ_min + softplus(z_σ) and δ_i = t − μ_i:
//!
//! ```text
//! log φ_i = −½ ‖L_i⁻¹ δ_i‖² − Σ_j log L_i,jj − (c/2) log 2π     (isotropic: L_i = σ_i I)
//! log p(t|x) = logsumexp_i (log α_i + log φ_i)
//! ```
//!
//! and with the responsibilities r_i = α_i φ_i / p, y_i = L_i⁻¹ δ_i and u_i = L_i⁻ᵀ y_i, the
//! gradients of −log p are
//!
//! ```text
//! ∂/∂z_α,i = α_i − r_i      ∂/∂μ_i = −r_i u_i      ∂/∂L_i,jk = −r_i (u_ij y_ik − [j = k] / L_i,jj)
//! ```
//!
//! times softplus′(z) = sigmoid(z) for the entries that go through the softplus.

mod mixture;
mod squared;

use crate::arch::Head;
use crate::buffers::{sized, transpose};
use crate::vectorized;
use mdn_mixture::CovarianceKind;
use mixture::MixtureShape;

/// Sums of the loss over the rows of one or more passes, each row counted with its weight
/// (1 without weights).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LossSums {
    /// Σ over rows of weight × the per-row loss: −log p(t|x) for a mixture (standardised
    /// units), the mean squared error over target dimensions for least squares.
    pub loss: f64,
    /// Least squares: Σ over rows of weight × the squared residual, per target dimension.
    pub squared: Vec<f64>,
    /// Rows summed.
    pub rows: usize,
    /// Σ of the rows' weights (`rows` without weights): what the sums are means over.
    pub weight: f64,
}

/// 2⁵³: every whole number below it is an f64, exactly.
const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

impl LossSums {
    /// Adds rows' contributions one row at a time, in order: `loss[r]` (weight × loss of row
    /// `r`), `squared[r·c..]` (least squares: weight × squared residuals, empty otherwise)
    /// and the weights. Sums built this way from the same rows are the same bits however
    /// the rows were split into calls.
    pub(crate) fn add_rows(&mut self, loss: &[f64], squared: &[f64], weights: Option<&[f32]>) {
        let rows = loss.len();
        for &l in loss {
            self.loss += l;
        }
        if !squared.is_empty() {
            let c = squared.len() / rows.max(1);
            if self.squared.len() < c {
                self.squared.resize(c, 0.0);
            }
            for row in squared.chunks_exact(c.max(1)) {
                for (acc, &v) in self.squared.iter_mut().zip(row) {
                    *acc += v;
                }
            }
        }
        self.rows += rows;
        match weights {
            // Adding 1 to a whole number below 2⁵³ is exact, so `rows` additions of 1 are the
            // one addition of `rows` — instead of a chain of dependent additions as long as
            // the batch (2% of a full-batch step on 10,000 rows), with the same bits.
            None if self.weight.fract() == 0.0 && self.weight + (rows as f64) < EXACT_INTEGERS => {
                self.weight += rows as f64;
            }
            None => {
                for _ in 0..rows {
                    self.weight += 1.0;
                }
            }
            Some(w) => {
                for &w in w {
                    self.weight += f64::from(w);
                }
            }
        }
    }

    /// Adds another pass's sums.
    pub fn add(&mut self, other: &LossSums) {
        self.loss += other.loss;
        self.rows += other.rows;
        self.weight += other.weight;
        if self.squared.len() < other.squared.len() {
            self.squared.resize(other.squared.len(), 0.0);
        }
        for (acc, v) in self.squared.iter_mut().zip(&other.squared) {
            *acc += v;
        }
    }

    /// Whether every sum is finite.
    pub fn is_finite(&self) -> bool {
        self.loss.is_finite() && self.squared.iter().all(|s| s.is_finite())
    }
}

/// Reusable buffers of the head computations.
#[derive(Debug, Default, Clone)]
pub struct HeadScratch {
    pub(super) log_alpha: Vec<f32>,
    pub(super) sigma: Vec<f32>,
    pub(super) slope: Vec<f32>,
    pub(super) joint: Vec<f32>,
    pub(super) solved: Vec<f32>,
    pub(super) targets: Vec<f32>,
    pub(super) max: Vec<f32>,
    pub(super) sum: Vec<f32>,
    pub(super) row_scale: Vec<f32>,
    /// Each row's contribution to [`LossSums::loss`] (its weight × its loss).
    pub(super) row_loss: Vec<f64>,
    /// Least squares: each row's contributions to [`LossSums::squared`], `[rows, c]`.
    pub(super) row_squared: Vec<f64>,
}

impl HeadScratch {
    /// What the last [`loss_rows`] left: each row's weighted loss and (least squares) its
    /// weighted squared residuals, `[rows, c]`.
    pub(crate) fn row_losses(&self) -> (&[f64], &[f64]) {
        (&self.row_loss, &self.row_squared)
    }
}

/// Mixture parameters of a batch, row-major, in the head's (standardised) units.
#[derive(Debug, Clone, PartialEq)]
pub struct MixtureParams {
    /// Rows.
    pub rows: usize,
    /// Components m.
    pub components: usize,
    /// Target dimension c.
    pub target_dim: usize,
    /// The covariance kind, which says how to read `sigma` and `lower`.
    pub covariance: CovarianceKind,
    /// log α, `[rows, m]`.
    pub log_alpha: Vec<f32>,
    /// Means, `[rows, m, c]`.
    pub means: Vec<f32>,
    /// σ, `[rows, m]` (isotropic) or `[rows, m, c]` (diagonal); the Cholesky diagonal
    /// `[rows, m, c]` for full covariance.
    pub sigma: Vec<f32>,
    /// Full covariance: the strictly lower Cholesky entries, `[rows, m, c(c−1)/2]`, row by
    /// row ((1,0), (2,0), (2,1), …); empty otherwise.
    pub lower: Vec<f32>,
}

/// What the head predicts for a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum HeadOutput {
    /// A Gaussian mixture per row.
    Mixture(MixtureParams),
    /// Least squares: the conditional mean, `[rows, c]` row-major.
    Point(Vec<f32>),
}

/// Column `w` of a feature-major `[width, rows]` buffer.
#[inline(always)]
pub(super) fn column(buffer: &[f32], w: usize, rows: usize) -> &[f32] {
    &buffer[w * rows..(w + 1) * rows]
}

/// Mutable column `w` of a feature-major buffer.
#[inline(always)]
pub(super) fn column_mut(buffer: &mut [f32], w: usize, rows: usize) -> &mut [f32] {
    &mut buffer[w * rows..(w + 1) * rows]
}

/// The loss of a batch under the head, each row's multiplied by its weight (1 where
/// `weights` is `None`), added to `sums` row by row; with `grad = Some((d_raw, scale))` also
/// writes `scale` × the gradient of that weighted sum with respect to the raw outputs into
/// `d_raw`.
///
/// # Shapes
/// - `raw`, `d_raw`: `[head.width(), rows]`, feature-major
/// - `targets`: `[rows, c]`, row-major; `weights`: `[rows]`
#[allow(clippy::too_many_arguments)]
pub fn loss(
    head: &Head,
    raw: &[f32],
    rows: usize,
    targets: &[f32],
    weights: Option<&[f32]>,
    grad: Option<(&mut [f32], f32)>,
    scratch: &mut HeadScratch,
    sums: &mut LossSums,
) {
    loss_rows(head, raw, rows, targets, weights, grad, scratch);
    let (loss, squared) = scratch.row_losses();
    if let Head::LeastSquares { target_dim } = *head
        && sums.squared.len() < target_dim
    {
        sums.squared.resize(target_dim, 0.0);
    }
    sums.add_rows(loss, squared, weights);
}

/// [`loss`] without the sums: leaves each row's weighted loss (and least-squares residuals)
/// in `scratch` ([`HeadScratch::row_losses`]), so that the caller can add them up in row
/// order across calls.
pub(crate) fn loss_rows(
    head: &Head,
    raw: &[f32],
    rows: usize,
    targets: &[f32],
    weights: Option<&[f32]>,
    grad: Option<(&mut [f32], f32)>,
    scratch: &mut HeadScratch,
) {
    assert_eq!(raw.len(), head.width() * rows, "raw head outputs");
    assert_eq!(targets.len(), head.target_dim() * rows, "targets");
    if let Some((d_raw, _)) = &grad {
        assert_eq!(d_raw.len(), raw.len(), "head gradient");
    }
    if let Some(w) = weights {
        assert_eq!(w.len(), rows, "one weight per row");
    }
    // The gradient's scale per row: `scale`, times the row's weight. Without weights every
    // row's is `scale` itself, so the weighted path computes the same bits.
    let mut row_scale = std::mem::take(&mut scratch.row_scale);
    let grad = grad.map(|(d_raw, scale)| {
        let per_row = sized(&mut row_scale, rows);
        match weights {
            Some(w) => per_row.iter_mut().zip(w).for_each(|(s, &w)| *s = scale * w),
            None => per_row.fill(scale),
        }
        d_raw
    });
    let mut row_loss = std::mem::take(&mut scratch.row_loss);
    let mut row_squared = std::mem::take(&mut scratch.row_squared);
    let per_row = sized(&mut row_loss, rows);
    match *head {
        Head::Mixture {
            target_dim,
            components,
            covariance,
            min_sigma,
        } => {
            let shape = MixtureShape {
                m: components,
                c: target_dim,
                covariance,
                min_sigma,
            };
            row_squared.clear();
            let grad = grad.map(|d_raw| (d_raw, &row_scale[..rows]));
            vectorized!(mixture::mixture_loss(
                shape, raw, rows, targets, weights, grad, scratch, per_row
            ),);
        }
        Head::LeastSquares { target_dim } => {
            let squared = sized(&mut row_squared, rows * target_dim);
            let grad = grad.map(|d_raw| (d_raw, &row_scale[..rows]));
            vectorized!(squared::squared_loss(
                target_dim, raw, rows, targets, weights, grad, scratch, per_row, squared
            ),);
        }
    }
    scratch.row_scale = row_scale;
    scratch.row_loss = row_loss;
    scratch.row_squared = row_squared;
}

/// The head's prediction for a batch: mixture parameters or point predictions, row-major.
///
/// # Shapes
/// - `raw`: `[head.width(), rows]`, feature-major
pub fn predict(head: &Head, raw: &[f32], rows: usize, scratch: &mut HeadScratch) -> HeadOutput {
    assert_eq!(raw.len(), head.width() * rows, "raw head outputs");
    match *head {
        Head::LeastSquares { target_dim: c } => {
            let mut out = vec![0.0; rows * c];
            for j in 0..c {
                for (r, &v) in column(raw, j, rows).iter().enumerate() {
                    out[r * c + j] = v;
                }
            }
            HeadOutput::Point(out)
        }
        Head::Mixture {
            target_dim: c,
            components: m,
            covariance,
            min_sigma,
        } => {
            let shape = MixtureShape {
                m,
                c,
                covariance,
                min_sigma,
            };
            HeadOutput::Mixture(vectorized!(mixture::mixture_params(
                shape, raw, rows, scratch
            ),))
        }
    }
}

/// `[width, rows]` feature-major → `[rows, width]` row-major.
pub(super) fn to_row_major(columns: &[f32], width: usize, rows: usize) -> Vec<f32> {
    let mut out = vec![0.0; width * rows];
    transpose(columns, width, rows, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::LossSums;

    /// The weights' sum taken one row at a time, as `add_rows` defines it.
    fn weight_one_at_a_time(calls: &[(usize, Option<Vec<f32>>)]) -> f64 {
        let mut weight = 0.0f64;
        for (rows, w) in calls {
            match w {
                None => (0..*rows).for_each(|_| weight += 1.0),
                Some(w) => w.iter().for_each(|&w| weight += f64::from(w)),
            }
        }
        weight
    }

    #[test]
    fn unweighted_rows_add_their_count_with_the_bits_of_one_at_a_time() {
        let cases: Vec<Vec<(usize, Option<Vec<f32>>)>> = vec![
            vec![(10_000, None), (3, None)],
            // A fractional sum first: the count may not be added at once.
            vec![(2, Some(vec![0.1, 0.7])), (1_000, None), (5, None)],
            vec![(1, Some(vec![2.0])), (7, None)],
            vec![(0, None)],
        ];
        for calls in cases {
            let mut sums = LossSums::default();
            for (rows, w) in &calls {
                sums.add_rows(&vec![0.5; *rows], &[], w.as_deref());
            }
            let want = weight_one_at_a_time(&calls);
            assert_eq!(sums.weight.to_bits(), want.to_bits(), "{calls:?}");
            assert_eq!(sums.rows, calls.iter().map(|c| c.0).sum::<usize>());
        }
    }
}
