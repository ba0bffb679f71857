//! Same seed ⇒ same model, and a run interrupted and resumed from its checkpoint ends with
//! exactly the model of the uninterrupted run.

mod common;

use mdn::{
    Architecture, Backbone, MdnError, Model, ModelFileError, Parameter, TrainConfig, Trainer,
    ValidArchitecture,
};

fn network() -> ValidArchitecture {
    Architecture::mdn(Backbone::mlp(1, vec![16, 16]), 1, 3)
        .check()
        .unwrap()
}

fn raw_config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 32,
        validation_fraction: 0.2,
        patience: Some(50),
        seed: 11,
        ..common::single()
    }
}

fn trainer(config: TrainConfig) -> Trainer {
    Trainer::new(config.check().unwrap()).with_progress(false)
}

fn config(epochs: usize) -> Trainer {
    trainer(raw_config(epochs))
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
    let fit = |seed| {
        trainer(TrainConfig {
            seed,
            ..raw_config(4)
        })
        .fit(&network(), &data)
        .unwrap()
        .model
    };
    let (a, b, c) = (fit(1), fit(1), fit(2));
    assert_eq!(a.predict(&grid()).unwrap(), b.predict(&grid()).unwrap());
    assert_ne!(a.predict(&grid()).unwrap(), c.predict(&grid()).unwrap());
}

#[test]
fn resumed_run_ends_exactly_like_the_uninterrupted_one() {
    let data = common::toy_inverse(300, 4);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("run.ckpt");

    let uninterrupted = config(8).fit(&network(), &data).unwrap();

    // "Interrupted" after 5 of 8 epochs: the checkpoint holds epoch 5's state.
    config(5)
        .with_checkpoint(&checkpoint)
        .fit(&network(), &data)
        .unwrap();
    let resumed = config(8)
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
    let (a, b) = (resumed.model.training(), uninterrupted.model.training());
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
    config(2)
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
        config(4)
            .resume_from(&checkpoint)
            .fit(&network(), &other_data),
    );
    assert!(m.contains("different data"), "{m}");
    let other_lr = TrainConfig {
        learning_rate: 0.1,
        ..raw_config(4)
    };
    match trainer(other_lr)
        .resume_from(&checkpoint)
        .fit(&network(), &data)
    {
        Err(MdnError::ResumeMismatch {
            parameter,
            checkpoint,
            requested,
            ..
        }) => {
            assert_eq!(parameter, Parameter::LearningRate);
            assert_eq!((checkpoint.as_str(), requested.as_str()), ("0.003", "0.1"));
        }
        other => panic!("expected a resume mismatch, got {other:?}"),
    }

    let other_architecture = Architecture::mdn(Backbone::mlp(1, vec![16, 16]), 1, 4)
        .check()
        .unwrap();
    let m = mismatch(
        config(4)
            .resume_from(&checkpoint)
            .fit(&other_architecture, &data),
    );
    assert!(m.contains("another network architecture"), "{m}");
    match config(1).resume_from(&checkpoint).fit(&network(), &data) {
        Err(MdnError::InvalidParameter {
            parameter: Parameter::Epochs,
            reason,
            ..
        }) => assert!(reason.contains("already run 2 epochs"), "{reason}"),
        other => panic!("expected fewer epochs to be refused, got {other:?}"),
    }

    // A checkpoint is not a model, and a model is not a checkpoint.
    assert!(matches!(
        Model::load(&checkpoint),
        Err(MdnError::ModelFile {
            kind: ModelFileError::WrongKind(_),
            ..
        })
    ));
    let model_path = dir.path().join("model.mdn");
    let trained = config(1).fit(&network(), &data).unwrap();
    trained.model.save(&model_path).unwrap();
    assert!(matches!(
        config(2).resume_from(&model_path).fit(&network(), &data),
        Err(MdnError::ModelFile {
            kind: ModelFileError::WrongKind(_),
            ..
        })
    ));
}
