//! The progress bar shown while training.

use indicatif::{ProgressBar, ProgressStyle};

use super::{EpochRecord, History};

/// One bar over the epochs, with the latest train/validation NLL. Hidden when asked, and
/// (by indicatif) whenever stderr is not a terminal, so logs and pipes stay clean.
pub(super) struct EpochBar {
    bar: ProgressBar,
}

impl EpochBar {
    pub fn new(epochs: usize, show: bool) -> Self {
        let bar = if show {
            let bar = ProgressBar::new(epochs as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "epoch {pos}/{len} [{bar:30}] {msg} ({elapsed} elapsed, eta {eta})",
                )
                .expect("the template is valid")
                .progress_chars("=> "),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        Self { bar }
    }

    /// Starts the bar where a resumed run left off.
    pub fn resume_at(&self, history: &History) {
        if let Some(last) = history.epochs.last() {
            self.epoch_done(last);
        }
    }

    pub fn epoch_done(&self, record: &EpochRecord) {
        self.bar.set_position(record.epoch as u64);
        let val = record
            .validation_nll
            .map(|v| format!(" · val nll {v:.4}"))
            .unwrap_or_default();
        self.bar
            .set_message(format!("train nll {:.4}{val}", record.train_nll));
    }

    /// Prints a line above the bar (nothing when the bar is hidden).
    pub fn warn(&self, message: &str) {
        self.bar.println(message);
    }

    /// Ends the bar at the last epoch run — not at the epoch limit, when training stopped
    /// early — showing the numbers of the epoch whose weights were kept.
    pub fn finish(&self, history: &History, kept_epoch: usize) {
        if let Some(kept) = history.epochs.iter().find(|r| r.epoch == kept_epoch) {
            let val = kept
                .validation_nll
                .map(|v| format!(" · val nll {v:.4}"))
                .unwrap_or_default();
            self.bar.set_message(format!(
                "kept epoch {kept_epoch}: train nll {:.4}{val}",
                kept.train_nll
            ));
        }
        self.bar.abandon();
    }
}
