//! When to stop and when to lower the learning rate: early stopping on the validation loss,
//! and halving the rate on plateaus.

use serde::{Deserialize, Serialize};

/// The validation bookkeeping of a run: the best epoch so far and how long ago it was.
///
/// Each finished epoch is [`observed`](EarlyStopping::observe); the verdict says whether its
/// weights are the best so far (to keep) and whether to halve the learning rate, and
/// [`EarlyStopping::stopped`] whether to stop. Without a validation split every epoch is the
/// best (the last weights are kept) and nothing ever stops early.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct EarlyStopping {
    /// Epoch (from 1) of the kept weights; 0 before the first epoch.
    pub best_epoch: usize,
    /// Lowest validation loss so far (`None` before the first epoch or without validation).
    pub best_loss: Option<f64>,
    /// Epochs since the best one.
    pub epochs_since_best: usize,
    /// Whether patience ran out.
    pub stopped_early: bool,
}

/// What an epoch's validation loss means for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Verdict {
    /// The epoch's weights are the best so far.
    pub improved: bool,
    /// Halve the learning rate from the next epoch on.
    pub halve_learning_rate: bool,
}

impl EarlyStopping {
    /// Records epoch `epoch`'s validation loss. With `patience` epochs without improvement
    /// the run stops; every `lr_plateau` epochs without improvement the rate halves.
    pub fn observe(
        &mut self,
        epoch: usize,
        validation_loss: Option<f64>,
        patience: Option<usize>,
        lr_plateau: Option<usize>,
    ) -> Verdict {
        let improved = match (validation_loss, self.best_loss) {
            (None, _) => true,
            (Some(loss), best) if best.is_none_or(|b| loss < b) => {
                self.best_loss = Some(loss);
                true
            }
            _ => false,
        };
        let mut halve_learning_rate = false;
        if improved {
            self.best_epoch = epoch;
            self.epochs_since_best = 0;
        } else {
            self.epochs_since_best += 1;
            halve_learning_rate =
                lr_plateau.is_some_and(|n| self.epochs_since_best.is_multiple_of(n));
            if patience.is_some_and(|p| self.epochs_since_best >= p) {
                self.stopped_early = true;
            }
        }
        Verdict {
            improved,
            halve_learning_rate,
        }
    }

    /// Whether patience ran out.
    pub fn stopped(&self) -> bool {
        self.stopped_early
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plateaus_halve_the_learning_rate_and_patience_stops() {
        let mut stopping = EarlyStopping::default();
        let mut rate = 0.8;
        let observe = |stopping: &mut EarlyStopping, epoch, loss, rate: &mut f64| {
            let verdict = stopping.observe(epoch, Some(loss), Some(7), Some(3));
            if verdict.halve_learning_rate {
                *rate *= 0.5;
            }
            verdict.improved
        };
        assert!(observe(&mut stopping, 1, 1.0, &mut rate));
        let mut rates = Vec::new();
        for epoch in 2..=8 {
            assert!(!observe(&mut stopping, epoch, 2.0, &mut rate));
            rates.push(rate);
        }
        // Halved after 3 and 6 epochs without improvement; stopped after 7.
        assert_eq!(rates, [0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2]);
        assert!(stopping.stopped());
        assert_eq!(stopping.best_epoch, 1);
    }

    #[test]
    fn an_improvement_resets_the_count_and_no_validation_never_stops() {
        let mut stopping = EarlyStopping::default();
        let halves = |s: &mut EarlyStopping, epoch, loss| {
            s.observe(epoch, Some(loss), None, Some(2))
                .halve_learning_rate
        };
        assert!(!halves(&mut stopping, 1, 1.0));
        assert!(!halves(&mut stopping, 2, 2.0));
        assert!(!halves(&mut stopping, 3, 0.5), "an improvement");
        assert!(!halves(&mut stopping, 4, 2.0));
        assert!(halves(&mut stopping, 5, 2.0));
        assert!(!stopping.stopped());
        let mut blind = EarlyStopping::default();
        for epoch in 1..=50 {
            assert!(blind.observe(epoch, None, Some(1), Some(1)).improved);
        }
        assert_eq!(blind.best_epoch, 50);
        assert!(!blind.stopped());
    }
}
