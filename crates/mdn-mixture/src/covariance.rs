//! Component covariances: isotropic, diagonal, or full (held as a Cholesky factor).
//!
//! Every kind is handled through its Cholesky factor L (Σ = L Lᵀ): isotropic and diagonal
//! factors are diagonal, so the generic formulas below cost O(c) for them and O(c²) for full.

use serde::{Deserialize, Serialize};

use crate::error::MixtureError;

/// The shape of every component's covariance, as chosen for a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum CovarianceKind {
    /// One σ per component, shared by every dimension: Σ_i = σ_i² I (Bishop's MDN).
    #[default]
    Isotropic,
    /// One σ per component and dimension: Σ_i = diag(σ_i1², …, σ_ic²).
    Diagonal,
    /// A full covariance per component, Σ_i = L_i L_iᵀ.
    Full,
}

/// Covariance parameters of all components, as given to a mixture constructor.
///
/// Lengths for m components in c dimensions:
/// - `Isotropic(σ)`: m standard deviations;
/// - `Diagonal(σ)`: m·c standard deviations, component-major (`σ[i·c + j]`);
/// - `Cholesky(L)`: m lower-triangular c×c factors, row-major (`L[i·c·c + j·c + k]`), with a
///   positive diagonal and zeros above it; Σ_i = L_i L_iᵀ;
/// - `Full(Σ)`: m symmetric positive-definite c×c matrices, row-major; factorised on
///   construction.
#[derive(Debug, Clone, PartialEq)]
pub enum Covariance {
    /// One standard deviation per component.
    Isotropic(Vec<f64>),
    /// One standard deviation per component and dimension.
    Diagonal(Vec<f64>),
    /// Lower-triangular Cholesky factors, one per component.
    Cholesky(Vec<f64>),
    /// Covariance matrices, one per component.
    Full(Vec<f64>),
}

/// Validated covariances, with each component's log |L| cached.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scales {
    kind: CovarianceKind,
    dim: usize,
    /// σ (isotropic: m; diagonal: m·c) or L (full: m·c·c).
    values: Vec<f64>,
    /// Σ_j log L_jj for each component: half the log-determinant of Σ_i.
    log_det_half: Vec<f64>,
}

fn check_sigma(component: usize, dimension: usize, value: f64) -> Result<(), MixtureError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(MixtureError::InvalidSigma {
            component,
            dimension,
            value,
        })
    }
}

fn check_len(what: &'static str, expected: usize, got: usize) -> Result<(), MixtureError> {
    if expected == got {
        Ok(())
    } else {
        Err(MixtureError::ShapeMismatch {
            what,
            expected,
            got,
        })
    }
}

/// Cholesky factor of one symmetric c×c matrix, or why it has none.
pub(crate) fn cholesky(a: &[f64], c: usize) -> Result<Vec<f64>, String> {
    let mut l = vec![0.0; c * c];
    for j in 0..c {
        for k in 0..=j {
            let (x, y) = (a[j * c + k], a[k * c + j]);
            if !x.is_finite() {
                return Err(format!("entry ({j}, {k}) is {x}"));
            }
            // Relative tolerance: matrices built as L Lᵀ in floating point are symmetric only
            // up to rounding.
            if (x - y).abs() > 1e-12 * x.abs().max(y.abs()).max(f64::MIN_POSITIVE) {
                return Err(format!(
                    "not symmetric: ({j}, {k}) = {x} but ({k}, {j}) = {y}"
                ));
            }
            let dot: f64 = (0..k).map(|p| l[j * c + p] * l[k * c + p]).sum();
            if j == k {
                let d = x - dot;
                if d <= 0.0 || !d.is_finite() {
                    return Err(format!("pivot {j} is {d}"));
                }
                l[j * c + j] = d.sqrt();
            } else {
                l[j * c + k] = (x - dot) / l[k * c + k];
            }
        }
    }
    Ok(l)
}

/// Division by σ as a multiplication by 1/σ, which vectorises several times faster. The
/// scalar and the batched densities both divide this way, so that they compute the same
/// Mahalanobis distances to the last bit.
#[derive(Clone, Copy)]
pub(crate) struct InverseScale {
    /// 1, or 2⁶⁴ for a subnormal σ, whose reciprocal would overflow: d and σ are then both
    /// scaled by 2⁶⁴ (exactly) first.
    pre: f64,
    inverse: f64,
}

impl InverseScale {
    pub(crate) fn new(sigma: f64) -> Self {
        const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
        if sigma < f64::MIN_POSITIVE {
            Self {
                pre: TWO_POW_64,
                inverse: 1.0 / (sigma * TWO_POW_64),
            }
        } else {
            Self {
                pre: 1.0,
                inverse: 1.0 / sigma,
            }
        }
    }

