//! The library's side of real tables (issue 15): a [`Frame`] with text, missing cells,
//! a positive target and weights goes through [`Dataset::from_frame`], [`Trainer`] (with a
//! validation set of its own) and [`Model::predict_frame`], and the model scores itself as
//! calibrated on targets drawn from its own densities.

use mdn::mdn_mixture::Temperature;
use mdn::{
    Architecture, Backbone, CellProblem, Cells, Dataset, EncodeOptions, Frame, InputColumn,
    MdnError, MissingPolicy, Model, TableSpec, TrainConfig, Trainer, UnknownCategory,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// `n` rows: x ~ U(0, 1), a shop in {north, south} and log t ~ N(x + shift(shop), 0.2²),
/// with weights 1 or 2 and x missing in every `gap`-th row (none if `gap` is 0).
fn shops(n: usize, seed: u64, gap: usize) -> Frame {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut x, mut shop, mut t, mut w) = (vec![], vec![], vec![], vec![]);
    for i in 0..n {
        let xi: f64 = rng.random();
        let north = rng.random_bool(0.5);
        let z: f64 = rng.sample(StandardNormal);
        t.push((xi + if north { 1.0 } else { -1.0 } + 0.2 * z).exp());
        x.push(if gap > 0 && i % gap == gap - 1 {
            f64::NAN
        } else {
            xi
        });
        shop.push(Some(if north { "north" } else { "south" }.to_string()));
        w.push(1.0 + (i % 2) as f64);
    }
    Frame::new(vec![
        ("x".into(), Cells::Numbers(x)),
        ("shop".into(), Cells::Text(shop)),
        ("t".into(), Cells::Numbers(t)),
        ("w".into(), Cells::Numbers(w)),
    ])
    .unwrap()
}

fn spec() -> TableSpec {
    TableSpec {
        inputs: vec!["x".into(), "shop".into()],
        targets: vec!["t".into()],
        log_targets: vec!["t".into()],
        weights: Some("w".into()),
        missing: MissingPolicy::Omit,
        ..TableSpec::default()
    }
}

