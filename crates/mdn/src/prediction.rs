//! What a model predicts for one row: p(t|x), in the targets' own units.
//!
//! The network's mixture is over the targets as it models them: t itself, or log t for the
//! targets modelled as logarithms. A [`Prediction`] answers every question in the targets'
//! own units either way — densities carry the Jacobian, quantiles and samples are mapped
//! back, modes are found in the original units — so a log target is a modelling choice, not
//! something a user of the predictions has to undo.

use mdn_mixture::{GaussianMixture, MixtureError, Mode, ModeOptions, Temperature};
use rand::Rng;

/// p(t|x) for one row: a Gaussian mixture over the modelled targets, and which of them are
/// logarithms.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    mixture: GaussianMixture,
    log: Vec<bool>,
}

/// Gauss–Legendre nodes and weights on [−1, 1], 16 points: the CRPS of a log target is
/// integrated numerically, panel by panel.
const GAUSS_16: [(f64, f64); 8] = [
    (0.095_012_509_837_637_44, 0.189_450_610_455_068_5),
    (0.281_603_550_779_258_9, 0.182_603_415_044_923_6),
    (0.458_016_777_657_227_4, 0.169_156_519_395_002_5),
    (0.617_876_244_402_643_7, 0.149_595_988_816_576_7),
    (0.755_404_408_355_003, 0.124_628_971_255_533_9),
    (0.865_631_202_387_831_7, 0.095_158_511_682_492_78),
    (0.944_575_023_073_232_6, 0.062_253_523_938_647_89),
    (0.989_400_934_991_649_9, 0.027_152_459_411_754_09),
];

impl Prediction {
    /// A prediction from the mixture over the modelled targets; `log[j]` says whether target
    /// j is modelled as its logarithm.
    ///
    /// # Panics
    /// If `log` does not have the mixture's dimension.
    pub fn new(mixture: GaussianMixture, log: Vec<bool>) -> Self {
        assert_eq!(log.len(), mixture.dim(), "one flag per target");
        Self { mixture, log }
    }

    /// The mixture over the modelled targets (log t for log targets): its weights, means and
    /// covariances are the model's parameters.
    pub fn mixture(&self) -> &GaussianMixture {
        &self.mixture
    }

    /// The mixture over the modelled targets, taken out of the prediction: for targets none
    /// of which is a log target, p(t|x) itself.
    pub fn into_mixture(self) -> GaussianMixture {
        self.mixture
    }

    /// Whether target `j` is modelled as its logarithm.
    pub fn is_log(&self, j: usize) -> bool {
        self.log[j]
    }

    /// Whether any target is modelled as its logarithm.
    fn any_log(&self) -> bool {
        self.log.iter().any(|&l| l)
    }

    /// Number of targets.
    pub fn dim(&self) -> usize {
        self.mixture.dim()
    }

    /// The modelled value of `t`: log t_j for log targets; `None` where a log target is not
    /// positive (the density is 0 there).
    fn modelled(&self, t: &[f64]) -> Option<Vec<f64>> {
        t.iter()
            .zip(&self.log)
            .map(|(&v, &log)| match log {
                false => Some(v),
                true if v > 0.0 => Some(v.ln()),
                true => None,
            })
            .collect()
    }

    /// log p(t|x) in the targets' own units.
    ///
    /// # Formula
    /// With z_j = log t_j for log targets, p_t(t) = p_z(z) / Π_log t_j.
    pub fn log_prob(&self, t: &[f64]) -> f64 {
        if !self.any_log() {
            return self.mixture.log_prob(t);
        }
        match self.modelled(t) {
            Some(z) => {
                let jacobian: f64 = z
                    .iter()
                    .zip(&self.log)
                    .filter(|(_, l)| **l)
                    .map(|(z, _)| z)
                    .sum();
                self.mixture.log_prob(&z) - jacobian
            }
            None => f64::NEG_INFINITY,
        }
    }

