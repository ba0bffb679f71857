//! Choosing the number of mixture components M on held-out rows, by the one-standard-error
//! rule.
//!
//! Extra components cost an MDN almost no likelihood (a spare component gets a tiny weight
//! or duplicates another), so the candidate with the lowest held-out NLL is often a larger M
//! than the data needs, by less than the noise of the estimate. The rule keeps the smallest
//! M whose held-out NLL is within one standard error of the best one (Breiman et al. 1984,
//! §3.4.3; Hastie, Tibshirani and Friedman, *The Elements of Statistical Learning*, §7.10).

use mdn_engine::{Architecture, ArchitectureParameter, Head, ValidArchitecture};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::prepare::validation_split;
use super::{Trained, Trainer};
use crate::dataset::Dataset;
use crate::error::{MdnError, Parameter, Result};
use crate::model::Model;

/// The candidates `--components auto` tries.
pub const AUTO_COMPONENTS: [usize; 5] = [1, 2, 3, 5, 8];

/// Mixed into the seed for the shuffle that deals rows into cross-validation folds.
const FOLD_SEED: u64 = 0x666f_6c64_7320_6376;

/// One candidate number of components and how well it predicted held-out rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateScore {
    /// The number of components.
    pub components: usize,
    /// Mean NLL of the held-out rows (nats a row, the targets' units; weighted where the
    /// data has weights).
    pub nll: f64,
    /// The standard error of that mean: the rows' standard deviation of NLL over √n (with
    /// weights, over the square root of their effective number).
    pub standard_error: f64,
}

/// How the number of components was chosen: stored in the training summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentSelection {
    /// Every candidate's held-out score, in increasing number of components.
    pub candidates: Vec<CandidateScore>,
    /// The smallest number of components whose NLL is within one standard error of the best.
    pub chosen: usize,
    /// The number of cross-validation folds (`None`: the validation rows of one split).
    pub folds: Option<usize>,
    /// The held-out rows scored (every row with folds).
    pub rows: usize,
}

impl ComponentSelection {
    /// Scores candidates by the one-standard-error rule (see the module documentation).
    fn choose(mut candidates: Vec<CandidateScore>, folds: Option<usize>, rows: usize) -> Self {
        candidates.sort_by_key(|c| c.components);
        let best = candidates
            .iter()
            .min_by(|a, b| a.nll.total_cmp(&b.nll))
            .expect("at least one candidate");
        let threshold = best.nll + best.standard_error;
        let chosen = candidates
            .iter()
            .find(|c| c.nll <= threshold)
            .map_or(best.components, |c| c.components);
        Self {
            candidates,
            chosen,
            folds,
            rows,
        }
    }
}

/// Mean and standard error of per-row NLLs (weighted by `weights` where given).
fn mean_and_error(nll: &[f64], weights: Option<&[f64]>) -> (f64, f64) {
    let w = |i: usize| weights.map_or(1.0, |w| w[i]);
    let total: f64 = (0..nll.len()).map(w).sum();
    let squares: f64 = (0..nll.len()).map(|i| w(i) * w(i)).sum();
    let mean = (0..nll.len()).map(|i| w(i) * nll[i]).sum::<f64>() / total;
    let variance = (0..nll.len())
        .map(|i| w(i) * (nll[i] - mean).powi(2))
        .sum::<f64>()
        / total;
    let effective = total * total / squares;
    (mean, (variance / effective).sqrt())
}

/// `architecture` with `components` mixture components.
fn with_components(
    architecture: &ValidArchitecture,
    components: usize,
) -> Result<ValidArchitecture> {
    let mut plain = Architecture::from(architecture.clone());
    if let Head::Mixture { components: m, .. } = &mut plain.head {
        *m = components;
    }
    Ok(plain.check()?)
}