fn train(data: &Dataset, validation: Option<Dataset>) -> Model {
    let config = TrainConfig {
        epochs: 150,
        learning_rate: 1e-2,
        ensemble: 1,
        noise_y: mdn::Noise::Off,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(config.check().unwrap()).with_progress(false);
    if let Some(validation) = validation {
        trainer = trainer.with_validation(validation);
    }
    let architecture = Architecture::mdn(Backbone::mlp(data.input_dim(), vec![16]), 1, 3)
        .check()
        .unwrap();
    trainer.fit(&architecture, data).unwrap().model
}

#[test]
fn a_table_with_text_gaps_log_targets_and_weights_trains_and_predicts() {
    let frame = shops(600, 1, 10);
    let (data, omitted) = Dataset::from_frame(&frame, &spec()).unwrap();
    assert_eq!(omitted, 60, "every tenth row has no x");
    assert_eq!(data.len(), 540);
    assert_eq!(data.input_dim(), 3, "x and two shops");
    assert_eq!(
        data.schema().inputs[1],
        InputColumn::Categorical {
            name: "shop".into(),
            categories: vec!["north".into(), "south".into()],
        }
    );
    assert!(data.schema().targets[0].log);
    assert_eq!(data.weights().unwrap()[..2], [1.0, 2.0]);

    let validation = Dataset::encode(
        &shops(200, 2, 0),
        data.schema().clone(),
        Some("w"),
        MissingPolicy::Error,
        UnknownCategory::Error,
    )
    .unwrap();
    let model = train(&data, Some(validation));
    assert_eq!(
        model.training().train_rows,
        540,
        "--val-data: every row trains"
    );
    assert_eq!(model.training().validation_rows, 200);

    // Predictions of a table, in t's own units: the median of the north shop at x = 0.5 is
    // e^1.5, of the south e^−0.5.
    let query = Frame::new(vec![
        ("x".into(), Cells::Numbers(vec![0.5, f64::NAN, 0.5])),
        (
            "shop".into(),
            Cells::Text(vec![
                Some("north".into()),
                Some("north".into()),
                Some("south".into()),
            ]),
        ),
    ])
    .unwrap();
    let options = EncodeOptions {
        missing: MissingPolicy::Omit,
        ..EncodeOptions::default()
    };
    let (predictions, rows) = model.predict_frame(&query, options).unwrap();
    assert_eq!(rows, [0, 2], "the row without x is left out");
    for (prediction, log_median) in predictions.iter().zip([1.5f64, -0.5]) {
        let median = prediction.marginal_quantile(0, 0.5).unwrap();
        assert!(
            (median.ln() - log_median).abs() < 0.15,
            "{median} vs e^{log_median}"
        );
        assert!(prediction.marginal_quantile(0, 0.001).unwrap() > 0.0);
    }
    // Refused: the missing x by default, and a shop training never saw.
    let error = model
        .predict_frame(&query, EncodeOptions::default())
        .unwrap_err();
    assert!(
        matches!(&error, MdnError::InvalidCell { row: 1, column, problem: CellProblem::Missing } if column == "x"),
        "{error:?}"
    );
    let east = Frame::new(vec![
        ("x".into(), Cells::Numbers(vec![0.5])),
        ("shop".into(), Cells::Text(vec![Some("east".into())])),
    ])
    .unwrap();
    let error = model
        .predict_frame(&east, EncodeOptions::default())
        .unwrap_err();
    assert!(
        matches!(&error, MdnError::InvalidCell { row: 0, problem: CellProblem::UnknownCategory(v), .. } if v == "east"),
        "{error:?}"
    );
    let zero = EncodeOptions {
        unknown: UnknownCategory::Zero,
        ..EncodeOptions::default()
    };
    assert_eq!(model.predict_frame(&east, zero).unwrap().0.len(), 1);

    // The model file keeps the schema.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shops.mdn");
    model.save(&path).unwrap();
    assert_eq!(Model::load(&path).unwrap().schema(), model.schema());
}

#[test]
fn targets_drawn_from_the_model_have_uniform_pit_and_nominal_coverage() {
    let frame = shops(600, 3, 0);
    let (data, _) = Dataset::from_frame(&frame, &spec()).unwrap();
    let model = train(&data, None);
    // New inputs, and for each one target drawn from the model's own density.
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let n = 5000;
    let inputs = Dataset::encode(
        &shops(n, 5, 0),
        model.schema().clone(),
        None,
        MissingPolicy::Error,
        UnknownCategory::Error,
    )
    .unwrap();
    let drawn: Vec<f64> = model
        .predict(inputs.inputs())
        .unwrap()
        .iter()
        .map(|p| p.sample_n(1, &mut rng, Temperature::ONE)[0][0])
        .collect();
    assert!(
        drawn.iter().all(|&t| t > 0.0),
        "log-target draws are positive"
    );
    let own = Dataset::new(inputs.inputs().to_vec(), 3, drawn, 1)
        .unwrap()
        .with_names(inputs.input_names().to_vec(), vec!["t".into()])
        .unwrap();
    let scores = model.evaluate(&own).unwrap();
    // The Kolmogorov–Smirnov critical value at the 0.1% level for n = 5000: 1.95/√n = 0.028.
    assert!(scores.pit_ks < 0.028, "PIT KS {}", scores.pit_ks);
    for (level, observed) in &scores.coverage {
        let level: f64 = level.parse().unwrap();
        let se = (level * (1.0 - level) / n as f64).sqrt();
        assert!(
            (observed - level).abs() < 5.0 * se,
            "coverage {level}: {observed}"
        );
    }
    // Targets from another distribution (all shifted up by 50%) are visibly miscalibrated.
    let shifted: Vec<f64> = own.targets().iter().map(|t| 1.5 * t).collect();
    let off = Dataset::new(own.inputs().to_vec(), 3, shifted, 1).unwrap();
    assert!(model.evaluate(&off).unwrap().pit_ks > 0.1);
}
