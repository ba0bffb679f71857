//! `eval --per-row` log-likelihoods, PIT values and CRPS against the mixture recomputed here,
//! from `predict --output params` and the data, independently of the crates' own code.

mod common;

use std::f64::consts::PI;

use common::{Csv, Scratch, assert_close, json, number};

/// log Σ exp(v), shifted by the maximum so that nothing overflows or underflows.
fn logsumexp(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    max + values.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// log N(t; μ, Σ) for a covariance matrix Σ (row-major c×c), by Cholesky factorisation
/// Σ = L Lᵀ: log N = −½‖L⁻¹(t − μ)‖² − Σ log L_jj − (c/2) log 2π.
fn log_normal(t: &[f64], mean: &[f64], cov: &[f64]) -> f64 {
    let c = t.len();
    let mut l = vec![0.0; c * c];
    for i in 0..c {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * c + k] * l[j * c + k]).sum();
            if i == j {
                let d = cov[i * c + i] - s;
                assert!(d > 0.0, "covariance is not positive definite: {cov:?}");
                l[i * c + i] = d.sqrt();
            } else {
                l[i * c + j] = (cov[i * c + j] - s) / l[j * c + j];
            }
        }
    }
    // Forward substitution: z = L⁻¹ (t − μ).
    let mut z = vec![0.0; c];
    for i in 0..c {
        let s: f64 = (0..i).map(|k| l[i * c + k] * z[k]).sum();
        z[i] = (t[i] - mean[i] - s) / l[i * c + i];
    }
    let log_det_half: f64 = (0..c).map(|i| l[i * c + i].ln()).sum();
    -0.5 * z.iter().map(|v| v * v).sum::<f64>() - log_det_half - 0.5 * c as f64 * (2.0 * PI).ln()
}

/// log p(t) of the mixture in row `row` of a `predict --output params` table.
fn mixture_log_density(params: &Csv, row: usize, targets: &[&str], t: &[f64]) -> f64 {
    let c = targets.len();
    let mut terms = Vec::new();
    for k in (0..).take_while(|k| params.has(&format!("alpha_{k}"))) {
        let alpha = params.num(row, &format!("alpha_{k}"));
        let mean: Vec<f64> = targets
            .iter()
            .map(|n| params.num(row, &format!("mean_{k}_{n}")))
            .collect();
        let sigma: Vec<f64> = targets
            .iter()
            .map(|n| params.num(row, &format!("sigma_{k}_{n}")))
            .collect();
        let mut cov = vec![0.0; c * c];
        for a in 0..c {
            cov[a * c + a] = sigma[a] * sigma[a];
            for b in a + 1..c {
                let name = format!("cov_{k}_{}_{}", targets[a], targets[b]);
                if params.has(&name) {
                    cov[a * c + b] = params.num(row, &name);
                    cov[b * c + a] = cov[a * c + b];
                }
            }
        }
        terms.push(alpha.ln() + log_normal(t, &mean, &cov));
    }
    assert!(
        !terms.is_empty(),
        "no alpha_K column in {:?}",
        params.header
    );
    logsumexp(&terms)
}

