//! Runs a fixed number of training steps of the W1/W2 networks of `bench/compare.sh` (or
//! predictions over many rows), without timing: a driver for `perf record`, `perf stat` and
//! `valgrind --tool=callgrind`, whose counts per step do not depend on how busy the machine
//! is.
//!
//! ```text
//! cargo run --release -p mdn-engine --example steps -- w1:4096 200
//! cargo run --release -p mdn-engine --example steps -- w2:64 20
//! cargo run --release -p mdn-engine --example steps -- predict-w2:2048 3
//! ```

use std::hint::black_box;

use mdn_engine::{AdamConfig, Architecture, Backbone, Network, Session};

fn main() {
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_else(|| "w2:64".into());
    let steps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let (kind, batch) = workload.split_once(':').expect("KIND:BATCH");
    let batch: usize = batch.parse().expect("a batch size");
    let backbone = match kind.trim_start_matches("predict-") {
        "w1" => Backbone::mlp(1, vec![32, 32]),
        "w2" => Backbone::cnn(28, 28),
        other => panic!("unknown workload {other}"),
    };
    let arch = Architecture::mdn(backbone, 1, 5).check().expect("valid");
    let d = arch.input_dim();
    let x: Vec<f32> = (0..batch * d)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 8) as f32 / (1 << 24) as f32 - 0.5)
        .collect();
    let t: Vec<f32> = (0..batch).map(|i| (i % 10) as f32 / 5.0 - 1.0).collect();
    let network = Network::init(arch, 0);
    if kind.starts_with("predict-") {
        for _ in 0..steps {
            black_box(network.predict(&x, batch));
        }
        return;
    }
    let mut session = Session::new(network, AdamConfig::default());
    let mut total = 0.0;
    for _ in 0..steps {
        total += session.step(&x, &t, None, batch, 1e-3).loss;
    }
    println!("mean loss {}", total / (steps * batch) as f64);
}
