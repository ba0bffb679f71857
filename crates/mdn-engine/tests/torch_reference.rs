//! mdn-engine's losses and gradients against PyTorch, an implementation that shares no code with
//! it: every network below was also built in `tests/torch/reference.py`, in float64, from the
//! same closed-form parameters and data, and the constants at the end of this file are what
//! that script printed.
//!
//! What the script computes, quoted from it:
//!
//! ```python
//! h = activate(h @ params[k] + params[k + 1], act, f"dense {l}")  # x @ W + b
//! h = activate(F.conv2d(h, params[k], params[k + 1], padding=pad), act, f"conv {l}")
//! h = F.max_pool2d(h, 2)  # stride 2, floor mode
//! h = h.flatten(1)  # channel-major (NCHW)
//! sigma = MIN_SIGMA + F.softplus(scales)  # [rows, m]
//! covariance = chol @ chol.transpose(-1, -2)
//! density = torch.distributions.MultivariateNormal(means, covariance_matrix=covariance)
//! return -torch.logsumexp(log_alpha + log_phi, dim=1).sum()
//! return ((raw - t) ** 2).mean(dim=1).sum()  # per row: mean squared error over c
//! grads = torch.autograd.grad(loss / ROWS, params)  # the gradient of the MEAN loss
//! norms = [g.norm().item() for g in grads]
//! projections = (directions(flat.numel()) @ flat).tolist()
//! ```
//!
//! To regenerate (after changing a formula or a case in both files):
//!
//! ```sh
//! python crates/mdn-engine/tests/torch/reference.py > /tmp/reference.rs
//! ```
//!
//! and paste its output over the block between `BEGIN` and `END` below, then format this file
//! alone (`rustfmt --edition 2024 crates/mdn-engine/tests/torch_reference.rs`).

use mdn_engine::{
    Activation, Architecture, Backbone, CovarianceKind, Head, Network, ValidArchitecture,
};

/// Rows of every batch (`ROWS` in the script).
const ROWS: usize = 7;
/// Components of every mixture (`COMPONENTS` in the script).
const COMPONENTS: usize = 3;

/// What the script printed for one case.
struct Reference {
    /// The case's name in the script's `CASES`.
    name: &'static str,
    /// Σ over the rows of the per-row loss (`LossSums::loss`).
    loss: f64,
    /// L2 norm of the gradient of the mean loss, per parameter tensor.
    norms: &'static [f64],
    /// Σ_i g_i d_p[i] over the flat gradient, for the three directions of [`direction`].
    projections: [f64; 3],
}

// --- the script's closed-form numbers, evaluated the same way: in f64, then rounded to f32 ----

/// `0.9 * math.sin(0.7 * i + 1.7 * k + 0.1) / math.sqrt(fan_in)`: value i of tensor k, with
/// fan_in the first dimension of a dense weight, c_in·k·k of a convolution weight, and that of
/// the weight before it for a bias.
fn parameters(arch: &ValidArchitecture) -> Vec<f32> {
    let mut params = Vec::new();
    let mut fan_in = 1;
    for (k, shape) in arch.tensors().iter().enumerate() {
        match shape.dims.len() {
            2 => fan_in = shape.dims[0],
            4 => fan_in = shape.dims[1..].iter().product(),
            _ => {}
        }
        params.extend((0..shape.len()).map(|i| {
            (0.9 * (0.7 * i as f64 + 1.7 * k as f64 + 0.1).sin() / (fan_in as f64).sqrt()) as f32
        }));
    }
    params
}

/// `1.2 * math.sin(0.9 * r + 0.37 * j + 0.2)`: feature j of row r, row-major.
fn inputs(rows: usize, d: usize) -> Vec<f32> {
    (0..rows)
        .flat_map(|r| {
            (0..d).map(move |j| (1.2 * (0.9 * r as f64 + 0.37 * j as f64 + 0.2).sin()) as f32)
        })
        .collect()
}

