//! Same seed ⇒ same model, and a run interrupted and resumed from its checkpoint ends with
//! exactly the model of the uninterrupted run — on either engine.

mod common;

use mdn::{
    BackboneConfig, Engine, MdnError, MlpConfig, Model, ModelFileError, NetworkConfig, TrainConfig,
    Trainer,
};

const ENGINES: [Engine; 2] = [Engine::Burn, Engine::Cpu];

fn network() -> NetworkConfig {
    NetworkConfig::mdn(BackboneConfig::Mlp(MlpConfig::new(1, vec![16, 16])), 1, 3)
}

fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 32,
        validation_fraction: 0.2,
        patience: Some(50),
        seed: 11,
        ..TrainConfig::default()
    }
}

fn grid() -> Vec<f64> {
    (0..40).map(|i| -0.2 + i as f64 * 0.035).collect()
}

fn without_timing(mut history: mdn::History) -> mdn::History {
    history.epochs.iter_mut().for_each(|e| e.seconds = 0.0);
    history
}

#[test]
fn same_seed_same_model_other_seed_other_model() {
    let data = common::toy_inverse(300, 3);
    for engine in ENGINES {
        let fit = |seed| {
            Trainer::new(TrainConfig {
                seed,
                engine,
                ..config(4)
            })
            .with_progress(false)
            .fit(&network(), &data)
            .unwrap()
            .model
        };
        let (a, b, c) = (fit(1), fit(1), fit(2));
        assert_eq!(
            a.predict(&grid()).unwrap(),
            b.predict(&grid()).unwrap(),
            "{engine}"
        );
        assert_ne!(
            a.predict(&grid()).unwrap(),
            c.predict(&grid()).unwrap(),
            "{engine}"
        );
        assert_eq!(a.meta().training.as_ref().unwrap().engine, engine);
    }
}

#[test]
fn resumed_run_ends_exactly_like_the_uninterrupted_one() {
    for engine in ENGINES {
        resume_matches_uninterrupted(engine);
    }
}

fn resume_matches_uninterrupted(engine: Engine) {
    let data = common::toy_inverse(300, 4);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("run.ckpt");
    let config = |epochs| TrainConfig {
        engine,
        ..config(epochs)
    };

    let uninterrupted = Trainer::new(config(8))
        .with_progress(false)
        .fit(&network(), &data)
        .unwrap();

    // "Interrupted" after 5 of 8 epochs: the checkpoint holds epoch 5's state.
    Trainer::new(config(5))
        .with_progress(false)
        .with_checkpoint(&checkpoint)
        .fit(&network(), &data)
        .unwrap();
    let resumed = Trainer::new(config(8))
        .with_progress(false)
        .resume_from(&checkpoint)
        .fit(&network(), &data)
        .unwrap();

    assert_eq!(
        resumed.model.predict(&grid()).unwrap(),
        uninterrupted.model.predict(&grid()).unwrap()
    );
    assert_eq!(
        without_timing(resumed.history),
        without_timing(uninterrupted.history)
    );
    let (a, b) = (
        resumed.model.meta().training.as_ref().unwrap(),
        uninterrupted.model.meta().training.as_ref().unwrap(),
    );
    assert_eq!(
        (a.best_epoch, a.epochs_run, a.train_nll),
        (b.best_epoch, b.epochs_run, b.train_nll)
    );
}

#[test]
fn resuming_on_other_data_or_options_is_refused() {
    let data = common::toy_inverse(200, 6);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("run.ckpt");
    Trainer::new(config(2))
        .with_progress(false)
        .with_checkpoint(&checkpoint)
        .fit(&network(), &data)
        .unwrap();

    let mismatch = |result: Result<mdn::Trained, MdnError>| match result {
        Err(MdnError::ModelFile {
            kind: ModelFileError::Mismatch(m),
            ..
        }) => m,
        other => panic!("expected a mismatch, got {other:?}"),
    };
    let other_data = common::toy_inverse(200, 7);
    let m = mismatch(
        Trainer::new(config(4))
            .with_progress(false)
            .resume_from(&checkpoint)
            .fit(&network(), &other_data),
    );
    assert!(m.contains("different data"), "{m}");
    let other_lr = TrainConfig {
        learning_rate: 0.1,
        ..config(4)
    };
    match Trainer::new(other_lr)
        .with_progress(false)
        .resume_from(&checkpoint)
        .fit(&network(), &data)
    {
        Err(MdnError::ResumeMismatch {
            parameter,
            checkpoint,
            requested,
            ..
        }) => {
            assert_eq!(parameter, "learning_rate");
            assert_eq!((checkpoint.as_str(), requested.as_str()), ("0.003", "0.1"));
        }
        other => panic!("expected a resume mismatch, got {other:?}"),
    }

    // The two engines keep Adam's state differently: a checkpoint continues on its own.
    let burn = TrainConfig {
        engine: Engine::Burn,
        ..config(4)
    };
    let m = mismatch(
        Trainer::new(burn)
            .with_progress(false)
            .resume_from(&checkpoint)
            .fit(&network(), &data),
    );
    assert!(m.contains("written by the cpu engine"), "{m}");

    // A checkpoint is not a model, and a model is not a checkpoint.
    assert!(matches!(
        Model::load(&checkpoint),
        Err(MdnError::ModelFile {
            kind: ModelFileError::WrongKind(_),
            ..
        })
    ));
    let model_path = dir.path().join("model.mdn");
    let trained = Trainer::new(config(1))
        .with_progress(false)
        .fit(&network(), &data)
        .unwrap();
    trained.model.save(&model_path).unwrap();
    assert!(matches!(
        Trainer::new(config(2))
            .with_progress(false)
            .resume_from(&model_path)
            .fit(&network(), &data),
        Err(MdnError::ModelFile {
            kind: ModelFileError::WrongKind(_),
            ..
        })
    ));
}
