//! A training run's state on the CPU path: the network, Adam, and the buffers of its steps.

use crate::adam::{Adam, AdamConfig};
use crate::head::LossSums;
use crate::network::{Network, Workspace};

/// Mini-batch training of a [`Network`] with [`Adam`].
///
/// # Examples
/// ```
/// use mdn_engine::{AdamConfig, Architecture, Backbone, Network, Session};
///
/// let arch = Architecture::mdn(Backbone::mlp(1, vec![8]), 1, 2).check()?;
/// let mut session = Session::new(Network::init(arch, 0), AdamConfig::default());
/// let (x, t) = ([-1.0, 0.0, 1.0], [0.5, -0.2, 0.3]);
/// let first = session.step(&x, &t, None, 3, 1e-2).loss;
/// for _ in 0..200 {
///     session.step(&x, &t, None, 3, 1e-2);
/// }
/// assert!(session.network().loss(&x, &t, None, 3).loss < first);
/// # Ok::<(), mdn_engine::ArchitectureError>(())
/// ```
#[derive(Debug)]
pub struct Session {
    network: Network,
    adam: Adam,
    workspaces: Vec<Workspace>,
    grads: Vec<f32>,
}

impl Clone for Session {
    /// Copies the network and the optimiser, not the scratch buffers.
    fn clone(&self) -> Self {
        Self::with_optimizer(self.network.clone(), self.adam.clone())
    }
}

impl Session {
    /// A session starting from `network` with fresh Adam moments.
    pub fn new(network: Network, config: AdamConfig) -> Self {
        let adam = Adam::new(config, network.params().len());
        Self::with_optimizer(network, adam)
    }

    /// A session continuing with `adam`'s moments (e.g. from a checkpoint).
    ///
    /// # Panics
    /// If `adam` was built for a different number of parameters.
    pub fn with_optimizer(network: Network, adam: Adam) -> Self {
        assert_eq!(
            adam.state().moment_1.len(),
            network.params().len(),
            "the optimiser's moments do not fit the network"
        );
        let grads = vec![0.0; network.params().len()];
        Self {
            network,
            adam,
            workspaces: Vec::new(),
            grads,
        }
    }

    /// One optimisation step on a batch: computes the (weighted, where `weights` are given)
    /// mean loss and its gradient and, when the loss is finite, takes an Adam step. A
    /// non-finite loss leaves the network and the optimiser untouched; the caller sees it in
    /// the returned sums.
    ///
    /// # Shapes
    /// - `inputs`: `[rows, input_dim]`; `targets`: `[rows, target_dim]`; `weights`: `[rows]`
    pub fn step(
        &mut self,
        inputs: &[f32],
        targets: &[f32],
        weights: Option<&[f32]>,
        rows: usize,
        learning_rate: f64,
    ) -> LossSums {
        let sums = self.network.gradient(
            inputs,
            targets,
            weights,
            rows,
            &mut self.grads,
            &mut self.workspaces,
        );
        if sums.is_finite() {
            let (layout, params) = self.network.layout_and_params_mut();
            self.adam
                .step(layout, params, &mut self.grads, learning_rate);
        }
        sums
    }

    /// Starts Adam's moments afresh (after a diverging step left them non-finite).
    pub fn reset_optimizer(&mut self) {
        self.adam = Adam::new(*self.adam.config(), self.network.params().len());
    }

    /// The network being trained.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The optimiser.
    pub fn optimizer(&self) -> &Adam {
        &self.adam
    }

    /// The gradient of the last step's mean loss (after clipping, when configured).
    pub fn last_gradient(&self) -> &[f32] {
        &self.grads
    }
}
