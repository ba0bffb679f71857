//! Scoring predictive densities against observed targets: log-likelihood, errors of the point
//! predictions, and calibration — CRPS, interval coverage and the PIT.
//!
//! Every score is a (weighted) mean over rows, accumulated one row at a time with memory that
//! does not grow with the rows: the PIT values go into a fixed histogram.

use std::collections::BTreeMap;

use mdn_mixture::MixtureError;
use serde::{Deserialize, Serialize};

use crate::prediction::Prediction;

/// Bins of the PIT histogram: the Kolmogorov–Smirnov distance is exact to 1/`PIT_BINS`.
pub const PIT_BINS: usize = 1000;

/// The central-interval levels whose coverage is reported.
pub const COVERAGE_LEVELS: [f64; 4] = [0.5, 0.8, 0.9, 0.95];

/// Scores of one target dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetScores {
    /// Root mean squared error of the conditional mean.
    pub rmse_mean: f64,
    /// Root mean squared error of the best component's mean (the most probable branch).
    pub rmse_best: f64,
    /// Fraction of targets inside the central 90% interval of their marginal.
    pub coverage_90: f64,
    /// Fraction of targets inside the central interval of each level (keys `0.5`, `0.8`,
    /// `0.9`, `0.95`).
    pub coverage: BTreeMap<String, f64>,
    /// Mean continuous ranked probability score of the marginal (the target's units).
    pub crps: f64,
    /// Kolmogorov–Smirnov distance of the PIT values F(t) from U(0, 1).
    pub pit_ks: f64,
}

/// How well predictive densities explain a set of targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Number of rows scored.
    pub n: usize,
    /// Rows left out for a missing cell (set by whoever read them; 0 otherwise).
    pub n_skipped: usize,
    /// Mean negative log-likelihood, nats per row, in the data's units.
    pub nll: f64,
    /// Root mean squared error of the conditional mean, pooled over targets.
    pub rmse_mean: f64,
    /// Root mean squared error of the best component's mean, pooled over targets.
    pub rmse_best: f64,
    /// Fraction of target values inside the central 90% marginal interval, averaged over
    /// targets.
    pub coverage_90: f64,
    /// The same for each level of [`COVERAGE_LEVELS`].
    pub coverage: BTreeMap<String, f64>,
    /// Mean CRPS of each target's marginal, averaged over targets.
    pub crps: f64,
    /// Kolmogorov–Smirnov distance from U(0, 1) of the PIT values of every target pooled.
    pub pit_ks: f64,
    /// Target names, in order.
    pub targets: Vec<String>,
    /// The same scores for each target.
    pub per_target: BTreeMap<String, TargetScores>,
}

/// What one row scored.
#[derive(Debug, Clone, PartialEq)]
pub struct RowScores {
    /// log p(t|x).
    pub log_lik: f64,
    /// F_j(t_j) for each target: the probability integral transform.
    pub pit: Vec<f64>,
    /// The CRPS of each target's marginal.
    pub crps: Vec<f64>,
}

/// Accumulates [`Scores`] one row at a time, so files of any length can be streamed.
#[derive(Debug, Clone)]
pub struct ScoreAccumulator {
    targets: Vec<String>,
    n: usize,
    weight: f64,
    log_lik: f64,
    squared_mean: Vec<f64>,
    squared_best: Vec<f64>,
    crps: Vec<f64>,
    /// Per target, the weight of the PIT values in each of `PIT_BINS` bins.
    pit: Vec<Vec<f64>>,
}

fn level_key(level: f64) -> String {
    format!("{level}")
}

/// The KS distance of a histogram of values in [0, 1] from U(0, 1), at the bin edges.
fn ks_distance(histogram: &[f64]) -> f64 {
    let total: f64 = histogram.iter().sum();
    if total <= 0.0 {
        return f64::NAN;
    }
    let mut cumulative = 0.0;
    let mut worst: f64 = 0.0;
    for (k, &count) in histogram.iter().enumerate() {
        cumulative += count;
        let edge = (k + 1) as f64 / histogram.len() as f64;
        worst = worst.max((cumulative / total - edge).abs());
    }
    worst
}

/// The weight of the PIT values inside the central interval of `level`, from a histogram.
fn covered(histogram: &[f64], level: f64) -> f64 {
    let bins = histogram.len();
    let (lo, hi) = ((1.0 - level) / 2.0, (1.0 + level) / 2.0);
    // The interval's edges fall on bin edges for every level of COVERAGE_LEVELS and 1,000
    // bins; rounding keeps it exact where they do.
    let (first, last) = (
        (lo * bins as f64).round() as usize,
        (hi * bins as f64).round() as usize,
    );
    histogram[first..last.min(bins)].iter().sum()
}

