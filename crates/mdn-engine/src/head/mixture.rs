//! The mixture density head: log α, σ and the component log densities of every row, their
//! logsumexp, and the gradient of −log p with respect to the raw outputs, in one pass over
//! feature-major columns (see the formulas in [`super`]).

/// ½ ln(2π).
use super::{HeadScratch, MixtureParams, column, column_mut, to_row_major};
use crate::buffers::{sized, transpose};
use crate::math;
use mdn_mixture::CovarianceKind;

/// The shape of a mixture head's raw outputs.
#[derive(Debug, Clone, Copy)]
pub(super) struct MixtureShape {
    pub(super) m: usize,
    pub(super) c: usize,
    pub(super) covariance: CovarianceKind,
    pub(super) min_sigma: f32,
}

impl MixtureShape {
    /// Scale columns: m (isotropic) or m·c (diagonal; the Cholesky diagonal for full).
    fn scale_columns(&self) -> usize {
        match self.covariance {
            CovarianceKind::Isotropic => self.m,
            CovarianceKind::Diagonal | CovarianceKind::Full => self.m * self.c,
        }
    }

    /// Strictly lower Cholesky entries per component.
    fn lower_count(&self) -> usize {
        match self.covariance {
            CovarianceKind::Full => self.c * (self.c - 1) / 2,
            _ => 0,
        }
    }

    /// Index of the first scale column among the raw outputs.
    fn scale_start(&self) -> usize {
        self.m + self.m * self.c
    }

    /// Index of the first strictly-lower Cholesky column.
    fn lower_start(&self) -> usize {
        self.scale_start() + self.m * self.c
    }
}

const HALF_LN_TWO_PI: f32 = 0.918_938_5;

/// Index of the strictly lower Cholesky entry (row, col), col < row, within a component.
#[inline(always)]
fn lower_index(row: usize, col: usize) -> usize {
    row * (row - 1) / 2 + col
}

/// softplus(z) and its derivative sigmoid(z), sharing one exponential.
#[inline(always)]
fn softplus_and_slope(z: f32) -> (f32, f32) {
    let e = math::exp(-z.abs());
    let softplus = z.max(0.0) + math::log1p(e);
    let inverse = 1.0 / (1.0 + e);
    let slope = if z >= 0.0 { inverse } else { e * inverse };
    (softplus, slope)
}

/// log-softmax of the m logit columns of `raw` into `log_alpha` (`[m, rows]`), using `max`
/// and `sum` (`[rows]`) as scratch.
#[inline(always)]
fn log_softmax(
    raw: &[f32],
    m: usize,
    rows: usize,
    log_alpha: &mut [f32],
    max: &mut [f32],
    sum: &mut [f32],
) {
    max.copy_from_slice(column(raw, 0, rows));
    for i in 1..m {
        for (mx, &z) in max.iter_mut().zip(column(raw, i, rows)) {
            *mx = mx.max(z);
        }
    }
    sum.fill(0.0);
    for i in 0..m {
        let out = column_mut(log_alpha, i, rows);
        for (((o, &z), &mx), s) in out
            .iter_mut()
            .zip(column(raw, i, rows))
            .zip(&*max)
            .zip(sum.iter_mut())
        {
            *o = z - mx;
            *s += math::exp(*o);
        }
    }
    for s in sum.iter_mut() {
        *s = math::ln(*s);
    }
    for i in 0..m {
        for (o, &lse) in column_mut(log_alpha, i, rows).iter_mut().zip(&*sum) {
            *o -= lse;
        }
    }
}

/// σ = floor + softplus(z) for `columns` scale columns starting at raw column `start`, and
/// the slopes dσ/dz.
#[inline(always)]
fn scales(
    raw: &[f32],
    start: usize,
    columns: usize,
    rows: usize,
    floor: f32,
    sigma: &mut [f32],
    slope: &mut [f32],
) {
    let z = &raw[start * rows..(start + columns) * rows];
    for ((s, d), &z) in sigma.iter_mut().zip(slope.iter_mut()).zip(z) {
        let (softplus, derivative) = softplus_and_slope(z);
        *s = floor + softplus;
        *d = derivative;
    }
}

