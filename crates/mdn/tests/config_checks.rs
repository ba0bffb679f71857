//! Hyper-parameters are checked before anything is built, with errors that name the
//! parameter.

mod common;

use mdn::{
    Activation, BackboneConfig, CnnConfig, Dataset, MdnError, MdnHeadConfig, MlpConfig,
    NetworkConfig, TrainConfig, Trainer,
};

fn parameter(result: Result<(), MdnError>) -> &'static str {
    match result {
        Err(MdnError::InvalidParameter { parameter, .. }) => parameter,
        other => panic!("expected an invalid parameter, got {other:?}"),
    }
}

#[test]
fn head_parameters() {
    assert_eq!(parameter(MdnHeadConfig::new(4, 1, 0).check()), "components");
    assert_eq!(parameter(MdnHeadConfig::new(4, 0, 3).check()), "targets");
    assert_eq!(parameter(MdnHeadConfig::new(0, 1, 3).check()), "input");
    assert_eq!(
        parameter(MdnHeadConfig::new(4, 1, 3).with_min_sigma(0.0).check()),
        "min_sigma"
    );
    assert_eq!(
        parameter(MdnHeadConfig::new(4, 1, 3).with_min_sigma(-1.0).check()),
        "min_sigma"
    );
    let message = MdnHeadConfig::new(4, 1, 0).check().unwrap_err().to_string();
    assert!(message.contains("at least one component"), "{message}");
}

#[test]
fn backbone_parameters() {
    assert_eq!(parameter(MlpConfig::new(0, vec![8]).check()), "inputs");
    assert_eq!(parameter(MlpConfig::new(2, vec![8, 0]).check()), "hidden");
    let cnn = CnnConfig::new(28, 28);
    assert!(cnn.check().is_ok());
    assert_eq!(parameter(cnn.clone().with_kernel(4).check()), "kernel");
    assert_eq!(
        parameter(cnn.clone().with_channels(vec![]).check()),
        "channels"
    );
    assert_eq!(
        parameter(cnn.clone().with_channels(vec![4; 6]).check()),
        "channels"
    );
    assert_eq!(parameter(cnn.with_hidden(0).check()), "hidden");
}

#[test]
fn network_and_head_must_agree() {
    let mut config = NetworkConfig::mdn(BackboneConfig::Mlp(MlpConfig::new(1, vec![8])), 1, 3);
    if let mdn::HeadConfig::Mixture(head) = &mut config.head {
        head.input = 9;
    }
    assert_eq!(parameter(config.check()), "head.input");
}

#[test]
fn data_must_fit_the_network_and_the_split() {
    let data = common::toy_inverse(20, 1);
    let two_inputs = NetworkConfig::mdn(BackboneConfig::Mlp(MlpConfig::new(2, vec![8])), 1, 3);
    let trainer = Trainer::new(TrainConfig::default()).with_progress(false);
    let err = trainer.fit(&two_inputs, &data).unwrap_err();
    assert!(err.to_string().contains("takes 2 inputs"), "{err}");

    let tiny = Dataset::new(vec![0.0, 1.0, 2.0], 1, vec![1.0, 2.0, 3.0], 1).unwrap();
    let network = NetworkConfig::mdn(BackboneConfig::Mlp(MlpConfig::new(1, vec![4])), 1, 2);
    let config = TrainConfig {
        validation_fraction: 0.1,
        ..TrainConfig::default()
    };
    let err = Trainer::new(config)
        .with_progress(false)
        .fit(&network, &tiny)
        .unwrap_err();
    assert!(matches!(
        err,
        MdnError::InvalidParameter {
            parameter: "validation_fraction",
            ..
        }
    ));

    let constant = Dataset::new(vec![0.0, 1.0, 2.0, 3.0], 1, vec![5.0; 4], 1).unwrap();
    let config = TrainConfig {
        validation_fraction: 0.0,
        ..TrainConfig::default()
    };
    let err = Trainer::new(config)
        .with_progress(false)
        .fit(&network, &constant)
        .unwrap_err();
    assert!(err.to_string().contains("same value (5)"), "{err}");
}

#[test]
fn activations_parse_and_print() {
    for a in [Activation::Tanh, Activation::Relu, Activation::Gelu] {
        assert_eq!(a.name().parse::<Activation>().unwrap(), a);
    }
    assert!("sigmoid".parse::<Activation>().is_err());
}
