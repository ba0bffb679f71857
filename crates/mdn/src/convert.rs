//! Turning a batch of network outputs into `mdn-mixture` mixtures in original target units.

use burn::prelude::*;
use mdn_mixture::{Covariance, GaussianMixture, MixtureError};

use crate::head::{MixtureOutput, Scale};
use crate::normalize::Standardizer;

/// Reads a tensor's values into host memory as f64.
fn host<const D: usize>(tensor: Tensor<D>) -> Vec<f64> {
    tensor.into_data().iter::<f64>().collect()
}

enum HostScale {
    Isotropic(Vec<f64>),
    Diagonal(Vec<f64>),
    Cholesky { diagonal: Vec<f64>, lower: Vec<f64> },
}

/// A batch of mixture parameters copied to host memory (standardised units).
pub(crate) struct HostMixtures {
    m: usize,
    c: usize,
    log_alpha: Vec<f64>,
    means: Vec<f64>,
    scale: HostScale,
}

impl HostMixtures {
    /// Copies a batch of head outputs to the host.
    pub(crate) fn from_output(output: MixtureOutput) -> Self {
        let [_, m, c] = output.means.dims();
        let scale = match output.scale {
            Scale::Isotropic { sigma } => HostScale::Isotropic(host(sigma)),
            Scale::Diagonal { sigma } => HostScale::Diagonal(host(sigma)),
            Scale::Cholesky { diagonal, lower } => HostScale::Cholesky {
                diagonal: host(diagonal),
                lower: host(lower),
            },
        };
        Self {
            m,
            c,
            log_alpha: host(output.log_alpha),
            means: host(output.means),
            scale,
        }
    }

    /// Copies the CPU kernels' predictions for a batch to f64. A least-squares prediction
    /// becomes one Gaussian per row with per-dimension standard deviations `residual_std`, as
    /// [`crate::Prediction::into_mixture`] makes it.
    pub(crate) fn from_cpu(output: mdn_cpu::HeadOutput, residual_std: &[f64]) -> Self {
        let wide = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<f64>>();
        match output {
            mdn_cpu::HeadOutput::Mixture(p) => {
                let scale = match p.covariance {
                    mdn_cpu::Covariance::Isotropic => HostScale::Isotropic(wide(p.sigma)),
                    mdn_cpu::Covariance::Diagonal => HostScale::Diagonal(wide(p.sigma)),
                    mdn_cpu::Covariance::Full => HostScale::Cholesky {
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
            mdn_cpu::HeadOutput::Point(means) => {
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
                            factor[j * c + k] = low[crate::head::lower_index(j, k)] * s[j];
                        }
                    }
                }
                Covariance::Cholesky(factors)
            }
        };
        GaussianMixture::from_log_weights(c, log_weights, means, covariance)
    }
}