    /// d / σ.
    #[inline(always)]
    pub(crate) fn apply(self, d: f64) -> f64 {
        (d * self.pre) * self.inverse
    }
}

/// Up to this many dimensions, [`Scales::mahalanobis_sq`] keeps its forward-substitution
/// scratch on the stack: the scalar density is evaluated once per row over millions of rows.
const STACK_DIM: usize = 16;

/// ‖z‖² where L z = d, for one lower-triangular row-major factor L, with `z` as scratch.
fn forward_substitution_sq(l: &[f64], d: impl Iterator<Item = f64>, z: &mut [f64]) -> f64 {
    let c = z.len();
    let mut total = 0.0;
    for (j, dj) in d.enumerate() {
        let dot: f64 = (0..j).map(|k| l[j * c + k] * z[k]).sum();
        z[j] = InverseScale::new(l[j * c + j]).apply(dj - dot);
        total += z[j] * z[j];
    }
    total
}

impl Scales {
    pub(crate) fn new(covariance: Covariance, m: usize, c: usize) -> Result<Self, MixtureError> {
        let (kind, values) = match covariance {
            Covariance::Isotropic(sigma) => {
                check_len("isotropic sigma", m, sigma.len())?;
                for (i, &s) in sigma.iter().enumerate() {
                    check_sigma(i, 0, s)?;
                }
                (CovarianceKind::Isotropic, sigma)
            }
            Covariance::Diagonal(sigma) => {
                check_len("diagonal sigma", m * c, sigma.len())?;
                for (k, &s) in sigma.iter().enumerate() {
                    check_sigma(k / c, k % c, s)?;
                }
                (CovarianceKind::Diagonal, sigma)
            }
            Covariance::Cholesky(factors) => {
                check_len("Cholesky factors", m * c * c, factors.len())?;
                for (i, factor) in factors.chunks(c).collect::<Vec<_>>().chunks(c).enumerate() {
                    for (j, row) in factor.iter().enumerate() {
                        for (k, &v) in row.iter().enumerate() {
                            let bad = match k.cmp(&j) {
                                std::cmp::Ordering::Less => !v.is_finite(),
                                std::cmp::Ordering::Equal => !(v.is_finite() && v > 0.0),
                                std::cmp::Ordering::Greater => v != 0.0,
                            };
                            if bad {
                                let reason = format!(
                                    "Cholesky factor entry ({j}, {k}) is {v}; a factor must be \
                                     lower triangular with a positive diagonal"
                                );
                                return Err(MixtureError::NotPositiveDefinite {
                                    component: i,
                                    reason,
                                });
                            }
                        }
                    }
                }
                (CovarianceKind::Full, factors)
            }
            Covariance::Full(matrices) => {
                check_len("covariance matrices", m * c * c, matrices.len())?;
                let mut factors = Vec::with_capacity(m * c * c);
                for (i, a) in matrices.chunks(c * c).enumerate() {
                    let l = cholesky(a, c).map_err(|reason| MixtureError::NotPositiveDefinite {
                        component: i,
                        reason,
                    })?;
                    factors.extend(l);
                }
                (CovarianceKind::Full, factors)
            }
        };
        let mut scales = Self {
            kind,
            dim: c,
            values,
            log_det_half: Vec::new(),
        };
        scales.log_det_half = (0..m)
            .map(|i| (0..c).map(|j| scales.diagonal(i, j).ln()).sum())
            .collect();
        Ok(scales)
    }

    pub(crate) fn kind(&self) -> CovarianceKind {
        self.kind
    }

    /// L_jj of component i.
    pub(crate) fn diagonal(&self, i: usize, j: usize) -> f64 {
        let c = self.dim;
        match self.kind {
            CovarianceKind::Isotropic => self.values[i],
            CovarianceKind::Diagonal => self.values[i * c + j],
            CovarianceKind::Full => self.values[i * c * c + j * c + j],
        }
    }

    /// L_jk of component i (zero above the diagonal).
    pub(crate) fn factor_entry(&self, i: usize, j: usize, k: usize) -> f64 {
        match (self.kind, j == k) {
            (_, true) => self.diagonal(i, j),
            (CovarianceKind::Full, false) if k < j => {
                self.values[i * self.dim * self.dim + j * self.dim + k]
            }
            _ => 0.0,
        }
    }

    /// ½ log |Σ_i|.
    pub(crate) fn log_det_half(&self, i: usize) -> f64 {
        self.log_det_half[i]
    }

