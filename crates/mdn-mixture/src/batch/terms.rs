//! The joint log density log α_k + log N(t; μ_k, Σ_k) of one component at a block of points,
//! written with loops over points innermost so that they are contiguous and vectorise.

use crate::covariance::{CovarianceKind, InverseScale};
use crate::mixture::GaussianMixture;

/// Scratch for evaluating component terms block by block, allocated once per batch call.
pub(super) struct BlockScratch<'m> {
    mixture: &'m GaussianMixture,
    /// The block's points transposed, dimension j at `j·len..`: empty in one dimension, where
    /// the points already are one contiguous column.
    columns: Vec<f64>,
    /// z = L_k⁻¹ (t − μ_k) for a block (full covariances in two or more dimensions only),
    /// laid out like `columns`.
    solved: Vec<f64>,
}

/// One block of points, ready for [`Block::joint_log_densities`].
pub(super) struct Block<'a> {
    mixture: &'a GaussianMixture,
    /// Dimension j of point i at `j·len + i`.
    columns: &'a [f64],
    solved: &'a mut [f64],
    len: usize,
}

impl<'m> BlockScratch<'m> {
    /// Scratch for blocks of at most `block_len` points.
    pub(super) fn new(mixture: &'m GaussianMixture, block_len: usize) -> Self {
        let c = mixture.dim();
        let columns = if c > 1 {
            vec![0.0; c * block_len]
        } else {
            Vec::new()
        };
        let solved = if c > 1 && mixture.covariance_kind() == CovarianceKind::Full {
            vec![0.0; c * block_len]
        } else {
            Vec::new()
        };
        Self {
            mixture,
            columns,
            solved,
        }
    }

    /// Prepares a block of row-major points (at most the `block_len` given to `new`).
    #[inline(always)]
    pub(super) fn load<'a>(&'a mut self, points: &'a [f64]) -> Block<'a> {
        let c = self.mixture.dim();
        let len = points.len() / c;
        let columns: &[f64] = if c == 1 {
            points
        } else {
            let columns = &mut self.columns[..c * len];
            for (i, point) in points.chunks_exact(c).enumerate() {
                for (j, &x) in point.iter().enumerate() {
                    columns[j * len + i] = x;
                }
            }
            columns
        };
        let solved_len = self.solved.len().min(c * len);
        Block {
            mixture: self.mixture,
            columns,
            solved: &mut self.solved[..solved_len],
            len,
        }
    }
}

impl Block<'_> {
    /// Writes log α_k + log N(t_i; μ_k, Σ_k) for every point t_i of the block into `terms`
    /// (one entry per point), as log α_k − ½ log |Σ_k| − (c/2) ln 2π − ½ ‖L_k⁻¹ (t_i − μ_k)‖².
    #[inline(always)]
    pub(super) fn joint_log_densities(&mut self, k: usize, terms: &mut [f64]) {
        let mixture = self.mixture;
        let c = mixture.dim();
        let len = self.len;
        let terms = &mut terms[..len];
        let log_normaliser = mixture.log_normaliser(k);
        let mean = mixture.component_mean(k);
        let scales = &mixture.scales;
        if c == 1 {
            // The common case, fused into one pass: every kind is a single σ here.
            let (mu, inverse) = (mean[0], InverseScale::new(scales.diagonal(k, 0)));
            for (term, &x) in terms.iter_mut().zip(self.columns) {
                let z = inverse.apply(x - mu);
                *term = log_normaliser - 0.5 * (z * z);
            }
            return;
        }
        // terms ← ‖z‖², accumulated one dimension at a time.
        terms.fill(0.0);
        for (j, &mu) in mean.iter().enumerate() {
            let column = &self.columns[j * len..(j + 1) * len];
            let inverse = InverseScale::new(scales.diagonal(k, j));
            if scales.kind() == CovarianceKind::Full {
                // Forward substitution, row j: z_j = (d_j − Σ_{p<j} L_jp z_p) / L_jj.
                let (solved_rows, rest) = self.solved.split_at_mut(j * len);
                let z_j = &mut rest[..len];
                z_j.fill(0.0);
                for p in 0..j {
                    let l = scales.factor_entry(k, j, p);
                    for (dot, &z_p) in z_j.iter_mut().zip(&solved_rows[p * len..(p + 1) * len]) {
                        *dot += l * z_p;
                    }
                }
                for ((z, term), &x) in z_j.iter_mut().zip(terms.iter_mut()).zip(column) {
                    *z = inverse.apply((x - mu) - *z);
                    *term += *z * *z;
                }
            } else {
                for (term, &x) in terms.iter_mut().zip(column) {
                    let z = inverse.apply(x - mu);
                    *term += z * z;
                }
            }
        }
        for term in terms.iter_mut() {
            *term = log_normaliser - 0.5 * *term;
        }
    }
}
