//! The acceptance test of the model/trainer: on Bishop's toy inverse problem an MDN with five
//! components approaches the true conditional entropy, and least squares is far worse.

mod common;

use mdn::{Architecture, Backbone, TrainConfig, Trainer};

#[test]
fn mdn_beats_least_squares_on_the_toy_inverse_problem() {
    let train = common::toy_inverse(1000, 1);
    let test = common::toy_inverse(2000, 2);
    let backbone = Backbone::mlp(1, vec![32, 32]);
    let config = TrainConfig {
        epochs: 600,
        batch_size: 64,
        learning_rate: 3e-3,
        patience: Some(150),
        ..common::single()
    };
    let trainer = Trainer::new(config.check().unwrap()).with_progress(false);

    let mdn = trainer
        .fit(
            &Architecture::mdn(backbone.clone(), 1, 5).check().unwrap(),
            &train,
        )
        .unwrap();
    let mdn_nll = -common::mean(
        &mdn.model
            .log_likelihood(test.inputs(), test.targets())
            .unwrap(),
    );

    let ls = trainer
        .fit(
            &Architecture::least_squares(backbone, 1).check().unwrap(),
            &train,
        )
        .unwrap();
    let ls_nll = -common::mean(
        &ls.model
            .log_likelihood(test.inputs(), test.targets())
            .unwrap(),
    );

    eprintln!(
        "toy inverse problem, test NLL: MDN m=5 {mdn_nll:.4} nats, least squares {ls_nll:.4} nats"
    );
    // The true conditional entropy is about −1.26 nats.
    assert!(mdn_nll <= -1.0, "MDN test NLL {mdn_nll} > −1.0");
    assert!(
        mdn_nll > -1.5,
        "MDN test NLL {mdn_nll} is below what the noise allows"
    );
    assert!(
        ls_nll > mdn_nll + 0.7,
        "least squares {ls_nll} is not far worse than {mdn_nll}"
    );
}
