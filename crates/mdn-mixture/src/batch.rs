//! Densities at many targets at once: p(t) and log p(t) for a row-major n×c array.
//!
//! Evaluating a density grid one target at a time is dominated by the scalar `exp` of every
//! component. Here targets go through in blocks: for each component the joint log density of
//! the whole block is computed first (loops over points innermost, so they are contiguous),
//! then folded into per-point accumulators with the vectorisable [`crate::vexp::exp`]. All of
//! it runs inside `pulp` dispatch, which compiles the loops for AVX2/FMA where the CPU has it.

mod kernels;
mod terms;

use crate::mixture::GaussianMixture;
use kernels::{LogProbBlocks, ProbBlocks};

impl GaussianMixture {
    /// log p(t) for each of n targets, written to `out`.
    ///
    /// The same values as [`log_prob`](Self::log_prob) at each target (to a few ulp: both
    /// round the per-component terms identically and differ only in their exponentials),
    /// several times faster for many targets: per-component constants are computed once per
    /// block of targets and the exponentials are vectorised.
    ///
    /// # Formula
    /// log p(t_i) = M_i + ln Σ_k exp(ℓ_ik − M_i), with ℓ_ik = log α_k + log N(t_i; μ_k, Σ_k)
    /// and M_i = max_k ℓ_ik, so the result stays finite (and exact) for targets far from every
    /// component.
    ///
    /// # Examples
    /// ```
    /// use mdn_mixture::{Covariance, GaussianMixture};
    ///
    /// let mixture = GaussianMixture::new(
    ///     1,
    ///     vec![0.3, 0.7],
    ///     vec![0.0, 2.0],
    ///     Covariance::Isotropic(vec![0.5, 1.0]),
    /// )?;
    /// let targets = [-1.0, 0.0, 1.5, 100.0];
    /// let mut log_p = [0.0; 4];
    /// mixture.log_prob_batch(&targets, &mut log_p);
    /// for (t, lp) in targets.iter().zip(log_p) {
    ///     assert!((lp - mixture.log_prob(&[*t])).abs() < 1e-13 * lp.abs().max(1.0));
    /// }
    /// assert!(log_p[3].is_finite()); // p(100) underflows, its log does not
    /// # Ok::<(), mdn_mixture::MixtureError>(())
    /// ```
    ///
    /// # Panics
    /// If `points.len()` is not a multiple of [`dim`](Self::dim), or `out.len()` is not the
    /// number of targets `points.len() / dim`.
    pub fn log_prob_batch(&self, points: &[f64], out: &mut [f64]) {
        self.check_batch_shape(points, out.len());
        if out.is_empty() {
            return;
        }
        pulp::Arch::new().dispatch(LogProbBlocks {
            mixture: self,
            points,
            out,
        });
    }

    /// p(t) for each of n targets, written to `out`.
    ///
    /// The same values as [`prob`](Self::prob) at each target (to 1e-13 relative), several
    /// times faster for many targets. Far from every component p underflows to 0 exactly
    /// where `prob` does: use [`log_prob_batch`](Self::log_prob_batch) there.
    ///
    /// # Formula
    /// p(t_i) = Σ_k exp(ℓ_ik), with ℓ_ik = log α_k + log N(t_i; μ_k, Σ_k), summed directly when
    /// the largest ℓ_ik is at least −708 (the sum is then a normal number); below that as
    /// exp(log p(t_i)), like `prob`.
    ///
    /// # Examples
    /// ```
    /// use mdn_mixture::{Covariance, GaussianMixture};
    ///
    /// // p(t|x) over a grid of t for one x: a row of a density plot.
    /// let mixture = GaussianMixture::new(
    ///     1,
    ///     vec![0.5, 0.5],
    ///     vec![0.2, 0.8],
    ///     Covariance::Isotropic(vec![0.05, 0.1]),
    /// )?;
    /// let grid: Vec<f64> = (0..=200).map(|i| -0.5 + f64::from(i) / 100.0).collect();
    /// let density = mixture.prob_many(&grid);
    /// let integral: f64 = density.iter().sum::<f64>() * 0.01;
    /// assert!((integral - 1.0).abs() < 1e-9);
    /// assert!((density[70] - mixture.prob(&[0.2])).abs() < 1e-13 * density[70]);
    /// # Ok::<(), mdn_mixture::MixtureError>(())
    /// ```
    ///
    /// # Panics
    /// If `points.len()` is not a multiple of [`dim`](Self::dim), or `out.len()` is not the
    /// number of targets `points.len() / dim`.
    pub fn prob_batch(&self, points: &[f64], out: &mut [f64]) {
        self.check_batch_shape(points, out.len());
        if out.is_empty() {
            return;
        }
        pulp::Arch::new().dispatch(ProbBlocks {
            mixture: self,
            points,
            out,
        });
    }

    /// log p(t) for each of the n targets in a row-major n×c array: an allocating
    /// [`log_prob_batch`](Self::log_prob_batch).
    ///
    /// # Examples
    /// ```
    /// use mdn_mixture::{Covariance, GaussianMixture};
    ///
    /// let mixture = GaussianMixture::new(
    ///     2,
    ///     vec![1.0],
    ///     vec![0.0, 0.0],
    ///     Covariance::Isotropic(vec![1.0]),
    /// )?;
    /// let log_p = mixture.log_prob_many(&[0.0, 0.0, 3.0, 4.0]); // (0, 0) and (3, 4)
    /// let log_2pi = (2.0 * std::f64::consts::PI).ln();
    /// assert!((log_p[0] + log_2pi).abs() < 1e-15);
    /// assert!((log_p[1] + log_2pi + 12.5).abs() < 1e-14);
    /// # Ok::<(), mdn_mixture::MixtureError>(())
    /// ```
    ///
    /// # Panics
    /// If `points.len()` is not a multiple of [`dim`](Self::dim).
    pub fn log_prob_many(&self, points: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; points.len() / self.dim()];
        self.log_prob_batch(points, &mut out);
        out
    }

    /// p(t) for each of the n targets in a row-major n×c array: an allocating
    /// [`prob_batch`](Self::prob_batch).
    ///
    /// # Examples
    /// ```
    /// use mdn_mixture::{Covariance, GaussianMixture};
    ///
    /// let mixture =
    ///     GaussianMixture::new(1, vec![1.0], vec![0.0], Covariance::Isotropic(vec![1.0]))?;
    /// let p = mixture.prob_many(&[0.0, 1.0]);
    /// let peak = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
    /// assert!((p[0] - peak).abs() < 1e-16 && (p[1] - peak * (-0.5f64).exp()).abs() < 1e-16);
    /// # Ok::<(), mdn_mixture::MixtureError>(())
    /// ```
    ///
    /// # Panics
    /// If `points.len()` is not a multiple of [`dim`](Self::dim).
    pub fn prob_many(&self, points: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; points.len() / self.dim()];
        self.prob_batch(points, &mut out);
        out
    }

    /// Panics unless `points` holds whole targets and `out_len` is their number.
    fn check_batch_shape(&self, points: &[f64], out_len: usize) {
        let c = self.dim();
        assert!(
            points.len().is_multiple_of(c),
            "points has {} values, not a multiple of the mixture's dimension {c}",
            points.len()
        );
        assert_eq!(
            out_len,
            points.len() / c,
            "out has {out_len} entries for {} targets",
            points.len() / c
        );
    }
}