/// `0.8 * math.sin(0.6 * r - 0.45 * j + 0.5)`: target j of row r, row-major.
fn targets(rows: usize, c: usize) -> Vec<f32> {
    (0..rows)
        .flat_map(|r| {
            (0..c).map(move |j| (0.8 * (0.6 * r as f64 - 0.45 * j as f64 + 0.5).sin()) as f32)
        })
        .collect()
}

/// `math.cos(0.31 * i * (p + 1))`: component i of projection direction p.
fn direction(p: usize, i: usize) -> f64 {
    (0.31 * i as f64 * (p + 1) as f64).cos()
}

// --- the script's architectures ---------------------------------------------------------------

/// `mlp(activation)`: 3 inputs, hidden layers [6, 5]; `hidden=()` for a linear model.
fn mlp(activation: Activation, hidden: &[usize], head: Head) -> Architecture {
    Architecture {
        backbone: Backbone::Mlp {
            input: 3,
            hidden: hidden.to_vec(),
            activation,
        },
        head,
    }
}

/// `cnn(activation)`: 8 × 6 images, convolutions of 2 and 3 channels (3 × 3), dense layer of 4.
fn cnn(activation: Activation, head: Head) -> Architecture {
    Architecture {
        backbone: Backbone::Cnn {
            height: 8,
            width: 6,
            channels: vec![2, 3],
            kernel: 3,
            hidden: 4,
            activation,
        },
        head,
    }
}

/// `mixture(c, covariance)`, with the script's `MIN_SIGMA = float(np.float32(1e-3))`.
fn mixture(target_dim: usize, covariance: CovarianceKind) -> Head {
    Head::Mixture {
        target_dim,
        components: COMPONENTS,
        covariance,
        min_sigma: 1e-3,
    }
}

/// `least_squares(c)`.
fn least_squares(target_dim: usize) -> Head {
    Head::LeastSquares { target_dim }
}

/// The script's `CASES`, in its order, with the constants it printed for each.
fn cases() -> Vec<(Architecture, &'static Reference)> {
    use Activation::{Gelu, Relu, Tanh};
    use CovarianceKind::{Diagonal, Full, Isotropic};
    const HIDDEN: &[usize] = &[6, 5];
    vec![
        (mlp(Tanh, HIDDEN, mixture(1, Isotropic)), &MLP_TANH_ISO_C1),
        (mlp(Relu, HIDDEN, mixture(2, Isotropic)), &MLP_RELU_ISO_C2),
        (mlp(Gelu, HIDDEN, mixture(3, Isotropic)), &MLP_GELU_ISO_C3),
        (mlp(Tanh, HIDDEN, mixture(2, Diagonal)), &MLP_TANH_DIAG_C2),
        (mlp(Gelu, HIDDEN, mixture(2, Diagonal)), &MLP_GELU_DIAG_C2),
        (mlp(Relu, HIDDEN, mixture(3, Diagonal)), &MLP_RELU_DIAG_C3),
        (mlp(Tanh, HIDDEN, mixture(2, Full)), &MLP_TANH_FULL_C2),
        (mlp(Relu, HIDDEN, mixture(2, Full)), &MLP_RELU_FULL_C2),
        (mlp(Gelu, HIDDEN, mixture(3, Full)), &MLP_GELU_FULL_C3),
        (mlp(Tanh, HIDDEN, mixture(3, Full)), &MLP_TANH_FULL_C3),
        (mlp(Relu, HIDDEN, least_squares(2)), &MLP_RELU_SQUARES_C2),
        (mlp(Gelu, HIDDEN, least_squares(1)), &MLP_GELU_SQUARES_C1),
        (mlp(Tanh, &[], mixture(1, Isotropic)), &LINEAR_ISO_C1),
        (mlp(Tanh, &[], mixture(2, Full)), &LINEAR_FULL_C2),
        (cnn(Relu, mixture(2, Isotropic)), &CNN_RELU_ISO_C2),
        (cnn(Gelu, mixture(2, Full)), &CNN_GELU_FULL_C2),
    ]
}

