//! `mdn info`: what a model file holds.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use mdn::Model;
use serde::Serialize;

use crate::output::print_json;

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  mdn info --model toy.mdn")]
pub struct InfoArgs {
    /// The trained model.
    #[arg(long, value_name = "MODEL")]
    model: PathBuf,
}

#[derive(Serialize)]
struct Info<'a> {
    format_version: u32,
    kind: &'static str,
    /// Networks in the model (a deep ensemble's members, or 1).
    members: usize,
    /// Components per network (the model's mixture has members × components).
    components: usize,
    /// Parameters of all networks together.
    parameters: usize,
    inputs: Vec<String>,
    targets: Vec<String>,
    #[serde(flatten)]
    meta: &'a mdn::ModelMeta,
}

pub fn run(args: InfoArgs) -> Result<()> {
    let model = Model::load(&args.model)?;
    let info = Info {
        format_version: mdn::FORMAT_VERSION,
        kind: if model.architecture().is_mixture() {
            "mdn"
        } else {
            "least-squares"
        },
        members: model.members(),
        components: model.architecture().components(),
        parameters: model.members() * model.architecture().parameter_count(),
        inputs: model.input_names(),
        targets: model.target_names(),
        meta: model.meta(),
    };
    print_json(&info)
}
