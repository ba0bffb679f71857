//! What a network looks like: the backbones and output layers the engine runs, checked once,
//! and the names, order and shapes of their parameters.
//!
//! An [`Architecture`] is what the user asked for; [`Architecture::check`] turns it into a
//! [`ValidArchitecture`], the only kind a [`Network`](crate::Network) is built from, so code
//! past the check never sees an unusable size. Every size is capped ([`MAX_COMPONENTS`],
//! [`MAX_WIDTH`], [`MAX_KERNEL`], [`MAX_PARAMETERS`]), so no size reaches an allocation
//! unchecked, whatever the machine's memory.

use std::fmt;

use mdn_mixture::CovarianceKind;
use serde::{Deserialize, Serialize};

use crate::params::{ParamLayout, ParamTensor};

/// The most mixture components a network may have.
pub const MAX_COMPONENTS: usize = 1000;
/// The most units (or channels) a layer may have.
pub const MAX_WIDTH: usize = 65_536;
/// The largest convolution kernel side.
pub const MAX_KERNEL: usize = 15;
/// The most trainable parameters a network may have (2²⁸: 1 GiB of f32 weights; training
/// holds about four times that).
pub const MAX_PARAMETERS: usize = 1 << 28;

/// Hidden-unit non-linearity.
///
/// Bishop's MDN experiments used `tanh`; `relu` and `gelu` are the usual modern choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Activation {
    /// Hyperbolic tangent, as in Bishop (1994).
    #[default]
    Tanh,
    /// Rectified linear unit (gradient 0 at 0).
    Relu,
    /// Gaussian error linear unit, exact (erf) form.
    Gelu,
}

impl Activation {
    /// The lower-case name used on the command line and in model files.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::Gelu => "gelu",
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Activation {
    type Err = String;

    /// Parses [`Activation::name`], in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Activation::Tanh, Activation::Relu, Activation::Gelu]
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown activation '{s}': expected tanh, relu or gelu"))
    }
}

/// The feature extractor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backbone {
    /// Fully connected layers `input → hidden[0] → …`, each followed by the activation.
    Mlp {
        /// Input features.
        input: usize,
        /// Hidden widths, first to last (empty: the features are the inputs, a linear model).
        hidden: Vec<usize>,
        /// Non-linearity after each hidden layer.
        activation: Activation,
    },
    /// Blocks `conv k×k (same padding) → activation → 2×2 max-pool` over a single-channel
    /// image, then one fully connected layer with the activation. The image arrives flat,
    /// row-major `height × width` per example.
    Cnn {
        /// Image height.
        height: usize,
        /// Image width.
        width: usize,
        /// Output channels of each convolution.
        channels: Vec<usize>,
        /// Odd kernel side (so that "same" padding is symmetric).
        kernel: usize,
        /// Width of the fully connected layer.
        hidden: usize,
        /// Non-linearity after each convolution and the dense layer.
        activation: Activation,
    },
}

impl Backbone {
    /// An MLP with tanh hidden layers of the given widths.
    pub fn mlp(input: usize, hidden: Vec<usize>) -> Self {
        Backbone::Mlp {
            input,
            hidden,
            activation: Activation::Tanh,
        }
    }

    /// The CNN used for MNIST-sized images: 5×5 convolutions with 16 and 32 channels, a dense
    /// layer of 128, all ReLU.
    pub fn cnn(height: usize, width: usize) -> Self {
        Backbone::Cnn {
            height,
            width,
            channels: vec![16, 32],
            kernel: 5,
            hidden: 128,
            activation: Activation::Relu,
        }
    }

    /// The same backbone with another activation.
    pub fn with_activation(mut self, new: Activation) -> Self {
        match &mut self {
            Backbone::Mlp { activation, .. } | Backbone::Cnn { activation, .. } => {
                *activation = new
            }
        }
        self
    }

    /// Flat input features per example (pixels for a CNN).
    pub fn input_dim(&self) -> usize {
        match self {
            Backbone::Mlp { input, .. } => *input,
            Backbone::Cnn { height, width, .. } => height * width,
        }
    }

    /// Width of the features handed to the head.
    pub fn feature_dim(&self) -> usize {
        match self {
            Backbone::Mlp { input, hidden, .. } => hidden.last().copied().unwrap_or(*input),
            Backbone::Cnn { hidden, .. } => *hidden,
        }
    }

