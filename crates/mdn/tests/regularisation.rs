//! Noise regularisation and deep ensembles (issue 16): an ensemble of one is the single
//! network; an ensemble predicts the equal-weight mixture of its members; both are
//! deterministic for a seed and survive the model file.

mod common;

use mdn::{
    Architecture, Backbone, Dataset, MdnError, Model, Noise, Parameter, TrainConfig, Trainer,
};

fn train(data: &Dataset, config: TrainConfig) -> Result<Model, MdnError> {
    let architecture = Architecture::mdn(Backbone::mlp(1, vec![8]), 1, 3)
        .check()
        .unwrap();
    Ok(Trainer::new(config.check()?)
        .with_progress(false)
        .fit(&architecture, data)?
        .model)
}

fn quick(ensemble: usize) -> TrainConfig {
    TrainConfig {
        epochs: 15,
        batch_size: 32,
        ensemble,
        ..common::single()
    }
}

fn grid() -> Vec<f64> {
    (0..40).map(|i| -0.1 + i as f64 * 0.03).collect()
}

#[test]
fn an_ensemble_of_one_is_the_single_network() {
    let data = common::toy_inverse(300, 1);
    let single = train(&data, quick(1)).unwrap();
    let one = train(
        &data,
        TrainConfig {
            ensemble: 1,
            ..quick(1)
        },
    )
    .unwrap();
    assert_eq!(one.members(), 1);
    assert!(one.meta().ensemble.is_none());
    assert_eq!(one.parameters(), single.parameters());
    assert_eq!(
        one.predict(&grid()).unwrap(),
        single.predict(&grid()).unwrap()
    );
    // Its file has no ensemble section and the single network's tensor names.
    let bytes = one.to_bytes();
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).to_string();
    assert!(!text.contains("\"ensemble\":{") && !text.contains("member1."));
}

#[test]
fn an_ensemble_predicts_the_equal_weight_mixture_of_its_members() {
    let data = common::toy_inverse(300, 2);
    let ensemble = train(&data, quick(3)).unwrap();
    assert_eq!(ensemble.members(), 3);
    assert_eq!(ensemble.components(), 9);
    let members: Vec<Model> = (0..3).map(|k| ensemble.member(k).unwrap()).collect();
    assert!(ensemble.member(3).is_none());
    assert_ne!(members[0].parameters(), members[1].parameters());
    let seeds: Vec<u64> = ensemble
        .meta()
        .ensemble
        .as_ref()
        .unwrap()
        .members
        .iter()
        .map(|m| m.config.seed)
        .collect();
    assert_eq!(seeds, [0, 1, 2]);
    let targets: Vec<f64> = grid().iter().map(|x| 0.5 + 0.3 * x).collect();
    let pooled = ensemble.log_likelihood(&grid(), &targets).unwrap();
    let parts: Vec<Vec<f64>> = members
        .iter()
        .map(|m| m.log_likelihood(&grid(), &targets).unwrap())
        .collect();
    // To f32 rounding: each network's softmax weights, computed in f32, sum to 1 within
    // ~1e-7, and the mixture renormalises them (the members one by one, the pool jointly).
    for (i, &p) in pooled.iter().enumerate() {
        let mean = parts.iter().map(|l| l[i].exp()).sum::<f64>() / 3.0;
        assert!(
            (p - mean.ln()).abs() < 1e-6,
            "row {i}: {p} vs {}",
            mean.ln()
        );
    }
    // The mean of the pool is the mean of the members' means.
    let x = [0.4];
    let m = ensemble.predict_one(&x).unwrap().mean()[0];
    let parts_mean = members
        .iter()
        .map(|m| m.predict_one(&x).unwrap().mean()[0])
        .sum::<f64>()
        / 3.0;
    assert!((m - parts_mean).abs() < 1e-6, "{m} vs {parts_mean}");
}

#[test]
fn ensembles_and_noise_are_deterministic_and_survive_the_file() {
    let data = common::toy_inverse(200, 3);
    for config in [
        quick(3),
        TrainConfig {
            bootstrap: true,
            ..quick(2)
        },
        TrainConfig {
            noise_x: Noise::Sd(0.2),
            noise_y: Noise::Auto,
            ..quick(1)
        },
    ] {
        let a = train(&data, config.clone()).unwrap();
        let b = train(&data, config.clone()).unwrap();
        for k in 0..a.members() {
            assert_eq!(a.member_parameters(k), b.member_parameters(k), "{config:?}");
        }
        let back = Model::from_bytes(&a.to_bytes()).unwrap();
        assert_eq!(back.meta(), a.meta());
        assert_eq!(back.predict(&grid()).unwrap(), a.predict(&grid()).unwrap());
    }
}