// --- the comparison ---------------------------------------------------------------------------

/// Tolerances, relative. The reference is float64 evaluated at the very f32 parameters and
/// data the kernels see, so what separates the two is f32 rounding alone (ε = 6e-8). Measured
/// on these cases (x86-64, AVX2), the summed loss differs from torch's by at most 2.1e-7 of
/// its size, a tensor's gradient norm by at most 4.7e-7 of the case's largest tensor norm, and
/// a projection by at most 1.1e-7 of ‖g‖·‖d‖ (the Cauchy–Schwarz bound of a projection, and
/// the size its rounding error scales with: a projection may be near 0 while its terms are
/// not). The tolerances are about 10× those, room for another CPU's SIMD path or gemm's
/// blocking; a layout mistake, a wrong sign or a lost factor moves these numbers by percents
/// (a floor of 2e-3 instead of 1e-3 moves the norms by about 1e-3). Norms are blind to a permutation
/// inside a tensor; the projections are not.
const LOSS_TOLERANCE: f64 = 2e-6;
/// Tolerance of the gradient norms (relative to the largest) and projections (relative to
/// ‖g‖·‖d‖); see [`LOSS_TOLERANCE`].
const GRADIENT_TOLERANCE: f64 = 5e-6;

/// The network's summed loss, per-tensor gradient norms and projections, next to the
/// reference: the worst relative errors (loss, norms, projections) against the tolerances'
/// scales, or `Err` with every disagreement.
fn compare(arch: Architecture, reference: &Reference) -> Result<[f64; 3], String> {
    let name = reference.name;
    let arch = arch.check().expect("a valid architecture");
    let params = parameters(&arch);
    let x = inputs(ROWS, arch.input_dim());
    let t = targets(ROWS, arch.target_dim());
    let network = Network::new(arch, params).expect("a valid network");
    let layout = network.param_layout().clone();
    assert_eq!(
        layout.count(),
        reference.norms.len(),
        "{name}: the script and the architecture disagree on the number of tensors"
    );

    let loss = network.loss(&x, &t, None, ROWS).loss;
    let mut grads = vec![0.0f32; network.params().len()];
    let trained = network.gradient(&x, &t, None, ROWS, &mut grads, &mut Vec::new());

    let mut errors = Vec::new();
    let mut worst = [0.0f64; 3];
    let loss_scale = reference.loss.abs().max(1.0);
    for (what, got) in [("loss", loss), ("gradient pass loss", trained.loss)] {
        let error = (got - reference.loss).abs() / loss_scale;
        worst[0] = worst[0].max(error);
        if error > LOSS_TOLERANCE {
            errors.push(format!(
                "{name}: {what} {got} vs torch {} (relative {error:.1e})",
                reference.loss
            ));
        }
    }

    let largest = reference.norms.iter().copied().fold(0.0, f64::max);
    for (k, &expected) in reference.norms.iter().enumerate() {
        let got = grads[layout.range(k)]
            .iter()
            .map(|&g| f64::from(g) * f64::from(g))
            .sum::<f64>()
            .sqrt();
        let error = (got - expected).abs() / largest;
        worst[1] = worst[1].max(error);
        if error > GRADIENT_TOLERANCE {
            errors.push(format!(
                "{name}: ‖∂/∂ tensor {k} {:?}‖ = {got} vs torch {expected} (relative to the largest {error:.1e})",
                layout.tensors()[k].dims
            ));
        }
    }

    let gradient_norm = reference.norms.iter().map(|n| n * n).sum::<f64>().sqrt();
    for (p, &expected) in reference.projections.iter().enumerate() {
        let got: f64 = grads
            .iter()
            .enumerate()
            .map(|(i, &g)| f64::from(g) * direction(p, i))
            .sum();
        let direction_norm = (0..grads.len())
            .map(|i| direction(p, i).powi(2))
            .sum::<f64>()
            .sqrt();
        let error = (got - expected).abs() / (gradient_norm * direction_norm);
        worst[2] = worst[2].max(error);
        if error > GRADIENT_TOLERANCE {
            errors.push(format!(
                "{name}: projection {p} = {got} vs torch {expected} (relative to ‖g‖·‖d‖ {error:.1e})"
            ));
        }
    }
    if errors.is_empty() {
        Ok(worst)
    } else {
        Err(errors.join("\n"))
    }
}

