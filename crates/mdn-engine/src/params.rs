//! The parameters of a network as named tensors in one flat f32 vector: each tensor's name
//! and shape ([`ParamTensor`], what model files store) and where it lives in the vector
//! ([`ParamLayout`]).

/// One parameter tensor: its name (as stored in model files) and shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamTensor {
    /// Stable name, e.g. `backbone.0.weight` (an MLP layer), `backbone.conv.1.bias`,
    /// `backbone.dense.weight` (a CNN) or `head.weight`.
    pub name: String,
    /// Dimensions, outermost first.
    pub dims: Vec<usize>,
}

impl ParamTensor {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }

    /// Whether the tensor holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inputs feeding each output: what the initialisation scales by (a dense weight's first
    /// dimension, a convolution's c_in·k·k).
    pub fn fan_in(&self) -> usize {
        match self.dims.as_slice() {
            [inputs, _] => *inputs,
            [_, rest @ ..] => rest.iter().product(),
            [] => 1,
        }
    }
}

/// Offsets of the parameter tensors in the flat vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamLayout {
    tensors: Vec<ParamTensor>,
    offsets: Vec<usize>,
    total: usize,
}

impl ParamLayout {
    /// The layout of `tensors` stored one after another.
    pub fn new(tensors: Vec<ParamTensor>) -> Self {
        let mut offsets = Vec::with_capacity(tensors.len());
        let mut total = 0;
        for tensor in &tensors {
            offsets.push(total);
            total += tensor.len();
        }
        Self {
            tensors,
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
    pub fn count(&self) -> usize {
        self.tensors.len()
    }

    /// The tensors, in order.
    pub fn tensors(&self) -> &[ParamTensor] {
        &self.tensors
    }

    /// The index range of tensor `i`.
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.offsets[i]..self.offsets[i] + self.tensors[i].len()
    }
}
