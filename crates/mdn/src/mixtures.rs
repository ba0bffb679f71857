//! Turning a batch of network outputs into `mdn-mixture` mixtures in original target units.

use mdn_engine::{CovarianceKind, HeadOutput};
use mdn_mixture::{Covariance, GaussianMixture, MixtureError};

use crate::normalize::Standardizer;

enum HostScale {
    Isotropic(Vec<f64>),
    Diagonal(Vec<f64>),
    Cholesky { diagonal: Vec<f64>, lower: Vec<f64> },
}

/// A batch of mixture parameters in f64 (standardised units).
pub(crate) struct HostMixtures {
    m: usize,
    c: usize,
    log_alpha: Vec<f64>,
    means: Vec<f64>,
    scale: HostScale,
}

/// Index of the strictly lower Cholesky entry (row, col), col < row, among a component's
/// c(c−1)/2 entries stored row by row: (1,0), (2,0), (2,1), (3,0), …
fn lower_index(row: usize, col: usize) -> usize {
    row * (row - 1) / 2 + col
}

impl HostMixtures {
    /// The engine's predictions for a batch, in f64. A least-squares prediction becomes one
    /// Gaussian per row with per-dimension standard deviations `residual_std` (fitted to the
    /// training residuals).
    pub(crate) fn new(output: HeadOutput, residual_std: &[f64]) -> Self {
        let wide = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<f64>>();
        match output {
            HeadOutput::Mixture(p) => {
                let scale = match p.covariance {
                    CovarianceKind::Isotropic => HostScale::Isotropic(wide(p.sigma)),
                    CovarianceKind::Diagonal => HostScale::Diagonal(wide(p.sigma)),
                    CovarianceKind::Full => HostScale::Cholesky {
                        diagonal: wide(p.sigma),
                        lower: wide(p.lower),
                    },
                };
                Self {
                    m: p.components,
                    c: p.target_dim,
                    log_alpha: wide(p.log_alpha),
                    means: wide(p.means),
                    scale,
                }
            }
            HeadOutput::Point(means) => {
                let c = residual_std.len();
                let rows = means.len() / c.max(1);
                Self {
                    m: 1,
                    c,
                    log_alpha: vec![0.0; rows],
                    means: wide(means),
                    scale: HostScale::Diagonal(
                        residual_std
                            .iter()
                            .copied()
                            .cycle()
                            .take(rows * c)
                            .collect(),
                    ),
                }
            }
        }
    }

    /// The equal-weight mixture of several networks' predictions for the same rows (an
    /// ensemble): row r holds every part's components of row r in turn, each weight divided
    /// by the number of parts. All parts must have one shape (components, targets, scale
    /// kind), as the members of one model do.
    pub(crate) fn pool(parts: Vec<HostMixtures>) -> Self {
        let k = parts.len();
        let (m, c) = (parts[0].m, parts[0].c);
        let rows = parts[0].log_alpha.len() / m.max(1);
        // Row r of field `f` of every part, one after the other; `width` values a component.
        let interleave = |field: &dyn Fn(&HostMixtures) -> &[f64], width: usize| {
            let stride = m * width;
            let mut out = Vec::with_capacity(k * rows * stride);
            for r in 0..rows {
                for part in &parts {
                    out.extend_from_slice(&field(part)[r * stride..(r + 1) * stride]);
                }
            }
            out
        };
        let shift = (k as f64).ln();
        let mut log_alpha = interleave(&|p| &p.log_alpha, 1);
        log_alpha.iter_mut().for_each(|v| *v -= shift);
        let means = interleave(&|p| &p.means, c);
        let scale = match &parts[0].scale {
            HostScale::Isotropic(_) => HostScale::Isotropic(interleave(
                &|p| match &p.scale {
                    HostScale::Isotropic(v) => v,
                    _ => unreachable!("the members of a model share their covariance kind"),
                },
                1,
            )),
            HostScale::Diagonal(_) => HostScale::Diagonal(interleave(
                &|p| match &p.scale {
                    HostScale::Diagonal(v) => v,
                    _ => unreachable!("the members of a model share their covariance kind"),
                },
                c,
            )),
            HostScale::Cholesky { .. } => HostScale::Cholesky {
                diagonal: interleave(
                    &|p| match &p.scale {
                        HostScale::Cholesky { diagonal, .. } => diagonal,
                        _ => unreachable!("the members of a model share their covariance kind"),
                    },
                    c,
                ),
                lower: interleave(
                    &|p| match &p.scale {
                        HostScale::Cholesky { lower, .. } => lower,
                        _ => unreachable!("the members of a model share their covariance kind"),
                    },
                    c * (c - 1) / 2,
                ),
            },
        };
        Self {
            m: k * m,
            c,
            log_alpha,
            means,
            scale,
        }
    }

    /// The mixture of example `row`, mapped back to original target units:
    /// μ ← μ·s + mean and every scale multiplied by the target's standard deviation s_d.
    ///
    /// An isotropic mixture over targets of different standard deviations becomes diagonal
    /// in original units.
    pub(crate) fn mixture(
        &self,
        row: usize,
        target: &Standardizer,
    ) -> Result<GaussianMixture, MixtureError> {
        let (m, c) = (self.m, self.c);
        let s = &target.std;
        let log_weights = self.log_alpha[row * m..(row + 1) * m].to_vec();
        let means: Vec<f64> = self.means[row * m * c..(row + 1) * m * c]
            .iter()
            .enumerate()
            .map(|(k, &z)| target.inverse(k % c, z))
            .collect();
        let covariance = match &self.scale {
            HostScale::Isotropic(sigma) => {
                let sigma = &sigma[row * m..(row + 1) * m];
                if s.iter().all(|&v| v == s[0]) {
                    Covariance::Isotropic(sigma.iter().map(|v| v * s[0]).collect())
                } else {
                    Covariance::Diagonal(
                        sigma
                            .iter()
                            .flat_map(|v| s.iter().map(move |sd| v * sd))
                            .collect(),
                    )
                }
            }
            HostScale::Diagonal(sigma) => Covariance::Diagonal(
                sigma[row * m * c..(row + 1) * m * c]
                    .iter()
                    .enumerate()
                    .map(|(k, v)| v * s[k % c])
                    .collect(),
            ),
            HostScale::Cholesky { diagonal, lower } => {
                let lower_count = c * (c - 1) / 2;
                let mut factors = vec![0.0; m * c * c];
                for i in 0..m {
                    let diag = &diagonal[(row * m + i) * c..(row * m + i + 1) * c];
                    let low = &lower[(row * m + i) * lower_count..(row * m + i + 1) * lower_count];
                    let factor = &mut factors[i * c * c..(i + 1) * c * c];
                    for j in 0..c {
                        // Row j of L scales with target j: L_orig = diag(s) L.
                        factor[j * c + j] = diag[j] * s[j];
                        for k in 0..j {
                            factor[j * c + k] = low[lower_index(j, k)] * s[j];
                        }
                    }
                }
                Covariance::Cholesky(factors)
            }
        };
        GaussianMixture::from_log_weights(c, log_weights, means, covariance)
    }
}
