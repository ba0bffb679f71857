//! One-dimensional marginals: CDF and quantiles of each target dimension.

use crate::error::MixtureError;
use crate::mixture::GaussianMixture;

/// Standard normal CDF Φ(z) = ½ erfc(−z/√2), accurate in both tails.
fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

impl GaussianMixture {
    fn check_dimension(&self, j: usize) -> Result<(), MixtureError> {
        if j < self.dim() {
            Ok(())
        } else {
            Err(MixtureError::DimensionOutOfRange {
                index: j,
                dim: self.dim(),
            })
        }
    }

    /// P(t_j ≤ x) under the marginal of dimension j: Σ_i α_i Φ((x − μ_ij) / σ_ij).
    pub fn marginal_cdf(&self, j: usize, x: f64) -> Result<f64, MixtureError> {
        self.check_dimension(j)?;
        let cdf = self
            .weights()
            .iter()
            .enumerate()
            .map(|(k, w)| {
                w * normal_cdf((x - self.component_mean(k)[j]) / self.scales.variance(k, j).sqrt())
            })
            .sum::<f64>();
        Ok(cdf.clamp(0.0, 1.0))
    }

    /// The p-quantile of the marginal of dimension j, by bisection on the CDF.
    ///
    /// Accurate to about 1e-12 of the marginal's spread. `p` must lie in (0, 1).
    pub fn marginal_quantile(&self, j: usize, p: f64) -> Result<f64, MixtureError> {
        self.check_dimension(j)?;
        if !(p > 0.0 && p < 1.0) {
            return Err(MixtureError::InvalidProbability { value: p });
        }
        // Every component's CDF is ≤ Φ(−40) ≈ 0 below `low` and ≥ 1 − Φ(−40) above `high`.
        let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
        for k in 0..self.n_components() {
            let (mu, sd) = (self.component_mean(k)[j], self.scales.variance(k, j).sqrt());
            low = low.min(mu - 40.0 * sd);
            high = high.max(mu + 40.0 * sd);
        }
        for _ in 0..200 {
            let mid = 0.5 * (low + high);
            if mid <= low || mid >= high {
                break;
            }
            if self.marginal_cdf(j, mid)? < p {
                low = mid;
            } else {
                high = mid;
            }
        }
        Ok(0.5 * (low + high))
    }
}
