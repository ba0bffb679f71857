//! Training hyper-parameters, checked once.

use serde::{Deserialize, Serialize};

use crate::error::{MdnError, Parameter, Result};

/// How to train a network, as asked for. [`TrainConfig::check`] turns it into the
/// [`ValidTrainConfig`] that a [`Trainer`](crate::Trainer) takes.
///
/// The defaults are `mdn train`'s, chosen on the real-data benchmark
/// (`docs/results/defaults.md`, see [`crate::defaults`]): noise of 0.1 on the standardised
/// targets and a deep ensemble of five networks; set `ensemble: 1` for a single network
/// (checkpoints need one).
///
/// | Name | Default | Range |
/// |---|---|---|
/// | `epochs` | 500 | ≥ 1 |
/// | `batch_size` | 128 | ≥ 1 (a batch larger than the data is the whole data) |
/// | `learning_rate` | 3e-3 | > 0, finite |
/// | `weight_decay` | 0 | ≥ 0, finite |
/// | `validation_fraction` | 0.1 | [0, 1) |
/// | `patience` | 100 | ≥ 1, or `None` (never stop early) |
/// | `lr_plateau` | `None` | ≥ 1, needs validation rows |
/// | `seed` | 0 | any |
/// | `grad_clip_norm` | `None` | > 0, finite |
/// | `max_recoveries` | 3 | any |
/// | `noise_x` | [`Noise::Off`] | `Sd(s)` with s ≥ 0 finite, or `Auto` |
/// | `noise_y` | `Sd(0.1)` | `Sd(s)` with s ≥ 0 finite, or `Auto` |
/// | `ensemble` | 5 | ≥ 1 |
/// | `bootstrap` | `false` | |
///
/// # Examples
/// ```
/// use mdn::TrainConfig;
/// let config = TrainConfig { epochs: 300, learning_rate: 3e-3, ..TrainConfig::default() };
/// let checked = config.check()?;
/// assert_eq!(checked.epochs, 300);
/// # Ok::<(), mdn::MdnError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Maximum number of passes over the training rows.
    pub epochs: usize,
    /// Examples per optimisation step.
    pub batch_size: usize,
    /// Adam step size.
    pub learning_rate: f64,
    /// L2 penalty added to the gradient by Adam (0 for none).
    pub weight_decay: f64,
    /// Fraction of rows held out for validation and early stopping, in [0, 1). With 0 there
    /// is no early stopping and the last epoch's weights are kept.
    pub validation_fraction: f64,
    /// Stop after this many epochs without a lower validation loss (`None`: never).
    pub patience: Option<usize>,
    /// Halve the learning rate each time this many epochs pass without a lower validation
    /// loss (`None`: a constant learning rate). Lets Adam settle into a minimum that a
    /// constant step only rattles around; pick it well below `patience`.
    #[serde(default)]
    pub lr_plateau: Option<usize>,
    /// Seed of initialisation, validation split and shuffling: same seed, same model.
    pub seed: u64,
    /// Clip each parameter tensor's gradient to this L2 norm (`None`: no clipping).
    pub grad_clip_norm: Option<f64>,
    /// How many times a non-finite loss may be met by rolling back the epoch and halving the
    /// learning rate before training gives up.
    pub max_recoveries: usize,
    /// Gaussian noise added to the numeric inputs of every training batch, in standardised
    /// units (never to one-hot columns, validation or prediction): noise regularisation.
    #[serde(default)]
    pub noise_x: Noise,
    /// Gaussian noise added to the (standardised, for log targets: log) targets of every
    /// training batch.
    #[serde(default)]
    pub noise_y: Noise,
    /// Networks trained (members of a deep ensemble): member `k` is seeded `seed + k`, all
    /// share the validation split and the standardisation, and the model predicts their
    /// equal-weight mixture. 1 trains a single network.
    #[serde(default = "one")]
    pub ensemble: usize,
    /// Trains each member on a bootstrap sample of the training rows (drawn with replacement,
    /// as row counts that multiply the row weights).
    #[serde(default)]
    pub bootstrap: bool,
}

fn one() -> usize {
    1
}

/// Noise regularisation of inputs or targets (Rothfuss et al. 2019, "Noise Regularization for
/// Conditional Density Estimation"): fresh Gaussian noise on every training batch smooths the
/// density the network fits, which keeps an MDN from collapsing onto the training points of
/// small data.
///
/// # Formula
/// `Auto` is the paper's rule of thumb, `s = n^(−1/(4+d))` for `n` training rows and `d` noised
/// dimensions (Scott's bandwidth rule for a kernel density estimate in standardised units),
/// times [`Noise::AUTO_SCALE`].
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub enum Noise {
    /// No noise.
    #[default]
    Off,
    /// Noise of this standard deviation (standardised units; 0 is `Off`).
    Sd(f64),
    /// The rule of thumb above.
    Auto,
}

