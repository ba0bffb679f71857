//! Matrix products through the `gemm` crate, behind a safe
//! interface. This module holds the crate's only `unsafe` code: every view is checked to lie
//! inside its slice before the raw-pointer call.

/// A read-only `rows × cols` matrix over a slice, element (r, c) at
/// `r * row_stride + c * col_stride`.
#[derive(Debug, Clone, Copy)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

/// A writable `rows × cols` matrix over a slice, laid out as in [`MatRef`].
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

/// Whether a view with these dimensions and strides lies inside `len` elements.
fn fits(len: usize, rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> bool {
    if rows == 0 || cols == 0 {
        return true;
    }
    (rows - 1)
        .checked_mul(row_stride)
        .and_then(|r| {
            (cols - 1)
                .checked_mul(col_stride)
                .and_then(|c| r.checked_add(c))
        })
        .is_some_and(|last| last < len)
}

impl<'a> MatRef<'a> {
    /// A view with explicit strides.
    ///
    /// # Panics
    /// If the view reaches past the end of `data`.
    pub fn new(
        data: &'a [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Self {
        assert!(
            fits(data.len(), rows, cols, row_stride, col_stride),
            "a {rows}x{cols} view with strides ({row_stride}, {col_stride}) does not fit in {} elements",
            data.len()
        );
        Self {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// A row-major `rows × cols` matrix.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols, 1)
    }

    /// A column-major `rows × cols` matrix (each column contiguous).
    pub fn col_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, 1, rows)
    }

    /// The transpose, without copying.
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

impl<'a> MatMut<'a> {
    /// A view with explicit strides. The strides must not make two elements share memory.
    ///
    /// # Panics
    /// If the view reaches past the end of `data` or its elements overlap.
    pub fn new(
        data: &'a mut [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Self {
        assert!(
            fits(data.len(), rows, cols, row_stride, col_stride),
            "a {rows}x{cols} view with strides ({row_stride}, {col_stride}) does not fit in {} elements",
            data.len()
        );
        let distinct = rows <= 1 && (cols <= 1 || col_stride > 0)
            || cols <= 1 && row_stride > 0
            || col_stride > 0 && row_stride >= cols * col_stride
            || row_stride > 0 && col_stride >= rows * row_stride;
        assert!(distinct, "the elements of a writable view must not overlap");
        Self {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// A row-major `rows × cols` matrix.
    pub fn row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols, 1)
    }

    /// A column-major `rows × cols` matrix (each column contiguous).
    pub fn col_major(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, 1, rows)
    }

    /// The transpose, without copying.
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }
}

