//! Matrix products, on micro-kernels of our own behind a safe interface.
//!
//! Every product here is a sum of tiles computed by [`tile`]: `rows × cols` results (at most
//! 14 × 32 on AVX-512, 6 × 16 or 12 × 8 on AVX2) accumulated in registers over a *segmented*
//! reduction. Operand `a` is read one value at a time and broadcast
//! (`a[at + s.a + c·a_step + i·a_row]` for tile row `i`, segment `s`, step `c` of the segment), operand `b` a row of
//! `cols` contiguous values at a time (`b[at + s.b + c·b_step ..][..cols]`). The segments
//! let one kernel serve a plain product (one segment), a convolution read straight from a
//! padded image (one segment per kernel row) and a weight gradient summed over the pixels of
//! many image rows (one segment per row), without copying either operand into a packed
//! buffer.
//!
//! # Results
//! Each result is its initial value (a bias, zero, or what the caller accumulates into) plus
//! the products, added **one at a time in reduction order, each with a fused multiply-add**.
//! Tiling, blocking and the instruction set do not change that order, so:
//! - a result does not depend on the other rows or columns computed with it: predictions are
//!   batch-invariant;
//! - the AVX-512, AVX2 and portable kernels give the same bits
//!   ([`crate::simd::level`], `MDN_SIMD`).
//!
//! # Safety
//! The kernels ([`kernel`]) are the crate's only `unsafe` code: raw-pointer loads, stores and
//! `#[target_feature]` calls. [`tile`] checks, before each call, that every address the tile
//! touches lies inside its slice; [`Operands::new`] works out once how far each operand's
//! segments reach.

mod kernel;

use crate::simd::level;

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

/// A piece of the reduction of [`tile`]: `len` steps starting at offset `a` in operand `a`
/// and offset `b` in operand `b` (relative to the tile's own starting offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    pub a: usize,
    pub b: usize,
    pub len: usize,
}

/// The operands of a family of tiles, checked once: tile row `i`, segment `s`, step `c`
/// multiplies `a[a_at + s.a + c·a_step + i·a_row]` by the row `b[b_at + s.b + c·b_step ..]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operands<'a> {
    a: &'a [f32],
    a_row: usize,
    a_step: usize,
    b: &'a [f32],
    b_step: usize,
    segments: &'a [Segment],
    /// The largest `s.a + (s.len − 1)·a_step` and `s.b + (s.len − 1)·b_step` over the
    /// segments (`None` when there are none).
    reach: Option<(usize, usize)>,
}

impl<'a> Operands<'a> {
    /// # Panics
    /// If a segment is empty or its offsets overflow.
    pub(crate) fn new(
        a: &'a [f32],
        a_row: usize,
        a_step: usize,
        b: &'a [f32],
        b_step: usize,
        segments: &'a [Segment],
    ) -> Self {
        let mut reach: Option<(usize, usize)> = None;
        for s in segments {
            assert!(s.len > 0, "segments are not empty");
            let last = |start: usize, step: usize| {
                (s.len - 1)
                    .checked_mul(step)
                    .and_then(|d| d.checked_add(start))
                    .expect("segment offsets fit in usize")
            };
            let (ra, rb) = (last(s.a, a_step), last(s.b, b_step));
            reach = Some(reach.map_or((ra, rb), |(a, b)| (a.max(ra), b.max(rb))));
        }
        Self {
            a,
            a_row,
            a_step,
            b,
            b_step,
            segments,
            reach,
        }
    }
}

/// The lanes of a vector at the current [`level`] (16 on AVX-512, 8 otherwise): a tile's
/// `out` rows are `vectors · lanes` floats apart.
pub(crate) fn lanes() -> usize {
    kernel::shape(level(), 1).1
}

/// The most rows a tile of `vectors` (1 or 2) vectors may have at the current [`level`].
pub(crate) fn max_rows(vectors: usize) -> usize {
    kernel::shape(level(), vectors).0
}

/// Vectors per tile row for `cols` columns (1 or 2), at `lanes` lanes.
pub(crate) fn vectors_for(cols: usize, lanes: usize) -> usize {
    cols.div_ceil(lanes).clamp(1, 2)
}

