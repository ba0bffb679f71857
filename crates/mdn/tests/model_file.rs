//! Save → load gives the identical model; every kind of bad file gives a typed error.

mod common;

use mdn::{
    BackboneConfig, MdnError, MlpConfig, Model, ModelFileError, NetworkConfig, TrainConfig, Trainer,
};

fn quick_model(least_squares: bool) -> Model {
    let data = common::toy_inverse(200, 5);
    let backbone = BackboneConfig::Mlp(MlpConfig::new(1, vec![8]));
    let network = if least_squares {
        NetworkConfig::least_squares(backbone, 1)
    } else {
        NetworkConfig::mdn(backbone, 1, 3)
    };
    let config = TrainConfig {
        epochs: 3,
        ..TrainConfig::default()
    };
    Trainer::new(config)
        .with_progress(false)
        .fit(&network, &data)
        .unwrap()
        .model
}

fn file_error(result: Result<Model, MdnError>) -> ModelFileError {
    match result {
        Err(MdnError::ModelFile { kind, .. }) => kind,
        other => panic!("expected a model-file error, got {other:?}"),
    }
}

#[test]
fn save_then_load_predicts_identically() {
    let dir = tempfile::tempdir().unwrap();
    for least_squares in [false, true] {
        let model = quick_model(least_squares);
        let path = dir.path().join("m.mdn");
        model.save(&path).unwrap();
        let loaded = Model::load(&path).unwrap();
        assert_eq!(loaded.meta(), model.meta());
        let xs: Vec<f64> = (0..50).map(|i| -0.2 + i as f64 * 0.03).collect();
        assert_eq!(loaded.predict(&xs).unwrap(), model.predict(&xs).unwrap());
    }
}

#[test]
fn bad_files_give_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.mdn");
    quick_model(false).save(&good).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let missing = file_error(Model::load(dir.path().join("absent.mdn")));
    assert!(
        matches!(missing, ModelFileError::Io(ref e) if e.kind() == std::io::ErrorKind::NotFound)
    );

    let truncated = dir.path().join("truncated.mdn");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(
        file_error(Model::load(&truncated)),
        ModelFileError::Truncated(_)
    ));

    let corrupt = dir.path().join("corrupt.mdn");
    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    std::fs::write(&corrupt, &flipped).unwrap();
    assert!(matches!(
        file_error(Model::load(&corrupt)),
        ModelFileError::Corrupt(_)
    ));

    let future = dir.path().join("future.mdn");
    let mut newer = bytes.clone();
    newer[8..12].copy_from_slice(&(mdn::FORMAT_VERSION + 1).to_le_bytes());
    std::fs::write(&future, &newer).unwrap();
    assert!(matches!(
        file_error(Model::load(&future)),
        ModelFileError::UnsupportedVersion { .. }
    ));

    let csv = dir.path().join("data.csv");
    std::fs::write(&csv, "x,t\n0.1,0.2\n").unwrap();
    assert!(matches!(
        file_error(Model::load(&csv)),
        ModelFileError::NotAModelFile
    ));

    let empty = dir.path().join("empty.mdn");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        file_error(Model::load(&empty)),
        ModelFileError::NotAModelFile
    ));
}

#[test]
fn error_messages_name_the_file() {
    let err = Model::load("/nonexistent/dir/model.mdn").unwrap_err();
    assert!(
        err.to_string().starts_with("/nonexistent/dir/model.mdn: "),
        "{err}"
    );
}
