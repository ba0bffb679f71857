//! Bad numbers are refused before they reach a model, naming what is wrong.

use mdn::{
    Architecture, ArchitectureParameter, Backbone, Dataset, MdnError, Parameter, TrainConfig,
};

#[test]
fn nan_and_infinite_values_are_refused_up_front() {
    let err = Dataset::new(vec![0.0, f64::INFINITY], 1, vec![0.0, 1.0], 1).unwrap_err();
    assert!(matches!(err, MdnError::InvalidData(_)), "{err}");
    let err = Dataset::new(vec![0.0, 1.0], 1, vec![f64::NAN, 1.0], 1).unwrap_err();
    assert!(
        err.to_string().contains("targets row 0 column 0 is NaN"),
        "{err}"
    );
    let config = TrainConfig {
        learning_rate: f64::NAN,
        ..TrainConfig::default()
    };
    assert!(matches!(
        config.check(),
        Err(MdnError::InvalidParameter {
            parameter: Parameter::LearningRate,
            ..
        })
    ));
    let head = Architecture::mdn(Backbone::mlp(1, vec![]), 1, 3).with_min_sigma(f32::NAN);
    let error = MdnError::from(head.check().unwrap_err());
    assert!(matches!(
        error,
        MdnError::InvalidParameter {
            parameter: Parameter::Architecture(ArchitectureParameter::MinSigma),
            ..
        }
    ));
}