#[test]
fn noise_and_bootstrap_change_what_is_learnt_and_are_recorded() {
    let data = common::toy_inverse(200, 4);
    let plain = train(&data, quick(1)).unwrap();
    let noisy = train(
        &data,
        TrainConfig {
            noise_y: Noise::Sd(0.3),
            ..quick(1)
        },
    )
    .unwrap();
    assert_ne!(plain.parameters(), noisy.parameters());
    assert_eq!(noisy.training().noise_y_sd, 0.3);
    assert_eq!(noisy.training().noise_x_sd, 0.0);
    // Auto: n^(-1/(4+d)) on the 180 training rows (a 10% validation split), d = 1.
    let auto = train(
        &data,
        TrainConfig {
            noise_x: Noise::Auto,
            ..quick(1)
        },
    )
    .unwrap();
    let expected = Noise::AUTO_SCALE * 180f64.powf(-0.2);
    assert!((auto.training().noise_x_sd - expected).abs() < 1e-12);
    // An explicit 0 is no noise at all: the same bits as the default.
    let zero = train(
        &data,
        TrainConfig {
            noise_x: Noise::Sd(0.0),
            ..quick(1)
        },
    )
    .unwrap();
    assert_eq!(zero.parameters(), plain.parameters());
    let boot = train(
        &data,
        TrainConfig {
            bootstrap: true,
            ..quick(1)
        },
    )
    .unwrap();
    assert_eq!(boot.members(), 1);
    assert!(boot.meta().ensemble.as_ref().unwrap().bootstrap);
    assert_ne!(boot.parameters(), plain.parameters());
}

#[test]
fn an_ensemble_refuses_checkpoints() {
    let data = common::toy_inverse(100, 5);
    let dir = tempfile::tempdir().unwrap();
    let architecture = Architecture::mdn(Backbone::mlp(1, vec![4]), 1, 2)
        .check()
        .unwrap();
    let result = Trainer::new(quick(2).check().unwrap())
        .with_progress(false)
        .with_checkpoint(dir.path().join("c.ckpt"))
        .fit(&architecture, &data);
    match result {
        Err(MdnError::InvalidParameter { parameter, .. }) => {
            assert_eq!(parameter, Parameter::Ensemble)
        }
        other => panic!("{other:?}"),
    }
    assert!(!dir.path().join("c.ckpt").exists());
}

/// `n` rows of t = x + N(0, 0.1²): one component is all the data needs.
fn linear_gaussian(n: usize) -> Dataset {
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let noise = Normal::new(0.0, 0.1).unwrap();
    let x: Vec<f64> = (0..n).map(|i| i as f64 / n as f64).collect();
    let t: Vec<f64> = x.iter().map(|x| x + noise.sample(&mut rng)).collect();
    Dataset::new(x, 1, t, 1).unwrap()
}

fn choose(data: &Dataset, candidates: &[usize], folds: Option<usize>) -> Model {
    let architecture = Architecture::mdn(Backbone::mlp(1, vec![16]), 1, 1)
        .check()
        .unwrap();
    let config = TrainConfig {
        epochs: 150,
        ..common::single()
    };
    Trainer::new(config.check().unwrap())
        .with_progress(false)
        .fit_components(&architecture, candidates, folds, data)
        .unwrap()
        .model
}

#[test]
fn automatic_components_follow_the_data_and_are_recorded() {
    // The toy inverse problem has up to three branches: one Gaussian cannot describe it.
    let toy = common::toy_inverse(600, 6);
    let picked = choose(&toy, &mdn::AUTO_COMPONENTS, None);
    let selection = picked.training().component_selection.clone().unwrap();
    assert!(selection.chosen >= 2, "{selection:?}");
    assert_eq!(picked.architecture().components(), selection.chosen);
    assert_eq!(selection.rows, 60);
    assert_eq!(
        selection
            .candidates
            .iter()
            .map(|c| c.components)
            .collect::<Vec<_>>(),
        mdn::AUTO_COMPONENTS
    );
    // Without folds the kept model is the candidate as trained: plain training with that M.
    let architecture = Architecture::mdn(Backbone::mlp(1, vec![16]), 1, selection.chosen)
        .check()
        .unwrap();
    let config = TrainConfig {
        epochs: 150,
        ..common::single()
    };
    let plain = Trainer::new(config.check().unwrap())
        .with_progress(false)
        .fit(&architecture, &toy)
        .unwrap()
        .model;
    assert_eq!(plain.parameters(), picked.parameters());

    // A unimodal Gaussian needs one component; cross-validation scores every row and refits.
    let line = linear_gaussian(300);
    let picked = choose(&line, &[1, 3, 5], Some(3));
    let selection = picked.training().component_selection.clone().unwrap();
    assert_eq!(selection.chosen, 1, "{selection:?}");
    assert_eq!((selection.folds, selection.rows), (Some(3), 300));
    assert_eq!(picked.architecture().components(), 1);
}