#[test]
fn losses_and_gradients_match_pytorch_in_float64() {
    let mut failures = Vec::new();
    let mut worst = [0.0f64; 3];
    for (arch, reference) in cases() {
        match compare(arch, reference) {
            Ok(errors) => {
                eprintln!(
                    "{:<22} loss {:.1e}  norms {:.1e}  projections {:.1e}",
                    reference.name, errors[0], errors[1], errors[2]
                );
                for (w, e) in worst.iter_mut().zip(errors) {
                    *w = w.max(e);
                }
            }
            Err(message) => failures.push(message),
        }
    }
    eprintln!(
        "worst: loss {:.1e}, norms {:.1e}, projections {:.1e}",
        worst[0], worst[1], worst[2]
    );
    assert!(
        failures.is_empty(),
        "disagreements with PyTorch:\n{}",
        failures.join("\n")
    );
}

// BEGIN: `python crates/mdn-engine/tests/torch/reference.py` (torch 2.15.0+cu132, float64)

/// `Case("mlp_tanh_iso_c1", mlp("tanh"), mixture(1, "isotropic"))`
/// 113 parameters.
/// From `python crates/mdn-engine/tests/torch/reference.py`, torch 2.15.0+cu132.
const MLP_TANH_ISO_C1: Reference = Reference {
    name: "mlp_tanh_iso_c1",
    loss: 8.367891682195786,
    norms: &[
        0.283798368758958,
        0.059874640030206365,
        0.06725470337996432,
        0.08704754403442637,
        0.3869600085599949,
        0.5977654620071804,
    ],
    projections: [0.4490010382765294, 0.5603331631313276, -0.7076935149588127],
};

/// `Case("mlp_relu_iso_c2", mlp("relu"), mixture(2, "isotropic"))`
/// 131 parameters.
/// From `python crates/mdn-engine/tests/torch/reference.py`, torch 2.15.0+cu132.
const MLP_RELU_ISO_C2: Reference = Reference {
    name: "mlp_relu_iso_c2",
    loss: 12.625007623655982,
    norms: &[
        0.08244434016063187,
        0.04334704433504503,
        0.25451156125954105,
        0.4373851054239943,
        0.30488803244138146,
        0.702173496782697,
    ],
    projections: [
        -0.9747483556747782,
        -1.0020289322844596,
        -0.13636679787413533,
    ],
};

/// `Case("mlp_gelu_iso_c3", mlp("gelu"), mixture(3, "isotropic"))`
/// 149 parameters.
/// From `python crates/mdn-engine/tests/torch/reference.py`, torch 2.15.0+cu132.
const MLP_GELU_ISO_C3: Reference = Reference {
    name: "mlp_gelu_iso_c3",
    loss: 15.618858766404024,
    norms: &[
        0.0395458927353346,
        0.07135931232327045,
        0.1614599175905278,
        0.3623668328597454,
        0.3722869778167666,
        1.0870045819337435,
    ],
    projections: [
        -1.221204638550929,
        -1.2538218083148045,
        -0.14139148530760468,
    ],
};

/// `Case("mlp_tanh_diag_c2", mlp("tanh"), mixture(2, "diagonal"))`
/// 149 parameters.
/// From `python crates/mdn-engine/tests/torch/reference.py`, torch 2.15.0+cu132.
const MLP_TANH_DIAG_C2: Reference = Reference {
    name: "mlp_tanh_diag_c2",
    loss: 11.348244792923998,
    norms: &[
        0.020314072167151337,
        0.03555234037246447,
        0.2067945623122927,
        0.2667528682600576,
        0.4107308858514177,
        0.6276261693946455,
    ],
    projections: [
        -0.3466574674627646,
        -0.35958596838670476,
        0.00961691527248959,
    ],
};

