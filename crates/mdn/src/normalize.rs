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
    /// [`Standardizer::constant_columns`] to find such columns when that matters. Any other
    /// column keeps its own scale, however small or large (1e-200 and 1e200 alike): the sums
    /// are taken relative to the column's largest deviation, so they neither underflow nor
    /// overflow.
    pub fn fit(data: &[f64], dim: usize) -> Self {
        let rows = data.len() / dim.max(1);
        if rows == 0 {
            return Self::identity(dim);
        }
        let (mean, std) = (0..dim)
            .map(|d| {
                let column = || data.iter().skip(d).step_by(dim).copied();
                column_moments(column, rows)
            })
            .unzip();
        Self { mean, std }
    }

    /// Like [`Standardizer::fit`] for the columns where `numeric` is true; the others (the
    /// 0/1 indicators of categories) keep mean 0 and std 1, so they reach the network as
    /// they are.
    pub fn fit_numeric(data: &[f64], dim: usize, numeric: &[bool]) -> Self {
        let mut scaler = Self::fit(data, dim);
        for (d, _) in numeric.iter().enumerate().filter(|(_, n)| !**n) {
            scaler.mean[d] = 0.0;
            scaler.std[d] = 1.0;
        }
        scaler
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

    /// The columns of row-major `data` whose standard deviation a few extreme values set:
    /// more than 99% of the rows lie within 10⁻⁶ standard deviations of each other (so that,
    /// standardised, they are one value to the network). Returns each such column with the
    /// largest share of rows found in so narrow a band. Constant columns are not reported.
    pub fn dominated_columns(data: &[f64], dim: usize) -> Vec<(usize, f64)> {
        let rows = data.len() / dim.max(1);
        // "More than 99%": the band must hold this many rows.
        let needed = (rows * 99) / 100 + 1;
        if rows == 0 || needed > rows {
            return Vec::new();
        }
        let scaler = Self::fit(data, dim);
        (0..dim)
            .filter_map(|d| {
                let mut column: Vec<f64> = data.iter().skip(d).step_by(dim).copied().collect();
                let band = 1e-6 * scaler.std[d];
                // Every window of `needed` sorted values holds ranks rows − needed to
                // needed − 1, so if those two are further apart, no window is narrow enough:
                // a linear-time rejection of almost every column.
                let rank = |column: &mut Vec<f64>, k: usize| {
                    *column.select_nth_unstable_by(k, f64::total_cmp).1
                };
                let (low, high) = (
                    rank(&mut column, rows - needed),
                    rank(&mut column, needed - 1),
                );
                if high - low > band {
                    return None;
                }
                column.sort_by(f64::total_cmp);
                if column[0] == column[rows - 1] {
                    return None;
                }
                // The most rows within `band` of the first row of a window, by two pointers.
                let (mut best, mut end) = (0, 0);
                for start in 0..rows {
                    end = end.max(start);
                    while end < rows && column[end] - column[start] <= band {
                        end += 1;
                    }
                    best = best.max(end - start);
                }
                (best >= needed).then(|| (d, best as f64 / rows as f64))
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

/// Mean and standard deviation of one column of `rows` values (`column` yields them afresh
/// for each pass); std 1 for a constant column.
fn column_moments<I: Iterator<Item = f64>>(column: impl Fn() -> I, rows: usize) -> (f64, f64) {
    let n = rows as f64;
    let mut mean = column().sum::<f64>() / n;
    if !mean.is_finite() {
        // The sum overflowed: values near f64::MAX.
        mean = column().map(|v| v / n).sum();
    }
    let largest = column().map(|v| (v - mean).abs()).fold(0.0, f64::max);
    if largest == 0.0 || largest.is_nan() {
        return (mean, 1.0);
    }
    // Two-pass variance (exact enough far from zero, unlike E[v²] − E[v]²). Where squares
    // would underflow or overflow, the deviations are taken in units of the largest one.
    let std = if (1e-100..=1e100).contains(&largest) {
        (column().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
    } else {
        let scaled: f64 = column().map(|v| ((v - mean) / largest).powi(2)).sum();
        largest * (scaled / n).sqrt()
    };
    (
        mean,
        if std > 0.0 && std.is_finite() {
            std
        } else {
            1.0
        },
    )
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
    fn tiny_and_huge_scales_are_kept_as_they_are() {
        for scale in [1e-200, 1e-300, 1e200, 1e300] {
            let data: Vec<f64> = [1.0, 3.0, 5.0].iter().map(|v| v * scale).collect();
            let s = Standardizer::fit(&data, 1);
            let relative = (s.std[0] / (1.632_993_161_855_452 * scale) - 1.0).abs();
            assert!(relative < 1e-14, "scale {scale}: std {}", s.std[0]);
            assert!((s.mean[0] / (3.0 * scale) - 1.0).abs() < 1e-14);
            let z = s.transform(&data);
            assert!((z[0] + 1.224_744_9).abs() < 1e-6, "scale {scale}: {z:?}");
        }
        // Near f64::MAX the plain sum overflows.
        let s = Standardizer::fit(&[f64::MAX, f64::MAX / 2.0], 1);
        assert!(s.mean[0].is_finite() && s.std[0].is_finite() && s.std[0] > 0.0);
    }

    #[test]
    fn a_column_whose_scale_one_outlier_sets_is_found() {
        // 999 ordinary values and one of 1e12: std ≈ 3.2e10, so the rest span 3e-11 of it.
        let mut data: Vec<f64> = (0..999).map(|i| f64::from(i) / 999.0).collect();
        data.push(1e12);
        let found = Standardizer::dominated_columns(&data, 1);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 0);
        assert!((found[0].1 - 0.999).abs() < 1e-12, "{found:?}");
        // Without the outlier, or with a merely large one, nothing is reported; nor are
        // constant columns (the other column of the two-column table).
        data.pop();
        assert!(Standardizer::dominated_columns(&data, 1).is_empty());
        data.push(50.0);
        assert!(Standardizer::dominated_columns(&data, 1).is_empty());
        let two: Vec<f64> = data.iter().flat_map(|&v| [v, 7.0]).collect();
        assert!(Standardizer::dominated_columns(&two, 2).is_empty());
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
