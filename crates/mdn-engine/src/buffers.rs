//! Small operations on flat row-major buffers, shared by the layers, the head and the
//! convolutions.

/// `buffer` holding exactly `len` values (contents unspecified; kept allocations are reused).
pub(crate) fn sized<T: Copy + Default>(buffer: &mut Vec<T>, len: usize) -> &mut [T] {
    buffer.resize(len, T::default());
    &mut buffer[..]
}

/// `dst` ← the transpose of the row-major `rows × cols` matrix `src` (`dst[c·rows + r] =
/// src[r·cols + c]`): NHWC ↔ NCHW per image, feature-major ↔ row-major batches.
///
/// # Panics
/// If either buffer does not hold `rows · cols` values.
#[inline(always)]
pub(crate) fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    assert_eq!(
        src.len(),
        rows * cols,
        "transpose: the source is not {rows}x{cols}"
    );
    assert_eq!(
        dst.len(),
        rows * cols,
        "transpose: the destination is not {cols}x{rows}"
    );
    if rows == 1 || cols == 1 {
        dst.copy_from_slice(src);
        return;
    }
    for (r, row) in src.chunks_exact(cols).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            dst[c * rows + r] = v;
        }
    }
}

/// `dst` ← the first `cols` columns of the row-major `src` (rows `stride` floats apart),
/// feature-major: `dst[c·rows + r] = src[r·stride + c]`. In blocks of 64 rows, so that a
/// block of `src` stays in the L1 cache while each column is written out contiguously.
///
/// # Panics
/// If `dst` does not hold `rows · cols` values or `src` is too short.
#[inline(always)]
pub(crate) fn transpose_columns(
    src: &[f32],
    rows: usize,
    stride: usize,
    cols: usize,
    dst: &mut [f32],
) {
    const BLOCK: usize = 64;
    assert!(
        cols <= stride,
        "transpose_columns: {cols} columns in rows of {stride}"
    );
    assert_eq!(dst.len(), rows * cols, "transpose_columns: the destination");
    if rows == 0 {
        return;
    }
    assert!(
        src.len() >= (rows - 1) * stride + cols,
        "transpose_columns: the source"
    );
    for r0 in (0..rows).step_by(BLOCK) {
        let n = BLOCK.min(rows - r0);
        let block = &src[r0 * stride..];
        for (c, column) in dst.chunks_exact_mut(rows).enumerate() {
            for (i, d) in column[r0..r0 + n].iter_mut().enumerate() {
                *d = block[i * stride + c];
            }
        }
    }
}

/// `dst += src`, elementwise.
#[inline(always)]
pub(crate) fn add_assign(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

/// `sums[j] += Σ_r matrix[r·cols + j]` for a row-major matrix with `cols == sums.len()`
/// columns: a bias gradient. The sums are taken in blocks of 16 columns held in registers, in
/// row order, then added to `sums`.
#[inline(always)]
pub(crate) fn column_sums_add(matrix: &[f32], cols: usize, sums: &mut [f32]) {
    const BLOCK: usize = 16;
    for (block, out) in sums.chunks_mut(BLOCK).enumerate() {
        let first = block * BLOCK;
        let mut acc = [0.0f32; BLOCK];
        if out.len() == BLOCK {
            for row in matrix.chunks_exact(cols) {
                let row: &[f32; BLOCK] = row[first..first + BLOCK].try_into().expect("16 columns");
                for (a, v) in acc.iter_mut().zip(row) {
                    *a += v;
                }
            }
        } else {
            for row in matrix.chunks_exact(cols) {
                add_assign(&mut acc[..out.len()], &row[first..first + out.len()]);
            }
        }
        add_assign(out, &acc[..out.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_swaps_rows_and_columns() {
        let src = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2 × 3
        let mut dst = [0.0; 6];
        transpose(&src, 2, 3, &mut dst);
        assert_eq!(dst, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let mut back = [0.0; 6];
        transpose(&dst, 3, 2, &mut back);
        assert_eq!(back, src);
        let mut vector = [0.0; 3];
        transpose(&src[..3], 1, 3, &mut vector);
        assert_eq!(vector, [1.0, 2.0, 3.0]);
    }

    #[test]
    fn transpose_columns_takes_the_first_columns() {
        // 70 rows (more than a block) of 5 values, of which the first 3 are taken.
        let (rows, stride, cols) = (70, 5, 3);
        let src: Vec<f32> = (0..rows * stride).map(|i| i as f32).collect();
        let mut dst = vec![0.0; rows * cols];
        transpose_columns(&src, rows, stride, cols, &mut dst);
        for r in 0..rows {
            for c in 0..cols {
                assert_eq!(
                    dst[c * rows + r],
                    src[r * stride + c],
                    "row {r}, column {c}"
                );
            }
        }
    }

    #[test]
    fn column_sums_add_to_what_is_there_for_any_width() {
        for cols in [1, 5, 16, 17, 40] {
            let rows = 7;
            let matrix: Vec<f32> = (0..rows * cols).map(|i| (i % 11) as f32 - 5.0).collect();
            let mut sums = vec![1.0; cols];
            column_sums_add(&matrix, cols, &mut sums);
            for (j, &s) in sums.iter().enumerate() {
                let want = 1.0 + (0..rows).map(|r| matrix[r * cols + j]).sum::<f32>();
                assert_eq!(s, want, "cols {cols}, column {j}");
            }
        }
    }
}