/// `Case("mlp_gelu_diag_c2", mlp("gelu"), mixture(2, "diagonal"))`
/// 149 parameters.
/// From `python crates/mdn-engine/tests/torch/reference.py`, torch 2.15.0+cu132.
const MLP_GELU_DIAG_C2: Reference = Reference {
    name: "mlp_gelu_diag_c2",
    loss: 11.518416973095336,
    norms: &[
        0.007836104251368487,
        0.007437257553125821,
        0.07070982836529897,
        0.1676617557444579,
        0.22018254054810116,
        0.6395958183624326,
    ],
    projections: [
        -0.7051561065346982,
        -0.34827409493717293,
        0.06717677969682327,
    ],
};

/// `Case("mlp_relu_diag_c3", mlp("relu"), mixture(3, "diagonal"))`
/// 185 parameters.
/// From `python crates/mdn-engine/tests/torch/reference.py`, torch 2.15.0+cu132.
const MLP_RELU_DIAG_C3: Reference = Reference {
    name: "mlp_relu_diag_c3",
    loss: 20.0890477649661,
    norms: &[
        0.10289787044661808,
        0.19776006398770593,
        0.3209285543552228,
        0.5487979796835377,
        0.38692210484220696,
        0.9054193269772993,
    ],
    projections: [2.773033743283305, 1.1578330528235887, -1.1296116489662131],
};

/// `Case("mlp_tanh_full_c2", mlp("tanh"), mixture(2, "full"))`
/// 167 parameters.
/// From `python crates/mdn-engine/tests/torch/reference.py`, torch 2.15.0+cu132.
const MLP_TANH_FULL_C2: Reference = Reference {
    name: "mlp_tanh_full_c2",
    loss: 10.969661269420207,
    norms: &[
        0.24214263395267324,
        0.36538609217722556,
        0.430878750242792,
        0.557066611616761,
        0.5039541281838246,
        0.7818182307736719,
    ],
    projections: [1.6143476965116732, -0.8261874047556811, 0.4392043296660515],
};

/// `Case("mlp_relu_full_c2", mlp("relu"), mixture(2, "full"))`
/// 167 parameters.
/// From `python crates/mdn-engine/tests/torch/reference.py`, torch 2.15.0+cu132.
const MLP_RELU_FULL_C2: Reference = Reference {
    name: "mlp_relu_full_c2",
    loss: 12.018243665915096,
    norms: &[
        0.2770840138223484,
        0.2503471253244513,
        0.3929859960385612,
        0.7136674142434688,
        0.49880313030937945,
        1.1370114769467914,
    ],
    projections: [0.7718695399934328, -0.5102051460819378, -0.6816382015982674],
};

/// `Case("mlp_gelu_full_c3", mlp("gelu"), mixture(3, "full"))`
/// 239 parameters.
/// From `python crates/mdn-engine/tests/torch/reference.py`, torch 2.15.0+cu132.
const MLP_GELU_FULL_C3: Reference = Reference {
    name: "mlp_gelu_full_c3",
    loss: 21.029466103622674,
    norms: &[
        0.05143067216380663,
        0.12074070395742897,
        0.3023683401694105,
        0.6659107604703893,
        0.3312255294707478,
        0.9775577047772964,
    ],
    projections: [
        1.6297520871554911,
        -0.01302605960960021,
        0.029643114918409437,
    ],
};

/// `Case("mlp_tanh_full_c3", mlp("tanh"), mixture(3, "full"))`
/// 239 parameters.
/// From `python crates/mdn-engine/tests/torch/reference.py`, torch 2.15.0+cu132.
const MLP_TANH_FULL_C3: Reference = Reference {
    name: "mlp_tanh_full_c3",
    loss: 21.356421192894643,
    norms: &[
        0.04914375120534981,
        0.1981603379790679,
        0.9529408501059952,
        1.1132998849329763,
        0.6265471311992429,
        0.9663204125167372,
    ],
    projections: [1.7026483027836388, 0.3487886303469797, 0.11752722602410275],
};