    /// The activation.
    pub fn activation(&self) -> Activation {
        match self {
            Backbone::Mlp { activation, .. } | Backbone::Cnn { activation, .. } => *activation,
        }
    }
}

/// The output layer on top of the backbone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Head {
    /// A linear layer whose outputs parameterise a Gaussian mixture: m logits, m·c means
    /// (component-major), then the scales (see [`Head::width`]).
    ///
    /// α = softmax(logits); μ unconstrained; σ = `min_sigma` + softplus(z) (and likewise the
    /// diagonal of a full covariance's Cholesky factor L, whose entries below the diagonal are
    /// unconstrained; Σ = L Lᵀ). The floor keeps a component from collapsing onto one point.
    Mixture {
        /// Target dimension c.
        target_dim: usize,
        /// Components m.
        components: usize,
        /// Covariance kind.
        covariance: CovarianceKind,
        /// Floor added to every standard deviation (and Cholesky diagonal entry), in the units
        /// the head sees (standardised target units in a trained model).
        min_sigma: f32,
    },
    /// A linear layer predicting the conditional mean, trained by mean squared error (the
    /// comparison network of Bishop's experiments).
    LeastSquares {
        /// Target dimension c.
        target_dim: usize,
    },
}

impl Head {
    /// Target dimension.
    pub fn target_dim(&self) -> usize {
        match *self {
            Head::Mixture { target_dim, .. } | Head::LeastSquares { target_dim } => target_dim,
        }
    }

    /// Number of raw outputs of the linear layer: for a mixture m (logits) + m·c (means) +
    /// m (isotropic), m·c (diagonal) or m·c + m·c(c−1)/2 (Cholesky diagonal, then strictly
    /// lower entries row by row) scales; for least squares c.
    ///
    /// # Panics
    /// On overflow, which [`Architecture::check`] rules out.
    pub fn width(&self) -> usize {
        self.checked_width().expect("a checked head's width fits")
    }

    fn checked_width(&self) -> Option<usize> {
        match *self {
            Head::Mixture {
                target_dim: c,
                components: m,
                covariance,
                ..
            } => {
                let scales = match covariance {
                    CovarianceKind::Isotropic => 1,
                    CovarianceKind::Diagonal => c,
                    CovarianceKind::Full => c.checked_mul(c.checked_add(1)?)? / 2,
                };
                m.checked_mul(c.checked_add(1)?.checked_add(scales)?)
            }
            Head::LeastSquares { target_dim } => Some(target_dim),
        }
    }

    /// Mixture components (1 for least squares, whose predictive density is one Gaussian).
    pub fn components(&self) -> usize {
        match *self {
            Head::Mixture { components, .. } => components,
            Head::LeastSquares { .. } => 1,
        }
    }
}

/// The parameters that an [`ArchitectureError`] can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArchitectureParameter {
    /// Input features of an MLP.
    Inputs,
    /// Hidden-layer widths (and so the parameter count).
    Hidden,
    /// Target dimensions.
    Targets,
    /// Mixture components.
    Components,
    /// The standard-deviation floor.
    MinSigma,
    /// Convolution channels.
    Channels,
    /// Convolution kernel side.
    Kernel,
    /// Image height and width.
    ImageSize,
}

impl ArchitectureParameter {
    /// The parameter's name, as the library calls it.
    pub fn name(self) -> &'static str {
        match self {
            ArchitectureParameter::Inputs => "inputs",
            ArchitectureParameter::Hidden => "hidden",
            ArchitectureParameter::Targets => "targets",
            ArchitectureParameter::Components => "components",
            ArchitectureParameter::MinSigma => "min_sigma",
            ArchitectureParameter::Channels => "channels",
            ArchitectureParameter::Kernel => "kernel",
            ArchitectureParameter::ImageSize => "image_size",
        }
    }
}

impl fmt::Display for ArchitectureParameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An architecture that cannot be built, saying which parameter to change and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid {parameter} = {value}: {reason}")]
pub struct ArchitectureError {
    /// The parameter at fault.
    pub parameter: ArchitectureParameter,
    /// Its value, formatted.
    pub value: String,
    /// What is wrong and what would be accepted.
    pub reason: String,
}

fn invalid<T>(
    parameter: ArchitectureParameter,
    value: impl fmt::Display,
    reason: impl Into<String>,
) -> Result<T, ArchitectureError> {
    Err(ArchitectureError {
        parameter,
        value: value.to_string(),
        reason: reason.into(),
    })
}