/// log α (`[m, rows]`), σ and dσ/dz (`[scale columns, rows]`) of a mixture head's raw
/// outputs, in the given buffers (grown as needed), with the `[rows]` scratch `max` and `sum`
/// they used; returned as slices of exactly those sizes.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
#[inline(always)]
fn weights_and_scales<'a>(
    shape: MixtureShape,
    raw: &[f32],
    rows: usize,
    log_alpha: &'a mut Vec<f32>,
    sigma: &'a mut Vec<f32>,
    slope: &'a mut Vec<f32>,
    max: &'a mut Vec<f32>,
    sum: &'a mut Vec<f32>,
) -> (
    &'a mut [f32],
    &'a mut [f32],
    &'a mut [f32],
    &'a mut [f32],
    &'a mut [f32],
) {
    let log_alpha = sized(log_alpha, shape.m * rows);
    let (max, sum) = (sized(max, rows), sized(sum, rows));
    log_softmax(raw, shape.m, rows, log_alpha, max, sum);
    let columns = shape.scale_columns();
    let (sigma, slope) = (sized(sigma, columns * rows), sized(slope, columns * rows));
    scales(
        raw,
        shape.scale_start(),
        columns,
        rows,
        shape.min_sigma,
        sigma,
        slope,
    );
    (log_alpha, sigma, slope, max, sum)
}

