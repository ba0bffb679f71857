//! The CPU kernels and Burn compute the same models: a trained model predicts the same
//! densities through either engine, and short training runs on the two engines end at the
//! same losses (to f32 rounding, which the runs amplify only slowly).

mod common;

use mdn::{
    BackboneConfig, CnnConfig, CovarianceKind, Dataset, Engine, MlpConfig, Model, NetworkConfig,
    TrainConfig, Trainer,
};

fn train(network: &NetworkConfig, data: &Dataset, engine: Engine, epochs: usize) -> mdn::Trained {
    let config = TrainConfig {
        epochs,
        batch_size: 32,
        learning_rate: 3e-3,
        engine,
        ..TrainConfig::default()
    };
    Trainer::new(config)
        .with_progress(false)
        .fit(network, data)
        .unwrap()
}

/// Log-likelihoods of the data under the model through `engine`.
fn log_lik(model: &Model, data: &Dataset, engine: Engine) -> Vec<f64> {
    let model = model.clone().with_engine(engine).unwrap();
    assert_eq!(model.engine(), engine);
    model.log_likelihood(data.inputs(), data.targets()).unwrap()
}

fn assert_same_predictions(model: &Model, data: &Dataset) {
    let burn = log_lik(model, data, Engine::Burn);
    let cpu = log_lik(model, data, Engine::Cpu);
    for (row, (b, c)) in burn.iter().zip(&cpu).enumerate() {
        assert!(
            (b - c).abs() <= 1e-4 * b.abs().max(1.0),
            "row {row}: log p = {b} through Burn, {c} through the CPU kernels"
        );
    }
}

#[test]
fn a_trained_model_predicts_the_same_densities_through_either_engine() {
    let toy = common::toy_inverse(400, 1);
    let mlp = BackboneConfig::Mlp(MlpConfig::new(1, vec![16, 16]));
    let mdn = train(
        &NetworkConfig::mdn(mlp.clone(), 1, 3),
        &toy,
        Engine::Auto,
        3,
    );
    assert_same_predictions(&mdn.model, &toy);
    let least_squares = train(&NetworkConfig::least_squares(mlp, 1), &toy, Engine::Auto, 3);
    assert_same_predictions(&least_squares.model, &toy);

    let two_d = common::correlated_2d(300, 2);
    let mlp = BackboneConfig::Mlp(MlpConfig::new(1, vec![8]));
    for covariance in [
        CovarianceKind::Isotropic,
        CovarianceKind::Diagonal,
        CovarianceKind::Full,
    ] {
        let network = NetworkConfig::mdn(mlp.clone(), 2, 2).with_covariance(covariance);
        assert_same_predictions(&train(&network, &two_d, Engine::Auto, 2).model, &two_d);
    }

    let images = common::tiny_images(40, 3);
    let cnn = CnnConfig::new(8, 8).with_channels(vec![4]).with_hidden(8);
    let network = NetworkConfig::mdn(BackboneConfig::Cnn(cnn), 1, 2);
    assert_same_predictions(&train(&network, &images, Engine::Auto, 2).model, &images);
}

#[test]
fn short_runs_on_both_engines_end_at_the_same_losses() {
    let toy = common::toy_inverse(400, 5);
    let network = NetworkConfig::mdn(BackboneConfig::Mlp(MlpConfig::new(1, vec![16, 16])), 1, 3);
    let burn = train(&network, &toy, Engine::Burn, 3);
    let cpu = train(&network, &toy, Engine::Cpu, 3);
    for (b, c) in burn.history.epochs.iter().zip(&cpu.history.epochs) {
        // 36 Adam steps from the same start on the same batches.
        assert!(
            (b.train_loss - c.train_loss).abs() < 1e-3,
            "epoch {}: train loss {} (Burn) vs {} (CPU)",
            b.epoch,
            b.train_loss,
            c.train_loss
        );
        let (bv, cv) = (b.validation_loss.unwrap(), c.validation_loss.unwrap());
        assert!(
            (bv - cv).abs() < 1e-3,
            "epoch {}: validation loss {bv} vs {cv}",
            b.epoch
        );
    }
    let summary = |t: &mdn::Trained| t.model.meta().training.clone().unwrap();
    assert_eq!(summary(&burn).engine, Engine::Burn);
    assert_eq!(summary(&cpu).engine, Engine::Cpu);
}

#[test]
fn the_automatic_engine_is_the_cpu_kernels_on_the_cpu() {
    let toy = common::toy_inverse(100, 6);
    let network = NetworkConfig::mdn(BackboneConfig::Mlp(MlpConfig::new(1, vec![4])), 1, 2);
    let trained = train(&network, &toy, Engine::Auto, 1);
    assert_eq!(
        trained.model.meta().training.as_ref().unwrap().engine,
        Engine::Cpu
    );
    assert_eq!(trained.model.engine(), Engine::Cpu);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.mdn");
    trained.model.save(&path).unwrap();
    assert_eq!(Model::load(&path).unwrap().engine(), Engine::Cpu);
}