/// A backbone and an output layer, as asked for; [`Architecture::check`] makes it usable.
///
/// The parameters of an architecture are one flat `f32` vector: each tensor of
/// [`ValidArchitecture::tensors`] in order, row-major. For every layer the weight comes before the
/// bias; layers come in forward order, backbone before head:
/// - a fully connected layer: weight `[inputs, outputs]` (so a layer computes x·W + b), bias
///   `[outputs]`;
/// - a convolution: weight `[c_out, c_in, k, k]`, bias `[c_out]`; the last pooled image is
///   flattened channel-major (C, H, W) before the CNN's dense layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// The feature extractor.
    pub backbone: Backbone,
    /// The output layer.
    pub head: Head,
}

impl Architecture {
    /// An MDN with `components` isotropic components (σ floor 1e-3) over `target_dim` targets.
    pub fn mdn(backbone: Backbone, target_dim: usize, components: usize) -> Self {
        Self {
            backbone,
            head: Head::Mixture {
                target_dim,
                components,
                covariance: CovarianceKind::Isotropic,
                min_sigma: 1e-3,
            },
        }
    }

    /// The least-squares network with the same backbone.
    pub fn least_squares(backbone: Backbone, target_dim: usize) -> Self {
        Self {
            backbone,
            head: Head::LeastSquares { target_dim },
        }
    }

    /// Sets the covariance kind of an MDN's components (no effect on least squares).
    pub fn with_covariance(mut self, kind: CovarianceKind) -> Self {
        if let Head::Mixture { covariance, .. } = &mut self.head {
            *covariance = kind;
        }
        self
    }

    /// Sets an MDN's standard-deviation floor (no effect on least squares).
    pub fn with_min_sigma(mut self, floor: f32) -> Self {
        if let Head::Mixture { min_sigma, .. } = &mut self.head {
            *min_sigma = floor;
        }
        self
    }

    /// Checks every size, saying which parameter to change: positive, within the caps, the
    /// CNN's kernel odd and its image not pooled away.
    pub fn check(self) -> Result<ValidArchitecture, ArchitectureError> {
        use ArchitectureParameter as P;
        match &self.backbone {
            Backbone::Mlp { input, hidden, .. } => {
                if *input == 0 {
                    return invalid(P::Inputs, 0, "a network needs at least one input feature");
                }
                if let Some(i) = hidden.iter().position(|&w| w == 0) {
                    return invalid(
                        P::Hidden,
                        format!("{hidden:?}"),
                        format!(
                            "hidden layer {} has width 0; every layer needs at least one unit",
                            i + 1
                        ),
                    );
                }
                if let Some(&w) = hidden.iter().find(|&&w| w > MAX_WIDTH) {
                    return invalid(
                        P::Hidden,
                        w,
                        format!("a layer can have at most {MAX_WIDTH} units"),
                    );
                }
            }
            Backbone::Cnn {
                height,
                width,
                channels,
                kernel,
                hidden,
                ..
            } => {
                if channels.is_empty() {
                    return invalid(
                        P::Channels,
                        "[]",
                        "a CNN needs at least one convolution block",
                    );
                }
                if let Some(&c) = channels.iter().find(|&&c| c == 0 || c > MAX_WIDTH) {
                    return invalid(
                        P::Channels,
                        c,
                        format!("every convolution needs 1 to {MAX_WIDTH} output channels"),
                    );
                }
                if kernel.is_multiple_of(2) || *kernel > MAX_KERNEL {
                    return invalid(
                        P::Kernel,
                        kernel,
                        format!(
                            "the kernel side must be odd (3, 5, 7, ...) so that padding is \
                             symmetric, and at most {MAX_KERNEL}"
                        ),
                    );
                }
                if *hidden == 0 || *hidden > MAX_WIDTH {
                    return invalid(
                        P::Hidden,
                        hidden,
                        format!("the dense layer needs 1 to {MAX_WIDTH} units"),
                    );
                }
                let halvings = u32::try_from(channels.len()).unwrap_or(u32::MAX);
                let pooled = |side: usize| side.checked_shr(halvings).unwrap_or(0);
                if pooled(*height) == 0 || pooled(*width) == 0 {
                    return invalid(
                        P::ImageSize,
                        format!("{height}x{width}"),
                        format!(
                            "{} pooling steps shrink the image to nothing; use fewer blocks or \
                             larger images",
                            channels.len()
                        ),
                    );
                }
            }
        }
        match self.head {
            Head::Mixture {
                target_dim,
                components,
                min_sigma,
                ..
            } => {
                if target_dim == 0 {
                    return invalid(
                        P::Targets,
                        0,
                        "a mixture needs at least one target dimension",
                    );
                }
                if components == 0 {
                    return invalid(
                        P::Components,
                        0,
                        "a mixture needs at least one component (Bishop's toy problem uses 3 or 5)",
                    );
                }
                if components > MAX_COMPONENTS {
                    return invalid(
                        P::Components,
                        components,
                        format!("at most {MAX_COMPONENTS} components are supported"),
                    );
                }
                if !(min_sigma.is_finite() && min_sigma > 0.0) {
                    return invalid(
                        P::MinSigma,
                        min_sigma,
                        "the standard-deviation floor must be a positive finite number (e.g. 1e-3)",
                    );
                }
            }
            Head::LeastSquares { target_dim } => {
                if target_dim == 0 {
                    return invalid(P::Targets, 0, "a network needs at least one target");
                }
            }
        }
        match self.parameter_count() {
            Some(count) if count <= MAX_PARAMETERS => Ok(ValidArchitecture(self)),
            count => invalid(
                P::Hidden,
                self.sizes(),
                format!(
                    "the network would have {} parameters; at most {MAX_PARAMETERS} are supported",
                    count.map_or_else(|| "more than 2^64".to_string(), |c| c.to_string())
                ),
            ),
        }
    }