/// `dst ← a·b`, or `dst ← dst + a·b` when `accumulate`, single-threaded (the callers
/// parallelise over batch shards).
///
/// # Panics
/// If the shapes do not agree.
pub fn matmul(dst: MatMut<'_>, a: MatRef<'_>, b: MatRef<'_>, accumulate: bool) {
    assert_eq!(
        a.cols, b.rows,
        "inner dimensions differ: {}x{} · {}x{}",
        a.rows, a.cols, b.rows, b.cols
    );
    assert_eq!(
        (dst.rows, dst.cols),
        (a.rows, b.cols),
        "the destination has the wrong shape"
    );
    let (m, n, k) = (a.rows, b.cols, a.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                for c in 0..n {
                    dst.data[r * dst.row_stride + c * dst.col_stride] = 0.0;
                }
            }
        }
        return;
    }
    let stride = |s: usize| isize::try_from(s).expect("a stride fits in isize");
    // SAFETY: the constructors checked that every element each view addresses lies inside
    // its slice, and that the destination's elements are distinct. `dst` is borrowed
    // mutably and `a`, `b` shared, so the destination aliases neither input. `gemm` reads
    // `dst` only when `read_dst` is true, and with `Parallelism::None` runs on this thread.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.data.as_mut_ptr(),
            stride(dst.col_stride),
            stride(dst.row_stride),
            accumulate,
            a.data.as_ptr(),
            stride(a.col_stride),
            stride(a.row_stride),
            b.data.as_ptr(),
            stride(b.col_stride),
            stride(b.row_stride),
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product by the textbook triple loop, in f64.
    fn reference(a: &MatRef<'_>, b: &MatRef<'_>) -> Vec<f64> {
        let mut out = vec![0.0; a.rows * b.cols];
        for r in 0..a.rows {
            for c in 0..b.cols {
                out[r * b.cols + c] = (0..a.cols)
                    .map(|k| {
                        f64::from(a.data[r * a.row_stride + k * a.col_stride])
                            * f64::from(b.data[k * b.row_stride + c * b.col_stride])
                    })
                    .sum();
            }
        }
        out
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 500.0
                    - 1.0
            })
            .collect()
    }

    #[test]
    fn agrees_with_the_triple_loop_for_every_layout() {
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 2),
            (17, 33, 9),
            (128, 32, 15),
            (4, 400, 32),
        ] {
            let a_data = values(m * k, 1);
            let b_data = values(k * n, 2);
            for transpose_a in [false, true] {
                for transpose_b in [false, true] {
                    let a = if transpose_a {
                        MatRef::row_major(&a_data, k, m).t()
                    } else {
                        MatRef::row_major(&a_data, m, k)
                    };
                    let b = if transpose_b {
                        MatRef::row_major(&b_data, n, k).t()
                    } else {
                        MatRef::row_major(&b_data, k, n)
                    };
                    let expected = reference(&a, &b);
                    for col_major_dst in [false, true] {
                        for accumulate in [false, true] {
                            let mut dst = vec![1.0f32; m * n];
                            let view = if col_major_dst {
                                MatMut::col_major(&mut dst, m, n)
                            } else {
                                MatMut::row_major(&mut dst, m, n)
                            };
                            matmul(view, a, b, accumulate);
                            for r in 0..m {
                                for c in 0..n {
                                    let got = if col_major_dst {
                                        dst[c * m + r]
                                    } else {
                                        dst[r * n + c]
                                    };
                                    let want =
                                        expected[r * n + c] + if accumulate { 1.0 } else { 0.0 };
                                    assert!(
                                        (f64::from(got) - want).abs() < 1e-4 * (1.0 + want.abs()),
                                        "{m}x{k}x{n} ta={transpose_a} tb={transpose_b} \
                                         cm={col_major_dst} acc={accumulate} ({r},{c}): {got} vs {want}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn an_empty_inner_dimension_gives_zeros_or_keeps_the_destination() {
        let mut dst = vec![3.0f32; 6];
        matmul(
            MatMut::row_major(&mut dst, 2, 3),
            MatRef::row_major(&[], 2, 0),
            MatRef::row_major(&[], 0, 3),
            true,
        );
        assert_eq!(dst, vec![3.0; 6]);
        matmul(
            MatMut::row_major(&mut dst, 2, 3),
            MatRef::row_major(&[], 2, 0),
            MatRef::row_major(&[], 0, 3),
            false,
        );
        assert_eq!(dst, vec![0.0; 6]);
    }

    #[test]
    #[should_panic(expected = "does not fit")]
    fn a_view_past_the_end_of_its_slice_is_refused() {
        let data = [0.0f32; 5];
        let _ = MatRef::row_major(&data, 2, 3);
    }

    #[test]
    #[should_panic(expected = "must not overlap")]
    fn an_overlapping_destination_is_refused() {
        let mut data = [0.0f32; 8];
        let _ = MatMut::new(&mut data, 2, 3, 1, 1);
    }

    #[test]
    #[should_panic(expected = "inner dimensions differ")]
    fn mismatched_shapes_are_refused() {
        let (a, b) = ([0.0f32; 6], [0.0f32; 6]);
        let mut dst = [0.0f32; 4];
        matmul(
            MatMut::row_major(&mut dst, 2, 2),
            MatRef::row_major(&a, 2, 3),
            MatRef::row_major(&b, 2, 3),
            false,
        );
    }
}