impl Noise {
    /// The factor on the rule of thumb that `Auto` uses.
    pub const AUTO_SCALE: f64 = 1.0;

    /// The standard deviation for `rows` training rows and `dims` noised dimensions (0 when
    /// nothing is noised).
    pub fn sd(self, rows: usize, dims: usize) -> f64 {
        match self {
            Noise::Off => 0.0,
            Noise::Sd(s) => s,
            Noise::Auto if dims == 0 => 0.0,
            Noise::Auto => Self::AUTO_SCALE * (rows.max(1) as f64).powf(-1.0 / (4.0 + dims as f64)),
        }
    }
}

impl std::str::FromStr for Noise {
    type Err = String;

    /// `auto`, `off`, or a standard deviation (`0` is `off`).
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Noise::Auto),
            "off" | "none" => Ok(Noise::Off),
            other => match other.parse::<f64>() {
                Ok(0.0) => Ok(Noise::Off),
                Ok(s) if s.is_finite() && s > 0.0 => Ok(Noise::Sd(s)),
                _ => Err(format!(
                    "'{text}' is not a noise level: give a standard deviation ≥ 0 in \
                     standardised units (e.g. 0.1), 'auto' or 'off'"
                )),
            },
        }
    }
}

impl std::fmt::Display for Noise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Noise::Off => f.write_str("off"),
            Noise::Sd(s) => write!(f, "{s}"),
            Noise::Auto => f.write_str("auto"),
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 500,
            batch_size: 128,
            learning_rate: 3e-3,
            weight_decay: 0.0,
            validation_fraction: 0.1,
            patience: Some(100),
            lr_plateau: None,
            seed: 0,
            grad_clip_norm: None,
            max_recoveries: 3,
            noise_x: Noise::Off,
            noise_y: Noise::Sd(0.1),
            ensemble: 5,
            bootstrap: false,
        }
    }
}

/// A [`TrainConfig`] that [`TrainConfig::check`] accepted: every field in range. Read its
/// fields through `Deref`; it cannot be changed, so nothing past the check sees a bad value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidTrainConfig(TrainConfig);

impl std::ops::Deref for ValidTrainConfig {
    type Target = TrainConfig;

    fn deref(&self) -> &TrainConfig {
        &self.0
    }
}

impl Default for ValidTrainConfig {
    fn default() -> Self {
        TrainConfig::default()
            .check()
            .expect("the defaults are in range")
    }
}

impl ValidTrainConfig {
    /// The unchecked configuration it came from.
    pub fn config(&self) -> &TrainConfig {
        &self.0
    }

    /// Number of validation rows for a dataset of `rows` rows.
    pub fn validation_rows(&self, rows: usize) -> usize {
        (rows as f64 * self.0.validation_fraction).round() as usize
    }
}