/// Per-row NLL of `model` on `rows`.
fn held_out_nll(model: &Model, rows: &Dataset) -> Result<Vec<f64>> {
    Ok(model
        .log_likelihood(rows.inputs(), rows.targets())?
        .into_iter()
        .map(|l| -l)
        .collect())
}

impl Trainer {
    /// Trains MDNs of `architecture` with each number of components in `candidates`, scores
    /// them on held-out rows — the validation rows of training's split (or of
    /// [`Trainer::with_validation`]), or with `folds` every row by k-fold cross-validation —
    /// and returns the model with the smallest M within one standard error of the best, its
    /// training summary recording the candidates. Without folds that model is the chosen
    /// candidate as trained (exactly what training with that M gives); with folds it is
    /// refit on all of `data`.
    pub fn fit_components(
        &self,
        architecture: &ValidArchitecture,
        candidates: &[usize],
        folds: Option<usize>,
        data: &Dataset,
    ) -> Result<Trained> {
        let components = Parameter::Architecture(ArchitectureParameter::Components);
        if !architecture.is_mixture() {
            return Err(MdnError::invalid(
                components,
                format!("{candidates:?}"),
                "only a mixture density network has components to choose",
            ));
        }
        if candidates.is_empty() {
            return Err(MdnError::invalid(
                components,
                "[]",
                "give at least one candidate",
            ));
        }
        if self.checkpoint.is_some() || self.resume.is_some() {
            return Err(MdnError::invalid(
                components,
                format!("{candidates:?}"),
                "choosing the number of components trains many networks; checkpoints and \
                 resuming cover one: give a single number of components with them",
            ));
        }
        let mut sorted = candidates.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let architectures = sorted
            .iter()
            .map(|&m| with_components(architecture, m))
            .collect::<Result<Vec<_>>>()?;
        let quiet = Trainer {
            show_progress: false,
            ..self.clone()
        };
        match folds {
            None => self.choose_on_validation(&quiet, &sorted, &architectures, data),
            Some(k) => self.choose_by_folds(&quiet, &sorted, &architectures, k, data),
        }
    }

