//! A non-finite loss never reaches the kept weights: the epoch is rolled back and repeated
//! with half the learning rate, and training gives up with a clear error after a few tries.

mod common;

use mdn::{Architecture, Backbone, MdnError, TrainConfig, Trainer, ValidArchitecture};

fn network() -> ValidArchitecture {
    Architecture::mdn(Backbone::mlp(1, vec![16]), 1, 3)
        .check()
        .unwrap()
}

#[test]
fn gives_up_after_the_allowed_recoveries_and_writes_nothing() {
    let data = common::toy_inverse(200, 8);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("run.ckpt");
    // A step of ~1e30 sends the head's outputs to ~1e31 and (t − μ)²/σ² past f32's range.
    let config = TrainConfig {
        learning_rate: 1e30,
        epochs: 5,
        ..common::single()
    };
    let result = Trainer::new(config.check().unwrap())
        .with_progress(false)
        .with_checkpoint(&checkpoint)
        .fit(&network(), &data);
    match result {
        Err(MdnError::Diverged {
            epoch,
            recoveries,
            learning_rate,
        }) => {
            assert_eq!((epoch, recoveries), (1, 3));
            assert_eq!(learning_rate, 1e30 / 8.0);
        }
        other => panic!("expected divergence, got {other:?}"),
    }
    assert!(
        !checkpoint.exists(),
        "no state with a non-finite loss may be checkpointed"
    );
}

#[test]
fn recovers_by_lowering_the_learning_rate() {
    let data = common::toy_inverse(200, 9);
    let config = TrainConfig {
        learning_rate: 1e20,
        epochs: 3,
        max_recoveries: 60,
        ..common::single()
    };
    let trained = Trainer::new(config.check().unwrap())
        .with_progress(false)
        .fit(&network(), &data)
        .unwrap();
    let summary = trained.model.training();
    assert!(
        !summary.recoveries.is_empty(),
        "the first epoch should have diverged"
    );
    for pair in summary.recoveries.windows(2) {
        assert_eq!(pair[1].learning_rate, pair[0].learning_rate / 2.0);
    }
    assert!(summary.train_nll.is_finite());
    for record in &trained.history.epochs {
        assert!(record.train_nll.is_finite() && record.validation_nll.unwrap().is_finite());
    }
    let ll = trained
        .model
        .log_likelihood(data.inputs(), data.targets())
        .unwrap();
    assert!(ll.iter().all(|v| v.is_finite()));
}
