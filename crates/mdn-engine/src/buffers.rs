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
/// feature-major: `dst[c·rows + r] = src[r·stride + c]`. With AVX2 (or AVX-512), blocks of 8
/// rows × 8 columns are transposed in registers ([`transpose_8x8`]); otherwise, and for the
/// rows and columns left over, in blocks of 64 rows, so that a block of `src` stays in the L1
/// cache while each column is written out contiguously. (The head's products, 15 columns in
/// rows of 16: one value at a time, the transpose took 4.5% of W1's step at AVX2.)
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
    // The rows (whole blocks of 8) and columns the 8 × 8 blocks write: each block reads 8
    // values a row, inside the row's stride (the last block's columns beyond `cols` are read
    // but not written) and inside `src`.
    let (mut block_rows, mut block_cols) = (0, 0);
    #[cfg(target_arch = "x86_64")]
    if crate::simd::level() >= crate::simd::Level::Avx2
        && let Some(simd) = pulp::x86::V3::try_new()
    {
        block_cols = cols.min(stride - stride % 8);
        let read = block_cols.next_multiple_of(8);
        block_rows = rows - rows % 8;
        while block_rows > 0 && (block_rows - 1) * stride + read > src.len() {
            block_rows -= 8;
        }
        simd.vectorize(
            #[inline(always)]
            || {
                for r0 in (0..block_rows).step_by(8) {
                    for c0 in (0..block_cols).step_by(8) {
                        let block: [[f32; 8]; 8] = std::array::from_fn(|i| {
                            let at = (r0 + i) * stride + c0;
                            src[at..at + 8].try_into().expect("8 values")
                        });
                        let written = (block_cols - c0).min(8);
                        for (j, column) in transpose_8x8(simd, block)[..written].iter().enumerate()
                        {
                            let at = (c0 + j) * rows + r0;
                            dst[at..at + 8].copy_from_slice(column);
                        }
                    }
                }
            },
        );
    }
    const BLOCK: usize = 64;
    for r0 in (0..rows).step_by(BLOCK) {
        let n = BLOCK.min(rows - r0);
        let block = &src[r0 * stride..];
        for (c, column) in dst.chunks_exact_mut(rows).enumerate() {
            // What the 8 × 8 blocks did not write: the last rows, or the last columns.
            let first = if c < block_cols {
                block_rows.clamp(r0, r0 + n) - r0
            } else {
                0
            };
            for (i, d) in column[r0 + first..r0 + n].iter_mut().enumerate() {
                *d = block[(first + i) * stride + c];
            }
        }
    }
}

/// The transpose of 8 rows of 8 values, in AVX registers: `out[j][i] = rows[i][j]` (the
/// usual unpack, shuffle and lane-permute network, 24 shuffles for 64 values).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn transpose_8x8(simd: pulp::x86::V3, rows: [[f32; 8]; 8]) -> [[f32; 8]; 8] {
    use std::arch::x86_64::__m256;
    let avx = simd.avx;
    let r: [__m256; 8] = rows.map(pulp::cast);
    let t: [__m256; 8] = std::array::from_fn(|k| {
        let (a, b) = (r[2 * (k / 2)], r[2 * (k / 2) + 1]);
        if k % 2 == 0 {
            avx._mm256_unpacklo_ps(a, b)
        } else {
            avx._mm256_unpackhi_ps(a, b)
        }
    });
    // s[4h + 2q + p]: rows 4h..4h + 4, columns {0, 1, 4, 5} (q = 0) or {2, 3, 6, 7} (q =
    // 1), the even (p = 0) or odd one of each pair.
    let s: [__m256; 8] = std::array::from_fn(|k| {
        let (h, q, p) = (k / 4, (k / 2) % 2, k % 2);
        let (a, b) = (t[4 * h + q], t[4 * h + q + 2]);
        if p == 0 {
            avx._mm256_shuffle_ps::<0x44>(a, b)
        } else {
            avx._mm256_shuffle_ps::<0xEE>(a, b)
        }
    });
    std::array::from_fn(|j| {
        let (a, b) = (s[j % 4], s[4 + j % 4]);
        pulp::cast(if j < 4 {
            avx._mm256_permute2f128_ps::<0x20>(a, b)
        } else {
            avx._mm256_permute2f128_ps::<0x31>(a, b)
        })
    })
}

/// `dst += src`, elementwise.
#[inline(always)]
pub(crate) fn add_assign(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

/// `sums[j] += Σ_r matrix[r·cols + j]` for a row-major matrix with `cols == sums.len()`
/// columns: a bias gradient. Each column is summed in row order from zero, then added to
/// `sums`. The columns are taken in blocks of up to 64 held in registers: a column's sum is a
/// chain of dependent additions, so the more columns a pass over the rows carries, the more
/// chains run side by side (W1's 32-wide layers: two passes of 16 columns took 4.6% of a
/// training step at AVX2, one pass of 32 half as long).
#[inline(always)]
pub(crate) fn column_sums_add(matrix: &[f32], cols: usize, sums: &mut [f32]) {
    let mut first = 0;
    while first < cols {
        let left = cols - first;
        let width = match left {
            64.. => column_block::<64>(matrix, cols, first, sums),
            32.. => column_block::<32>(matrix, cols, first, sums),
            16.. => column_block::<16>(matrix, cols, first, sums),
            8.. => column_block::<8>(matrix, cols, first, sums),
            _ => {
                let mut acc = [0.0f32; 8];
                for row in matrix.chunks_exact(cols) {
                    add_assign(&mut acc[..left], &row[first..]);
                }
                add_assign(&mut sums[first..], &acc[..left]);
                left
            }
        };
        first += width;
    }
}

/// The column sums of columns `first..first + W` into `sums` (see [`column_sums_add`]);
/// returns `W`.
#[inline(always)]
fn column_block<const W: usize>(
    matrix: &[f32],
    cols: usize,
    first: usize,
    sums: &mut [f32],
) -> usize {
    let mut acc = [0.0f32; W];
    for row in matrix.chunks_exact(cols) {
        let row: &[f32; W] = row[first..first + W].try_into().expect("W columns");
        for (a, v) in acc.iter_mut().zip(row) {
            *a += v;
        }
    }
    add_assign(&mut sums[first..first + W], &acc);
    W
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
        // Whole 8 × 8 blocks and what is left over of rows and columns, at every level the
        // CPU has (the blocks run in registers from AVX2 on), one value at a time below.
        for (rows, stride, cols) in [
            (70, 5, 3),
            (70, 16, 15),
            (64, 16, 16),
            (64, 15, 15),
            (16, 21, 21),
            (7, 16, 15),
            (131, 24, 17),
            (9, 8, 8),
            (1, 8, 8),
        ] {
            // Whole rows, and a last row cut after its `cols` values.
            for len in [rows * stride, (rows - 1) * stride + cols] {
                let src: Vec<f32> = (0..len).map(|i| i as f32).collect();
                let mut dst = vec![f32::NAN; rows * cols];
                transpose_columns(&src, rows, stride, cols, &mut dst);
                for r in 0..rows {
                    for c in 0..cols {
                        assert_eq!(
                            dst[c * rows + r],
                            src[r * stride + c],
                            "{rows} x {cols} in rows of {stride}: row {r}, column {c}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn column_sums_add_to_what_is_there_for_any_width() {
        for cols in [1, 5, 8, 16, 17, 32, 40, 64, 100, 133] {
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
