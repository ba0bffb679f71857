//! Scoring predictive densities against observed targets.

use std::collections::BTreeMap;

use mdn_mixture::{GaussianMixture, MixtureError};
use serde::{Deserialize, Serialize};

/// Scores of one target dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetScores {
    /// Root mean squared error of the conditional mean.
    pub rmse_mean: f64,
    /// Root mean squared error of the best component's mean (the most probable branch).
    pub rmse_best: f64,
    /// Fraction of targets inside the central 90% interval of their marginal.
    pub coverage_90: f64,
}

/// How well predictive densities explain a set of targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Number of rows.
    pub n: usize,
    /// Mean negative log-likelihood, nats per row, in the data's units.
    pub nll: f64,
    /// Root mean squared error of the conditional mean, pooled over targets.
    pub rmse_mean: f64,
    /// Root mean squared error of the best component's mean, pooled over targets.
    pub rmse_best: f64,
    /// Fraction of target values inside the central 90% marginal interval, averaged over
    /// targets.
    pub coverage_90: f64,
    /// Target names, in order.
    pub targets: Vec<String>,
    /// The same scores for each target.
    pub per_target: BTreeMap<String, TargetScores>,
}

/// Accumulates [`Scores`] one row at a time, so files of any length can be streamed.
#[derive(Debug, Clone)]
pub struct ScoreAccumulator {
    targets: Vec<String>,
    n: usize,
    log_lik: f64,
    squared_mean: Vec<f64>,
    squared_best: Vec<f64>,
    covered: Vec<usize>,
}

impl ScoreAccumulator {
    /// An empty accumulator for targets named `targets`.
    pub fn new(targets: Vec<String>) -> Self {
        let c = targets.len();
        Self {
            targets,
            n: 0,
            log_lik: 0.0,
            squared_mean: vec![0.0; c],
            squared_best: vec![0.0; c],
            covered: vec![0; c],
        }
    }

    /// Adds one row; returns its log-likelihood log p(t|x).
    pub fn add(&mut self, mixture: &GaussianMixture, target: &[f64]) -> Result<f64, MixtureError> {
        let log_lik = mixture.log_prob(target);
        let mean = mixture.mean();
        let best = mixture.best_mean();
        for (j, &t) in target.iter().enumerate() {
            self.squared_mean[j] += (mean[j] - t).powi(2);
            self.squared_best[j] += (best[j] - t).powi(2);
            // t lies in [q(0.05), q(0.95)] exactly when F(t) lies in [0.05, 0.95], since the
            // marginal CDF F is continuous and strictly increasing: one CDF evaluation instead
            // of two quantile bisections.
            let level = mixture.marginal_cdf(j, t)?;
            self.covered[j] += usize::from((0.05..=0.95).contains(&level));
        }
        self.log_lik += log_lik;
        self.n += 1;
        Ok(log_lik)
    }

    /// Adds the rows of `other` (scored separately, e.g. on another thread), as if they had
    /// been added to this accumulator after its own.
    ///
    /// # Panics
    /// If the two accumulators score different targets.
    pub fn merge(&mut self, other: &ScoreAccumulator) {
        assert_eq!(self.targets, other.targets, "scores of different targets");
        self.n += other.n;
        self.log_lik += other.log_lik;
        for j in 0..self.targets.len() {
            self.squared_mean[j] += other.squared_mean[j];
            self.squared_best[j] += other.squared_best[j];
            self.covered[j] += other.covered[j];
        }
    }

    /// Rows added so far.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The scores of all rows added.
    pub fn finish(self) -> Scores {
        let rows = self.n as f64;
        let c = self.targets.len() as f64;
        let per_target = self
            .targets
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let scores = TargetScores {
                    rmse_mean: (self.squared_mean[j] / rows).sqrt(),
                    rmse_best: (self.squared_best[j] / rows).sqrt(),
                    coverage_90: self.covered[j] as f64 / rows,
                };
                (name.clone(), scores)
            })
            .collect();
        let pooled = |v: &[f64]| (v.iter().sum::<f64>() / (rows * c)).sqrt();
        Scores {
            n: self.n,
            nll: -self.log_lik / rows,
            rmse_mean: pooled(&self.squared_mean),
            rmse_best: pooled(&self.squared_best),
            coverage_90: self.covered.iter().sum::<usize>() as f64 / (rows * c),
            targets: self.targets,
            per_target,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mdn_mixture::Covariance;

    #[test]
    fn merged_accumulators_score_like_one() {
        let mixture = GaussianMixture::new(
            1,
            vec![0.4, 0.6],
            vec![-1.0, 1.0],
            Covariance::Isotropic(vec![0.5, 0.3]),
        )
        .unwrap();
        let targets = [-1.2, 0.1, 0.9, 2.5, -3.0, 1.1];
        let mut whole = ScoreAccumulator::new(vec!["t".into()]);
        let mut first = ScoreAccumulator::new(vec!["t".into()]);
        let mut second = ScoreAccumulator::new(vec!["t".into()]);
        for (i, &t) in targets.iter().enumerate() {
            whole.add(&mixture, &[t]).unwrap();
            let part = if i < 4 { &mut first } else { &mut second };
            part.add(&mixture, &[t]).unwrap();
        }
        first.merge(&second);
        let (a, b) = (whole.finish(), first.finish());
        assert_eq!(a.n, b.n);
        assert_eq!(a.coverage_90, b.coverage_90);
        assert!((a.nll - b.nll).abs() < 1e-12 && (a.rmse_mean - b.rmse_mean).abs() < 1e-12);
    }

    #[test]
    fn coverage_counts_targets_between_the_5_and_95_percent_quantiles() {
        // Two targets: a standard normal (q95 = 1.6449) and a bimodal mixture.
        let normal =
            GaussianMixture::new(1, vec![1.0], vec![0.0], Covariance::Isotropic(vec![1.0]))
                .unwrap();
        let mut scores = ScoreAccumulator::new(vec!["t".into()]);
        for t in [0.0, 1.6, -1.6, 1.7, -1.7, 3.0] {
            scores.add(&normal, &[t]).unwrap();
        }
        assert_eq!(scores.finish().coverage_90, 0.5);

        // The CDF test agrees with the quantile interval it replaces.
        let bimodal = GaussianMixture::new(
            1,
            vec![0.3, 0.7],
            vec![-1.0, 2.0],
            Covariance::Isotropic(vec![0.2, 0.5]),
        )
        .unwrap();
        let (low, high) = (
            bimodal.marginal_quantile(0, 0.05).unwrap(),
            bimodal.marginal_quantile(0, 0.95).unwrap(),
        );
        for i in 0..200 {
            let t = -2.0 + 0.025 * f64::from(i);
            let mut one = ScoreAccumulator::new(vec!["t".into()]);
            one.add(&bimodal, &[t]).unwrap();
            let inside = (low..=high).contains(&t);
            assert_eq!(one.finish().coverage_90 == 1.0, inside, "t = {t}");
        }
    }
}