/// Adds to the `rows × cols` tile `out` (row-major, rows `vectors · lanes` floats apart with
/// `vectors = vectors_for(cols, lanes())`; columns from `cols` on are scratch) the products of
/// `ops` for tile rows starting at `a_at` in `a` and columns starting at `b_at` in `b`.
///
/// # Panics
/// If the tile is larger than [`max_rows`] × 2 vectors, `out` too short, or an element the
/// tile would read lies outside its operand.
pub(crate) fn tile(
    ops: &Operands<'_>,
    a_at: usize,
    b_at: usize,
    rows: usize,
    cols: usize,
    out: &mut [f32],
) {
    let stride = vectors_for(cols, lanes()) * lanes();
    assert!(
        rows <= max_rows(vectors_for(cols, lanes())),
        "a tile of {rows} rows"
    );
    tile_with(ops, a_at, b_at, rows, cols, out, stride, TileStart::Out);
}

/// What a tile's results start from: what `out` holds, one row for every tile row (a bias,
/// `cols` values), or zero.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TileStart<'a> {
    Out,
    Row(&'a [f32]),
    Zero,
}

/// [`tile`] for any number of `rows` (the kernel cuts them into tiles, in one call), with
/// `out`'s rows `out_stride` floats apart (at least `vectors · lanes`; each row is written in
/// whole vectors, so columns from `cols` to the next whole vector are scratch) and the results
/// starting from `start`.
///
/// # Panics
/// As [`tile`] (but for the number of rows), and if `out_stride` is too small or a start row
/// has fewer than `cols` values.
#[allow(clippy::too_many_arguments)]
pub(crate) fn tile_with(
    ops: &Operands<'_>,
    a_at: usize,
    b_at: usize,
    rows: usize,
    cols: usize,
    out: &mut [f32],
    out_stride: usize,
    start: TileStart<'_>,
) {
    let level = level();
    let lanes = kernel::shape(level, 1).1;
    assert!(
        rows > 0 && cols > 0 && cols <= 2 * lanes,
        "a tile of {rows} x {cols}"
    );
    let vectors = vectors_for(cols, lanes);
    assert!(out_stride >= vectors * lanes, "the tile's rows overlap");
    assert!(
        (rows - 1)
            .checked_mul(out_stride)
            .and_then(|r| r.checked_add(vectors * lanes))
            .is_some_and(|end| out.len() >= end),
        "the tile buffer is too short"
    );
    if let TileStart::Row(row) = start {
        assert!(row.len() >= cols, "the start row is too short");
    }
    let Some((reach_a, reach_b)) = ops.reach else {
        // Nothing to add: the results are their starting values.
        for i in 0..rows {
            let row = &mut out[i * out_stride..i * out_stride + cols];
            match start {
                TileStart::Out => {}
                TileStart::Zero => row.fill(0.0),
                TileStart::Row(values) => row.copy_from_slice(&values[..cols]),
            }
        }
        return;
    };
    let start = match start {
        TileStart::Out => kernel::Start::Out,
        TileStart::Zero => kernel::Start::Zero,
        TileStart::Row(row) => kernel::Start::Row(row.as_ptr()),
    };
    let last_a = (rows - 1)
        .checked_mul(ops.a_row)
        .and_then(|r| r.checked_add(reach_a))
        .and_then(|r| r.checked_add(a_at));
    assert!(
        last_a.is_some_and(|l| l < ops.a.len()),
        "the tile reads past the end of operand a"
    );
    let last_b = b_at
        .checked_add(reach_b)
        .and_then(|r| r.checked_add(cols - 1));
    assert!(
        last_b.is_some_and(|l| l < ops.b.len()),
        "the tile reads past the end of operand b"
    );
    let args = kernel::Args {
        a: ops.a[a_at..].as_ptr(),
        a_row: ops.a_row,
        a_step: ops.a_step,
        b: ops.b[b_at..].as_ptr(),
        b_step: ops.b_step,
        segments: ops.segments.as_ptr(),
        segment_count: ops.segments.len(),
        last: cols - (vectors - 1) * lanes,
        start,
        out: out.as_mut_ptr(),
        out_stride,
    };
    // SAFETY: `level` is what `simd::level` detected on this CPU; rows and vectors are within
    // `kernel::shape`; the asserts above put the last element read of each operand inside its
    // slice (every offset the kernel reads is at most the one checked: segment offsets up to
    // the reach, rows up to rows − 1, b lanes up to cols − 1 only); a start row holds `cols`
    // values (its last vector is read up to `last` lanes only); `out` holds `rows` rows of
    // `vectors · lanes` floats `out_stride` apart and, borrowed mutably, aliases nothing
    // else.
    #[allow(unsafe_code)]
    unsafe {
        kernel::run(level, rows, vectors, &args);
    }
}

