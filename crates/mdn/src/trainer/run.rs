//! The evolving state of a training run: the network and its optimiser, the best weights so
//! far, and the counters that early stopping and roll-backs keep.

use mdn_engine::{AdamConfig, LossSums, Network, Session, ValidArchitecture};
use serde::{Deserialize, Serialize};

use super::history::History;
use super::pass::{NonFinite, PassTotals, gather_rows};
use super::prepare::{Prepared, Rows};
use super::stopping::EarlyStopping;
use crate::config::ValidTrainConfig;
use crate::summary::Recovery;

/// Everything needed to continue a run exactly.
#[derive(Debug, Clone)]
pub(super) struct Run {
    /// The network being trained and Adam's moments.
    pub session: Session,
    /// The parameters with the lowest validation loss so far.
    pub best: Vec<f32>,
    pub progress: Progress,
}

/// The counters of a run (what a checkpoint stores besides the tensors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Progress {
    pub epochs_done: usize,
    pub learning_rate: f64,
    pub stopping: EarlyStopping,
    pub recoveries: Vec<Recovery>,
    pub history: History,
}

/// Which weights of a run.
#[derive(Clone, Copy)]
pub(super) enum Which {
    Current,
    Best,
}

/// Adam as `config` asks for it.
pub(super) fn adam(config: &ValidTrainConfig) -> AdamConfig {
    AdamConfig {
        weight_decay: (config.weight_decay > 0.0).then_some(config.weight_decay as f32),
        clip_norm: config.grad_clip_norm.map(|n| n as f32),
        ..AdamConfig::default()
    }
}

impl Run {
    /// A run starting from the network that `config.seed` initialises.
    pub fn fresh(architecture: &ValidArchitecture, config: &ValidTrainConfig) -> Self {
        let network = Network::init(architecture.clone(), config.seed);
        let best = network.params().to_vec();
        Self {
            session: Session::new(network, adam(config)),
            best,
            progress: Progress {
                epochs_done: 0,
                learning_rate: config.learning_rate,
                stopping: EarlyStopping::default(),
                recoveries: Vec::new(),
                history: History::default(),
            },
        }
    }

    /// One pass of mini-batch Adam steps over the training rows in `order` (`None`: all rows
    /// in their own order, one batch), each batch with the run's noise (drawn from
    /// `noise_rng`).
    pub fn train_epoch(
        &mut self,
        data: &Prepared,
        order: Option<&[usize]>,
        batch_size: usize,
        noise_rng: &mut impl rand::Rng,
    ) -> Result<PassTotals, NonFinite> {
        let (d, c) = (data.input_dim, data.target_dim);
        let lr = self.progress.learning_rate;
        let rows = &data.train;
        let all: Vec<usize>;
        let order = match order {
            Some(order) => order,
            None if data.noise.is_off() => {
                // One batch of every row, read in place: nothing to gather.
                let n = data.train_rows();
                let sums = self
                    .session
                    .step(&rows.x, &rows.t, rows.w.as_deref(), n, lr);
                if !sums.is_finite() {
                    return Err(NonFinite);
                }
                return PassTotals::of_training(sums);
            }
            None => {
                // With noise the batch is a noisy copy anyway.
                all = (0..data.train_rows()).collect();
                &all
            }
        };
        let mut x = Vec::with_capacity(batch_size * d);
        let mut t = Vec::with_capacity(batch_size * c);
        let mut w = Vec::with_capacity(if rows.w.is_some() { batch_size } else { 0 });
        let mut total = LossSums::default();
        for batch in order.chunks(batch_size) {
            x.clear();
            t.clear();
            gather_rows(&rows.x, d, batch, &mut x);
            gather_rows(&rows.t, c, batch, &mut t);
            if !data.noise.is_off() {
                data.noise.apply(&mut x, d, &mut t, noise_rng);
            }
            let weights = rows.w.as_ref().map(|all| {
                w.clear();
                gather_rows(all, 1, batch, &mut w);
                &w[..]
            });
            let sums = self.session.step(&x, &t, weights, batch.len(), lr);
            if !sums.is_finite() {
                return Err(NonFinite);
            }
            total.add(&sums);
        }
        PassTotals::of_training(total)
    }

    /// The chosen weights as a network.
    pub fn network(&self, which: Which) -> Network {
        match which {
            Which::Current => self.session.network().clone(),
            Which::Best => {
                let architecture = self.session.network().architecture().clone();
                Network::new(architecture, self.best.clone()).expect("the same architecture")
            }
        }
    }

    /// Loss totals of the chosen weights over standardised `rows`. Least-squares NLL needs
    /// the residual σ; without it only the loss is computed.
    pub fn totals(&self, which: Which, rows: &Rows, residual: Option<&[f64]>) -> PassTotals {
        let rows = (&rows.x[..], &rows.t[..], rows.w.as_deref());
        match which {
            Which::Current => PassTotals::of_network(self.session.network(), rows, residual),
            Which::Best => PassTotals::of_network(&self.network(Which::Best), rows, residual),
        }
    }

    /// Keeps the current weights as the best so far.
    pub fn mark_best(&mut self) {
        self.best.clear();
        self.best.extend_from_slice(self.session.network().params());
    }
}