/// Φ(z), the standard normal CDF, from erfc by Numerical Recipes' Chebyshev fit `erfcc`
/// (fractional error below 1.2e-7 everywhere).
fn normal_cdf(z: f64) -> f64 {
    let x = -z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -x * x - 1.26551223
        + t * (1.00002368
            + t * (0.37409196
                + t * (0.09678418
                    + t * (-0.18628806
                        + t * (0.27886807
                            + t * (-1.13520398
                                + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    let erfc = t * poly.exp();
    0.5 * if x >= 0.0 { erfc } else { 2.0 - erfc }
}

/// (α_k, μ_kj, σ_kj) of target `j`'s marginal in row `row` of a params table.
fn marginal(params: &Csv, row: usize, target: &str) -> Vec<(f64, f64, f64)> {
    (0..)
        .take_while(|k| params.has(&format!("alpha_{k}")))
        .map(|k| {
            (
                params.num(row, &format!("alpha_{k}")),
                params.num(row, &format!("mean_{k}_{target}")),
                params.num(row, &format!("sigma_{k}_{target}")),
            )
        })
        .collect()
}

/// F(y) of a marginal mixture.
fn marginal_cdf(parts: &[(f64, f64, f64)], y: f64) -> f64 {
    parts
        .iter()
        .map(|(a, m, s)| a * normal_cdf((y - m) / s))
        .sum()
}

/// CRPS by its definition, ∫ (F(y) − 1{y ≥ t})² dy, by Simpson's rule on either side of t
/// out to 12 standard deviations beyond the outermost component.
fn crps_by_integral(parts: &[(f64, f64, f64)], t: f64) -> f64 {
    let lo = parts.iter().map(|(_, m, s)| m - 12.0 * s).fold(t, f64::min);
    let hi = parts.iter().map(|(_, m, s)| m + 12.0 * s).fold(t, f64::max);
    let simpson = |a: f64, b: f64, f: &dyn Fn(f64) -> f64| {
        let n = 4000;
        let h = (b - a) / n as f64;
        (0..=n)
            .map(|k| {
                let w = if k == 0 || k == n {
                    1.0
                } else if k % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                w * f(a + h * k as f64)
            })
            .sum::<f64>()
            * h
            / 3.0
    };
    simpson(lo, t, &|y| marginal_cdf(parts, y).powi(2))
        + simpson(t, hi, &|y| (1.0 - marginal_cdf(parts, y)).powi(2))
}

/// Trains on `data`, then checks every row's `log_lik`, `pit_<t>` and `crps_<t>` from `eval
/// --per-row` against the mixture recomputed from `predict --output params`, and `nll` and
/// `crps` against their means.
fn check(data_kind: &str, inputs: &str, targets: &[&str], options: &[&str]) {
    let s = Scratch::new();
    s.data(data_kind, 250, 11, "data.csv");
    s.train("data.csv", inputs, &targets.join(","), "model.mdn", options);
    let scores = json(&s.ok(&[
        "eval",
        "--model",
        "model.mdn",
        "--data",
        "data.csv",
        "--per-row",
        "log_lik.csv",
    ]));
    s.ok(&[
        "predict",
        "--model",
        "model.mdn",
        "--data",
        "data.csv",
        "--output",
        "params",
        "--out",
        "params.csv",
    ]);
    let (data, per_row, params) = (s.csv("data.csv"), s.csv("log_lik.csv"), s.csv("params.csv"));
    assert_eq!(per_row.header[..2], ["row", "log_lik"]);
    assert_eq!(per_row.len(), data.len());
    assert_eq!(params.len(), data.len());
    if options.contains(&"full") {
        assert!(params.has("cov_0_th1_th2"), "{:?}", params.header);
    }

    let mut total = 0.0;
    for r in 0..data.len() {
        assert_eq!(per_row.rows[r][0], r.to_string());
        let t: Vec<f64> = targets.iter().map(|name| data.num(r, name)).collect();
        let expected = mixture_log_density(&params, r, targets, &t);
        let reported = per_row.num(r, "log_lik");
        assert!(
            (reported - expected).abs() <= 1e-6,
            "row {r}: eval says log p = {reported}, the parameters give {expected}"
        );
        total += expected;
        for (j, name) in targets.iter().enumerate() {
            let parts = marginal(&params, r, name);
            let pit = per_row.num(r, &format!("pit_{name}"));
            let expected = marginal_cdf(&parts, t[j]);
            assert!(
                (pit - expected).abs() <= 1e-6,
                "row {r} {name}: PIT {pit} vs {expected}"
            );
            // The integral is slow; every tenth row is plenty.
            if r % 10 == 0 {
                let crps = per_row.num(r, &format!("crps_{name}"));
                let expected = crps_by_integral(&parts, t[j]);
                assert!(
                    (crps - expected).abs() <= 1e-6,
                    "row {r} {name}: CRPS {crps} vs {expected}"
                );
            }
        }
    }
    assert_close(
        number(&scores, "nll"),
        -total / data.len() as f64,
        1e-6,
        "nll",
    );
}

#[test]
fn isotropic_one_target() {
    check("toy", "x", &["t"], &["--covariance", "isotropic"]);
}

#[test]
fn diagonal_one_target() {
    check("toy", "x", &["t"], &["--covariance", "diagonal"]);
}

#[test]
fn isotropic_two_targets() {
    check(
        "robot",
        "x1,x2",
        &["th1", "th2"],
        &["--covariance", "isotropic"],
    );
}

#[test]
fn diagonal_two_targets() {
    check(
        "robot",
        "x1,x2",
        &["th1", "th2"],
        &["--covariance", "diagonal"],
    );
}

#[test]
fn full_two_targets() {
    check("robot", "x1,x2", &["th1", "th2"], &["--covariance", "full"]);
}

#[test]
fn least_squares_two_targets() {
    check("robot", "x1,x2", &["th1", "th2"], &["--model-type", "mse"]);
}

#[test]
fn the_independent_cdf_and_crps_agree_with_scipy() {
    // scipy.stats.norm.cdf([-3, -0.5, 0, 1.7]) = [0.0013498980316301, 0.3085375387259869,
    // 0.5, 0.9554345372414570]
    for (z, p) in [
        (-3.0, 0.0013498980316301),
        (-0.5, 0.3085375387259869),
        (0.0, 0.5),
        (1.7, 0.955434537241457),
    ] {
        assert!((normal_cdf(z) - p).abs() < 2e-7 * p.max(0.01), "Φ({z})");
    }
    // The CRPS of N(0, 1) at 0 is 2φ(0) − 1/√π = (√2 − 1)/√π (Gneiting & Raftery 2007).
    let expected = (2f64.sqrt() - 1.0) / PI.sqrt();
    assert_close(
        crps_by_integral(&[(1.0, 0.0, 1.0)], 0.0),
        expected,
        1e-6,
        "CRPS of N(0,1) at 0",
    );
}

#[test]
fn the_independent_density_agrees_with_a_hand_computed_value() {
    // One standard normal component: log N(0; 0, 1) = −½ log 2π.
    let params = Csv::parse("row,alpha_0,mean_0_t,sigma_0_t\n0,1,0,1\n");
    assert_close(
        mixture_log_density(&params, 0, &["t"], &[0.0]),
        -0.5 * (2.0 * PI).ln(),
        1e-15,
        "standard normal",
    );
    // One 2-D component with covariance 1 between σ_a = 1 and σ_b = 2.
    let params =
        Csv::parse("row,alpha_0,mean_0_a,mean_0_b,sigma_0_a,sigma_0_b,cov_0_a_b\n0,1,0,0,1,2,1\n");
    // Σ = [[1, 1], [1, 4]]: det 3, Σ⁻¹ = [[4, −1], [−1, 1]] / 3; at (1, 1): quad = 3/3 = 1.
    let expected = -0.5 - 0.5 * 3f64.ln() - (2.0 * PI).ln();
    assert_close(
        mixture_log_density(&params, 0, &["a", "b"], &[1.0, 1.0]),
        expected,
        1e-14,
        "correlated normal",
    );
    // Two equal components at ±1 with σ = 2, evaluated at 1.
    let params = Csv::parse(
        "row,alpha_0,mean_0_t,sigma_0_t,alpha_1,mean_1_t,sigma_1_t\n0,0.5,-1,2,0.5,1,2\n",
    );
    let one = |m: f64| -0.5 * ((1.0 - m) / 2.0_f64).powi(2) - 2f64.ln() - 0.5 * (2.0 * PI).ln();
    let expected = (0.5 * one(-1.0).exp() + 0.5 * one(1.0).exp()).ln();
    assert_close(
        mixture_log_density(&params, 0, &["t"], &[1.0]),
        expected,
        1e-14,
        "two components",
    );
}
