//! The Gaussian mixture itself: construction, density, responsibilities and moments.

use crate::covariance::{Covariance, CovarianceKind, Scales};
use crate::error::MixtureError;
use crate::logsumexp;

/// ½ ln(2π).
const HALF_LN_TWO_PI: f64 = 0.918_938_533_204_672_8;

/// Up to this many components, [`GaussianMixture::log_prob`] keeps the per-component log
/// densities on the stack rather than allocating them.
const STACK_COMPONENTS: usize = 16;

/// How far from 1 the weights given to [`GaussianMixture::new`] may sum.
pub const WEIGHT_SUM_TOLERANCE: f64 = 1e-6;

/// A mixture of m Gaussians over a c-dimensional target.
///
/// # Formula
/// p(t) = Σ_i α_i N(t; μ_i, Σ_i), with α_i ≥ 0, Σ_i α_i = 1, and Σ_i isotropic (σ_i² I),
/// diagonal or full. Log densities are computed as logsumexp_i(log α_i + log N(t; μ_i, Σ_i)),
/// so they stay accurate for targets far from every component and for tiny σ.
///
/// # Examples
/// ```
/// use mdn_mixture::{Covariance, GaussianMixture};
///
/// // Two branches at t = 0.2 and t = 0.8, the second twice as likely.
/// let mixture = GaussianMixture::new(
///     1,
///     vec![1.0 / 3.0, 2.0 / 3.0],
///     vec![0.2, 0.8],
///     Covariance::Isotropic(vec![0.05, 0.05]),
/// )?;
/// assert_eq!(mixture.best_mean(), &[0.8]);
/// assert!((mixture.mean()[0] - 0.6).abs() < 1e-12); // the average of the branches
/// let modes = mixture.modes(&Default::default());
/// assert_eq!(modes.len(), 2);
/// assert!((modes[0].location[0] - 0.8).abs() < 1e-6);
/// # Ok::<(), mdn_mixture::MixtureError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    dim: usize,
    log_weights: Vec<f64>,
    means: Vec<f64>,
    pub(crate) scales: Scales,
}

impl GaussianMixture {
    /// A mixture from weights α (non-negative, summing to 1 within
    /// [`WEIGHT_SUM_TOLERANCE`]), means (m·c values, component-major) and covariances.
    ///
    /// The weights are renormalised exactly after the check.
    pub fn new(
        dim: usize,
        weights: Vec<f64>,
        means: Vec<f64>,
        covariance: Covariance,
    ) -> Result<Self, MixtureError> {
        for (component, &value) in weights.iter().enumerate() {
            if !(value.is_finite() && value >= 0.0) {
                return Err(MixtureError::InvalidWeight { component, value });
            }
        }
        let sum: f64 = weights.iter().sum();
        if !weights.is_empty() && (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
            return Err(MixtureError::WeightsNotNormalised {
                sum,
                tolerance: WEIGHT_SUM_TOLERANCE,
            });
        }
        let log_weights = weights.iter().map(|w| w.ln()).collect();
        Self::from_log_weights(dim, log_weights, means, covariance)
    }

    /// A mixture from unnormalised log-weights (for example the logits of a softmax):
    /// α = softmax(log_weights). A log-weight of −∞ gives a component of weight 0.
    pub fn from_log_weights(
        dim: usize,
        log_weights: Vec<f64>,
        means: Vec<f64>,
        covariance: Covariance,
    ) -> Result<Self, MixtureError> {
        if dim == 0 {
            return Err(MixtureError::ZeroDimension);
        }
        let m = log_weights.len();
        if m == 0 {
            return Err(MixtureError::NoComponents);
        }
        for (component, &value) in log_weights.iter().enumerate() {
            if value.is_nan() || value == f64::INFINITY {
                return Err(MixtureError::InvalidLogWeight { component, value });
            }
        }
        let total = logsumexp(&log_weights);
        if total == f64::NEG_INFINITY {
            return Err(MixtureError::InvalidLogWeight {
                component: 0,
                value: total,
            });
        }
        if means.len() != m * dim {
            return Err(MixtureError::ShapeMismatch {
                what: "means",
                expected: m * dim,
                got: means.len(),
            });
        }
        for (k, &value) in means.iter().enumerate() {
            if !value.is_finite() {
                return Err(MixtureError::NonFiniteMean {
                    component: k / dim,
                    dimension: k % dim,
                    value,
                });
            }
        }
        let scales = Scales::new(covariance, m, dim)?;
        Ok(Self {
            dim,
            log_weights: log_weights.iter().map(|w| w - total).collect(),
            means,
            scales,
        })
    }