    /// The layer sizes, for messages.
    fn sizes(&self) -> String {
        match &self.backbone {
            Backbone::Mlp { hidden, .. } => format!("{hidden:?}"),
            Backbone::Cnn {
                channels, hidden, ..
            } => format!("{channels:?} channels, {hidden} dense units"),
        }
    }

    /// Number of trainable parameters, `None` if it overflows `usize`.
    pub fn parameter_count(&self) -> Option<usize> {
        self.shapes()?.iter().try_fold(0usize, |total, (_, dims)| {
            dims.iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .and_then(|n| total.checked_add(n))
        })
    }

    /// Names and dimensions of the parameter tensors, `None` where a size overflows.
    fn shapes(&self) -> Option<Vec<(String, Vec<usize>)>> {
        fn layer(shapes: &mut Vec<(String, Vec<usize>)>, name: &str, weight: Vec<usize>) {
            let outputs = match weight.as_slice() {
                [_, outputs] => *outputs,
                [c_out, ..] => *c_out,
                [] => 0,
            };
            shapes.push((format!("{name}.weight"), weight));
            shapes.push((format!("{name}.bias"), vec![outputs]));
        }
        let mut shapes = Vec::new();
        match &self.backbone {
            Backbone::Mlp { input, hidden, .. } => {
                let mut width = *input;
                for (l, &next) in hidden.iter().enumerate() {
                    layer(&mut shapes, &format!("backbone.{l}"), vec![width, next]);
                    width = next;
                }
            }
            Backbone::Cnn {
                height,
                width,
                channels,
                kernel,
                hidden,
                ..
            } => {
                let mut c_in = 1;
                for (l, &c_out) in channels.iter().enumerate() {
                    let weight = vec![c_out, c_in, *kernel, *kernel];
                    layer(&mut shapes, &format!("backbone.conv.{l}"), weight);
                    c_in = c_out;
                }
                let halvings = u32::try_from(channels.len()).ok()?;
                let flat = c_in
                    .checked_mul(height.checked_shr(halvings)?)?
                    .checked_mul(width.checked_shr(halvings)?)?;
                layer(&mut shapes, "backbone.dense", vec![flat, *hidden]);
            }
        }
        let features = self.backbone.feature_dim();
        layer(
            &mut shapes,
            "head",
            vec![features, self.head.checked_width()?],
        );
        Some(shapes)
    }
}

/// An [`Architecture`] whose sizes [`Architecture::check`] accepted: what networks, model
/// files and the trainer work with. Reading one from a model file checks it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Architecture", into = "Architecture")]
pub struct ValidArchitecture(Architecture);

impl TryFrom<Architecture> for ValidArchitecture {
    type Error = ArchitectureError;