/// The predictive standard deviation of a one-target model at `x`.
fn predictive_sd(model: &Model, x: f64) -> f64 {
    model.predict_one(&[x]).unwrap().mixture().covariance()[0].sqrt()
}

#[test]
fn noise_is_drawn_per_batch_and_absent_when_validating_and_predicting() {
    // Two inputs, each repeated 200 times with one target value (t = x): plain training
    // shrinks σ to the floor. Noise of 0.2 standardised units on t, drawn for every batch, is
    // what the network then sees around each value: σ ≈ 0.2 × sd(t) = 0.1.
    let x: Vec<f64> = (0..400).map(|i| (i % 2) as f64).collect();
    let duplicates = Dataset::new(x.clone(), 1, x.clone(), 1).unwrap();
    let long = |noise_y| TrainConfig {
        epochs: 1000,
        batch_size: 64,
        validation_fraction: 0.0,
        patience: None,
        noise_y,
        ..common::single()
    };
    let plain = train(&duplicates, long(Noise::Off)).unwrap();
    let noisy = train(&duplicates, long(Noise::Sd(0.2))).unwrap();
    for x in [0.0, 1.0] {
        let (plain_sd, noisy_sd) = (predictive_sd(&plain, x), predictive_sd(&noisy, x));
        assert!(plain_sd < 0.02, "x = {x}: plain σ {plain_sd}");
        assert!(
            (noisy_sd - 0.1).abs() < 0.02,
            "x = {x}: σ {noisy_sd}, expected 0.1"
        );
    }
    // Predictions are not noisy: the same input, the same density.
    assert_eq!(noisy.predict(&x).unwrap(), noisy.predict(&x).unwrap());

    // Validation rows are scored without noise: the recorded validation NLL is the model's
    // own NLL of those rows.
    let data = common::toy_inverse(300, 12);
    let validation = common::toy_inverse(100, 13);
    let architecture = Architecture::mdn(Backbone::mlp(1, vec![8]), 1, 3)
        .check()
        .unwrap();
    let config = TrainConfig {
        noise_x: Noise::Sd(1.0),
        noise_y: Noise::Sd(1.0),
        validation_fraction: 0.0,
        ..quick(1)
    };
    let model = Trainer::new(config.check().unwrap())
        .with_progress(false)
        .with_validation(validation.clone())
        .fit(&architecture, &data)
        .unwrap()
        .model;
    let own = -common::mean(
        &model
            .log_likelihood(validation.inputs(), validation.targets())
            .unwrap(),
    );
    let recorded = model.training().validation_nll.unwrap();
    assert!((own - recorded).abs() < 1e-4, "{own} vs {recorded}");
}

#[test]
fn automatic_components_find_the_number_of_branches() {
    use rand::{RngExt, SeedableRng};
    use rand_distr::{Distribution, Normal};
    // t = x + b + N(0, 0.05²), b one of three offsets with equal probability: three branches
    // everywhere.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(14);
    let jitter = Normal::new(0.0, 0.05).unwrap();
    let x: Vec<f64> = (0..900).map(|_| rng.random::<f64>()).collect();
    let t: Vec<f64> = x
        .iter()
        .map(|x| x + [-1.0, 0.0, 1.0][rng.random_range(0..3)] + jitter.sample(&mut rng))
        .collect();
    let data = Dataset::new(x, 1, t, 1).unwrap();
    for folds in [None, Some(3)] {
        let picked = choose(&data, &mdn::AUTO_COMPONENTS, folds);
        let selection = picked.training().component_selection.clone().unwrap();
        assert_eq!(selection.chosen, 3, "folds {folds:?}: {selection:?}");
    }
}
