//! What to do when an epoch meets a non-finite loss: roll back and try again, slower.

/// Where to restart after an epoch met a non-finite loss.
///
/// Normally the run restarts at the start of the failed epoch. An epoch that fails again from
/// that start, at a lower learning rate, most likely starts from weights that the previous
/// epoch left on the edge of overflow, so a second failure in a row restarts from the start of
/// the previous epoch instead (once; then the count begins anew). After `max_recoveries`
/// roll-backs in a run, the run gives up.
///
/// `S` is the state of a run at the start of an epoch; the trainer keeps the one of the
/// previous epoch here, and the caller halves the learning rate and starts the optimiser's
/// moments afresh on whatever state it restarts from (a diverging step leaves inf or NaN in
/// Adam's moments, which would poison every later step whatever the learning rate).
#[derive(Debug, Clone)]
pub(super) struct Rollback<S> {
    max_recoveries: usize,
    /// The state at the start of the epoch before the current one.
    previous: Option<S>,
    failures_in_a_row: usize,
}

impl<S> Rollback<S> {
    pub fn new(max_recoveries: usize) -> Self {
        Self {
            max_recoveries,
            previous: None,
            failures_in_a_row: 0,
        }
    }

    /// An epoch that started from `start` finished with finite losses.
    pub fn succeeded(&mut self, start: S) {
        self.previous = Some(start);
        self.failures_in_a_row = 0;
    }

    /// An epoch that started from `start` met a non-finite loss, after `recoveries` earlier
    /// roll-backs in the run: the state to restart from, or `None` to give up.
    pub fn failed(&mut self, start: S, recoveries: usize) -> Option<S> {
        if recoveries >= self.max_recoveries {
            return None;
        }
        self.failures_in_a_row += 1;
        match self.previous.take() {
            Some(earlier) if self.failures_in_a_row >= 2 => {
                self.failures_in_a_row = 0;
                Some(earlier)
            }
            earlier => {
                self.previous = earlier;
                Some(start)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_repeats_the_epoch_and_a_second_one_the_epoch_before() {
        // States are the epoch each one starts.
        let mut rollback = Rollback::new(10);
        rollback.succeeded(1);
        rollback.succeeded(2);
        assert_eq!(rollback.failed(3, 0), Some(3), "epoch 3 is repeated");
        assert_eq!(rollback.failed(3, 1), Some(2), "then epoch 2 too");
        // The count began anew, and the epoch before 2 is not known any more.
        assert_eq!(rollback.failed(2, 2), Some(2));
        assert_eq!(rollback.failed(2, 3), Some(2));
        rollback.succeeded(2);
        rollback.succeeded(3);
        assert_eq!(rollback.failed(4, 4), Some(4));
        assert_eq!(rollback.failed(4, 5), Some(3));
    }

    #[test]
    fn the_first_epoch_repeats_itself_and_the_run_gives_up_at_the_limit() {
        let mut rollback = Rollback::new(2);
        assert_eq!(rollback.failed(1, 0), Some(1));
        assert_eq!(
            rollback.failed(1, 1),
            Some(1),
            "nothing earlier to go back to"
        );
        assert_eq!(
            rollback.failed(1, 2),
            None,
            "two roll-backs are all there are"
        );
    }
}