/// `Case("mlp_relu_squares_c2", mlp("relu"), least_squares(2))`
/// 71 parameters.
/// From `python crates/mdn-engine/tests/torch/reference.py`, torch 2.15.0+cu132.
const MLP_RELU_SQUARES_C2: Reference = Reference {
    name: "mlp_relu_squares_c2",
    loss: 1.759774300033552,
    norms: &[
        0.11149770638318769,
        0.1020940193532668,
        0.10122017789755086,
        0.17704544137495165,
        0.1275081254369051,
        0.26755254596687655,
    ],
    projections: [
        0.2270933608576789,
        -0.33758142143973313,
        -0.059690353595877044,
    ],
};

/// `Case("mlp_gelu_squares_c1", mlp("gelu"), least_squares(1))`
/// 65 parameters.
/// From `python crates/mdn-engine/tests/torch/reference.py`, torch 2.15.0+cu132.
const MLP_GELU_SQUARES_C1: Reference = Reference {
    name: "mlp_gelu_squares_c1",
    loss: 1.6818879198862244,
    norms: &[
        0.17675175932892714,
        0.020845179796906792,
        0.028350056411656326,
        0.011371675209703275,
        0.02090016521611397,
        0.006664002501672997,
    ],
    projections: [
        -0.02248718210232457,
        -0.009262233251329043,
        0.03844700646999203,
    ],
};

/// `Case("linear_iso_c1", mlp("tanh", hidden=()), mixture(1, "isotropic"))`
/// 36 parameters.
/// From `python crates/mdn-engine/tests/torch/reference.py`, torch 2.15.0+cu132.
const LINEAR_ISO_C1: Reference = Reference {
    name: "linear_iso_c1",
    loss: 11.465801902242369,
    norms: &[3.931105638192889, 1.5452941300726675],
    projections: [0.5493200613494078, 5.634369014723251, -1.278322431917489],
};

/// `Case("linear_full_c2", mlp("tanh", hidden=()), mixture(2, "full"))`
/// 72 parameters.
/// From `python crates/mdn-engine/tests/torch/reference.py`, torch 2.15.0+cu132.
const LINEAR_FULL_C2: Reference = Reference {
    name: "linear_full_c2",
    loss: 26.746933216562773,
    norms: &[15.789476276561317, 8.527065194187541],
    projections: [-12.076581953672731, 8.341058849448336, 3.4767969721709524],
};

/// `Case("cnn_relu_iso_c2", cnn("relu"), mixture(2, "isotropic"))`
/// 165 parameters; 17 max-pool windows of dead ReLUs (all 0, no gradient).
/// From `python crates/mdn-engine/tests/torch/reference.py`, torch 2.15.0+cu132.
const CNN_RELU_ISO_C2: Reference = Reference {
    name: "cnn_relu_iso_c2",
    loss: 12.272948987946057,
    norms: &[
        0.04840436898263557,
        0.011616654671103442,
        0.11090570306947725,
        0.020477278506308445,
        1.4612493853276758,
        0.697073739877471,
        0.8330594774281083,
        0.670962085675033,
    ],
    projections: [-0.06905864104895398, 0.5733461779944701, 0.5568428954363801],
};

/// `Case("cnn_gelu_full_c2", cnn("gelu"), mixture(2, "full"))`
/// 195 parameters.
/// From `python crates/mdn-engine/tests/torch/reference.py`, torch 2.15.0+cu132.
const CNN_GELU_FULL_C2: Reference = Reference {
    name: "cnn_gelu_full_c2",
    loss: 12.879599807591909,
    norms: &[
        1.2888578198132554,
        0.6117009836466358,
        1.089902784194347,
        0.24903034096251359,
        0.9825732520736065,
        0.4265710057813408,
        0.6243278291939738,
        0.655566082761891,
    ],
    projections: [0.6297577714816083, 1.796509444080838, 0.0530439372800661],
};

// END