    /// Squared Mahalanobis distance ‖L_i⁻¹ (t − μ)‖² of a target from a mean, by forward
    /// substitution (no inverse is formed). Allocates nothing up to [`STACK_DIM`] dimensions.
    pub(crate) fn mahalanobis_sq(&self, i: usize, t: &[f64], mean: &[f64]) -> f64 {
        let c = self.dim;
        let differences = t.iter().zip(mean).map(|(t, m)| t - m);
        match self.kind {
            CovarianceKind::Isotropic => {
                let inverse = InverseScale::new(self.values[i]);
                differences.map(|v| inverse.apply(v)).map(|z| z * z).sum()
            }
            CovarianceKind::Diagonal => differences
                .zip(&self.values[i * c..(i + 1) * c])
                .map(|(v, &s)| InverseScale::new(s).apply(v))
                .map(|z| z * z)
                .sum(),
            CovarianceKind::Full => {
                let l = &self.values[i * c * c..(i + 1) * c * c];
                if c <= STACK_DIM {
                    forward_substitution_sq(l, differences, &mut [0.0; STACK_DIM][..c])
                } else {
                    forward_substitution_sq(l, differences, &mut vec![0.0; c])
                }
            }
        }
    }

    /// Σ_i[j][j]: the variance of dimension j under component i.
    pub(crate) fn variance(&self, i: usize, j: usize) -> f64 {
        (0..=j).map(|k| self.factor_entry(i, j, k).powi(2)).sum()
    }

    /// Σ_i as a row-major c×c matrix.
    pub(crate) fn matrix(&self, i: usize) -> Vec<f64> {
        let c = self.dim;
        let mut sigma = vec![0.0; c * c];
        for a in 0..c {
            for b in 0..=a {
                let v: f64 = (0..=b)
                    .map(|k| self.factor_entry(i, a, k) * self.factor_entry(i, b, k))
                    .sum();
                sigma[a * c + b] = v;
                sigma[b * c + a] = v;
            }
        }
        sigma
    }

    /// Σ_i⁻¹ as a row-major c×c matrix (from L⁻¹: Σ⁻¹ = L⁻ᵀ L⁻¹).
    pub(crate) fn precision(&self, i: usize) -> Vec<f64> {
        let c = self.dim;
        // Columns of L⁻¹ by forward substitution on the unit vectors.
        let mut inv = vec![0.0; c * c];
        for col in 0..c {
            for j in col..c {
                let rhs = if j == col { 1.0 } else { 0.0 };
                let dot: f64 = (col..j)
                    .map(|k| self.factor_entry(i, j, k) * inv[k * c + col])
                    .sum();
                inv[j * c + col] = (rhs - dot) / self.factor_entry(i, j, j);
            }
        }
        let mut p = vec![0.0; c * c];
        for a in 0..c {
            for b in 0..c {
                p[a * c + b] = (a.max(b)..c).map(|k| inv[k * c + a] * inv[k * c + b]).sum();
            }
        }
        p
    }

    /// The same covariances with every standard deviation multiplied by `factor`.
    pub(crate) fn scaled(&self, factor: f64) -> Self {
        Self {
            kind: self.kind,
            dim: self.dim,
            values: self.values.iter().map(|v| v * factor).collect(),
            log_det_half: self
                .log_det_half
                .iter()
                .map(|v| v + self.dim as f64 * factor.ln())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_reproduces_the_matrix_and_its_inverse() {
        let sigma = vec![4.0, 1.2, 0.4, 1.2, 2.0, -0.3, 0.4, -0.3, 1.5];
        let scales = Scales::new(Covariance::Full(sigma.clone()), 1, 3).unwrap();
        let back = scales.matrix(0);
        let p = scales.precision(0);
        for a in 0..3 {
            for b in 0..3 {
                assert!((back[a * 3 + b] - sigma[a * 3 + b]).abs() < 1e-12);
                let identity: f64 = (0..3).map(|k| sigma[a * 3 + k] * p[k * 3 + b]).sum();
                assert!((identity - f64::from(u8::from(a == b))).abs() < 1e-12);
            }
        }
        // log|Σ| from numpy: np.linalg.slogdet(S)[1] / 2 for the matrix above.
        let det = 4.0 * (2.0 * 1.5 - 0.09) - 1.2 * (1.2 * 1.5 + 0.12) + 0.4 * (-0.36 - 0.8);
        assert!((scales.log_det_half(0) - 0.5 * f64::ln(det)).abs() < 1e-12);
    }
}