/// The mixture negative log-likelihood of each row, times its weight, into `per_row` (and
/// the gradient of their sum).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn mixture_loss(
    shape: MixtureShape,
    raw: &[f32],
    rows: usize,
    targets: &[f32],
    weights: Option<&[f32]>,
    grad: Option<(&mut [f32], &[f32])>,
    scratch: &mut HeadScratch,
    per_row: &mut [f64],
) {
    let MixtureShape {
        m, c, covariance, ..
    } = shape;
    let HeadScratch {
        log_alpha,
        sigma,
        slope,
        joint,
        solved,
        targets: t,
        max,
        sum,
        ..
    } = scratch;
    let (log_alpha, sigma, slope, max, sum) =
        weights_and_scales(shape, raw, rows, log_alpha, sigma, slope, max, sum);
    let t = sized(t, c * rows);
    transpose(targets, rows, c, t);
    // y = L⁻¹ δ per component and dimension (full covariance only).
    let solved = sized(
        solved,
        if covariance == CovarianceKind::Full {
            m * c * rows
        } else {
            0
        },
    );

    // joint_i = log α_i + log φ_i.
    let joint = sized(joint, m * rows);
    let constant = c as f32 * HALF_LN_TWO_PI;
    for i in 0..m {
        let out = column_mut(joint, i, rows);
        out.copy_from_slice(column(log_alpha, i, rows));
        match covariance {
            CovarianceKind::Isotropic => {
                let s = column(sigma, i, rows);
                let q = &mut *max; // Σ_j δ_j², reusing `max` until the logsumexp below
                q.fill(0.0);
                for j in 0..c {
                    let mu = column(raw, m + i * c + j, rows);
                    for ((q, &t), &mu) in q.iter_mut().zip(column(t, j, rows)).zip(mu) {
                        let d = t - mu;
                        *q += d * d;
                    }
                }
                for ((o, &q), &s) in out.iter_mut().zip(&*q).zip(s) {
                    *o += -0.5 * q / (s * s) - c as f32 * math::ln(s) - constant;
                }
            }
            CovarianceKind::Diagonal => {
                for j in 0..c {
                    let mu = column(raw, m + i * c + j, rows);
                    let s = column(sigma, i * c + j, rows);
                    for (((o, &t), &mu), &s) in
                        out.iter_mut().zip(column(t, j, rows)).zip(mu).zip(s)
                    {
                        let z = (t - mu) / s;
                        *o += -0.5 * z * z - math::ln(s);
                    }
                }
                for o in out.iter_mut() {
                    *o -= constant;
                }
            }
            CovarianceKind::Full => {
                let lower_count = shape.lower_count();
                for j in 0..c {
                    // y_j = (δ_j − Σ_{k<j} L_jk y_k) / L_jj, one column at a time.
                    let (done, rest) =
                        solved[i * c * rows..(i + 1) * c * rows].split_at_mut(j * rows);
                    let y = &mut rest[..rows];
                    for ((y, &t), &mu) in
                        y.iter_mut()
                            .zip(column(t, j, rows))
                            .zip(column(raw, m + i * c + j, rows))
                    {
                        *y = t - mu;
                    }
                    for k in 0..j {
                        let l = column(
                            raw,
                            shape.lower_start() + i * lower_count + lower_index(j, k),
                            rows,
                        );
                        for ((y, &l), &yk) in y.iter_mut().zip(l).zip(column(done, k, rows)) {
                            *y -= l * yk;
                        }
                    }
                    let d = column(sigma, i * c + j, rows);
                    for ((y, &d), o) in y.iter_mut().zip(d).zip(out.iter_mut()) {
                        *y /= d;
                        *o += -0.5 * *y * *y - math::ln(d);
                    }
                }
                for o in out.iter_mut() {
                    *o -= constant;
                }
            }
        }
    }

    // log p = max + ln Σ exp(joint − max); the shift is exact for value and gradient.
    max.copy_from_slice(column(joint, 0, rows));
    for i in 1..m {
        for (mx, &j) in max.iter_mut().zip(column(joint, i, rows)) {
            *mx = mx.max(j);
        }
    }
    sum.fill(0.0);
    for i in 0..m {
        // joint_i ← exp(joint_i − max): the unnormalised responsibilities.
        for ((j, &mx), s) in column_mut(joint, i, rows)
            .iter_mut()
            .zip(&*max)
            .zip(sum.iter_mut())
        {
            *j = math::exp(*j - mx);
            *s += *j;
        }
    }
    match weights {
        None => {
            for ((l, &mx), &s) in per_row.iter_mut().zip(&*max).zip(&*sum) {
                *l = -f64::from(mx + math::ln(s));
            }
        }
        Some(w) => {
            for (((l, &mx), &s), &w) in per_row.iter_mut().zip(&*max).zip(&*sum).zip(w) {
                *l = -(f64::from(w) * f64::from(mx + math::ln(s)));
            }
        }
    }

    let Some((d_raw, scale)) = grad else {
        return;
    };
    // sum ← scale / Σ, so that scale · r_i = joint_i · sum (a scale per row).
    for (s, &scale) in sum.iter_mut().zip(scale) {
        *s = scale / *s;
    }
    for i in 0..m {
        let r = column_mut(joint, i, rows);
        for (r, &f) in r.iter_mut().zip(&*sum) {
            *r *= f; // scale · r_i
        }
        let r = column(joint, i, rows);
        for (((d, &la), &r), &scale) in column_mut(d_raw, i, rows)
            .iter_mut()
            .zip(column(log_alpha, i, rows))
            .zip(r)
            .zip(scale)
        {
            *d = scale * math::exp(la) - r;
        }
        match covariance {
            CovarianceKind::Isotropic => {
                let s = column(sigma, i, rows);
                let q = &mut *max; // Σ_j δ_j² / σ², reusing `max`
                q.fill(0.0);
                for j in 0..c {
                    let mu = column(raw, m + i * c + j, rows);
                    let d_mu = column_mut(d_raw, m + i * c + j, rows);
                    for ((((d, q), &t), &mu), (&s, &r)) in d_mu
                        .iter_mut()
                        .zip(q.iter_mut())
                        .zip(column(t, j, rows))
                        .zip(mu)
                        .zip(s.iter().zip(r))
                    {
                        let z = (t - mu) / s;
                        *q += z * z;
                        *d = -r * z / s;
                    }
                }
                let d_z = column_mut(d_raw, shape.scale_start() + i, rows);
                let slope = column(slope, i, rows);
                for ((((d, &q), &s), &r), &g) in d_z.iter_mut().zip(&*q).zip(s).zip(r).zip(slope) {
                    *d = -r * (q - c as f32) / s * g;
                }
            }
            CovarianceKind::Diagonal => {
                for j in 0..c {
                    let mu = column(raw, m + i * c + j, rows);
                    let s = column(sigma, i * c + j, rows);
                    let g = column(slope, i * c + j, rows);
                    let (head, tail) = d_raw.split_at_mut(shape.scale_start() * rows);
                    let d_mu = column_mut(head, m + i * c + j, rows);
                    let d_z = column_mut(tail, i * c + j, rows);
                    for ((((d_mu, d_z), &t), &mu), ((&s, &g), &r)) in d_mu
                        .iter_mut()
                        .zip(d_z.iter_mut())
                        .zip(column(t, j, rows))
                        .zip(mu)
                        .zip(s.iter().zip(g).zip(r))
                    {
                        let z = (t - mu) / s;
                        *d_mu = -r * z / s;
                        *d_z = -r * (z * z - 1.0) / s * g;
                    }
                }
            }
            CovarianceKind::Full => {
                full_covariance_gradient(shape, raw, rows, i, r, sigma, slope, solved, d_raw, max);
            }
        }
    }
}