    fn try_from(architecture: Architecture) -> Result<Self, Self::Error> {
        architecture.check()
    }
}

impl From<ValidArchitecture> for Architecture {
    fn from(valid: ValidArchitecture) -> Self {
        valid.0
    }
}

impl std::ops::Deref for ValidArchitecture {
    type Target = Architecture;

    fn deref(&self) -> &Architecture {
        &self.0
    }
}

impl ValidArchitecture {
    /// Flat input features per example (pixels for a CNN).
    pub fn input_dim(&self) -> usize {
        self.0.backbone.input_dim()
    }

    /// Width of the features handed to the head.
    pub fn feature_dim(&self) -> usize {
        self.0.backbone.feature_dim()
    }

    /// Target dimension.
    pub fn target_dim(&self) -> usize {
        self.0.head.target_dim()
    }

    /// Mixture components (1 for least squares).
    pub fn components(&self) -> usize {
        self.0.head.components()
    }

    /// Whether the output is a mixture density head.
    pub fn is_mixture(&self) -> bool {
        matches!(self.0.head, Head::Mixture { .. })
    }

    /// Number of trainable parameters.
    pub fn parameter_count(&self) -> usize {
        self.param_layout().len()
    }

    /// The parameter tensors, in the order they are stored.
    pub fn tensors(&self) -> Vec<ParamTensor> {
        self.0
            .shapes()
            .expect("a checked architecture's sizes fit")
            .into_iter()
            .map(|(name, dims)| ParamTensor { name, dims })
            .collect()
    }

    /// Where each tensor lives in the flat parameter vector.
    pub fn param_layout(&self) -> ParamLayout {
        ParamLayout::new(self.tensors())
    }

