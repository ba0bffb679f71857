//! The shapes of NHWC image batches and of convolutions.

/// Shape of a batch of NHWC images: `[images, height, width, channels]`, contiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageShape {
    /// Number of images.
    pub images: usize,
    /// Rows per image.
    pub height: usize,
    /// Pixels per row.
    pub width: usize,
    /// Values per pixel.
    pub channels: usize,
}

impl ImageShape {
    /// The shape `[images, height, width, channels]`.
    pub fn new(images: usize, height: usize, width: usize, channels: usize) -> Self {
        Self {
            images,
            height,
            width,
            channels,
        }
    }

    /// Number of values, `images · height · width · channels`.
    pub fn len(&self) -> usize {
        self.pixels() * self.channels
    }

    /// Whether the batch holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of pixels, `images · height · width` (the rows of an im2col matrix or of a
    /// convolution's output).
    pub fn pixels(&self) -> usize {
        self.images * self.height * self.width
    }

    /// Values per image, `height · width · channels`.
    pub fn image_len(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// The same images with `channels` channels (a convolution's output shape).
    pub fn with_channels(&self, channels: usize) -> Self {
        Self { channels, ..*self }
    }

    /// The shape after a 2 × 2, stride-2 max-pool in floor mode:
    /// `[images, ⌊height/2⌋, ⌊width/2⌋, channels]`.
    pub fn pooled(&self) -> Self {
        Self {
            height: self.height / 2,
            width: self.width / 2,
            ..*self
        }
    }
}

/// A "same"-padded, stride-1 convolution with an odd square kernel, parameters in PyTorch's
/// layout: weight `[c_out, c_in, kernel, kernel]`, bias `[c_out]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dShape {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Side of the square kernel (odd).
    pub kernel: usize,
}

impl Conv2dShape {
    /// The shape of a `kernel × kernel` convolution from `c_in` to `c_out` channels.
    pub fn new(c_in: usize, c_out: usize, kernel: usize) -> Self {
        Self {
            c_in,
            c_out,
            kernel,
        }
    }

    /// Padding on each side, `kernel / 2`.
    pub fn padding(&self) -> usize {
        self.kernel / 2
    }

    /// Length of one im2col row (one receptive field), `c_in · kernel²`.
    pub fn patch_len(&self) -> usize {
        self.c_in * self.kernel * self.kernel
    }

    /// Number of weights, `c_out · c_in · kernel²`.
    pub fn weight_len(&self) -> usize {
        self.c_out * self.patch_len()
    }

    /// Floating-point operations of one of the three GEMMs of a convolution over `pixels`
    /// pixels (forward, weight gradient and input gradient cost the same):
    /// `2 · pixels · c_out · c_in · kernel²`.
    pub fn gemm_flops(&self, pixels: usize) -> f64 {
        2.0 * pixels as f64 * self.weight_len() as f64
    }
}
