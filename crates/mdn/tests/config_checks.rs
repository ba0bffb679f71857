//! Hyper-parameters are checked before anything is built, with errors that name the
//! parameter; data that does not fit the network or the split is refused.

mod common;

use mdn::{
    Activation, Architecture, ArchitectureParameter, Backbone, Dataset, MdnError, Parameter,
    TrainConfig, Trainer,
};

fn parameter(result: Result<mdn::ValidArchitecture, mdn::ArchitectureError>) -> Parameter {
    match result.map_err(MdnError::from) {
        Err(MdnError::InvalidParameter { parameter, .. }) => parameter,
        other => panic!("expected an invalid parameter, got {other:?}"),
    }
}

#[test]
fn architecture_errors_name_the_parameter_and_what_to_do() {
    let zero = Architecture::mdn(Backbone::mlp(4, vec![8]), 1, 0);
    assert_eq!(
        parameter(zero.clone().check()),
        Parameter::Architecture(ArchitectureParameter::Components)
    );
    let message = MdnError::from(zero.check().unwrap_err()).to_string();
    assert!(message.contains("invalid components = 0"), "{message}");
    assert!(message.contains("at least one component"), "{message}");
    let cnn = Architecture::least_squares(Backbone::cnn(28, 28), 1);
    assert!(cnn.clone().check().is_ok());
    let six_blocks = Architecture {
        backbone: Backbone::Cnn {
            height: 28,
            width: 28,
            channels: vec![4; 6],
            kernel: 5,
            hidden: 8,
            activation: Activation::Relu,
        },
        ..cnn
    };
    assert_eq!(
        parameter(six_blocks.check()),
        Parameter::Architecture(ArchitectureParameter::ImageSize)
    );
}

#[test]
fn data_must_fit_the_network_and_the_split() {
    let data = common::toy_inverse(20, 1);
    let two_inputs = Architecture::mdn(Backbone::mlp(2, vec![8]), 1, 3)
        .check()
        .unwrap();
    let trainer = Trainer::new(Default::default()).with_progress(false);
    let err = trainer.fit(&two_inputs, &data).unwrap_err();
    assert!(err.to_string().contains("takes 2 inputs"), "{err}");

    let tiny = Dataset::new(vec![0.0, 1.0, 2.0], 1, vec![1.0, 2.0, 3.0], 1).unwrap();
    let network = Architecture::mdn(Backbone::mlp(1, vec![4]), 1, 2)
        .check()
        .unwrap();
    let config = TrainConfig {
        validation_fraction: 0.1,
        ..common::single()
    };
    let err = Trainer::new(config.check().unwrap())
        .with_progress(false)
        .fit(&network, &tiny)
        .unwrap_err();
    assert!(matches!(
        err,
        MdnError::InvalidParameter {
            parameter: Parameter::ValidationFraction,
            ..
        }
    ));

    let constant = Dataset::new(vec![0.0, 1.0, 2.0, 3.0], 1, vec![5.0; 4], 1).unwrap();
    let config = TrainConfig {
        validation_fraction: 0.0,
        ..common::single()
    };
    let err = Trainer::new(config.check().unwrap())
        .with_progress(false)
        .fit(&network, &constant)
        .unwrap_err();
    assert!(err.to_string().contains("same value (5)"), "{err}");
}

#[test]
fn activations_parse_and_print() {
    for a in [Activation::Tanh, Activation::Relu, Activation::Gelu] {
        assert_eq!(a.name().parse::<Activation>().unwrap(), a);
        assert_eq!(
            a.to_string().to_uppercase().parse::<Activation>().unwrap(),
            a
        );
    }
    assert!("sigmoid".parse::<Activation>().is_err());
}
