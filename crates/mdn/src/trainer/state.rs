//! The evolving state of a run on either engine: weights, optimiser and the best weights.

use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use mdn_cpu::Session;

use super::checkpoint::RunProgress;
use super::pass::{PassTotals, cpu_pass_totals, pass_totals};
use super::{NonFinite, Prepared, burn_steps, cpu_steps};
use crate::kernels;
use crate::model::weights_bytes;
use crate::network::{Network, NetworkConfig};

/// Weights and optimiser of a run.
#[derive(Clone)]
// One per training run; boxing the larger variant would gain nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Weights {
    /// Burn's tensors, autodiff and optimiser.
    Burn {
        /// The network being trained (on the autodiff device).
        network: Network,
        optimizer: ModuleOptimizer,
        /// The weights with the lowest validation loss so far.
        best: Network,
    },
    /// The CPU kernels.
    Cpu {
        session: Session,
        /// The parameters with the lowest validation loss so far.
        best: Vec<f32>,
        /// A network of the architecture on the plain CPU device, into which parameters are
        /// copied to save them or build the model.
        template: Network,
    },
}

/// Everything needed to continue a run exactly.
#[derive(Clone)]
pub(super) struct State {
    pub weights: Weights,
    pub progress: RunProgress,
}

/// Which weights of a run.
#[derive(Clone, Copy)]
pub(super) enum Which {
    Current,
    Best,
}

impl Weights {
    /// A CPU-kernel run: `session` built over the parameters of `network` (of architecture
    /// `config`, on any device), keeping those of `best` as the best so far (the network's own
    /// when `None`).
    pub fn cpu(
        network: &Network,
        best: Option<&Network>,
        config: &NetworkConfig,
        session: impl FnOnce(mdn_cpu::Network) -> Session,
    ) -> Self {
        let current = kernels::to_cpu_for(network, config);
        let best = match best {
            Some(best) => kernels::export(best, current.architecture()),
            None => current.params().to_vec(),
        };
        Weights::Cpu {
            session: session(current),
            best,
            template: network.clone().valid(),
        }
    }
}

impl State {
    /// One pass of mini-batch steps over the training rows in `order`.
    pub fn train_epoch(
        &mut self,
        data: &Prepared,
        order: &[usize],
        batch_size: usize,
        device: &Device,
    ) -> Result<PassTotals, NonFinite> {
        let lr = self.progress.learning_rate;
        match &mut self.weights {
            Weights::Burn {
                network, optimizer, ..
            } => burn_steps::train_epoch(network, optimizer, data, order, batch_size, lr, device),
            Weights::Cpu { session, .. } => {
                cpu_steps::train_epoch(session, data, order, batch_size, lr)
            }
        }
    }

    /// Loss totals of the chosen weights over standardised rows `(x, t)`. Least-squares NLL
    /// needs the residual σ; without it only the loss is computed.
    pub fn loss_totals(
        &self,
        which: Which,
        rows: (&[f32], &[f32]),
        data: &Prepared,
        device: &Device,
        residual: Option<&[f64]>,
    ) -> PassTotals {
        match (&self.weights, which) {
            (Weights::Burn { network, .. }, Which::Current) => {
                pass_totals(&network.valid(), rows, data, device, residual)
            }
            (Weights::Burn { best, .. }, Which::Best) => {
                pass_totals(&best.valid(), rows, data, device, residual)
            }
            (Weights::Cpu { session, .. }, Which::Current) => {
                cpu_pass_totals(session.network(), rows, data, residual)
            }
            (Weights::Cpu { session, best, .. }, Which::Best) => {
                let arch = session.network().architecture().clone();
                let network = mdn_cpu::Network::new(arch, best.clone()).expect("same architecture");
                cpu_pass_totals(&network, rows, data, residual)
            }
        }
    }

    /// Keeps the current weights as the best so far.
    pub fn mark_best(&mut self) {
        match &mut self.weights {
            Weights::Burn { network, best, .. } => *best = network.clone(),
            Weights::Cpu { session, best, .. } => {
                best.clear();
                best.extend_from_slice(session.network().params());
            }
        }
    }

    /// Starts the optimiser's moments afresh.
    pub fn reset_optimizer(&mut self, fresh: impl FnOnce() -> ModuleOptimizer) {
        match &mut self.weights {
            Weights::Burn { optimizer, .. } => *optimizer = fresh(),
            Weights::Cpu { session, .. } => session.reset_optimizer(),
        }
    }

    /// The chosen weights as a Burn network in inference mode.
    pub fn network(&self, which: Which) -> Network {
        match (&self.weights, which) {
            (Weights::Burn { network, .. }, Which::Current) => network.valid(),
            (Weights::Burn { best, .. }, Which::Best) => best.valid(),
            (
                Weights::Cpu {
                    session, template, ..
                },
                Which::Current,
            ) => {
                let arch = session.network().architecture();
                kernels::import(template.clone(), arch, session.network().params())
            }
            (
                Weights::Cpu {
                    session,
                    best,
                    template,
                },
                Which::Best,
            ) => kernels::import(template.clone(), session.network().architecture(), best),
        }
    }

    /// The chosen weights in the model-file format.
    pub fn weights_bytes(&self, which: Which) -> Vec<u8> {
        match (&self.weights, which) {
            (Weights::Burn { network, .. }, Which::Current) => weights_bytes(network),
            (Weights::Burn { best, .. }, Which::Best) => weights_bytes(best),
            (Weights::Cpu { .. }, _) => weights_bytes(&self.network(which)),
        }
    }
}
