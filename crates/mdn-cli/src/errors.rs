//! Library errors in the words of the command line.

use mdn::{ArchitectureParameter, MdnError, Parameter};

/// The flag that sets `parameter`. Exhaustive: a parameter added to or renamed in the library
/// does not compile until it has its flag here.
fn flag(parameter: Parameter) -> &'static str {
    use ArchitectureParameter as A;
    match parameter {
        Parameter::Architecture(A::Inputs) => "--inputs",
        Parameter::Architecture(A::Hidden) => "--hidden",
        Parameter::Architecture(A::Targets) => "--targets",
        Parameter::Architecture(A::Components) => "--components",
        Parameter::Architecture(A::MinSigma) => "--min-sigma",
        // The CNN is the MNIST experiment's; these come from its settings, not from flags.
        Parameter::Architecture(A::Channels) => "the CNN's channels",
        Parameter::Architecture(A::Kernel) => "the CNN's kernel",
        Parameter::Architecture(A::ImageSize) => "the image size",
        Parameter::Epochs => "--epochs",
        Parameter::BatchSize => "--batch-size",
        Parameter::LearningRate => "--lr",
        Parameter::WeightDecay => "--weight-decay",
        Parameter::ValidationFraction => "--val-fraction",
        Parameter::Patience => "--patience",
        Parameter::LrPlateau => "--lr-plateau",
        Parameter::Seed => "--seed",
        Parameter::GradClipNorm => "--grad-clip",
        // Not a flag: training always allows the library's default number.
        Parameter::MaxRecoveries => "the number of roll-backs",
        Parameter::NoiseX => "--noise-x",
        Parameter::NoiseY => "--noise-y",
        Parameter::Ensemble => "--ensemble",
        Parameter::Folds => "--cv",
    }
}

/// What to add to the library's reason, in the command line's terms.
fn hint(parameter: Parameter) -> &'static str {
    match parameter {
        Parameter::Patience => "; --no-early-stopping trains every epoch",
        _ => "",
    }
}

/// Rewrites a library error to name the flags the user typed.
pub fn cli_error(error: MdnError) -> anyhow::Error {
    match error {
        MdnError::InvalidParameter {
            parameter,
            value,
            reason,
        } => anyhow::anyhow!(
            "invalid {} {value}: {reason}{}",
            flag(parameter),
            hint(parameter)
        ),
        MdnError::ResumeMismatch {
            path,
            parameter,
            checkpoint,
            requested,
        } => {
            let name = flag(parameter);
            anyhow::anyhow!(
                "{}: cannot resume: the checkpoint was made with {name} {checkpoint}, and this \
                 run asks for {name} {requested}; only --epochs and --patience may change when \
                 resuming",
                path.display()
            )
        }
        MdnError::Diverged {
            epoch,
            recoveries,
            learning_rate,
        } => anyhow::anyhow!(
            "training diverged: the loss became non-finite in epoch {epoch} and stayed so after \
             {recoveries} roll-backs (learning rate lowered to {learning_rate:e}); try a smaller \
             --lr, --grad-clip, or a larger --min-sigma"
        ),
        other => other.into(),
    }
}
