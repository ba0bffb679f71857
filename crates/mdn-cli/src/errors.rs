//! Library errors in the words of the command line.

use mdn::MdnError;

/// The command-line flag that sets a library parameter.
fn flag(parameter: &str) -> Option<&'static str> {
    Some(match parameter {
        "components" => "--components",
        "learning_rate" => "--lr",
        "batch_size" => "--batch-size",
        "validation_fraction" => "--val-fraction",
        "epochs" => "--epochs",
        "patience" => "--patience",
        "weight_decay" => "--weight-decay",
        "grad_clip_norm" => "--grad-clip",
        "min_sigma" => "--min-sigma",
        "hidden" => "--hidden",
        "inputs" => "--inputs",
        "targets" => "--targets",
        "engine" => "--engine",
        _ => return None,
    })
}

/// Rewrites an invalid-parameter error to name the flag the user typed.
pub fn cli_error(error: MdnError) -> anyhow::Error {
    match error {
        MdnError::InvalidParameter {
            parameter,
            value,
            reason,
        } => match flag(parameter) {
            Some(flag) => anyhow::anyhow!("invalid {flag} {value}: {reason}"),
            None => anyhow::anyhow!("invalid {parameter} = {value}: {reason}"),
        },
        other => other.into(),
    }
}