impl ScoreAccumulator {
    /// An empty accumulator for targets named `targets`.
    pub fn new(targets: Vec<String>) -> Self {
        let c = targets.len();
        Self {
            targets,
            n: 0,
            weight: 0.0,
            log_lik: 0.0,
            squared_mean: vec![0.0; c],
            squared_best: vec![0.0; c],
            crps: vec![0.0; c],
            pit: vec![vec![0.0; PIT_BINS]; c],
        }
    }

    /// Adds one row, counted `weight` times (1 unless rows are weighted); returns what it
    /// scored.
    pub fn add(
        &mut self,
        prediction: &Prediction,
        target: &[f64],
        weight: f64,
    ) -> Result<RowScores, MixtureError> {
        let log_lik = prediction.log_prob(target);
        let mean = prediction.mean();
        let best = prediction.best_mean();
        let mut row = RowScores {
            log_lik,
            pit: Vec::with_capacity(target.len()),
            crps: Vec::with_capacity(target.len()),
        };
        for (j, &t) in target.iter().enumerate() {
            self.squared_mean[j] += weight * (mean[j] - t).powi(2);
            self.squared_best[j] += weight * (best[j] - t).powi(2);
            // t lies in [q(a), q(b)] exactly when F(t) lies in [a, b], since the marginal CDF
            // is continuous and strictly increasing: the PIT gives every coverage at once.
            let pit = prediction.marginal_cdf(j, t)?;
            let bin = ((pit * PIT_BINS as f64) as usize).min(PIT_BINS - 1);
            self.pit[j][bin] += weight;
            let crps = prediction.marginal_crps(j, t)?;
            self.crps[j] += weight * crps;
            row.pit.push(pit);
            row.crps.push(crps);
        }
        self.log_lik += weight * log_lik;
        self.weight += weight;
        self.n += 1;
        Ok(row)
    }

