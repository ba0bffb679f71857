//! Save → load gives the identical model; every kind of bad file gives a typed error; the file
//! is safetensors with the documented names and checksum.

mod common;

use mdn::{Architecture, Backbone, MdnError, Model, ModelFileError, TrainConfig, Trainer};

fn quick_model(least_squares: bool) -> Model {
    let data = common::toy_inverse(200, 5);
    let backbone = Backbone::mlp(1, vec![8]);
    let network = if least_squares {
        Architecture::least_squares(backbone, 1)
    } else {
        Architecture::mdn(backbone, 1, 3)
    };
    let config = TrainConfig {
        epochs: 3,
        ..common::single()
    };
    Trainer::new(config.check().unwrap())
        .with_progress(false)
        .fit(&network.check().unwrap(), &data)
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

    // The version is read before the checksum, so a newer file is reported as such.
    let future = dir.path().join("future.mdn");
    let mut newer = bytes.clone();
    let version = b"\"format_version\":\"3\"";
    let at = newer
        .windows(version.len())
        .position(|w| w == version)
        .expect("the header names its version");
    newer[at + version.len() - 2] = b'4';
    std::fs::write(&future, &newer).unwrap();
    assert!(matches!(
        file_error(Model::load(&future)),
        ModelFileError::UnsupportedVersion { .. }
    ));

    // A model file of mdn's first format (its own container, "MDNMODEL" and version 1).
    let old = dir.path().join("old.mdn");
    let mut first = b"MDNMODEL".to_vec();
    first.extend_from_slice(&1u32.to_le_bytes());
    first.extend_from_slice(&[0; 16]);
    std::fs::write(&old, &first).unwrap();
    let error = Model::load(&old).unwrap_err().to_string();
    assert!(error.contains("written by an older mdn"), "{error}");
    assert!(error.contains("train the model again"), "{error}");

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

#[test]
fn every_flipped_byte_of_a_model_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.mdn");
    quick_model(false).save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let flipped = dir.path().join("flipped.mdn");
    for i in 0..bytes.len() {
        let mut corrupt = bytes.clone();
        corrupt[i] ^= 0x01;
        std::fs::write(&flipped, &corrupt).unwrap();
        assert!(
            Model::load(&flipped).is_err(),
            "byte {i} flipped went unnoticed"
        );
    }
}

#[test]
fn the_weights_are_named_tensors_in_the_architectures_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.mdn");
    let model = quick_model(false);
    model.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    let mut values = Vec::new();
    for tensor in model.architecture().tensors() {
        let entry = &header[&tensor.name];
        assert_eq!(entry["dtype"], "F32", "{}", tensor.name);
        let shape: Vec<usize> = serde_json::from_value(entry["shape"].clone()).unwrap();
        assert_eq!(shape, tensor.dims, "{}", tensor.name);
        let [start, end]: [usize; 2] =
            serde_json::from_value(entry["data_offsets"].clone()).unwrap();
        let data = &bytes[8 + header_len + start..8 + header_len + end];
        values.extend(
            data.chunks(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap())),
        );
    }
    assert_eq!(values, model.parameters());
    let metadata = &header["__metadata__"];
    assert_eq!(metadata["format"], "mdn-model");
    assert_eq!(metadata["format_version"], "3");
    let meta: serde_json::Value = serde_json::from_str(metadata["mdn"].as_str().unwrap()).unwrap();
    assert_eq!(meta["schema"]["inputs"][0]["name"], "x");
    assert_eq!(meta["schema"]["inputs"][0]["kind"], "numeric");
    assert!(metadata["checksum"].as_str().unwrap().starts_with("crc32:"));
}

/// Also: two serialisations of one model are the same bytes (safetensors alone writes its
/// metadata in a random order).
#[test]
fn a_model_travels_as_bytes_exactly_as_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = quick_model(false);
    let path = dir.path().join("m.mdn");
    model.save(&path).unwrap();
    let bytes = model.to_bytes();
    assert_eq!(bytes, std::fs::read(&path).unwrap());
    let back = Model::from_bytes(&bytes).unwrap();
    assert_eq!(back.parameters(), model.parameters());
    assert_eq!(back.meta(), model.meta());
    let error = Model::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err();
    assert!(error.to_string().contains("<bytes>"), "{error}");
}
