//! Noise regularisation: fresh Gaussian noise on the inputs and targets of every training
//! batch (never on validation rows or at prediction).

use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

use crate::config::ValidTrainConfig;

/// The noise a run adds, resolved to standard deviations for its data.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BatchNoise {
    /// Standard deviation on the numeric inputs (standardised units).
    pub x_sd: f64,
    /// Standard deviation on the modelled targets (standardised units).
    pub y_sd: f64,
    /// The feature columns that get input noise: the numeric ones, not one-hot indicators.
    x_columns: Vec<usize>,
}

impl BatchNoise {
    /// The noise `config` asks for, for `rows` training rows whose features are numeric where
    /// `numeric` says so, and `target_dim` targets. `Auto` counts the noised dimensions only.
    pub fn new(
        config: &ValidTrainConfig,
        rows: usize,
        numeric: &[bool],
        target_dim: usize,
    ) -> Self {
        let x_columns: Vec<usize> = (0..numeric.len()).filter(|&j| numeric[j]).collect();
        Self {
            x_sd: config.noise_x.sd(rows, x_columns.len()),
            y_sd: config.noise_y.sd(rows, target_dim),
            x_columns,
        }
    }

    /// Whether nothing is added (then no random number is drawn either).
    pub fn is_off(&self) -> bool {
        self.x_sd == 0.0 && self.y_sd == 0.0
    }

    /// Adds the noise to a batch: `x` row-major with `width` features, `t` its targets.
    pub fn apply(&self, x: &mut [f32], width: usize, t: &mut [f32], rng: &mut impl Rng) {
        if self.x_sd > 0.0 && width > 0 {
            for row in x.chunks_exact_mut(width) {
                for &j in &self.x_columns {
                    row[j] += (self.x_sd * rng.sample::<f64, _>(StandardNormal)) as f32;
                }
            }
        }
        if self.y_sd > 0.0 {
            for v in t.iter_mut() {
                *v += (self.y_sd * rng.sample::<f64, _>(StandardNormal)) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::config::{Noise, TrainConfig};

    fn noise(x: Noise, y: Noise, numeric: &[bool]) -> BatchNoise {
        let config = TrainConfig {
            noise_x: x,
            noise_y: y,
            ..TrainConfig::default()
        };
        BatchNoise::new(&config.check().unwrap(), 1000, numeric, 1)
    }

    #[test]
    fn noise_has_the_asked_spread_and_spares_one_hot_columns() {
        let n = noise(Noise::Sd(0.5), Noise::Sd(0.2), &[true, false, true]);
        let rows = 20_000;
        let mut x = vec![0.0f32; rows * 3];
        let mut t = vec![0.0f32; rows];
        n.apply(&mut x, 3, &mut t, &mut ChaCha8Rng::seed_from_u64(7));
        let sd = |values: Vec<f32>| {
            let m = values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64;
            (values
                .iter()
                .map(|&v| (f64::from(v) - m).powi(2))
                .sum::<f64>()
                / values.len() as f64)
                .sqrt()
        };
        let column = |j: usize| x.iter().skip(j).step_by(3).copied().collect::<Vec<_>>();
        // The standard error of a sample sd is sd/√(2n) ≈ 0.0025 for 0.5 and 20,000 rows.
        assert!((sd(column(0)) - 0.5).abs() < 0.0125, "{}", sd(column(0)));
        assert!((sd(column(2)) - 0.5).abs() < 0.0125);
        assert!(
            column(1).iter().all(|&v| v == 0.0),
            "a one-hot column got noise"
        );
        assert!((sd(t.clone()) - 0.2).abs() < 0.005, "{}", sd(t));
    }

    #[test]
    fn off_draws_nothing_and_auto_counts_only_numeric_columns() {
        let off = noise(Noise::Off, Noise::Off, &[true]);
        assert!(off.is_off());
        let mut x = vec![1.0f32; 4];
        let mut t = vec![2.0f32; 4];
        off.apply(&mut x, 1, &mut t, &mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!((x, t), (vec![1.0; 4], vec![2.0; 4]));
        // Every call draws afresh: two batches of the same rows get different noise.
        let on = noise(Noise::Sd(0.1), Noise::Off, &[true]);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (mut a, mut b) = (vec![0.0f32; 4], vec![0.0f32; 4]);
        on.apply(&mut a, 1, &mut [], &mut rng);
        on.apply(&mut b, 1, &mut [], &mut rng);
        assert_ne!(a, b);
        let auto = noise(Noise::Auto, Noise::Auto, &[true, false, false]);
        assert_eq!(auto.x_sd, Noise::Auto.sd(1000, 1));
        assert_eq!(auto.y_sd, Noise::Auto.sd(1000, 1));
    }
}
