//! Convolution and pooling kernels (being written).