    /// Adds the rows of `other` (scored separately, e.g. on another thread), as if they had
    /// been added to this accumulator after its own.
    ///
    /// # Panics
    /// If the two accumulators score different targets.
    pub fn merge(&mut self, other: &ScoreAccumulator) {
        assert_eq!(self.targets, other.targets, "scores of different targets");
        self.n += other.n;
        self.weight += other.weight;
        self.log_lik += other.log_lik;
        for j in 0..self.targets.len() {
            self.squared_mean[j] += other.squared_mean[j];
            self.squared_best[j] += other.squared_best[j];
            self.crps[j] += other.crps[j];
            for (a, b) in self.pit[j].iter_mut().zip(&other.pit[j]) {
                *a += b;
            }
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

    /// The PIT histogram of target `j`: the weight of the PIT values in each of
    /// [`PIT_BINS`] equal bins of [0, 1].
    pub fn pit_histogram(&self, j: usize) -> &[f64] {
        &self.pit[j]
    }

    /// The scores of all rows added.
    pub fn finish(self) -> Scores {
        let total = self.weight;
        let c = self.targets.len() as f64;
        let coverage_of = |histograms: &[&Vec<f64>]| -> BTreeMap<String, f64> {
            COVERAGE_LEVELS
                .iter()
                .map(|&level| {
                    let inside: f64 = histograms.iter().map(|h| covered(h, level)).sum();
                    (level_key(level), inside / (total * histograms.len() as f64))
                })
                .collect()
        };
        let per_target = self
            .targets
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let coverage = coverage_of(&[&self.pit[j]]);
                let scores = TargetScores {
                    rmse_mean: (self.squared_mean[j] / total).sqrt(),
                    rmse_best: (self.squared_best[j] / total).sqrt(),
                    coverage_90: coverage["0.9"],
                    coverage,
                    crps: self.crps[j] / total,
                    pit_ks: ks_distance(&self.pit[j]),
                };
                (name.clone(), scores)
            })
            .collect();
        let pooled = |v: &[f64]| (v.iter().sum::<f64>() / (total * c)).sqrt();
        let all: Vec<&Vec<f64>> = self.pit.iter().collect();
        let coverage = coverage_of(&all);
        let pooled_pit: Vec<f64> = (0..PIT_BINS)
            .map(|k| self.pit.iter().map(|h| h[k]).sum())
            .collect();
        Scores {
            n: self.n,
            n_skipped: 0,
            nll: -self.log_lik / total,
            rmse_mean: pooled(&self.squared_mean),
            rmse_best: pooled(&self.squared_best),
            coverage_90: coverage["0.9"],
            coverage,
            crps: self.crps.iter().sum::<f64>() / (total * c),
            pit_ks: ks_distance(&pooled_pit),
            targets: self.targets,
            per_target,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mdn_mixture::{Covariance, GaussianMixture};

    fn plain(mixture: GaussianMixture) -> Prediction {
        let c = mixture.dim();
        Prediction::new(mixture, vec![false; c])
    }

    #[test]
    fn merged_accumulators_score_like_one() {
        let mixture = plain(
            GaussianMixture::new(
                1,
                vec![0.4, 0.6],
                vec![-1.0, 1.0],
                Covariance::Isotropic(vec![0.5, 0.3]),
            )
            .unwrap(),
        );
        let targets = [-1.2, 0.1, 0.9, 2.5, -3.0, 1.1];
        let mut whole = ScoreAccumulator::new(vec!["t".into()]);
        let mut first = ScoreAccumulator::new(vec!["t".into()]);
        let mut second = ScoreAccumulator::new(vec!["t".into()]);
        for (i, &t) in targets.iter().enumerate() {
            whole.add(&mixture, &[t], 1.0).unwrap();
            let part = if i < 4 { &mut first } else { &mut second };
            part.add(&mixture, &[t], 1.0).unwrap();
        }
        first.merge(&second);
        let (a, b) = (whole.finish(), first.finish());
        assert_eq!(a.n, b.n);
        assert_eq!(a.coverage, b.coverage);
        assert_eq!(a.pit_ks, b.pit_ks);
        assert!((a.nll - b.nll).abs() < 1e-12 && (a.rmse_mean - b.rmse_mean).abs() < 1e-12);
        assert!((a.crps - b.crps).abs() < 1e-12);
    }

    #[test]
    fn coverage_counts_targets_between_the_quantiles_of_each_level() {
        // A standard normal: q95 = 1.6449, q75 = 0.6745.
        let normal = plain(
            GaussianMixture::new(1, vec![1.0], vec![0.0], Covariance::Isotropic(vec![1.0]))
                .unwrap(),
        );
        let mut scores = ScoreAccumulator::new(vec!["t".into()]);
        for t in [0.0, 1.6, -1.6, 1.7, -1.7, 3.0, 0.6, -0.7] {
            scores.add(&normal, &[t], 1.0).unwrap();
        }
        let scores = scores.finish();
        assert_eq!(scores.coverage_90, 5.0 / 8.0);
        assert_eq!(scores.coverage["0.5"], 2.0 / 8.0);
        assert_eq!(scores.coverage["0.95"], 7.0 / 8.0);

        // The PIT test agrees with the quantile interval it replaces.
        let bimodal = plain(
            GaussianMixture::new(
                1,
                vec![0.3, 0.7],
                vec![-1.0, 2.0],
                Covariance::Isotropic(vec![0.2, 0.5]),
            )
            .unwrap(),
        );
        let (low, high) = (
            bimodal.marginal_quantile(0, 0.05).unwrap(),
            bimodal.marginal_quantile(0, 0.95).unwrap(),
        );
        for i in 0..200 {
            let t = -2.0 + 0.025 * f64::from(i);
            let mut one = ScoreAccumulator::new(vec!["t".into()]);
            one.add(&bimodal, &[t], 1.0).unwrap();
            let inside = (low..=high).contains(&t);
            assert_eq!(one.finish().coverage_90 == 1.0, inside, "t = {t}");
        }
    }

    #[test]
    fn weights_count_rows_as_often_as_they_say() {
        let normal = plain(
            GaussianMixture::new(1, vec![1.0], vec![0.0], Covariance::Isotropic(vec![1.0]))
                .unwrap(),
        );
        let mut weighted = ScoreAccumulator::new(vec!["t".into()]);
        let mut repeated = ScoreAccumulator::new(vec!["t".into()]);
        for (t, w) in [(0.3, 2.0), (-1.2, 1.0), (2.2, 3.0)] {
            weighted.add(&normal, &[t], w).unwrap();
            for _ in 0..w as usize {
                repeated.add(&normal, &[t], 1.0).unwrap();
            }
        }
        let (a, b) = (weighted.finish(), repeated.finish());
        assert!((a.nll - b.nll).abs() < 1e-12 && (a.crps - b.crps).abs() < 1e-12);
        assert_eq!((a.coverage, a.pit_ks), (b.coverage, b.pit_ks));
        assert_eq!((a.n, b.n), (3, 6), "n counts rows, not weight");
    }

    #[test]
    fn the_ks_distance_of_an_even_histogram_is_zero_and_of_a_spike_is_large() {
        assert_eq!(ks_distance(&[1.0; 10]), 0.0);
        let mut spike = vec![0.0; 10];
        spike[9] = 5.0;
        assert!((ks_distance(&spike) - 0.9).abs() < 1e-12);
    }
}