    fn choose_on_validation(
        &self,
        quiet: &Trainer,
        candidates: &[usize],
        architectures: &[ValidArchitecture],
        data: &Dataset,
    ) -> Result<Trained> {
        let validation = match &self.validation {
            Some(validation) => validation.clone(),
            None => {
                let val_rows = self.config.validation_rows(data.len());
                if val_rows == 0 {
                    return Err(MdnError::invalid(
                        Parameter::ValidationFraction,
                        self.config.validation_fraction,
                        "choosing the number of components needs held-out rows: hold some \
                         out, validate on a file, or cross-validate",
                    ));
                }
                data.subset(&validation_split(self.config.seed, data.len(), val_rows).0)
            }
        };
        let trained = architectures
            .par_iter()
            .map(|architecture| quiet.fit(architecture, data))
            .collect::<Result<Vec<Trained>>>()?;
        let scores = trained
            .iter()
            .zip(candidates)
            .map(|(t, &m)| {
                let (nll, standard_error) =
                    mean_and_error(&held_out_nll(&t.model, &validation)?, validation.weights());
                Ok(CandidateScore {
                    components: m,
                    nll,
                    standard_error,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let selection = ComponentSelection::choose(scores, None, validation.len());
        let at = candidates
            .iter()
            .position(|&m| m == selection.chosen)
            .expect("the chosen one is a candidate");
        let mut chosen = trained.into_iter().nth(at).expect("one model a candidate");
        chosen.model.record_selection(selection);
        Ok(chosen)
    }

    fn choose_by_folds(
        &self,
        quiet: &Trainer,
        candidates: &[usize],
        architectures: &[ValidArchitecture],
        folds: usize,
        data: &Dataset,
    ) -> Result<Trained> {
        let rows = data.len();
        if folds < 2 || folds > rows {
            return Err(MdnError::invalid(
                Parameter::Folds,
                folds,
                format!("cross-validation needs 2 to {rows} folds (one row each at most)"),
            ));
        }
        let mut order: Vec<usize> = (0..rows).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(self.config.seed ^ FOLD_SEED));
        let fold_of = |position: usize| position % folds;
        let jobs: Vec<(usize, usize)> = (0..folds)
            .flat_map(|f| (0..architectures.len()).map(move |a| (f, a)))
            .collect();
        // Per job: the held-out rows' positions in `order` and their NLLs.
        let results = jobs
            .par_iter()
            .map(|&(fold, a)| {
                let (held, kept): (Vec<usize>, Vec<usize>) =
                    (0..rows).partition(|&p| fold_of(p) == fold);
                let train = data.subset(&kept.iter().map(|&p| order[p]).collect::<Vec<_>>());
                let test = data.subset(&held.iter().map(|&p| order[p]).collect::<Vec<_>>());
                let model = quiet.fit(&architectures[a], &train)?.model;
                Ok((a, held, held_out_nll(&model, &test)?))
            })
            .collect::<Result<Vec<_>>>()?;
        let weights: Option<Vec<f64>> = data
            .weights()
            .map(|w| (0..rows).map(|p| w[order[p]]).collect());
        let scores = (0..architectures.len())
            .map(|a| {
                let mut nll = vec![0.0; rows];
                for (_, held, values) in results.iter().filter(|(b, _, _)| *b == a) {
                    for (&p, &v) in held.iter().zip(values) {
                        nll[p] = v;
                    }
                }
                let (nll, standard_error) = mean_and_error(&nll, weights.as_deref());
                CandidateScore {
                    components: candidates[a],
                    nll,
                    standard_error,
                }
            })
            .collect();
        let selection = ComponentSelection::choose(scores, Some(folds), rows);
        let at = candidates
            .iter()
            .position(|&m| m == selection.chosen)
            .expect("the chosen one is a candidate");
        let mut refit = self.fit(&architectures[at], data)?;
        refit.model.record_selection(selection);
        Ok(refit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(components: usize, nll: f64, standard_error: f64) -> CandidateScore {
        CandidateScore {
            components,
            nll,
            standard_error,
        }
    }

    #[test]
    fn the_rule_keeps_the_smallest_candidate_within_one_standard_error() {
        let pick = |scores| ComponentSelection::choose(scores, None, 100).chosen;
        // The best is 8 (1.00 ± 0.05); 3 is within 1.05, 2 is not.
        assert_eq!(
            pick(vec![
                score(8, 1.00, 0.05),
                score(2, 1.06, 0.05),
                score(3, 1.04, 0.05),
                score(1, 1.5, 0.05)
            ]),
            3
        );
        // A clear winner stays.
        assert_eq!(pick(vec![score(1, 2.0, 0.01), score(5, 1.0, 0.01)]), 5);
        assert_eq!(pick(vec![score(4, 1.0, 0.0)]), 4);
    }

    #[test]
    fn mean_and_error_match_the_textbook_formulas() {
        // numpy: x = [1, 2, 3, 4]; x.mean() = 2.5; x.std() / sqrt(4) = 0.5590169943749475
        let (m, se) = mean_and_error(&[1.0, 2.0, 3.0, 4.0], None);
        assert!((m - 2.5).abs() < 1e-15 && (se - 0.559_016_994_374_947_5).abs() < 1e-15);
        // Integer weights count rows: weights [2, 1, 1] are the rows [1, 1, 2, 3] in the mean
        // and the variance; the effective n is 16/6.
        let (m, se) = mean_and_error(&[1.0, 2.0, 3.0], Some(&[2.0, 1.0, 1.0]));
        assert!((m - 1.75).abs() < 1e-15);
        let variance: f64 = (2.0 * 0.75f64.powi(2) + 0.25f64.powi(2) + 1.25f64.powi(2)) / 4.0;
        assert!((se - (variance / (16.0 / 6.0)).sqrt()).abs() < 1e-15);
    }
}
