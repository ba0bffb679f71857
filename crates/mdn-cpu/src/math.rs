//! Vectorisable f32 maths (being written).