    /// Multiply-adds of one example's forward pass (a rough cost, used to size batch shards).
    pub fn forward_macs_per_row(&self) -> usize {
        let mut macs = 0;
        if let Backbone::Cnn {
            height,
            width,
            channels,
            kernel,
            ..
        } = &self.0.backbone
        {
            let (mut h, mut w, mut c_in) = (*height, *width, 1);
            for &c_out in channels {
                macs += h * w * c_out * c_in * kernel * kernel;
                (h, w, c_in) = (h / 2, w / 2, c_out);
            }
        }
        // The fully connected weights: every 2-D tensor.
        macs + self
            .tensors()
            .iter()
            .filter(|t| t.dims.len() == 2)
            .map(ParamTensor::len)
            .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mixture(target_dim: usize, components: usize, covariance: CovarianceKind) -> Head {
        Head::Mixture {
            target_dim,
            components,
            covariance,
            min_sigma: 1e-3,
        }
    }

    fn dims(arch: &ValidArchitecture) -> Vec<(String, Vec<usize>)> {
        arch.tensors()
            .into_iter()
            .map(|t| (t.name, t.dims))
            .collect()
    }

    #[test]
    fn the_toy_mlp_has_named_parameters_in_order() {
        let arch = Architecture::mdn(Backbone::mlp(1, vec![32, 32]), 1, 5)
            .check()
            .unwrap();
        let expected = [
            ("backbone.0.weight", vec![1, 32]),
            ("backbone.0.bias", vec![32]),
            ("backbone.1.weight", vec![32, 32]),
            ("backbone.1.bias", vec![32]),
            ("head.weight", vec![32, 15]),
            ("head.bias", vec![15]),
        ]
        .map(|(n, d)| (n.to_string(), d));
        assert_eq!(dims(&arch), expected);
        assert_eq!(arch.parameter_count(), 32 + 32 + 1024 + 32 + 480 + 15);
        assert_eq!(arch.param_layout().range(2), 64..1088);
    }

    #[test]
    fn the_mnist_cnn_flattens_32_channels_of_7_by_7() {
        let arch = Architecture::least_squares(Backbone::cnn(28, 28), 1)
            .check()
            .unwrap();
        let expected = [
            ("backbone.conv.0.weight", vec![16, 1, 5, 5]),
            ("backbone.conv.0.bias", vec![16]),
            ("backbone.conv.1.weight", vec![32, 16, 5, 5]),
            ("backbone.conv.1.bias", vec![32]),
            ("backbone.dense.weight", vec![1568, 128]),
            ("backbone.dense.bias", vec![128]),
            ("head.weight", vec![128, 1]),
            ("head.bias", vec![1]),
        ]
        .map(|(n, d)| (n.to_string(), d));
        assert_eq!(dims(&arch), expected);
        assert_eq!(arch.tensors()[2].fan_in(), 16 * 25);
        assert_eq!(arch.tensors()[4].fan_in(), 1568);
    }

    #[test]
    fn head_widths_count_logits_means_and_scales() {
        assert_eq!(
            mixture(3, 2, CovarianceKind::Isotropic).width(),
            2 * (1 + 3 + 1)
        );
        assert_eq!(
            mixture(3, 2, CovarianceKind::Diagonal).width(),
            2 * (1 + 3 + 3)
        );
        assert_eq!(mixture(3, 2, CovarianceKind::Full).width(), 2 * (1 + 3 + 6));
        assert_eq!(Head::LeastSquares { target_dim: 3 }.width(), 3);
    }

    #[test]
    fn unusable_sizes_are_refused_naming_the_parameter() {
        use ArchitectureParameter as P;
        let fails = |arch: Architecture, parameter: P| {
            let error = arch.clone().check().unwrap_err();
            assert_eq!(error.parameter, parameter, "{arch:?}: {error}");
        };
        let ls = Head::LeastSquares { target_dim: 1 };
        let mlp = |hidden: Vec<usize>, head| Architecture {
            backbone: Backbone::mlp(1, hidden),
            head,
        };
        assert!(mlp(vec![4], ls).check().is_ok());
        fails(mlp(vec![4, 0], ls), P::Hidden);
        fails(mlp(vec![MAX_WIDTH + 1], ls), P::Hidden);
        fails(mlp(vec![60_000, 60_000], ls), P::Hidden);
        fails(mlp(vec![usize::MAX / 2, usize::MAX / 2], ls), P::Hidden);
        fails(
            Architecture {
                backbone: Backbone::mlp(0, vec![]),
                head: ls,
            },
            P::Inputs,
        );
        fails(
            mlp(vec![], mixture(1, 0, CovarianceKind::Isotropic)),
            P::Components,
        );
        fails(
            mlp(
                vec![],
                mixture(1, MAX_COMPONENTS + 1, CovarianceKind::Isotropic),
            ),
            P::Components,
        );
        fails(
            mlp(vec![], mixture(0, 3, CovarianceKind::Isotropic)),
            P::Targets,
        );
        fails(
            mlp(vec![], Head::LeastSquares { target_dim: 0 }),
            P::Targets,
        );
        fails(
            mlp(vec![], mixture(1, 3, CovarianceKind::Isotropic)).with_min_sigma(0.0),
            P::MinSigma,
        );
        fails(
            mlp(vec![], mixture(1 << 40, 3, CovarianceKind::Full)),
            P::Hidden,
        );
        let cnn = |kernel, height, channels: Vec<usize>| Architecture {
            backbone: Backbone::Cnn {
                height,
                width: 8,
                channels,
                kernel,
                hidden: 3,
                activation: Activation::Relu,
            },
            head: ls,
        };
        assert!(cnn(3, 8, vec![2, 2]).check().is_ok());
        fails(cnn(4, 8, vec![2, 2]), P::Kernel);
        fails(cnn(17, 8, vec![2, 2]), P::Kernel);
        fails(cnn(3, 3, vec![2, 2]), P::ImageSize);
        fails(cnn(3, 8, vec![]), P::Channels);
        fails(cnn(3, 8, vec![2, 0]), P::Channels);
    }

    #[test]
    fn model_files_store_the_architecture_readably_and_reading_checks_it() {
        let arch = Architecture::mdn(Backbone::mlp(2, vec![8]), 2, 3)
            .with_covariance(CovarianceKind::Full)
            .check()
            .unwrap();
        let json = serde_json::to_string(&arch).unwrap();
        assert_eq!(
            json,
            "{\"backbone\":{\"mlp\":{\"input\":2,\"hidden\":[8],\"activation\":\"tanh\"}},\
             \"head\":{\"mixture\":{\"target_dim\":2,\"components\":3,\"covariance\":\"full\",\
             \"min_sigma\":0.001}}}"
        );
        let back: ValidArchitecture = serde_json::from_str(&json).unwrap();
        assert_eq!(back, arch);
        let zero = json.replace("\"components\":3", "\"components\":0");
        let error = serde_json::from_str::<ValidArchitecture>(&zero).unwrap_err();
        assert!(error.to_string().contains("components"), "{error}");
    }
}
