//! The fused loss and its gradients stay finite for huge logits, targets far from every mean,
//! standard deviations at their floor and huge inputs.

use mdn_engine::head::{self, HeadScratch};
use mdn_engine::{Architecture, Backbone, CovarianceKind, Head, LossSums, Network};

#[test]
fn loss_and_gradients_are_finite_at_the_extremes() {
    let (rows, m) = (4, 3);
    // Logits of ±1e4 (softmax weights of exactly 0 and 1 in f32), means at 0, targets as far
    // as 1e4 from them, σ pushed to its 1e-3 floor (raw −100): z = 1e7.
    let logits: [[f32; 3]; 4] = [
        [1e4, -1e4, 0.0],
        [-1e4, 1e4, 0.0],
        [0.0, 0.0, 0.0],
        [3e4, -3e4, 1e4],
    ];
    let targets = [1e4f32, -1e4, 0.0, 5.0];
    for covariance in [
        CovarianceKind::Isotropic,
        CovarianceKind::Diagonal,
        CovarianceKind::Full,
    ] {
        let head = Head::Mixture {
            target_dim: 1,
            components: m,
            covariance,
            min_sigma: 1e-3,
        };
        // Feature-major raw outputs: m logits, m means, m scales (c = 1 for every kind).
        let mut raw = vec![0.0f32; head.width() * rows];
        for (r, row) in logits.iter().enumerate() {
            for (i, &z) in row.iter().enumerate() {
                raw[i * rows + r] = z;
                raw[(2 * m + i) * rows + r] = -100.0;
            }
        }
        let mut d_raw = vec![0.0f32; raw.len()];
        let mut sums = LossSums::default();
        let mut scratch = HeadScratch::default();
        head::loss(
            &head,
            &raw,
            rows,
            &targets,
            None,
            Some((&mut d_raw, 1.0 / rows as f32)),
            &mut scratch,
            &mut sums,
        );
        let mean = sums.loss / rows as f64;
        assert!(mean.is_finite(), "{covariance:?}: loss {mean}");
        // Dominated by ½ z² with z = 1e4 / 1e-3 = 1e7, i.e. about 5e13 per far-away row.
        assert!(
            mean > 1e13,
            "{covariance:?}: loss {mean} should be enormous but finite"
        );
        assert!(
            d_raw.iter().all(|g| g.is_finite()),
            "{covariance:?}: a gradient is not finite"
        );
    }
}

#[test]
fn a_network_stays_finite_for_huge_inputs() {
    let arch = Architecture::mdn(Backbone::mlp(4, vec![]), 2, 5)
        .with_covariance(CovarianceKind::Full)
        .check()
        .unwrap();
    let network = Network::init(arch, 3);
    let x = [1e6f32, -1e6, 3e5, 0.0, 1.0, 2.0, 3.0, 4.0];
    let t = [1e3f32, -1e3, 0.0, 0.0];
    let mut grads = vec![0.0; network.params().len()];
    let sums = network.gradient(&x, &t, None, 2, &mut grads, &mut Vec::new());
    assert!(sums.loss.is_finite(), "loss {}", sums.loss);
    assert!(grads.iter().all(|g| g.is_finite()));
}
