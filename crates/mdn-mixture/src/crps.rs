//! The continuous ranked probability score of a marginal, in closed form.

use crate::error::MixtureError;
use crate::mixture::GaussianMixture;

/// A(μ, σ²) = 2σ φ(μ/σ) + μ (2Φ(μ/σ) − 1) = E|X| for X ~ N(μ, σ²).
fn expected_absolute(mu: f64, variance: f64) -> f64 {
    let sigma = variance.sqrt();
    let z = mu / sigma;
    let pdf = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let cdf = 0.5 * libm::erfc(-z / std::f64::consts::SQRT_2);
    2.0 * sigma * pdf + mu * (2.0 * cdf - 1.0)
}

impl GaussianMixture {
    /// The continuous ranked probability score of the marginal of dimension j at the
    /// observation y: ∫ (F_j(x) − 1{x ≥ y})² dx, in the units of y (lower is better; 0 for a
    /// point mass at y).
    ///
    /// # Formula
    /// With the marginal Σ_i w_i N(μ_i, σ_i²) and A(μ, σ²) = E|N(μ, σ²)| (Grimit et al.,
    /// 2006, the mixture form of CRPS(F, y) = E|X − y| − ½ E|X − X′|):
    ///
    /// ```text
    /// CRPS = Σ_i w_i A(y − μ_i, σ_i²) − ½ Σ_i Σ_k w_i w_k A(μ_i − μ_k, σ_i² + σ_k²)
    /// ```
    pub fn marginal_crps(&self, j: usize, y: f64) -> Result<f64, MixtureError> {
        if j >= self.dim() {
            return Err(MixtureError::DimensionOutOfRange {
                index: j,
                dim: self.dim(),
            });
        }
        let weights = self.weights();
        let m = weights.len();
        let mean = |i: usize| self.component_mean(i)[j];
        let var = |i: usize| self.scales.variance(i, j);
        let mut first = 0.0;
        let mut second = 0.0;
        for i in 0..m {
            first += weights[i] * expected_absolute(y - mean(i), var(i));
            // The double sum is symmetric: each pair once, doubled, plus the diagonal.
            second += weights[i] * weights[i] * expected_absolute(0.0, 2.0 * var(i));
            for k in i + 1..m {
                second += 2.0
                    * weights[i]
                    * weights[k]
                    * expected_absolute(mean(i) - mean(k), var(i) + var(k));
            }
        }
        Ok((first - 0.5 * second).max(0.0))
    }
}