    /// A mixture of already-checked parts: normalised log-weights, finite means and valid
    /// scales of the same shape.
    pub(crate) fn from_parts(
        dim: usize,
        log_weights: Vec<f64>,
        means: Vec<f64>,
        scales: Scales,
    ) -> Self {
        Self {
            dim,
            log_weights,
            means,
            scales,
        }
    }

    /// Dimension c of the target.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of components m.
    pub fn n_components(&self) -> usize {
        self.log_weights.len()
    }

    /// The covariance kind the mixture was built with ([`Covariance::Full`] and
    /// [`Covariance::Cholesky`] are both [`CovarianceKind::Full`]).
    pub fn covariance_kind(&self) -> CovarianceKind {
        self.scales.kind()
    }

    /// Normalised log-weights log α_i.
    pub fn log_weights(&self) -> &[f64] {
        &self.log_weights
    }

    /// Replaces the log-weights with already-normalised ones (temperature).
    pub(crate) fn set_log_weights(&mut self, log_weights: Vec<f64>) {
        self.log_weights = log_weights;
    }

    /// Weights α_i.
    pub fn weights(&self) -> Vec<f64> {
        self.log_weights.iter().map(|w| w.exp()).collect()
    }

    /// Mean μ_k of component k.
    ///
    /// # Panics
    /// If `k` is not below [`n_components`](Self::n_components).
    pub fn component_mean(&self, k: usize) -> &[f64] {
        &self.means[k * self.dim..(k + 1) * self.dim]
    }

    /// Standard deviation of each dimension under component k: √diag(Σ_k).
    pub fn component_std(&self, k: usize) -> Vec<f64> {
        (0..self.dim)
            .map(|j| self.scales.variance(k, j).sqrt())
            .collect()
    }

    /// Covariance Σ_k of component k, a row-major c×c matrix.
    pub fn component_covariance(&self, k: usize) -> Vec<f64> {
        self.scales.matrix(k)
    }

    /// log N(t; μ_k, Σ_k) for every component k.
    ///
    /// # Panics
    /// If `t` does not have [`dim`](Self::dim) values.
    pub fn component_log_densities(&self, t: &[f64]) -> Vec<f64> {
        self.check_target(t);
        (0..self.n_components())
            .map(|k| self.component_log_density(k, t))
            .collect()
    }

    /// log N(t; μ_k, Σ_k) of one component, for a target of the right length.
    fn component_log_density(&self, k: usize, t: &[f64]) -> f64 {
        -0.5 * self.scales.mahalanobis_sq(k, t, self.component_mean(k))
            - self.scales.log_det_half(k)
            - self.dim as f64 * HALF_LN_TWO_PI
    }

    /// log α_k − ½ log |Σ_k| − (c/2) ln 2π: the joint log density of component k at its mean.
    pub(crate) fn log_normaliser(&self, k: usize) -> f64 {
        (self.log_weights[k] - self.scales.log_det_half(k)) - self.dim as f64 * HALF_LN_TWO_PI
    }