impl TrainConfig {
    /// Checks every hyper-parameter, saying which one to change (see the table above).
    pub fn check(self) -> Result<ValidTrainConfig> {
        use Parameter as P;
        let fail = |parameter, value: &dyn std::fmt::Display, reason: &str| {
            Err(MdnError::invalid(parameter, value, reason))
        };
        if self.epochs == 0 {
            return fail(P::Epochs, &0, "train for at least one epoch");
        }
        if self.batch_size == 0 {
            return fail(
                P::BatchSize,
                &0,
                "a batch needs at least one example (e.g. 128)",
            );
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return fail(
                P::LearningRate,
                &self.learning_rate,
                "the learning rate must be a positive finite number (e.g. 1e-3)",
            );
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return fail(
                P::WeightDecay,
                &self.weight_decay,
                "weight decay must be 0 or a positive finite number",
            );
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return fail(
                P::ValidationFraction,
                &self.validation_fraction,
                "the validation fraction must be in [0, 1) (e.g. 0.1; 0 disables early stopping)",
            );
        }
        if self.patience == Some(0) {
            return fail(
                P::Patience,
                &0,
                "patience must be at least 1 epoch (no patience at all never stops early)",
            );
        }
        if self.lr_plateau == Some(0) {
            return fail(
                P::LrPlateau,
                &0,
                "the plateau must be at least 1 epoch (none keeps the learning rate constant)",
            );
        }
        if let Some(plateau) = self.lr_plateau
            && self.validation_fraction == 0.0
        {
            return fail(
                P::LrPlateau,
                &plateau,
                "a plateau is watched on the validation rows, and a validation fraction of 0 \
                 holds out none; hold some out or drop the plateau",
            );
        }
        if let Some(norm) = self.grad_clip_norm
            && !(norm.is_finite() && norm > 0.0)
        {
            return fail(
                P::GradClipNorm,
                &norm,
                "the clipping norm must be a positive finite number",
            );
        }
        if self.ensemble == 0 {
            return fail(
                P::Ensemble,
                &0,
                "an ensemble needs at least one member (1 trains a single network)",
            );
        }
        for (parameter, noise) in [(P::NoiseX, self.noise_x), (P::NoiseY, self.noise_y)] {
            if let Noise::Sd(s) = noise
                && !(s.is_finite() && s >= 0.0)
            {
                return fail(
                    parameter,
                    &s,
                    "the noise is a standard deviation in standardised units: 0 or a positive \
                     finite number (e.g. 0.1), or auto",
                );
            }
        }
        Ok(ValidTrainConfig(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_value_names_its_parameter() {
        use Parameter as P;
        let d = TrainConfig::default;
        let bad = [
            (TrainConfig { epochs: 0, ..d() }, P::Epochs),
            (
                TrainConfig {
                    batch_size: 0,
                    ..d()
                },
                P::BatchSize,
            ),
            (
                TrainConfig {
                    learning_rate: -1e-3,
                    ..d()
                },
                P::LearningRate,
            ),
            (
                TrainConfig {
                    learning_rate: f64::NAN,
                    ..d()
                },
                P::LearningRate,
            ),
            (
                TrainConfig {
                    weight_decay: -1.0,
                    ..d()
                },
                P::WeightDecay,
            ),
            (
                TrainConfig {
                    validation_fraction: 1.0,
                    ..d()
                },
                P::ValidationFraction,
            ),
            (
                TrainConfig {
                    validation_fraction: -0.1,
                    ..d()
                },
                P::ValidationFraction,
            ),
            (
                TrainConfig {
                    lr_plateau: Some(0),
                    ..d()
                },
                P::LrPlateau,
            ),
            (
                TrainConfig {
                    lr_plateau: Some(3),
                    validation_fraction: 0.0,
                    ..d()
                },
                P::LrPlateau,
            ),
            (
                TrainConfig {
                    patience: Some(0),
                    ..d()
                },
                P::Patience,
            ),
            (
                TrainConfig {
                    grad_clip_norm: Some(0.0),
                    ..d()
                },
                P::GradClipNorm,
            ),
            (
                TrainConfig {
                    noise_x: Noise::Sd(-0.1),
                    ..d()
                },
                P::NoiseX,
            ),
            (
                TrainConfig {
                    noise_y: Noise::Sd(f64::INFINITY),
                    ..d()
                },
                P::NoiseY,
            ),
            (TrainConfig { ensemble: 0, ..d() }, P::Ensemble),
        ];
        for (config, name) in bad {
            match config.clone().check() {
                Err(MdnError::InvalidParameter { parameter, .. }) => assert_eq!(parameter, name),
                other => panic!("{config:?} gave {other:?}"),
            }
        }
        assert_eq!(*ValidTrainConfig::default(), TrainConfig::default());
    }

    #[test]
    fn noise_levels_parse_and_follow_the_rule_of_thumb() {
        assert_eq!("auto".parse(), Ok(Noise::Auto));
        assert_eq!("0".parse(), Ok(Noise::Off));
        assert_eq!("off".parse(), Ok(Noise::Off));
        assert_eq!("0.25".parse(), Ok(Noise::Sd(0.25)));
        for bad in ["-1", "nan", "inf", "x"] {
            assert!(bad.parse::<Noise>().is_err(), "{bad}");
        }
        // 1000 rows, 1 dimension: 1000^(-1/5) = 0.251188643150958 (numpy: 1000 ** (-1 / 5)).
        let s = Noise::Auto.sd(1000, 1) / Noise::AUTO_SCALE;
        assert!((s - 0.251_188_643_150_958).abs() < 1e-12, "{s}");
        assert!(
            Noise::Auto.sd(10_000, 3) < Noise::Auto.sd(100, 3),
            "less noise for more rows"
        );
        assert_eq!(Noise::Auto.sd(100, 0), 0.0);
        assert_eq!(Noise::Sd(0.3).sd(5, 2), 0.3);
        assert_eq!(Noise::Off.sd(5, 2), 0.0);
    }
}
