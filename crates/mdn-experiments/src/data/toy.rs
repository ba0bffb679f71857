//! Bishop's toy problem: a smooth forward map whose inverse is multi-valued.

use mdn::Dataset;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;

/// Half-width of the uniform noise added to x.
pub const NOISE: f64 = 0.1;

/// The noiseless forward map x = t + 0.3 sin(2πt).
pub fn forward(t: f64) -> f64 {
    t + 0.3 * (2.0 * PI * t).sin()
}

/// `n` samples (x, t) with t ~ U(0, 1) and x = t + 0.3 sin(2πt) + U(−0.1, 0.1).
pub fn samples(n: usize, seed: u64) -> Vec<(f64, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let t: f64 = rng.random();
            let noise: f64 = rng.random_range(-NOISE..NOISE);
            (forward(t) + noise, t)
        })
        .collect()
}

/// The inverse ("hard") problem: learn t | x, which has three branches for x in about
/// (0.35, 0.65). Columns `x` (input) and `t` (target).
pub fn inverse(n: usize, seed: u64) -> Dataset {
    let (x, t): (Vec<f64>, Vec<f64>) = samples(n, seed).into_iter().unzip();
    Dataset::new(x, 1, t, 1)
        .and_then(|d| d.with_names(vec!["x".into()], vec!["t".into()]))
        .expect("generated data is finite and consistent")
}

/// The forward ("easy") problem: learn x | t, a single-valued function plus noise, where
/// least squares and an MDN agree. Columns `t` (input) and `x` (target).
pub fn forward_problem(n: usize, seed: u64) -> Dataset {
    let (x, t): (Vec<f64>, Vec<f64>) = samples(n, seed).into_iter().unzip();
    Dataset::new(t, 1, x, 1)
        .and_then(|d| d.with_names(vec!["t".into()], vec!["x".into()]))
        .expect("generated data is finite and consistent")
}

/// The true conditional density p(t | x) of the inverse problem, by Bayes' rule on a grid
/// of t: p(t|x) ∝ p(x|t) p(t) with p(t) = 1 on (0, 1) and p(x|t) uniform of width 0.2
/// around forward(t). Returned normalised over `t_grid` (trapezoid rule).
pub fn true_conditional_density(x: f64, t_grid: &[f64]) -> Vec<f64> {
    let unnormalised: Vec<f64> = t_grid
        .iter()
        .map(|&t| {
            let inside = (0.0..=1.0).contains(&t) && (x - forward(t)).abs() <= NOISE;
            if inside { 1.0 } else { 0.0 }
        })
        .collect();
    let mut area = 0.0;
    for i in 1..t_grid.len() {
        area += 0.5 * (unnormalised[i] + unnormalised[i - 1]) * (t_grid[i] - t_grid[i - 1]);
    }
    unnormalised
        .iter()
        .map(|p| if area > 0.0 { p / area } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_follow_the_definition() {
        let data = samples(2000, 1);
        for &(x, t) in &data {
            assert!((0.0..1.0).contains(&t));
            assert!((x - forward(t)).abs() <= NOISE);
        }
        assert_eq!(samples(10, 3), samples(10, 3));
        assert_ne!(samples(10, 3), samples(10, 4));
        let mean_t = data.iter().map(|p| p.1).sum::<f64>() / data.len() as f64;
        assert!((mean_t - 0.5).abs() < 0.03);
    }

    #[test]
    fn inverse_and_forward_swap_columns() {
        let inv = inverse(5, 2);
        let fwd = forward_problem(5, 2);
        assert_eq!(inv.inputs(), fwd.targets());
        assert_eq!(inv.input_names(), ["x"]);
        assert_eq!(fwd.input_names(), ["t"]);
    }

    /// Separate intervals of t where p(t|x) > 0.
    fn branches(p: &[f64]) -> usize {
        p.windows(2).filter(|w| w[0] == 0.0 && w[1] > 0.0).count() + usize::from(p[0] > 0.0)
    }

    #[test]
    fn the_noiseless_map_has_three_inverses_at_the_centre() {
        // forward(t) = 0.5 at t = 0.5 and once on each side (forward peaks at ≈ 0.593 near
        // t ≈ 0.34 and dips to ≈ 0.407 near t ≈ 0.66).
        let grid: Vec<f64> = (0..=20_000).map(|i| i as f64 / 20_000.0).collect();
        let crossings = grid
            .windows(2)
            .filter(|w| (forward(w[0]) - 0.5) * (forward(w[1]) - 0.5) < 0.0)
            .count();
        assert_eq!(crossings + usize::from(grid.contains(&0.5)), 3);
    }

    #[test]
    fn true_density_is_normalised_and_has_the_right_support() {
        let grid: Vec<f64> = (0..=2000).map(|i| i as f64 / 2000.0).collect();
        // With noise ±0.1 the three branches touch at x = 0.5 (0.593 − 0.1 < 0.5 < 0.407 + 0.1),
        // so the support is one interval there; at x = 0.45 the lowest branch is cut off.
        assert_eq!(branches(&true_conditional_density(0.5, &grid)), 1);
        assert_eq!(branches(&true_conditional_density(0.45, &grid)), 2);
        assert_eq!(branches(&true_conditional_density(0.1, &grid)), 1);
        for x in [0.1, 0.45, 0.5, 0.9] {
            let p = true_conditional_density(x, &grid);
            let area: f64 = (1..grid.len())
                .map(|i| 0.5 * (p[i] + p[i - 1]) / 2000.0)
                .sum();
            assert!((area - 1.0).abs() < 1e-9, "x = {x}: area {area}");
            for (t, density) in grid.iter().zip(&p) {
                assert_eq!(
                    *density > 0.0,
                    (x - forward(*t)).abs() <= NOISE,
                    "x = {x}, t = {t}"
                );
            }
        }
    }
}