    /// p(t|x) in the targets' own units.
    pub fn prob(&self, t: &[f64]) -> f64 {
        self.log_prob(t).exp()
    }

    /// p(t|x) at many points of a one-dimensional target (`out[k]` for `points[k]`),
    /// vectorised over the points.
    ///
    /// # Panics
    /// If the target is not one-dimensional, or the lengths differ.
    pub fn prob_batch(&self, points: &[f64], out: &mut [f64]) {
        assert_eq!(self.dim(), 1, "a one-dimensional target");
        if !self.log[0] {
            self.mixture.prob_batch(points, out);
            return;
        }
        let z: Vec<f64> = points
            .iter()
            .map(|&t| if t > 0.0 { t.ln() } else { 0.0 })
            .collect();
        self.mixture.prob_batch(&z, out);
        for (p, &t) in out.iter_mut().zip(points) {
            *p = if t > 0.0 { *p / t } else { 0.0 };
        }
    }

    /// The conditional mean E[t|x], per target.
    ///
    /// # Formula
    /// For a log target, E[t_j] = Σ_i α_i exp(μ_ij + ½ Σ_i,jj) (a log-normal mixture).
    pub fn mean(&self) -> Vec<f64> {
        let mut mean = self.mixture.mean();
        let weights = self.mixture.weights();
        for (j, m) in mean.iter_mut().enumerate().filter(|(j, _)| self.log[*j]) {
            *m = weights
                .iter()
                .enumerate()
                .map(|(i, w)| w * self.component_mean(i, j))
                .sum();
        }
        mean
    }

    /// The mean of target j under component i, in the target's units.
    fn component_mean(&self, i: usize, j: usize) -> f64 {
        let mu = self.mixture.component_mean(i)[j];
        if self.log[j] {
            let c = self.dim();
            let variance = self.mixture.component_covariance(i)[j * c + j];
            (mu + 0.5 * variance).exp()
        } else {
            mu
        }
    }

    /// The mean of the component with the largest weight: the most probable branch.
    pub fn best_mean(&self) -> Vec<f64> {
        let best = self.mixture.best_component();
        (0..self.dim())
            .map(|j| self.component_mean(best, j))
            .collect()
    }

    /// The modes (local maxima) of p(t|x) in the targets' own units, highest first.
    ///
    /// For log targets these are the maxima of the density of t, not the exponentials of
    /// the maxima of the density of log t: p_t(e^z) ∝ p_z(z) e^(−Σ z_j) is the mixture
    /// tilted by the log targets ([`GaussianMixture::tilted`]), whose modes map back exactly.
    pub fn modes(&self, options: &ModeOptions) -> Vec<Mode> {
        if !self.any_log() {
            return self.mixture.modes(options);
        }
        let tilt: Vec<f64> = self
            .log
            .iter()
            .map(|&l| if l { 1.0 } else { 0.0 })
            .collect();
        let mut modes: Vec<Mode> = self
            .mixture
            .tilted(&tilt)
            .modes(options)
            .into_iter()
            .map(|mode| {
                let location: Vec<f64> = mode
                    .location
                    .iter()
                    .zip(&self.log)
                    .map(|(&z, &log)| if log { z.exp() } else { z })
                    .collect();
                Mode {
                    log_density: self.log_prob(&location),
                    location,
                }
            })
            .collect();
        modes.sort_by(|a, b| b.log_density.total_cmp(&a.log_density));
        modes
    }

