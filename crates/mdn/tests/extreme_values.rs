//! The loss and its gradients stay finite for huge logits, targets far from every mean and
//! standard deviations at their floor; bad numbers are refused before they reach a model.

use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softplus};
use mdn::{Dataset, MdnError, MdnHeadConfig, MixtureOutput, Scale, TrainConfig, param_rng};

fn tensor<const D: usize>(v: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(v, shape), device).require_grad()
}

fn all_finite<const D: usize>(t: &Tensor<D>) -> bool {
    t.to_data().iter::<f32>().all(f32::is_finite)
}

#[test]
fn loss_and_gradients_are_finite_at_the_extremes() {
    let device = Device::flex().autodiff();
    let (n, m) = (4, 3);
    // Logits of ±1e4 (softmax weights of exactly 0 and 1 in f32), means at 0, targets as far
    // as 1e4 standard deviations... with σ pushed to its 1e-3 floor: z = 1e7.
    let logits = tensor(
        vec![
            1e4, -1e4, 0.0, -1e4, 1e4, 0.0, 0.0, 0.0, 0.0, 3e4, -3e4, 1e4,
        ],
        [n, m],
        &device,
    );
    let means = tensor(vec![0.0; n * m], [n, m, 1], &device);
    let raw_sigma = tensor(vec![-100.0; n * m], [n, m], &device);
    let targets = Tensor::<2>::from_data(
        TensorData::new(vec![1e4f32, -1e4, 0.0, 5.0], [n, 1]),
        &device,
    );

    for kind in ["isotropic", "diagonal", "full"] {
        let sigma = softplus(raw_sigma.clone(), 1.0).add_scalar(1e-3);
        let scale = match kind {
            "isotropic" => Scale::Isotropic { sigma },
            "diagonal" => Scale::Diagonal {
                sigma: sigma.reshape([n, m, 1]),
            },
            _ => Scale::Cholesky {
                diagonal: sigma.reshape([n, m, 1]),
                lower: Tensor::zeros([n, m, 0], &device),
            },
        };
        let output = MixtureOutput {
            log_alpha: log_softmax(logits.clone(), 1),
            means: means.clone(),
            scale,
        };
        let loss = output.nll(targets.clone());
        let value = loss.clone().into_scalar::<f32>();
        assert!(value.is_finite(), "{kind}: loss {value}");
        // Dominated by ½ z² with z = 1e4 / 1e-3 = 1e7, i.e. about 5e13 per far-away row.
        assert!(
            value > 1e13,
            "{kind}: loss {value} should be enormous but finite"
        );
        let grads = loss.backward();
        for (name, t) in [("logits", &logits), ("raw sigma", &raw_sigma)] {
            let grad = t.grad(&grads).expect("tracked");
            assert!(all_finite(&grad), "{kind}: gradient of {name} not finite");
        }
        let grad = means.grad(&grads).expect("tracked");
        assert!(all_finite(&grad), "{kind}: gradient of means not finite");
    }
}

#[test]
fn head_output_is_finite_for_huge_features() {
    let device = Device::flex().autodiff();
    let config = MdnHeadConfig::new(4, 2, 5).with_covariance(mdn::CovarianceKind::Full);
    let head = config.init(&device, &mut param_rng(3)).unwrap();
    let features = tensor(
        vec![1e6, -1e6, 3e5, 0.0, 1.0, 2.0, 3.0, 4.0],
        [2, 4],
        &device,
    );
    let targets = Tensor::<2>::from_data(
        TensorData::new(vec![1e3f32, -1e3, 0.0, 0.0], [2, 2]),
        &device,
    );
    let loss = head.forward(features.clone()).nll(targets);
    assert!(loss.clone().into_scalar::<f32>().is_finite());
    let grads = loss.backward();
    assert!(all_finite(&features.grad(&grads).unwrap()));
}

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
            parameter: "learning_rate",
            ..
        })
    ));
    let head = MdnHeadConfig::new(1, 1, 3).with_min_sigma(f64::NAN);
    assert!(matches!(
        head.check(),
        Err(MdnError::InvalidParameter {
            parameter: "min_sigma",
            ..
        })
    ));
}
