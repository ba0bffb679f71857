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
        "lr_plateau" => "--lr-plateau",
        "seed" => "--seed",
        "max_recoveries" => "--max-recoveries",
        _ => return None,
    })
}

/// What to add to the library's reason, in the command line's terms.
fn hint(parameter: &str) -> &'static str {
    match parameter {
        "patience" => "; --no-early-stopping trains every epoch",
        _ => "",
    }
}

/// Rewrites an invalid-parameter error to name the flag the user typed.
pub fn cli_error(error: MdnError) -> anyhow::Error {
    match error {
        MdnError::InvalidParameter {
            parameter,
            value,
            reason,
        } => match flag(parameter) {
            Some(flag) => anyhow::anyhow!("invalid {flag} {value}: {reason}{}", hint(parameter)),
            None => anyhow::anyhow!("invalid {parameter} = {value}: {reason}"),
        },
        MdnError::ResumeMismatch {
            path,
            parameter,
            checkpoint,
            requested,
        } => {
            let name = flag(parameter).unwrap_or(parameter);
            anyhow::anyhow!(
                "{}: cannot resume: the checkpoint was made with {name} {checkpoint}, and this \
                 run asks for {name} {requested}; only --epochs and --patience may change when \
                 resuming",
                path.display()
            )
        }
        other => other.into(),
    }
}
