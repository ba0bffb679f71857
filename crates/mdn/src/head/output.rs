//! Mixture parameters as tensors, and the log-likelihood of targets under them.

use burn::prelude::*;
use std::f64::consts::PI;

/// Scale parameters of the mixture components, one variant per covariance kind.
#[derive(Debug, Clone)]
// Burn's tensor handle is large; the variants differ only in how many they hold.
#[allow(clippy::large_enum_variant)]
pub enum Scale {
    /// One standard deviation per component, Σ_i = σ_i² I.
    Isotropic {
        /// `[batch, m]`, positive.
        sigma: Tensor<2>,
    },
    /// One standard deviation per component and target dimension, Σ_i = diag(σ_i)².
    Diagonal {
        /// `[batch, m, c]`, positive.
        sigma: Tensor<3>,
    },
    /// A lower-triangular Cholesky factor L_i per component, Σ_i = L_i L_iᵀ.
    Cholesky {
        /// The diagonal of L, `[batch, m, c]`, positive.
        diagonal: Tensor<3>,
        /// The strictly lower entries of L, `[batch, m, c(c−1)/2]`, row by row:
        /// (1,0), (2,0), (2,1), (3,0), …
        lower: Tensor<3>,
    },
}

/// The Gaussian mixture p(t|x) for each example of a batch.
#[derive(Debug, Clone)]
pub struct MixtureOutput {
    /// Log mixing coefficients, `[batch, m]`; each row's exponentials sum to 1.
    pub log_alpha: Tensor<2>,
    /// Component means, `[batch, m, c]`.
    pub means: Tensor<3>,
    /// Component scales.
    pub scale: Scale,
}

/// Index of the strictly lower Cholesky entry (row, col), col < row, in [`Scale::Cholesky`]'s
/// `lower` tensor.
pub(crate) fn lower_index(row: usize, col: usize) -> usize {
    row * (row - 1) / 2 + col
}

impl MixtureOutput {
    /// Log-likelihood log p(t|x) of each example's target.
    ///
    /// # Formula
    /// log p(t|x) = logsumexp_i ( log α_i + log N(t; μ_i, Σ_i) ), with the maximum over
    /// components subtracted before exponentiating so that neither far-away targets nor tiny
    /// σ overflow or underflow to −∞.
    ///
    /// # Shapes
    /// - `targets`: `[batch, c]`
    /// - output: `[batch]`
    pub fn log_likelihood(&self, targets: Tensor<2>) -> Tensor<1> {
        let joint = self.log_alpha.clone() + self.component_log_density(targets);
        let [batch, _] = joint.dims();
        // The shift by the row maximum is exact for the value and the gradient
        // (d/dx of log Σ exp(x − M) + M is softmax(x) whatever M is), so nothing is detached.
        let max = joint.clone().max_dim(1);
        let lse = (joint - max.clone()).exp().sum_dim(1).log() + max;
        lse.reshape([batch])
    }

    /// Mean negative log-likelihood of the batch: the training loss.
    ///
    /// # Shapes
    /// - `targets`: `[batch, c]`
    /// - output: `[1]`
    pub fn nll(&self, targets: Tensor<2>) -> Tensor<1> {
        self.log_likelihood(targets).mean().neg()
    }

    /// log N(t; μ_i, Σ_i) for each example and component.
    ///
    /// # Shapes
    /// - `targets`: `[batch, c]`
    /// - output: `[batch, m]`
    pub fn component_log_density(&self, targets: Tensor<2>) -> Tensor<2> {
        let [batch, m, c] = self.means.dims();
        let diff = targets.unsqueeze_dim::<3>(1) - self.means.clone(); // [batch, m, c]
        let half_log_2pi = 0.5 * (2.0 * PI).ln();
        let constant = -(c as f64) * half_log_2pi;
        match &self.scale {
            Scale::Isotropic { sigma } => {
                let squared = diff.powi_scalar(2).sum_dim(2).reshape([batch, m]);
                let variance = sigma.clone().powi_scalar(2);
                (squared / variance).mul_scalar(-0.5) - sigma.clone().log().mul_scalar(c as f64)
                    + constant
            }
            Scale::Diagonal { sigma } => {
                let z = diff / sigma.clone();
                let mahalanobis = z.powi_scalar(2).sum_dim(2).reshape([batch, m]);
                let log_det = sigma.clone().log().sum_dim(2).reshape([batch, m]);
                mahalanobis.mul_scalar(-0.5) - log_det + constant
            }
            Scale::Cholesky { diagonal, lower } => {
                // Solve L z = t − μ by forward substitution, one target dimension at a time;
                // c is small, so a loop of batched tensor ops is cheap.
                let column = |t: &Tensor<3>, j: usize| t.clone().slice([0..batch, 0..m, j..j + 1]);
                let mut z: Vec<Tensor<3>> = Vec::with_capacity(c);
                for row in 0..c {
                    let mut rhs = column(&diff, row);
                    for (col, z_col) in z.iter().enumerate() {
                        rhs = rhs - column(lower, lower_index(row, col)) * z_col.clone();
                    }
                    z.push(rhs / column(diagonal, row));
                }
                let mahalanobis = Tensor::cat(z, 2)
                    .powi_scalar(2)
                    .sum_dim(2)
                    .reshape([batch, m]);
                let log_det = diagonal.clone().log().sum_dim(2).reshape([batch, m]);
                mahalanobis.mul_scalar(-0.5) - log_det + constant
            }
        }
    }

    /// Number of examples in the batch.
    pub fn batch_size(&self) -> usize {
        self.log_alpha.dims()[0]
    }
}
