//! The true modes of a mixture density: local maxima of p(t), found by the fixed-point
//! iteration of Carreira-Perpiñán (2000) started from every component mean.

use crate::covariance::cholesky;
use crate::mixture::GaussianMixture;

/// Settings of the mode search. Distances are relative to the smallest standard deviation
/// of any component in any dimension, so they suit mixtures of any scale.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeOptions {
    /// Iterations per start before giving up on further refinement.
    pub max_iterations: usize,
    /// A start has converged when one step moves it less than this (relative distance).
    pub tolerance: f64,
    /// Two end points closer than this (relative distance) are one mode.
    pub merge_distance: f64,
}

impl Default for ModeOptions {
    fn default() -> Self {
        Self {
            max_iterations: 1000,
            tolerance: 1e-10,
            merge_distance: 1e-4,
        }
    }
}

/// A local maximum of the mixture density.
#[derive(Debug, Clone, PartialEq)]
pub struct Mode {
    /// Where the maximum is.
    pub location: Vec<f64>,
    /// log p at the maximum.
    pub log_density: f64,
}

impl Mode {
    /// p at the maximum.
    pub fn density(&self) -> f64 {
        self.log_density.exp()
    }
}

/// Solves A x = b for a symmetric positive-definite A (row-major c×c).
fn solve_spd(a: &[f64], b: &[f64], c: usize) -> Option<Vec<f64>> {
    let l = cholesky(a, c).ok()?;
    let mut y = vec![0.0; c];
    for j in 0..c {
        let dot: f64 = (0..j).map(|k| l[j * c + k] * y[k]).sum();
        y[j] = (b[j] - dot) / l[j * c + j];
    }
    let mut x = vec![0.0; c];
    for j in (0..c).rev() {
        let dot: f64 = (j + 1..c).map(|k| l[k * c + j] * x[k]).sum();
        x[j] = (y[j] - dot) / l[j * c + j];
    }
    Some(x)
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

impl GaussianMixture {
    /// The modes (local maxima) of p(t), highest density first.
    ///
    /// Each component mean starts the fixed-point iteration
    /// x ← (Σ_k r_k(x) Σ_k⁻¹)⁻¹ Σ_k r_k(x) Σ_k⁻¹ μ_k, with r_k the responsibilities, which
    /// climbs p monotonically to a stationary point (Carreira-Perpiñán, 2000). End points
    /// that coincide, or that are joined by a path along which p does not dip, are merged;
    /// points where p is not a local maximum (its Hessian is not negative definite) are
    /// dropped. A mixture always has at least one mode.
    pub fn modes(&self, options: &ModeOptions) -> Vec<Mode> {
        let (m, c) = (self.n_components(), self.dim());
        let scale = (0..m)
            .flat_map(|k| self.component_std(k))
            .fold(f64::INFINITY, f64::min);
        let precisions: Vec<Vec<f64>> = (0..m).map(|k| self.scales.precision(k)).collect();
        let mut found: Vec<Mode> = Vec::new();
        for start in 0..m {
            if self.log_weights()[start] == f64::NEG_INFINITY {
                continue;
            }
            let mut x = self.component_mean(start).to_vec();
            for _ in 0..options.max_iterations {
                let r = self.responsibilities(&x);
                let mut a = vec![0.0; c * c];
                let mut b = vec![0.0; c];
                for k in 0..m {
                    let mu = self.component_mean(k);
                    for p in 0..c {
                        for q in 0..c {
                            let v = r[k] * precisions[k][p * c + q];
                            a[p * c + q] += v;
                            b[p] += v * mu[q];
                        }
                    }
                }
                let Some(next) = solve_spd(&a, &b, c) else {
                    break;
                };
                let step = distance(&next, &x);
                x = next;
                if step <= options.tolerance * scale {
                    break;
                }
            }
            let mode = Mode {
                log_density: self.log_prob(&x),
                location: x,
            };
            match found
                .iter_mut()
                .find(|f| self.same_mode(f, &mode, options.merge_distance * scale))
            {
                Some(f) if mode.log_density > f.log_density => *f = mode,
                Some(_) => {}
                None => found.push(mode),
            }
        }
        found.sort_by(|a, b| b.log_density.total_cmp(&a.log_density));
        let best = found[0].clone();
        found.retain(|mode| self.is_local_maximum(&mode.location, &precisions));
        if found.is_empty() {
            // Numerically flat tops can fail the curvature test; the highest point found is
            // still the global maximum's best estimate.
            found.push(best);
        }
        found
    }

    /// Whether two end points are one mode: close, or joined by a segment along which the
    /// density never drops below the lower end point's.
    fn same_mode(&self, a: &Mode, b: &Mode, merge_distance: f64) -> bool {
        if distance(&a.location, &b.location) <= merge_distance {
            return true;
        }
        let floor = a.log_density.min(b.log_density) - 1e-9;
        (1..32).all(|s| {
            let u = f64::from(s) / 32.0;
            let point: Vec<f64> = a
                .location
                .iter()
                .zip(&b.location)
                .map(|(p, q)| p + u * (q - p))
                .collect();
            self.log_prob(&point) >= floor
        })
    }

    /// Whether the Hessian of p at x is negative definite (checked on ∇²p / p, which has the
    /// same sign and no underflow): −∇²p/p = Σ_k r_k (P_k − g_k g_kᵀ), g_k = P_k (μ_k − x).
    fn is_local_maximum(&self, x: &[f64], precisions: &[Vec<f64>]) -> bool {
        let c = self.dim();
        let r = self.responsibilities(x);
        let mut neg_hessian = vec![0.0; c * c];
        for (k, p) in precisions.iter().enumerate() {
            let mu = self.component_mean(k);
            let g: Vec<f64> = (0..c)
                .map(|a| (0..c).map(|b| p[a * c + b] * (mu[b] - x[b])).sum())
                .collect();
            for a in 0..c {
                for b in 0..c {
                    neg_hessian[a * c + b] += r[k] * (p[a * c + b] - g[a] * g[b]);
                }
            }
        }
        // Symmetrise exactly: the sums above agree only up to rounding.
        for a in 0..c {
            for b in 0..a {
                let v = 0.5 * (neg_hessian[a * c + b] + neg_hessian[b * c + a]);
                neg_hessian[a * c + b] = v;
                neg_hessian[b * c + a] = v;
            }
        }
        cholesky(&neg_hessian, c).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Covariance;

    fn two_bumps(separation: f64) -> GaussianMixture {
        GaussianMixture::new(
            1,
            vec![0.5, 0.5],
            vec![0.0, separation],
            Covariance::Isotropic(vec![1.0, 1.0]),
        )
        .unwrap()
    }

    #[test]
    fn equal_bumps_merge_below_two_sigma_apart() {
        // Two equal unit Gaussians are bimodal exactly when they are more than 2σ apart.
        assert_eq!(two_bumps(1.9).modes(&ModeOptions::default()).len(), 1);
        let modes = two_bumps(2.2).modes(&ModeOptions::default());
        assert_eq!(modes.len(), 2);
        let merged = &two_bumps(1.9).modes(&ModeOptions::default())[0];
        assert!(
            (merged.location[0] - 0.95).abs() < 1e-6,
            "symmetric: the mode is in the middle"
        );
    }

    #[test]
    fn far_apart_modes_sit_at_the_means() {
        let modes = two_bumps(10.0).modes(&ModeOptions::default());
        assert_eq!(modes.len(), 2);
        assert!(modes.iter().any(|m| m.location[0].abs() < 1e-9));
        assert!(modes.iter().any(|m| (m.location[0] - 10.0).abs() < 1e-9));
    }

    #[test]
    fn solve_spd_solves() {
        let a = [4.0, 1.0, 1.0, 3.0];
        let x = solve_spd(&a, &[1.0, 2.0], 2).unwrap();
        assert!((4.0 * x[0] + x[1] - 1.0).abs() < 1e-14 && (x[0] + 3.0 * x[1] - 2.0).abs() < 1e-14);
    }
}
