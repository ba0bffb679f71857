//! Standardisation of inputs and targets.

use serde::{Deserialize, Serialize};

/// An affine map z = (v − mean) / std per feature, fitted on training data and stored in the
/// model so that predictions and densities come back in the data's own units.
///
/// # Formula
/// For targets, the density in original units is p(t) = p_z(z) · Π_d 1/std_d, so
/// log p(t) = log p_z(z) − Σ_d ln std_d ([`Standardizer::log_jacobian`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// Per-feature mean.
    pub mean: Vec<f64>,
    /// Per-feature standard deviation (1 for a feature that was constant in training).
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Fits one mean and standard deviation per column of the row-major `rows × dim` data.
    ///
    /// A column that is constant gets std 1, so it maps to 0 instead of dividing by zero; use
    /// [`Standardizer::constant_columns`] to find such columns when that matters.
    pub fn fit(data: &[f64], dim: usize) -> Self {
        let rows = data.len() / dim.max(1);
        let mut mean = vec![0.0; dim];
        let mut std = vec![0.0; dim];
        if rows == 0 {
            return Self::identity(dim);
        }
        for row in data.chunks_exact(dim) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= rows as f64);
        // Two-pass variance: exact enough for data far from zero, unlike E[v²] − E[v]².
        for row in data.chunks_exact(dim) {
            for ((s, v), m) in std.iter_mut().zip(row).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        for s in &mut std {
            *s = (*s / rows as f64).sqrt();
            if !(*s > 0.0 && s.is_finite()) {
                *s = 1.0;
            }
        }
        Self { mean, std }
    }

    /// Fits a single mean and standard deviation over all values (used for image pixels,
    /// where per-pixel statistics would amplify the always-black borders), repeated for each
    /// of the `dim` features.
    pub fn fit_global(data: &[f64], dim: usize) -> Self {
        let single = Self::fit(data, 1);
        Self {
            mean: vec![single.mean[0]; dim],
            std: vec![single.std[0]; dim],
        }
    }

    /// The identity map for `dim` features.
    pub fn identity(dim: usize) -> Self {
        Self {
            mean: vec![0.0; dim],
            std: vec![1.0; dim],
        }
    }

    /// Number of features.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Indices of the columns of `data` that take a single value.
    pub fn constant_columns(data: &[f64], dim: usize) -> Vec<usize> {
        (0..dim)
            .filter(|&d| {
                let mut column = data.iter().skip(d).step_by(dim);
                match column.next() {
                    Some(first) => column.all(|v| v == first),
                    None => false,
                }
            })
            .collect()
    }

    /// Standardises row-major data into the f32 values the network consumes.
    pub fn transform(&self, data: &[f64]) -> Vec<f32> {
        let dim = self.dim();
        data.chunks_exact(dim)
            .flat_map(|row| {
                row.iter()
                    .zip(&self.mean)
                    .zip(&self.std)
                    .map(|((v, m), s)| ((v - m) / s) as f32)
            })
            .collect()
    }

    /// Maps a standardised value of feature `d` back to original units.
    pub fn inverse(&self, d: usize, z: f64) -> f64 {
        z * self.std[d] + self.mean[d]
    }

    /// Σ_d ln std_d: subtract it from a standardised log density to get the log density in
    /// original units.
    pub fn log_jacobian(&self) -> f64 {
        self.std.iter().map(|s| s.ln()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_gives_zero_mean_unit_std() {
        let data = [1.0, 10.0, 3.0, 10.0, 5.0, 10.0];
        let s = Standardizer::fit(&data, 2);
        assert_eq!(s.mean, vec![3.0, 10.0]);
        // numpy: np.std([1, 3, 5]) = 1.632993161855452
        assert!((s.std[0] - 1.632_993_161_855_452).abs() < 1e-15);
        assert_eq!(s.std[1], 1.0, "a constant column keeps std 1");
        assert_eq!(Standardizer::constant_columns(&data, 2), vec![1]);
        let z = s.transform(&data);
        assert!((z[0] + 1.224_744_9).abs() < 1e-6);
        assert_eq!(z[1], 0.0);
        assert!((s.inverse(0, z[0] as f64) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn log_jacobian_is_sum_of_log_std() {
        let s = Standardizer {
            mean: vec![0.0, 0.0],
            std: vec![2.0, 0.5],
        };
        assert!((s.log_jacobian() - (2.0f64.ln() + 0.5f64.ln())).abs() < 1e-15);
    }

    #[test]
    fn fit_global_uses_one_statistic() {
        let s = Standardizer::fit_global(&[0.0, 2.0, 4.0, 6.0], 2);
        assert_eq!(s.mean, vec![3.0, 3.0]);
        assert_eq!(s.std[0], s.std[1]);
    }
}
