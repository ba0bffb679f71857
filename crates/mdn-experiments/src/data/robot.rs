//! The two-link robot arm: joint angles → end-effector position, and its inverse.

use mdn::Dataset;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;

/// Length of the first link.
pub const L1: f64 = 0.8;
/// Length of the second link.
pub const L2: f64 = 0.2;
/// Range of the first joint angle θ1.
pub const THETA1: (f64, f64) = (0.3, 1.2);
/// Range of the second joint angle θ2: (π/2, 3π/2).
pub const THETA2: (f64, f64) = (PI / 2.0, 3.0 * PI / 2.0);

/// End-effector position for joint angles (θ1, θ2):
/// x1 = L1 cos θ1 − L2 cos(θ1 + θ2), x2 = L1 sin θ1 − L2 sin(θ1 + θ2).
pub fn forward_kinematics(theta1: f64, theta2: f64) -> (f64, f64) {
    (
        L1 * theta1.cos() - L2 * (theta1 + theta2).cos(),
        L1 * theta1.sin() - L2 * (theta1 + theta2).sin(),
    )
}

/// The elbow branch of a configuration: `false` for θ2 < π, `true` for θ2 > π. The two
/// branches reach overlapping sets of positions, which is what makes the inverse
/// multi-valued.
pub fn elbow_up(theta2: f64) -> bool {
    theta2 > PI
}

/// `n` samples (θ1, θ2) drawn uniformly from their ranges.
pub fn joint_samples(n: usize, seed: u64) -> Vec<(f64, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            (
                rng.random_range(THETA1.0..THETA1.1),
                rng.random_range(THETA2.0..THETA2.1),
            )
        })
        .collect()
}

/// The inverse-kinematics data set: inputs `x1, x2` (position), targets `th1, th2` (angles).
pub fn inverse(n: usize, seed: u64) -> Dataset {
    let mut x = Vec::with_capacity(2 * n);
    let mut t = Vec::with_capacity(2 * n);
    for (th1, th2) in joint_samples(n, seed) {
        let (x1, x2) = forward_kinematics(th1, th2);
        x.extend_from_slice(&[x1, x2]);
        t.extend_from_slice(&[th1, th2]);
    }
    Dataset::new(x, 2, t, 2)
        .and_then(|d| {
            d.with_names(
                vec!["x1".into(), "x2".into()],
                vec!["th1".into(), "th2".into()],
            )
        })
        .expect("generated data is finite and consistent")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_kinematics_matches_the_definition() {
        // θ2 = π folds the arm straight back: the hand is at (L1 + L2) along θ1.
        let (x1, x2) = forward_kinematics(0.5, PI);
        assert!((x1 - (L1 + L2) * 0.5f64.cos()).abs() < 1e-12);
        assert!((x2 - (L1 + L2) * 0.5f64.sin()).abs() < 1e-12);
        // θ2 = π/2: the second link is perpendicular.
        let (x1, x2) = forward_kinematics(0.0, PI / 2.0);
        assert!((x1 - L1).abs() < 1e-12 && (x2 + L2).abs() < 1e-12);
    }

    #[test]
    fn the_two_branches_reach_the_same_positions() {
        // Mirror the elbow: (θ1, θ2) and (θ1', 2π − θ2) reach one point when θ1' is rotated
        // by the angle the second link subtends.
        let (th1, th2) = (0.7, 2.5);
        let (x1, x2) = forward_kinematics(th1, th2);
        let r = (x1 * x1 + x2 * x2).sqrt();
        let phi = x2.atan2(x1);
        let offset = th1 - phi;
        let (y1, y2) = forward_kinematics(phi - offset, 2.0 * PI - th2);
        assert!(
            (y1 - x1).abs() < 1e-12 && (y2 - x2).abs() < 1e-12,
            "r = {r}"
        );
        assert!(elbow_up(2.0 * PI - th2) != elbow_up(th2));
    }

    #[test]
    fn data_set_has_named_columns_and_ranges() {
        let d = inverse(500, 1);
        assert_eq!(d.input_names(), ["x1", "x2"]);
        assert_eq!(d.target_names(), ["th1", "th2"]);
        for i in 0..d.len() {
            let t = d.target(i);
            assert!((THETA1.0..THETA1.1).contains(&t[0]));
            assert!((THETA2.0..THETA2.1).contains(&t[1]));
            let (x1, x2) = forward_kinematics(t[0], t[1]);
            assert_eq!(d.input(i), [x1, x2]);
        }
    }
}
