//! `Trainer::with_stop`: a flag set from another thread stops training between epochs, with
//! `MdnError::Interrupted` and no model — for every network of an ensemble too.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mdn::{Architecture, Backbone, MdnError, TrainConfig, Trainer};

#[test]
fn a_set_flag_stops_training_between_epochs() {
    let data = common::toy_inverse(2000, 1);
    let architecture = Architecture::mdn(Backbone::mlp(1, vec![32, 32]), 1, 5)
        .check()
        .unwrap();
    for ensemble in [1, 3] {
        let config = TrainConfig {
            epochs: 100_000,
            patience: None,
            ensemble,
            ..common::single()
        };
        let flag = Arc::new(AtomicBool::new(false));
        let setter = {
            let flag = Arc::clone(&flag);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                flag.store(true, Ordering::Relaxed);
            })
        };
        let result = Trainer::new(config.check().unwrap())
            .with_progress(false)
            .with_stop(flag)
            .fit(&architecture, &data);
        setter.join().unwrap();
        match result {
            Err(MdnError::Interrupted { epochs }) => {
                assert!(epochs > 0 && epochs < 100_000, "{epochs}")
            }
            other => panic!("ensemble {ensemble}: {other:?}"),
        }
    }
    // Set before training: not one epoch.
    let config = common::single().check().unwrap();
    let result = Trainer::new(config)
        .with_progress(false)
        .with_stop(Arc::new(AtomicBool::new(true)))
        .fit(&architecture, &data);
    assert!(
        matches!(result, Err(MdnError::Interrupted { epochs: 0 })),
        "{result:?}"
    );
}