    /// `n` draws at `temperature`, each in the targets' own units.
    pub fn sample_n<R: Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
        temperature: Temperature,
    ) -> Vec<Vec<f64>> {
        let mut draws = self.mixture.sample_n(n, rng, temperature);
        if self.any_log() {
            for draw in &mut draws {
                for (v, &log) in draw.iter_mut().zip(&self.log) {
                    if log {
                        *v = v.exp();
                    }
                }
            }
        }
        draws
    }

    /// P(t_j ≤ x) under the marginal of target j.
    pub fn marginal_cdf(&self, j: usize, x: f64) -> Result<f64, MixtureError> {
        match self.log.get(j) {
            Some(true) if x <= 0.0 => Ok(0.0),
            Some(true) => self.mixture.marginal_cdf(j, x.ln()),
            _ => self.mixture.marginal_cdf(j, x),
        }
    }

    /// The p-quantile of the marginal of target j (quantiles commute with the logarithm).
    pub fn marginal_quantile(&self, j: usize, p: f64) -> Result<f64, MixtureError> {
        let q = self.mixture.marginal_quantile(j, p)?;
        Ok(if self.log[j] { q.exp() } else { q })
    }

    /// The CRPS of target j's marginal at the observation y: ∫ (F_j(x) − 1{x ≥ y})² dx, in
    /// the target's units. In closed form ([`GaussianMixture::marginal_crps`]); for a log
    /// target, by 16-point Gauss–Legendre quadrature over z = log x, on 64 panels each side
    /// of log y.
    pub fn marginal_crps(&self, j: usize, y: f64) -> Result<f64, MixtureError> {
        if !self.log.get(j).copied().unwrap_or(false) {
            return self.mixture.marginal_crps(j, y);
        }
        // ∫_0^∞ (F(x) − 1{x ≥ y})² dx with x = e^z: ∫ (F_z(z) − 1{z ≥ log y})² e^z dz. F_z
        // rises from 0 to 1 (to the last digit) within [low, high]; outside it the integrand
        // is 0 or e^z, integrated exactly.
        let c = self.dim();
        let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
        for i in 0..self.mixture.n_components() {
            let mu = self.mixture.component_mean(i)[j];
            let sd = self.mixture.component_covariance(i)[j * c + j].sqrt();
            low = low.min(mu - 12.0 * sd);
            high = high.max(mu + 12.0 * sd);
        }
        let cdf = |z: f64| self.mixture.marginal_cdf(j, z);
        let integral = |a: f64, b: f64, above: bool| -> Result<f64, MixtureError> {
            const PANELS: usize = 64;
            let width = (b - a) / PANELS as f64;
            let mut total = 0.0;
            for panel in 0..PANELS {
                let centre = a + width * (panel as f64 + 0.5);
                for &(node, weight) in &GAUSS_16 {
                    for z in [centre - 0.5 * width * node, centre + 0.5 * width * node] {
                        let f = cdf(z)?;
                        let gap = if above { 1.0 - f } else { f };
                        total += weight * gap * gap * z.exp();
                    }
                }
            }
            Ok(total * 0.5 * width)
        };
        if y <= 0.0 {
            // Every x > 0 lies above y: (1 − F)², which is 1 below `low`; and the x in [y, 0].
            return Ok(-y + low.exp() + integral(low, high, true)?);
        }
        let log_y = y.ln();
        let mut total = 0.0;
        if log_y > low {
            total += integral(low, log_y.min(high), false)?;
        }
        if log_y > high {
            total += y - high.exp(); // F = 1 between e^high and y
        }
        if log_y < high {
            total += integral(log_y.max(low), high, true)?;
        }
        if log_y < low {
            total += low.exp() - y; // 1 − F = 1 between y and e^low
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mdn_mixture::Covariance;
    use rand::SeedableRng;

    fn log_normal_mixture() -> Prediction {
        let mixture = GaussianMixture::new(
            1,
            vec![0.4, 0.6],
            vec![0.0, 1.5],
            Covariance::Isotropic(vec![0.3, 0.5]),
        )
        .unwrap();
        Prediction::new(mixture, vec![true])
    }

    #[test]
    fn a_log_target_is_a_log_normal_mixture_in_its_own_units() {
        let p = log_normal_mixture();
        // The density integrates to 1 over t > 0 (Simpson on a fine grid).
        let (n, hi) = (200_000, 200.0);
        let h = hi / n as f64;
        let total: f64 = (1..n)
            .map(|k| p.prob(&[h * k as f64]) * if k % 2 == 1 { 4.0 } else { 2.0 })
            .sum::<f64>()
            * h
            / 3.0;
        assert!((total - 1.0).abs() < 1e-6, "integral {total}");
        // E[t] = Σ α exp(μ + σ²/2).
        let expected = 0.4 * (0.045f64).exp() + 0.6 * (1.5 + 0.125f64).exp();
        assert!((p.mean()[0] - expected).abs() < 1e-12);
        // Quantiles and the CDF are the exponentials of the modelled ones.
        let q = p.marginal_quantile(0, 0.3).unwrap();
        assert!((p.marginal_cdf(0, q).unwrap() - 0.3).abs() < 1e-9);
        assert_eq!(p.log_prob(&[-1.0]), f64::NEG_INFINITY);
        assert_eq!(p.marginal_cdf(0, 0.0).unwrap(), 0.0);
    }

    #[test]
    fn modes_of_a_log_target_are_maxima_of_its_own_density() {
        let p = log_normal_mixture();
        let modes = p.modes(&ModeOptions::default());
        // The highest mode beats every point of a fine grid, and each is a local maximum.
        let grid = (1..200_000).map(|k| 2e-4 * k as f64);
        let best = grid
            .map(|t| p.log_prob(&[t]))
            .fold(f64::NEG_INFINITY, f64::max);
        assert!(
            modes[0].log_density >= best - 1e-9,
            "{modes:?} vs grid {best}"
        );
        for mode in &modes {
            let t = mode.location[0];
            for step in [1e-4, -1e-4] {
                assert!(p.log_prob(&[t * (1.0 + step)]) <= mode.log_density + 1e-12);
            }
        }
        // A single log-normal's mode is exp(μ − σ²), not exp(μ).
        let one = Prediction::new(
            GaussianMixture::new(1, vec![1.0], vec![1.0], Covariance::Isotropic(vec![0.5]))
                .unwrap(),
            vec![true],
        );
        let mode = one.modes(&ModeOptions::default())[0].location[0];
        assert!((mode - (1.0f64 - 0.25).exp()).abs() < 1e-9, "{mode}");
    }

    #[test]
    fn crps_of_a_log_target_matches_its_definition() {
        let p = log_normal_mixture();
        // Simpson's rule on [a, b] with n (even) panels.
        let simpson = |a: f64, b: f64, n: usize, f: &dyn Fn(f64) -> f64| {
            let h = (b - a) / n as f64;
            (0..=n)
                .map(|k| {
                    let w = if k == 0 || k == n {
                        1.0
                    } else if k % 2 == 1 {
                        4.0
                    } else {
                        2.0
                    };
                    w * f(a + h * k as f64)
                })
                .sum::<f64>()
                * h
                / 3.0
        };
        for y in [0.2, 1.0, 4.5, 30.0] {
            // ∫ (F(x) − 1{x ≥ y})² dx, split at y where the integrand jumps (Simpson across
            // the jump would be only first-order accurate).
            let below = simpson(0.0, y, 200_000, &|x| p.marginal_cdf(0, x).unwrap().powi(2));
            let above = simpson(y, 400.0, 400_000, &|x| {
                (1.0 - p.marginal_cdf(0, x).unwrap()).powi(2)
            });
            let numeric = below + above;
            let got = p.marginal_crps(0, y).unwrap();
            assert!((got - numeric).abs() < 1e-6, "y {y}: {got} vs {numeric}");
        }
    }

    #[test]
    fn samples_are_in_the_targets_units() {
        let p = log_normal_mixture();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let draws = p.sample_n(20_000, &mut rng, Temperature::ONE);
        assert!(draws.iter().all(|d| d[0] > 0.0));
        let mean = draws.iter().map(|d| d[0]).sum::<f64>() / draws.len() as f64;
        assert!(
            (mean - p.mean()[0]).abs() < 0.05 * p.mean()[0],
            "{mean} vs {}",
            p.mean()[0]
        );
    }
}