    /// log p(t), by logsumexp over components.
    ///
    /// Allocates nothing for up to 16 components and 16 dimensions: it is called once per
    /// row when a model is evaluated on a data set.
    ///
    /// # Panics
    /// If `t` does not have [`dim`](Self::dim) values.
    pub fn log_prob(&self, t: &[f64]) -> f64 {
        let m = self.n_components();
        if m <= STACK_COMPONENTS {
            let joint = &mut [0.0; STACK_COMPONENTS][..m];
            self.joint_log_densities(t, joint);
            logsumexp(joint)
        } else {
            let joint = &mut vec![0.0; m];
            self.joint_log_densities(t, joint);
            logsumexp(joint)
        }
    }

    /// Writes log α_k + log N(t; μ_k, Σ_k) for every component k into `joint`.
    ///
    /// # Panics
    /// If `t` does not have [`dim`](Self::dim) values.
    fn joint_log_densities(&self, t: &[f64], joint: &mut [f64]) {
        self.check_target(t);
        // Rounded exactly as the batched densities round them (see `batch`), so that both
        // agree to the last bit on the terms and differ only in their exponentials.
        for (k, j) in joint.iter_mut().enumerate() {
            let mahalanobis_sq = self.scales.mahalanobis_sq(k, t, self.component_mean(k));
            *j = self.log_normaliser(k) - 0.5 * mahalanobis_sq;
        }
    }

    /// Panics unless `t` has [`dim`](Self::dim) values.
    fn check_target(&self, t: &[f64]) {
        assert_eq!(
            t.len(),
            self.dim,
            "target has {} values, mixture has dimension {}",
            t.len(),
            self.dim
        );
    }

    /// p(t). Underflows to 0 far from every component: use [`log_prob`](Self::log_prob) there.
    /// For many targets at once, [`prob_batch`](Self::prob_batch) is several times faster.
    pub fn prob(&self, t: &[f64]) -> f64 {
        self.log_prob(t).exp()
    }

    /// Posterior probability of each component given t: α_k N(t; μ_k, Σ_k) / p(t).
    /// Computed in log space, so it is defined even where p(t) underflows.
    pub fn responsibilities(&self, t: &[f64]) -> Vec<f64> {
        let mut r = vec![0.0; self.n_components()];
        self.joint_log_densities(t, &mut r);
        let total = logsumexp(&r);
        for v in &mut r {
            *v = (*v - total).exp();
        }
        r
    }

    /// The conditional mean E\[t\] = Σ_i α_i μ_i (what a least-squares network estimates).
    pub fn mean(&self) -> Vec<f64> {
        let mut mean = vec![0.0; self.dim];
        for (k, w) in self.weights().iter().enumerate() {
            for (j, m) in mean.iter_mut().enumerate() {
                *m += w * self.means[k * self.dim + j];
            }
        }
        mean
    }

    /// The covariance of t (law of total variance):
    /// Σ_i α_i (Σ_i + μ_i μ_iᵀ) − E\[t\] E\[t\]ᵀ, a row-major c×c matrix.
    pub fn covariance(&self) -> Vec<f64> {
        let c = self.dim;
        let mean = self.mean();
        let mut cov = vec![0.0; c * c];
        for (k, w) in self.weights().iter().enumerate() {
            let sigma = self.scales.matrix(k);
            let mu = self.component_mean(k);
            for a in 0..c {
                for b in 0..c {
                    // Centred on the mixture mean: no cancellation when means are large.
                    cov[a * c + b] +=
                        w * (sigma[a * c + b] + (mu[a] - mean[a]) * (mu[b] - mean[b]));
                }
            }
        }
        cov
    }

    /// The component with the largest weight α (the first one on ties).
    pub fn best_component(&self) -> usize {
        let mut best = 0;
        for (k, &w) in self.log_weights.iter().enumerate() {
            if w > self.log_weights[best] {
                best = k;
            }
        }
        best
    }

    /// The mean of the component with the largest α: the most probable branch.
    pub fn best_mean(&self) -> &[f64] {
        self.component_mean(self.best_component())
    }
}
