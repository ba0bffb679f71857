//! Drawing samples, optionally at a temperature (as keras-mdn-layer users expect).

use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

use crate::error::MixtureError;
use crate::mixture::GaussianMixture;

/// A sampling temperature T > 0.
///
/// # Formula
/// Weights become α_i^(1/T) / Σ_k α_k^(1/T) and covariances T Σ_i (standard deviations
/// √T σ_i). T = 1 leaves the mixture unchanged; T → 0 approaches always drawing the mean of
/// the most probable component; T > 1 flattens the mixture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Temperature(f64);

impl Temperature {
    /// The identity temperature, T = 1.
    pub const ONE: Self = Self(1.0);

    /// A temperature, rejecting zero, negative and non-finite values.
    pub fn new(value: f64) -> Result<Self, MixtureError> {
        if value.is_finite() && value > 0.0 {
            Ok(Self(value))
        } else {
            Err(MixtureError::InvalidTemperature { value })
        }
    }

    /// The value of T.
    pub fn value(self) -> f64 {
        self.0
    }
}

impl Default for Temperature {
    fn default() -> Self {
        Self::ONE
    }
}

impl GaussianMixture {
    /// The mixture at temperature T (see [`Temperature`]).
    pub fn with_temperature(&self, temperature: Temperature) -> Self {
        let t = temperature.value();
        if t == 1.0 {
            return self.clone();
        }
        let mut tempered = self.clone();
        let log_weights: Vec<f64> = self.log_weights().iter().map(|w| w / t).collect();
        let total = crate::logsumexp(&log_weights);
        tempered.set_log_weights(log_weights.iter().map(|w| w - total).collect());
        tempered.scales = self.scales.scaled(t.sqrt());
        tempered
    }

    /// One draw from the mixture at `temperature`: pick component k with probability α_k,
    /// then t = μ_k + L_k z with z standard normal.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, temperature: Temperature) -> Vec<f64> {
        self.sample_n(1, rng, temperature)
            .pop()
            .expect("one draw was asked for")
    }

    /// `n` independent draws at `temperature`.
    pub fn sample_n<R: Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
        temperature: Temperature,
    ) -> Vec<Vec<f64>> {
        let mixture = self.with_temperature(temperature);
        let weights = mixture.weights();
        let c = mixture.dim();
        (0..n)
            .map(|_| {
                // Inverse-CDF choice of the component; the last one absorbs rounding.
                let u: f64 = rng.random();
                let mut k = weights.len() - 1;
                let mut cumulative = 0.0;
                for (i, w) in weights.iter().enumerate() {
                    cumulative += w;
                    if u < cumulative && *w > 0.0 {
                        k = i;
                        break;
                    }
                }
                while weights[k] == 0.0 {
                    k -= 1;
                }
                let z: Vec<f64> = (0..c).map(|_| rng.sample(StandardNormal)).collect();
                let mu = mixture.component_mean(k);
                (0..c)
                    .map(|j| {
                        mu[j]
                            + (0..=j)
                                .map(|p| mixture.scales.factor_entry(k, j, p) * z[p])
                                .sum::<f64>()
                    })
                    .collect()
            })
            .collect()
    }
}
