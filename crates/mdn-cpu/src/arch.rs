//! What a network looks like: the backbones and output layers this crate can run, and the
//! order and shapes of their parameters.

use crate::error::{CpuError, Result};

/// Hidden-unit non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Hyperbolic tangent.
    Tanh,
    /// Rectified linear unit (gradient 0 at 0).
    Relu,
    /// Gaussian error linear unit, exact (erf) form.
    Gelu,
}

/// Covariance of each mixture component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Covariance {
    /// Σ_i = σ_i² I: one scale per component.
    Isotropic,
    /// Σ_i = diag(σ_i)²: one scale per component and target dimension.
    Diagonal,
    /// Σ_i = L_i L_iᵀ with a lower-triangular Cholesky factor L_i.
    Full,
}

/// The feature extractor.
#[derive(Debug, Clone, PartialEq)]
pub enum Backbone {
    /// Fully connected layers `input → hidden[0] → …`, each followed by the activation.
    Mlp {
        /// Input features.
        input: usize,
        /// Hidden widths, first to last (empty: the features are the inputs).
        hidden: Vec<usize>,
        /// Non-linearity after each hidden layer.
        activation: Activation,
    },
    /// Blocks `conv k×k (same padding) → activation → 2×2 max-pool` over a single-channel
    /// image, then one fully connected layer with the activation.
    Cnn {
        /// Image height.
        height: usize,
        /// Image width.
        width: usize,
        /// Output channels of each convolution.
        channels: Vec<usize>,
        /// Odd kernel side.
        kernel: usize,
        /// Width of the fully connected layer.
        hidden: usize,
        /// Non-linearity after each convolution and the dense layer.
        activation: Activation,
    },
}

/// The output layer on top of the backbone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Head {
    /// A linear layer whose outputs parameterise a Gaussian mixture: m logits, m·c means
    /// (component-major), then the scales (see [`Head::width`]).
    Mixture {
        /// Target dimension c.
        target_dim: usize,
        /// Components m.
        components: usize,
        /// Covariance kind.
        covariance: Covariance,
        /// Floor added to every standard deviation (and Cholesky diagonal entry).
        min_sigma: f32,
    },
    /// A linear layer predicting the conditional mean, trained by mean squared error.
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
    pub fn width(&self) -> usize {
        match *self {
            Head::Mixture {
                target_dim: c,
                components: m,
                covariance,
                ..
            } => {
                let scales = match covariance {
                    Covariance::Isotropic => 1,
                    Covariance::Diagonal => c,
                    Covariance::Full => c * (c + 1) / 2,
                };
                m * (1 + c + scales)
            }
            Head::LeastSquares { target_dim } => target_dim,
        }
    }
}

/// Shape of one parameter tensor, in the layout Burn stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorShape {
    /// Dimensions, outermost first.
    pub dims: Vec<usize>,
}

impl TensorShape {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }

    /// Whether the tensor holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A backbone and an output layer.
///
/// The parameters of an architecture are one flat `f32` vector: each tensor in the order of
/// [`Architecture::tensor_shapes`], row-major in Burn's layout. For every layer the weight
/// comes before the bias; layers come in forward order, backbone before head:
/// - a fully connected layer: weight `[inputs, outputs]`, bias `[outputs]`;
/// - a convolution: weight `[c_out, c_in, k, k]`, bias `[c_out]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Architecture {
    /// The feature extractor.
    pub backbone: Backbone,
    /// The output layer.
    pub head: Head,
}