/// A run of `len` consecutive result rows, starting at result row `row`, whose tile rows
/// start at offset `a_at` of operand `a` (row `i` of the run at `a_at + i·a_row`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    pub row: usize,
    pub a_at: usize,
    pub len: usize,
}

/// A tile handed to the callbacks of [`product_rows`]: result rows `row..row + rows`,
/// columns `col..col + cols`, values at `values[i·stride + j]`.
pub(crate) struct Block<'t> {
    pub row: usize,
    pub rows: usize,
    pub col: usize,
    pub cols: usize,
    pub stride: usize,
    pub values: &'t mut [f32],
}

impl Block<'_> {
    /// Row `i` of the tile, `cols` values.
    #[inline(always)]
    pub(crate) fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.stride..i * self.stride + self.cols]
    }

    /// Row `i` of the tile, to fill or change.
    #[inline(always)]
    pub(crate) fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.values[i * self.stride..i * self.stride + self.cols]
    }
}

/// What [`product_rows`] asks of its callback for a tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Fill the tile with the starting values.
    Init,
    /// The products have been added: take the results.
    Finish,
}

/// The products of `ops` for the result rows of `runs` and result columns `0..cols`
/// (operand `b`'s columns from `b_at`), a tile at a time: `visit` fills a tile with its
/// starting values ([`Phase::Init`]), the kernel adds the products, `visit` takes the
/// results ([`Phase::Finish`]). Column panels
/// of up to two vectors are the outer loop, so that a panel of `b` stays in cache while the
/// runs stream past it. Call it inside [`vectorized!`](crate::vectorized) so that the
/// callbacks are compiled for the kernels' instruction set.
#[inline(always)]
pub(crate) fn product_rows(
    ops: &Operands<'_>,
    runs: &[Run],
    b_at: usize,
    cols: usize,
    mut visit: impl FnMut(&mut Block<'_>, Phase),
) {
    let lanes = lanes();
    let mut buffer = [0.0f32; 14 * 32];
    for (col, w) in split(cols, 2 * lanes) {
        let vectors = vectors_for(w, lanes);
        let stride = vectors * lanes;
        let most = max_rows(vectors);
        for run in runs {
            for (r0, rows) in split(run.len, most) {
                let mut block = Block {
                    row: run.row + r0,
                    rows,
                    col,
                    cols: w,
                    stride,
                    values: &mut buffer[..rows * stride],
                };
                visit(&mut block, Phase::Init);
                tile(
                    ops,
                    run.a_at + r0 * ops.a_row,
                    b_at + col,
                    rows,
                    w,
                    block.values,
                );
                visit(&mut block, Phase::Finish);
            }
        }
    }
}

/// Whether a product of `cols` result columns can run in place in a row-major result of
/// exactly `cols` columns ([`product_rows_in_place`] with `out_stride = cols`): `cols` is a
/// whole number of vectors.
pub(crate) fn fits_in_place(cols: usize) -> bool {
    cols > 0 && cols.is_multiple_of(lanes())
}

/// `cols` rounded up to whole vectors: the narrowest row stride of a result that
/// [`product_rows_in_place`] writes.
pub(crate) fn padded_width(cols: usize) -> usize {
    cols.next_multiple_of(lanes())
}

/// [`product_rows`] for one run of `rows` result rows starting at row 0 of operand `a`, in
/// place: see [`product_runs_in_place`].
#[inline(always)]
pub(crate) fn product_rows_in_place(
    ops: &Operands<'_>,
    rows: usize,
    cols: usize,
    out: &mut [f32],
    out_stride: usize,
    start: TileStart<'_>,
) {
    let run = Run {
        row: 0,
        a_at: 0,
        len: rows,
    };
    product_runs_in_place(ops, &[run], cols, out, out_stride, start);
}

/// [`product_rows`] for the result rows of `runs`, with the kernel accumulating straight into
/// `out` (result row `r` at `out[r·out_stride..]`, its first `cols` values the results) — no
/// tile buffer, no copies in or out — each result starting from `start` ([`TileStart::Row`]:
/// `cols` values, the same for every row). Columns from `cols` to [`padded_width`]`(cols)`
/// are overwritten as scratch, so `out_stride` is at least that. Each result is its start
/// plus the products in reduction order, as in every product here, so the results are
/// [`product_rows`]'s bits.
///
/// # Panics
/// If `out_stride` is below [`padded_width`]`(cols)` or `out` is too short for a run.
#[inline(always)]
pub(crate) fn product_runs_in_place(
    ops: &Operands<'_>,
    runs: &[Run],
    cols: usize,
    out: &mut [f32],
    out_stride: usize,
    start: TileStart<'_>,
) {
    let lanes = lanes();
    assert!(
        out_stride >= padded_width(cols),
        "rows {out_stride} floats apart cannot hold {cols} columns in whole vectors"
    );
    // Panels of two whole vectors (the last one may be narrower), the runs streaming past
    // each; the kernel cuts a run's rows into tiles inside one call.
    let mut col = 0;
    while col < cols {
        let width = (cols - col).min(2 * lanes);
        let start = match start {
            TileStart::Row(row) => TileStart::Row(&row[col..]),
            other => other,
        };
        for run in runs.iter().filter(|run| run.len > 0) {
            let at = run.row * out_stride + col;
            tile_with(
                ops,
                run.a_at,
                col,
                run.len,
                width,
                &mut out[at..],
                out_stride,
                start,
            );
        }
        col += width;
    }
}

/// The f32 fused multiply-add peak of the current [`level`] on this thread: `iterations`
/// rounds of 12 independent vector FMAs, timed by the caller. Returns the floating-point
/// operations done and a value to keep the work from being optimised away.
#[doc(hidden)]
pub fn fma_peak_probe(iterations: usize) -> (f64, f32) {
    kernel::fma_peak(level(), iterations)
}

/// Splits `n` items into `ceil(n / max)` nearly equal consecutive ranges (as (start, len)).
pub(crate) fn split(n: usize, max: usize) -> impl Iterator<Item = (usize, usize)> {
    let parts = n.div_ceil(max.max(1));
    (0..parts).map(move |p| {
        let (start, end) = (p * n / parts, (p + 1) * n / parts);
        (start, end - start)
    })
}

/// `dst ← a·b`, or `dst ← dst + a·b` when `accumulate`, single-threaded (the callers
/// parallelise over batch shards). Each result adds its products in order of the inner
/// index, with fused multiply-adds (see the module documentation).
///
/// `b` is copied, a block of at most 192 of its rows at a time, into contiguous panels of a
/// tile's width (so that a panel stays in the L1 cache while the tiles of up to 168 rows of
/// `a` stream past it); `a` is read in place.
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
    const K_BLOCK: usize = 192;
    let lanes = lanes();
    let width = 2 * lanes;
    let m_block = 12 * max_rows(2);
    let mut packed = vec![0.0f32; K_BLOCK.min(k) * n];
    let mut buffer = [0.0f32; 14 * 32];
    let dst_at = |r: usize, c: usize| r * dst.row_stride + c * dst.col_stride;
    crate::vectorized!({
        if k == 0 && !accumulate {
            for r in 0..m {
                for c in 0..n {
                    dst.data[dst_at(r, c)] = 0.0;
                }
            }
        }
        for (k0, kc) in split(k, K_BLOCK) {
            // Panel p (columns c0.., w wide) at packed[c0·kc..], row-major [kc, w].
            for (c0, w) in split(n, width) {
                let panel = &mut packed[c0 * kc..(c0 + w) * kc];
                for (kk, row) in panel.chunks_exact_mut(w).enumerate() {
                    for (j, v) in row.iter_mut().enumerate() {
                        *v = b.data[(k0 + kk) * b.row_stride + (c0 + j) * b.col_stride];
                    }
                }
            }
            let segments = [Segment {
                a: k0 * a.col_stride,
                b: 0,
                len: kc,
            }];
            let keep = accumulate || k0 > 0;
            for (r0, mc) in split(m, m_block) {
                for (c0, w) in split(n, width) {
                    let panel = &packed[c0 * kc..(c0 + w) * kc];
                    let ops =
                        Operands::new(a.data, a.row_stride, a.col_stride, panel, w, &segments);
                    let vectors = vectors_for(w, lanes);
                    let stride = vectors * lanes;
                    for (t0, rows) in split(mc, max_rows(vectors)) {
                        let r = r0 + t0;
                        let out = &mut buffer[..rows * stride];
                        for i in 0..rows {
                            for j in 0..w {
                                out[i * stride + j] = if keep {
                                    dst.data[dst_at(r + i, c0 + j)]
                                } else {
                                    0.0
                                };
                            }
                        }
                        tile(&ops, r * a.row_stride, 0, rows, w, out);
                        for i in 0..rows {
                            for j in 0..w {
                                dst.data[dst_at(r + i, c0 + j)] = out[i * stride + j];
                            }
                        }
                    }
                }
            }
        }
    },);
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
    fn in_place_products_give_the_tiled_products_bits() {
        // Every width (whole vectors or not, one panel or several), every start, and rows
        // further apart than the width: the same bits as product_rows through its tile buffer.
        let (rows, k) = (37, 13);
        let a = values(rows * k, 3);
        for cols in [1, 8, 15, 16, 24, 32, 40, 48, 64, 70] {
            let b = values(k * cols, 4);
            let bias = values(cols, 5);
            let before = values(rows * cols, 6);
            let segments = [Segment { a: 0, b: 0, len: k }];
            let ops = Operands::new(&a, k, 1, &b, cols, &segments);
            let runs = [Run {
                row: 0,
                a_at: 0,
                len: rows,
            }];
            for start in [TileStart::Out, TileStart::Row(&bias), TileStart::Zero] {
                let mut tiled = before.clone();
                product_rows(&ops, &runs, 0, cols, |block, phase| {
                    for i in 0..block.rows {
                        let at = (block.row + i) * cols + block.col;
                        let (col, n) = (block.col, block.cols);
                        match (phase, start) {
                            (Phase::Init, TileStart::Out) => {
                                block.row_mut(i).copy_from_slice(&tiled[at..at + n])
                            }
                            (Phase::Init, TileStart::Row(r)) => {
                                block.row_mut(i).copy_from_slice(&r[col..col + n])
                            }
                            (Phase::Init, TileStart::Zero) => block.row_mut(i).fill(0.0),
                            (Phase::Finish, _) => tiled[at..at + n].copy_from_slice(block.row(i)),
                        }
                    }
                });
                for stride in [padded_width(cols), padded_width(cols) + 3] {
                    let mut out = vec![f32::NAN; (rows - 1) * stride + padded_width(cols)];
                    for r in 0..rows {
                        out[r * stride..r * stride + cols]
                            .copy_from_slice(&before[r * cols..(r + 1) * cols]);
                    }
                    product_rows_in_place(&ops, rows, cols, &mut out, stride, start);
                    for r in 0..rows {
                        for c in 0..cols {
                            assert_eq!(
                                out[r * stride + c].to_bits(),
                                tiled[r * cols + c].to_bits(),
                                "{cols} columns, stride {stride}, {start:?}, ({r}, {c})"
                            );
                        }
                    }
                }
            }
        }
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

    /// The product as the kernels promise it: each result its starting value plus the
    /// products in order of the inner index, each added with one rounding (`mul_add`).
    fn in_order(a: &MatRef<'_>, b: &MatRef<'_>, start: &[f32]) -> Vec<f32> {
        let mut out = start.to_vec();
        for r in 0..a.rows {
            for c in 0..b.cols {
                let mut acc = out[r * b.cols + c];
                for k in 0..a.cols {
                    let x = a.data[r * a.row_stride + k * a.col_stride];
                    acc = x.mul_add(b.data[k * b.row_stride + c * b.col_stride], acc);
                }
                out[r * b.cols + c] = acc;
            }
        }
        out
    }

    #[test]
    fn every_result_adds_its_products_in_order_with_one_rounding_each() {
        // Shapes with several blocks of the inner dimension (192 at a time), several column
        // panels with a partial last one, and row counts that leave partial tiles.
        for &(m, k, n) in &[
            (1, 1, 1),
            (5, 7, 3),
            (29, 400, 70),
            (130, 37, 16),
            (3, 1000, 33),
        ] {
            let a_data = values(m * k, 3);
            let b_data = values(k * n, 4);
            let a = MatRef::row_major(&a_data, m, k);
            let b = MatRef::row_major(&b_data, k, n);
            let start = values(m * n, 5);
            let want = in_order(&a, &b, &start);
            let mut dst = start.clone();
            matmul(MatMut::row_major(&mut dst, m, n), a, b, true);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&dst), bits(&want), "{m}x{k}x{n}");
            // A row computed alone is the same row.
            if m > 1 {
                let mut one = start[n..2 * n].to_vec();
                matmul(
                    MatMut::row_major(&mut one, 1, n),
                    MatRef::row_major(&a_data[k..2 * k], 1, k),
                    b,
                    true,
                );
                assert_eq!(
                    bits(&one),
                    bits(&want[n..2 * n]),
                    "{m}x{k}x{n}: row 1 alone"
                );
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