/// Gradients of component `i`'s Cholesky parameters and means (full covariance), given
/// `r` = scale · responsibilities and the solved y = L⁻¹ δ. Uses `u` (`[rows]`) as scratch
/// per dimension and overwrites `solved` with u = L⁻ᵀ y, computed from the last dimension
/// back.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn full_covariance_gradient(
    shape: MixtureShape,
    raw: &[f32],
    rows: usize,
    i: usize,
    r: &[f32],
    diagonal: &[f32],
    slope: &[f32],
    solved: &mut [f32],
    d_raw: &mut [f32],
    scratch: &mut [f32],
) {
    let MixtureShape { m, c, .. } = shape;
    let lower_count = shape.lower_count();
    let lower = |j: usize, k: usize| {
        column(
            raw,
            shape.lower_start() + i * lower_count + lower_index(j, k),
            rows,
        )
    };
    let component = &mut solved[i * c * rows..(i + 1) * c * rows];
    // Back substitution u_j = (y_j − Σ_{k>j} L_kj u_k) / L_jj, last dimension first; u_k for
    // k > j already replaced y_k in `component`, y_j is still in place while u_j is built.
    // The gradients need both y_j and u_j, so they are taken here, before y_j is overwritten.
    let (front, back) = d_raw.split_at_mut(shape.scale_start() * rows);
    let (d_diag, d_lower) = back.split_at_mut(m * c * rows);
    for j in (0..c).rev() {
        let u = &mut *scratch;
        u.copy_from_slice(column(component, j, rows));
        for k in j + 1..c {
            for ((u, &l), &uk) in u
                .iter_mut()
                .zip(lower(k, j))
                .zip(column(component, k, rows))
            {
                *u -= l * uk;
            }
        }
        let d = column(diagonal, i * c + j, rows);
        for (u, &d) in u.iter_mut().zip(d) {
            *u /= d;
        }
        // ∂/∂μ_j = −r u_j;  ∂/∂L_jj = −r (u_j y_j − 1/L_jj);  ∂/∂L_jk = −r u_j y_k (k < j).
        let y = column(component, j, rows);
        let g = column(slope, i * c + j, rows);
        for (((((d_mu, d_z), &u), &y), (&d, &g)), &r) in column_mut(front, m + i * c + j, rows)
            .iter_mut()
            .zip(column_mut(d_diag, i * c + j, rows).iter_mut())
            .zip(&*u)
            .zip(y)
            .zip(d.iter().zip(g))
            .zip(r)
        {
            *d_mu = -r * u;
            *d_z = -r * (u * y - 1.0 / d) * g;
        }
        for k in 0..j {
            let y_k = column(component, k, rows);
            let d_l = column_mut(d_lower, i * lower_count + lower_index(j, k), rows);
            for (((d_l, &u), &y_k), &r) in d_l.iter_mut().zip(&*u).zip(y_k).zip(r) {
                *d_l = -r * u * y_k;
            }
        }
        column_mut(component, j, rows).copy_from_slice(u);
    }
}

/// Row-major mixture parameters from feature-major raw outputs.
#[inline(always)]
pub(super) fn mixture_params(
    shape: MixtureShape,
    raw: &[f32],
    rows: usize,
    scratch: &mut HeadScratch,
) -> MixtureParams {
    let MixtureShape {
        m, c, covariance, ..
    } = shape;
    let HeadScratch {
        log_alpha,
        sigma,
        slope,
        max,
        sum,
        ..
    } = scratch;
    let (log_alpha, sigma, ..) =
        weights_and_scales(shape, raw, rows, log_alpha, sigma, slope, max, sum);
    let scale_columns = shape.scale_columns();
    let lower_columns = m * shape.lower_count();
    let lower = match covariance {
        CovarianceKind::Full => {
            &raw[shape.lower_start() * rows..(shape.lower_start() + lower_columns) * rows]
        }
        // No Cholesky columns: `lower_start` may lie past the raw outputs.
        _ => &[],
    };
    MixtureParams {
        rows,
        components: m,
        target_dim: c,
        covariance,
        log_alpha: to_row_major(log_alpha, m, rows),
        means: to_row_major(&raw[m * rows..(m + m * c) * rows], m * c, rows),
        sigma: to_row_major(sigma, scale_columns, rows),
        lower: to_row_major(lower, lower_columns, rows),
    }
}
