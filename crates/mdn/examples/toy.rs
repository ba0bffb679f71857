//! Train an MDN on Bishop's toy inverse problem and print what it predicts at x = 0.5, where
//! t has three branches.
//!
//! `cargo run --release -p mdn --example toy`

use mdn::{Architecture, Backbone, Dataset, TrainConfig, Trainer};
use rand::{RngExt, SeedableRng};

fn main() -> Result<(), mdn::MdnError> {
    // t ~ U(0,1), x = t + 0.3 sin(2πt) + U(−0.1, 0.1); learn t|x.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let (x, t): (Vec<f64>, Vec<f64>) = (0..1000)
        .map(|_| {
            let t: f64 = rng.random();
            let noise: f64 = rng.random_range(-0.1..0.1);
            (t + 0.3 * (2.0 * std::f64::consts::PI * t).sin() + noise, t)
        })
        .unzip();
    let data = Dataset::new(x, 1, t, 1)?;

    let architecture = Architecture::mdn(Backbone::mlp(1, vec![32, 32]), 1, 5).check()?;
    let config = TrainConfig {
        epochs: 300,
        ..TrainConfig::default()
    };
    let trained = Trainer::new(config.check()?).fit(&architecture, &data)?;

    let mixture = trained.model.predict_one(&[0.5])?;
    println!("p(t | x = 0.5):");
    println!(
        "  conditional mean     {:.3}  (what least squares would predict)",
        mixture.mean()[0]
    );
    println!("  best component mean  {:.3}", mixture.best_mean()[0]);
    for mode in mixture.modes(&Default::default()) {
        println!(
            "  mode at t = {:.3} with density {:.2}",
            mode.location[0],
            mode.density()
        );
    }
    Ok(())
}