impl Architecture {
    /// Checks that every size is usable.
    pub fn check(&self) -> Result<()> {
        let bad = |what: &str| Err(CpuError::Architecture(what.to_string()));
        match &self.backbone {
            Backbone::Mlp { input, hidden, .. } => {
                if *input == 0 || hidden.contains(&0) {
                    return bad("every MLP layer needs at least one unit");
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
                if channels.is_empty() || channels.contains(&0) || *hidden == 0 {
                    return bad("a CNN needs at least one block and non-empty layers");
                }
                if kernel % 2 == 0 {
                    return bad("the convolution kernel side must be odd");
                }
                let halvings = channels.len() as u32;
                if height >> halvings == 0 || width >> halvings == 0 {
                    return bad("the pooling steps shrink the image to nothing");
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
                if target_dim == 0 || components == 0 {
                    return bad("a mixture needs a target dimension and a component");
                }
                if !(min_sigma.is_finite() && min_sigma > 0.0) {
                    return bad("the standard-deviation floor must be positive");
                }
            }
            Head::LeastSquares { target_dim } => {
                if target_dim == 0 {
                    return bad("least squares needs a target dimension");
                }
            }
        }
        Ok(())
    }

    /// Flat input features per example (pixels for a CNN).
    pub fn input_dim(&self) -> usize {
        match &self.backbone {
            Backbone::Mlp { input, .. } => *input,
            Backbone::Cnn { height, width, .. } => height * width,
        }
    }

    /// Width of the features handed to the head.
    pub fn feature_dim(&self) -> usize {
        match &self.backbone {
            Backbone::Mlp { input, hidden, .. } => hidden.last().copied().unwrap_or(*input),
            Backbone::Cnn { hidden, .. } => *hidden,
        }
    }

    /// Target dimension.
    pub fn target_dim(&self) -> usize {
        self.head.target_dim()
    }

    /// Shapes of the parameter tensors, in the order they are stored.
    pub fn tensor_shapes(&self) -> Vec<TensorShape> {
        let shape = |dims: &[usize]| TensorShape {
            dims: dims.to_vec(),
        };
        let mut shapes = Vec::new();
        match &self.backbone {
            Backbone::Mlp { input, hidden, .. } => {
                let mut width = *input;
                for &next in hidden {
                    shapes.push(shape(&[width, next]));
                    shapes.push(shape(&[next]));
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
                for &c_out in channels {
                    shapes.push(shape(&[c_out, c_in, *kernel, *kernel]));
                    shapes.push(shape(&[c_out]));
                    c_in = c_out;
                }
                let halvings = channels.len() as u32;
                let flat = c_in * (height >> halvings) * (width >> halvings);
                shapes.push(shape(&[flat, *hidden]));
                shapes.push(shape(&[*hidden]));
            }
        }
        let features = self.feature_dim();
        shapes.push(shape(&[features, self.head.width()]));
        shapes.push(shape(&[self.head.width()]));
        shapes
    }

    /// Where each tensor lives in the flat parameter vector.
    pub fn layout(&self) -> Layout {
        Layout::new(self.tensor_shapes())
    }

    /// Multiply-adds of one example's forward pass (a rough cost, used to size batch shards).
    pub fn forward_macs_per_row(&self) -> usize {
        let mut macs = 0;
        match &self.backbone {
            Backbone::Mlp { .. } => {}
            Backbone::Cnn {
                height,
                width,
                channels,
                kernel,
                ..
            } => {
                let (mut h, mut w, mut c_in) = (*height, *width, 1);
                for &c_out in channels {
                    macs += h * w * c_out * c_in * kernel * kernel;
                    (h, w, c_in) = (h / 2, w / 2, c_out);
                }
            }
        }
        let shapes = self.tensor_shapes();
        // The fully connected weights: every 2-D tensor.
        macs + shapes
            .iter()
            .filter(|s| s.dims.len() == 2)
            .map(TensorShape::len)
            .sum::<usize>()
    }
}

/// Offsets of the parameter tensors in the flat vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    shapes: Vec<TensorShape>,
    offsets: Vec<usize>,
    total: usize,
}

impl Layout {
    /// The layout of `shapes` stored one after another.
    pub fn new(shapes: Vec<TensorShape>) -> Self {
        let mut offsets = Vec::with_capacity(shapes.len());
        let mut total = 0;
        for shape in &shapes {
            offsets.push(total);
            total += shape.len();
        }
        Self {
            shapes,
            offsets,
            total,
        }
    }

    /// Total number of values.
    pub fn len(&self) -> usize {
        self.total
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Number of tensors.
    pub fn tensors(&self) -> usize {
        self.shapes.len()
    }

    /// The shapes, in order.
    pub fn shapes(&self) -> &[TensorShape] {
        &self.shapes
    }

    /// The index range of tensor `i`.
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.offsets[i]..self.offsets[i] + self.shapes[i].len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toy_mlp_has_burns_parameter_shapes() {
        let arch = Architecture {
            backbone: Backbone::Mlp {
                input: 1,
                hidden: vec![32, 32],
                activation: Activation::Tanh,
            },
            head: Head::Mixture {
                target_dim: 1,
                components: 5,
                covariance: Covariance::Isotropic,
                min_sigma: 1e-3,
            },
        };
        let dims: Vec<Vec<usize>> = arch.tensor_shapes().into_iter().map(|s| s.dims).collect();
        assert_eq!(
            dims,
            vec![
                vec![1, 32],
                vec![32],
                vec![32, 32],
                vec![32],
                vec![32, 15],
                vec![15]
            ]
        );
        assert_eq!(arch.layout().len(), 32 + 32 + 1024 + 32 + 480 + 15);
        assert_eq!(arch.layout().range(2), 64..1088);
    }

    #[test]
    fn the_mnist_cnn_flattens_32_channels_of_7_by_7() {
        let arch = Architecture {
            backbone: Backbone::Cnn {
                height: 28,
                width: 28,
                channels: vec![16, 32],
                kernel: 5,
                hidden: 128,
                activation: Activation::Relu,
            },
            head: Head::LeastSquares { target_dim: 1 },
        };
        let dims: Vec<Vec<usize>> = arch.tensor_shapes().into_iter().map(|s| s.dims).collect();
        assert_eq!(
            dims,
            vec![
                vec![16, 1, 5, 5],
                vec![16],
                vec![32, 16, 5, 5],
                vec![32],
                vec![1568, 128],
                vec![128],
                vec![128, 1],
                vec![1]
            ]
        );
    }

    #[test]
    fn head_widths_count_logits_means_and_scales() {
        let mixture = |covariance| Head::Mixture {
            target_dim: 3,
            components: 2,
            covariance,
            min_sigma: 1e-3,
        };
        assert_eq!(mixture(Covariance::Isotropic).width(), 2 * (1 + 3 + 1));
        assert_eq!(mixture(Covariance::Diagonal).width(), 2 * (1 + 3 + 3));
        assert_eq!(mixture(Covariance::Full).width(), 2 * (1 + 3 + 6));
        assert_eq!(Head::LeastSquares { target_dim: 3 }.width(), 3);
    }

    #[test]
    fn unusable_sizes_are_refused() {
        let head = Head::LeastSquares { target_dim: 1 };
        let mlp = |hidden: Vec<usize>| Architecture {
            backbone: Backbone::Mlp {
                input: 1,
                hidden,
                activation: Activation::Relu,
            },
            head,
        };
        assert!(mlp(vec![4]).check().is_ok());
        assert!(mlp(vec![4, 0]).check().is_err());
        let cnn = |kernel, height| Architecture {
            backbone: Backbone::Cnn {
                height,
                width: 8,
                channels: vec![2, 2],
                kernel,
                hidden: 3,
                activation: Activation::Relu,
            },
            head,
        };
        assert!(cnn(3, 8).check().is_ok());
        assert!(cnn(4, 8).check().is_err());
        assert!(cnn(3, 3).check().is_err());
    }
}
