//! A mixture times an exponential: what maximising a density in log coordinates needs.

use crate::mixture::GaussianMixture;

impl GaussianMixture {
    /// The mixture proportional to p(t) · exp(−a·t), which is again a Gaussian mixture, with
    /// the same covariances.
    ///
    /// # Formula
    /// N(t; μ, Σ) e^(−a·t) = e^(−a·μ + ½ aᵀΣa) N(t; μ − Σa, Σ), so component i keeps Σ_i, moves
    /// to μ_i − Σ_i a and has its log-weight raised by −a·μ_i + ½ aᵀΣ_i a.
    ///
    /// Where t_j = exp(z_j), the density of t at exp(z) is p_z(z) e^(−Σ_j z_j), so the modes
    /// of t are the exponentials of the modes of `tilted(1)` of the mixture over z.
    ///
    /// # Panics
    /// If `a` does not have the mixture's dimension.
    pub fn tilted(&self, a: &[f64]) -> GaussianMixture {
        let c = self.dim();
        assert_eq!(a.len(), c, "one tilt per dimension");
        let mut log_weights = self.log_weights().to_vec();
        let mut means = Vec::with_capacity(self.n_components() * c);
        for (i, log_weight) in log_weights.iter_mut().enumerate() {
            let sigma = self.component_covariance(i);
            let mu = self.component_mean(i);
            let sigma_a: Vec<f64> = (0..c)
                .map(|row| (0..c).map(|col| sigma[row * c + col] * a[col]).sum())
                .collect();
            let a_mu: f64 = a.iter().zip(mu).map(|(a, m)| a * m).sum();
            let a_sigma_a: f64 = a.iter().zip(&sigma_a).map(|(a, s)| a * s).sum();
            *log_weight += -a_mu + 0.5 * a_sigma_a;
            means.extend(mu.iter().zip(&sigma_a).map(|(m, s)| m - s));
        }
        let total = crate::logsumexp(&log_weights);
        GaussianMixture::from_parts(
            c,
            log_weights.iter().map(|w| w - total).collect(),
            means,
            self.scales.clone(),
        )
    }
}
