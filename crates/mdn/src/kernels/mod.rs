//! The bridge to `mdn-cpu`: the architecture a [`NetworkConfig`] describes in its terms, and
//! a [`Network`]'s parameters as the flat vector it works on, and back.
//!
//! Burn visits a module's parameters in field order — backbone before head, layers in order,
//! each weight before its bias — which is exactly the order of
//! [`mdn_cpu::Architecture::tensor_shapes`], and stores them in the same layouts, so the
//! conversion is a copy in visiting order, checked against the expected shapes.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use mdn_cpu::{Architecture, Backbone, Covariance, Head};

use crate::activation::Activation;
use crate::backbone::BackboneConfig;
use crate::error::{MdnError, Result};
use crate::network::{HeadConfig, Network, NetworkConfig};
use mdn_mixture::CovarianceKind;

impl NetworkConfig {
    /// The network for the CPU kernels, with the parameters [`NetworkConfig::init`] draws
    /// from `seed`: for custom training loops on [`mdn_cpu::Session`] (the steps the
    /// trainer's CPU engine takes).
    ///
    /// # Examples
    /// ```
    /// use mdn::{BackboneConfig, MlpConfig, NetworkConfig};
    /// use mdn::mdn_cpu::{AdamConfig, Session};
    ///
    /// let config = NetworkConfig::mdn(BackboneConfig::Mlp(MlpConfig::new(1, vec![8])), 1, 3);
    /// let mut session = Session::new(config.init_cpu(0)?, AdamConfig::default());
    /// let sums = session.step(&[0.1, -0.4], &[0.3, 0.9], 2, 1e-3); // 2 rows of x and t
    /// assert!(sums.is_finite());
    /// # Ok::<(), mdn::MdnError>(())
    /// ```
    pub fn init_cpu(&self, seed: u64) -> Result<mdn_cpu::Network> {
        self.check()?;
        let arch = architecture(self).ok_or_else(|| {
            MdnError::invalid(
                "engine",
                "cpu",
                "the CPU kernels do not run this architecture",
            )
        })?;
        Ok(to_cpu(&self.init(&Device::flex(), seed)?, arch))
    }
}

/// `network`'s parameters as the CPU kernels' network of architecture `arch` (what
/// [`architecture`] made of the network's config).
pub(crate) fn to_cpu(network: &Network, arch: Architecture) -> mdn_cpu::Network {
    let params = export(network, &arch);
    mdn_cpu::Network::new(arch, params).expect("the architecture was checked")
}

/// `network`'s parameters as the CPU kernels' network.
///
/// # Panics
/// If the CPU kernels do not run `config` (resolve the engine first).
pub(crate) fn to_cpu_for(network: &Network, config: &NetworkConfig) -> mdn_cpu::Network {
    let arch = architecture(config).expect("the engine was resolved for this architecture");
    to_cpu(network, arch)
}

/// The architecture in `mdn-cpu`'s terms, or `None` if its kernels cannot run it.
pub(crate) fn architecture(config: &NetworkConfig) -> Option<Architecture> {
    let activation = |a: Activation| match a {
        Activation::Tanh => mdn_cpu::Activation::Tanh,
        Activation::Relu => mdn_cpu::Activation::Relu,
        Activation::Gelu => mdn_cpu::Activation::Gelu,
    };
    let backbone = match &config.backbone {
        BackboneConfig::Mlp(mlp) => Backbone::Mlp {
            input: mlp.input,
            hidden: mlp.hidden.clone(),
            activation: activation(mlp.activation),
        },
        BackboneConfig::Cnn(cnn) => Backbone::Cnn {
            height: cnn.height,
            width: cnn.width,
            channels: cnn.channels.clone(),
            kernel: cnn.kernel,
            hidden: cnn.hidden,
            activation: activation(cnn.activation),
        },
    };
    let head = match &config.head {
        HeadConfig::Mixture(head) => Head::Mixture {
            target_dim: head.target_dim,
            components: head.components,
            covariance: match head.covariance {
                CovarianceKind::Isotropic => Covariance::Isotropic,
                CovarianceKind::Diagonal => Covariance::Diagonal,
                CovarianceKind::Full => Covariance::Full,
            },
            min_sigma: head.min_sigma as f32,
        },
        HeadConfig::LeastSquares(head) => Head::LeastSquares {
            target_dim: head.target_dim,
        },
    };
    let arch = Architecture { backbone, head };
    arch.check().is_ok().then_some(arch)
}

/// Collects parameter values and shapes in visiting order.
#[derive(Default)]
struct Collect {
    values: Vec<f32>,
    shapes: Vec<Vec<usize>>,
}

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val();
        self.shapes.push(tensor.dims().to_vec());
        self.values.extend(tensor.into_data().iter::<f32>());
    }
}

/// The network's parameters as `arch`'s flat vector.
///
/// # Panics
/// If the network does not have `arch`'s parameter shapes (a bug: both come from one config).
pub(crate) fn export(network: &Network, arch: &Architecture) -> Vec<f32> {
    let mut collect = Collect::default();
    network.visit(&mut collect);
    let expected: Vec<Vec<usize>> = arch.tensor_shapes().into_iter().map(|s| s.dims).collect();
    assert_eq!(
        collect.shapes, expected,
        "Burn's parameter order differs from mdn-cpu's"
    );
    collect.values
}

/// Replaces parameter values in visiting order.
struct Assign<'a> {
    values: &'a [f32],
    cursor: usize,
}

impl ModuleMapper for Assign<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let shape = tensor.shape();
        let len = shape.num_elements();
        let values = self.values[self.cursor..self.cursor + len].to_vec();
        self.cursor += len;
        let replaced = Tensor::from_data(TensorData::new(values, shape), &tensor.device());
        Param::from_mapped_value(id, replaced, mapper)
    }
}

/// `network` with its parameters replaced by `arch`'s flat vector `params`.
///
/// # Panics
/// If `params` does not hold exactly the network's parameters.
pub(crate) fn import(network: Network, arch: &Architecture, params: &[f32]) -> Network {
    assert_eq!(
        params.len(),
        arch.layout().len(),
        "the parameter vector has the wrong length"
    );
    let mut assign = Assign {
        values: params,
        cursor: 0,
    };
    let network = network.map(&mut assign);
    assert_eq!(
        assign.cursor,
        params.len(),
        "Burn's parameter count differs from mdn-cpu's"
    );
    network
}

#[cfg(test)]
mod agreement;
