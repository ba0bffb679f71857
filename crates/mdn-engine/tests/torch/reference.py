"""Reference losses and gradients of mdn-engine's networks, computed by PyTorch in float64.

    python crates/mdn-engine/tests/torch/reference.py > /tmp/reference.rs

prints the constants that `crates/mdn-engine/tests/torch_reference.rs` quotes (paste them between
its `BEGIN`/`END` markers, then `rustfmt --edition 2024` that file). Produced with torch
2.15.0+cu132 (the PyPI Linux wheel, run on the CPU), numpy 2.4.6, Python 3.11.7.

Nothing here is random: parameters, inputs and targets come from closed-form formulas that the
Rust test evaluates the same way (in f64, then rounded to f32). The values are rounded to f32
here too before the float64 computation, so the reference is the exact float64 result at the
very numbers the f32 kernels see; what is left between the two is f32 arithmetic alone.

    parameter i of tensor k  = 0.9 · sin(0.7·i + 1.7·k + 0.1) / √fan_in(k)
    input x[r, j]            = 1.2 · sin(0.9·r + 0.37·j + 0.2)
    target t[r, j]           = 0.8 · sin(0.6·r − 0.45·j + 0.5)
    direction d_p[i]         = cos(0.31·i·(p + 1)),  p = 0, 1, 2

with i the row-major index inside the tensor (tensor k of `Architecture::tensor_shapes`, each
weight then its bias), r the row, j the feature (a pixel, row-major, for the CNN), and fan_in
the first dimension of a dense weight `[inputs, outputs]`, c_in·k·k of a convolution weight
`[c_out, c_in, k, k]`, and for a bias that of the weight before it.

For each case the script prints the summed loss over the batch (`LossSums::loss`: −log p(t|x)
for a mixture, the mean squared error over the c targets for least squares), the L2 norm of
the gradient of the *mean* loss with respect to each parameter tensor, and the projections
Σ_i g_i d_p[i] of the whole flat gradient on the three directions.
"""

import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

ROWS = 7
COMPONENTS = 3
MIN_SIGMA = float(np.float32(1e-3))  # the f32 floor the Rust side uses
# f32 rounding moves a pre-activation or a pooling candidate by ~1e-7 of its size; nothing may
# be this close to a kink, or the f32 and float64 networks could take different branches.
MARGIN = 1e-4


def f32(values):
    """float64 values rounded to f32, back in float64."""
    return torch.tensor(np.asarray(values, dtype=np.float64).astype(np.float32).astype(np.float64))


# --- architectures (mirroring mdn_engine::Architecture) -------------------------------------------


def mlp(activation, hidden=(6, 5), inputs=3):
    return {"kind": "mlp", "activation": activation, "hidden": list(hidden), "input": inputs}


def cnn(activation):
    return {
        "kind": "cnn",
        "activation": activation,
        "height": 8,
        "width": 6,
        "channels": [2, 3],
        "kernel": 3,
        "hidden": 4,
    }


def mixture(c, covariance):
    return {"kind": "mixture", "c": c, "m": COMPONENTS, "covariance": covariance}


def least_squares(c):
    return {"kind": "squares", "c": c}


def head_width(head):
    if head["kind"] == "squares":
        return head["c"]
    m, c = head["m"], head["c"]
    scales = {"isotropic": 1, "diagonal": c, "full": c * (c + 1) // 2}[head["covariance"]]
    return m * (1 + c + scales)


def input_dim(backbone):
    if backbone["kind"] == "mlp":
        return backbone["input"]
    return backbone["height"] * backbone["width"]


def tensor_shapes(backbone, head):
    """`Architecture::tensor_shapes`: each layer's weight then bias, in forward order."""
    shapes = []
    if backbone["kind"] == "mlp":
        width = backbone["input"]
        for nxt in backbone["hidden"]:
            shapes += [[width, nxt], [nxt]]
            width = nxt
        features = width
    else:
        c_in, k = 1, backbone["kernel"]
        for c_out in backbone["channels"]:
            shapes += [[c_out, c_in, k, k], [c_out]]
            c_in = c_out
        halvings = len(backbone["channels"])
        flat = c_in * (backbone["height"] >> halvings) * (backbone["width"] >> halvings)
        shapes += [[flat, backbone["hidden"]], [backbone["hidden"]]]
        features = backbone["hidden"]
    shapes += [[features, head_width(head)], [head_width(head)]]
    return shapes


# --- the closed-form numbers -------------------------------------------------------------------


def parameters(shapes):
    params, fan_in = [], 1
    for k, shape in enumerate(shapes):
        if len(shape) == 2:
            fan_in = shape[0]
        elif len(shape) == 4:
            fan_in = shape[1] * shape[2] * shape[3]
        # a bias keeps the fan_in of the weight before it
        n = math.prod(shape)
        values = [0.9 * math.sin(0.7 * i + 1.7 * k + 0.1) / math.sqrt(fan_in) for i in range(n)]
        params.append(f32(values).reshape(shape).requires_grad_(True))
    return params


def inputs(rows, d):
    return f32([[1.2 * math.sin(0.9 * r + 0.37 * j + 0.2) for j in range(d)] for r in range(rows)])


def targets(rows, c):
    return f32([[0.8 * math.sin(0.6 * r - 0.45 * j + 0.5) for j in range(c)] for r in range(rows)])


def directions(n):
    return torch.tensor([[math.cos(0.31 * i * (p + 1)) for i in range(n)] for p in range(3)])


# --- the network -------------------------------------------------------------------------------


def check_margin(pre, activation, what):
    """No pre-activation within MARGIN of a kink (ReLU's 0; GELU and tanh are smooth)."""
    if activation == "relu":
        closest = pre.abs().min().item()
        assert closest > MARGIN, f"{what}: a ReLU input is {closest:.2e} from 0"


def activate(pre, activation, what):
    check_margin(pre.detach(), activation, what)
    if activation == "tanh":
        return torch.tanh(pre)
    if activation == "relu":
        return F.relu(pre)
    return F.gelu(pre, approximate="none")  # exact erf form


def check_pool(a, what):
    """No tie (or near tie) for the maximum of any 2 × 2 window that passes a gradient on.

    A window whose four values are ReLU outputs clamped to exactly 0 is a tie whichever entry
    wins, but every candidate has ReLU slope 0 there, so the gradient through it is 0 in any
    implementation; such windows are counted and allowed. Any other window must have a unique
    maximum, clear of the runner-up by MARGIN."""
    n, ch, h, w = a.shape
    windows = a[:, :, : h // 2 * 2, : w // 2 * 2].reshape(n, ch, h // 2, 2, w // 2, 2)
    windows = windows.permute(0, 1, 2, 4, 3, 5).reshape(-1, 4)
    top2 = windows.topk(2, dim=1).values
    dead = (windows == 0).all(dim=1)
    gap = (top2[:, 0] - top2[:, 1])[~dead]
    assert gap.numel() == 0 or gap.min().item() > MARGIN, f"{what}: a max-pool window ties"
    return int(dead.sum())


def forward(backbone, head, params, x):
    """Raw head outputs `[rows, width]` and the number of all-zero (dead ReLU) pool windows."""
    act, k, dead = backbone["activation"], 0, 0
    if backbone["kind"] == "mlp":
        h = x
        for l in range(len(backbone["hidden"])):
            h = activate(h @ params[k] + params[k + 1], act, f"dense {l}")  # x @ W + b
            k += 2
    else:
        h = x.reshape(-1, 1, backbone["height"], backbone["width"])  # row-major pixels, NCHW
        for l in range(len(backbone["channels"])):
            pad = backbone["kernel"] // 2  # "same" padding
            h = activate(F.conv2d(h, params[k], params[k + 1], padding=pad), act, f"conv {l}")
            dead += check_pool(h.detach(), f"pool {l}")
            h = F.max_pool2d(h, 2)  # stride 2, floor mode
            k += 2
        h = h.flatten(1)  # channel-major (NCHW)
        h = activate(h @ params[k] + params[k + 1], act, "dense")
        k += 2
    return h @ params[k] + params[k + 1], dead


def head_loss(head, raw, t):
    """Σ over rows of the per-row loss, as `LossSums::loss` defines it."""
    c = head["c"]
    if head["kind"] == "squares":
        return ((raw - t) ** 2).mean(dim=1).sum()  # per row: mean squared error over c
    m, cov, rows = head["m"], head["covariance"], raw.shape[0]
    logits = raw[:, :m]
    means = raw[:, m : m + m * c].reshape(rows, m, c)  # component-major
    scales = raw[:, m + m * c :]
    if cov == "isotropic":
        sigma = MIN_SIGMA + F.softplus(scales)  # [rows, m]
        chol = sigma[:, :, None, None] * torch.eye(c)
    elif cov == "diagonal":
        sigma = MIN_SIGMA + F.softplus(scales.reshape(rows, m, c))
        chol = torch.diag_embed(sigma)
    else:
        diagonal = MIN_SIGMA + F.softplus(scales[:, : m * c].reshape(rows, m, c))
        lower = scales[:, m * c :].reshape(rows, m, c * (c - 1) // 2)
        assert lower.shape[2] * m + m * c == scales.shape[1]
        chol = torch.diag_embed(diagonal)
        rows_idx, cols_idx = torch.tril_indices(c, c, offset=-1)  # (1,0), (2,0), (2,1), …
        off = torch.zeros(rows, m, c, c)
        off[:, :, rows_idx, cols_idx] = lower
        chol = chol + off
    # Σ = L Lᵀ, handed to torch as a covariance matrix: torch factorises it itself.
    covariance = chol @ chol.transpose(-1, -2)
    density = torch.distributions.MultivariateNormal(means, covariance_matrix=covariance)
    log_phi = density.log_prob(t[:, None, :])  # [rows, m]
    log_alpha = torch.log_softmax(logits, dim=1)
    return -torch.logsumexp(log_alpha + log_phi, dim=1).sum()


# --- the cases ---------------------------------------------------------------------------------


class Case:
    def __init__(self, name, backbone, head):
        self.name, self.backbone, self.head = name, backbone, head


# fmt: off
CASES = [
    Case("mlp_tanh_iso_c1", mlp("tanh"), mixture(1, "isotropic")),
    Case("mlp_relu_iso_c2", mlp("relu"), mixture(2, "isotropic")),
    Case("mlp_gelu_iso_c3", mlp("gelu"), mixture(3, "isotropic")),
    Case("mlp_tanh_diag_c2", mlp("tanh"), mixture(2, "diagonal")),
    Case("mlp_gelu_diag_c2", mlp("gelu"), mixture(2, "diagonal")),
    Case("mlp_relu_diag_c3", mlp("relu"), mixture(3, "diagonal")),
    Case("mlp_tanh_full_c2", mlp("tanh"), mixture(2, "full")),
    Case("mlp_relu_full_c2", mlp("relu"), mixture(2, "full")),
    Case("mlp_gelu_full_c3", mlp("gelu"), mixture(3, "full")),
    Case("mlp_tanh_full_c3", mlp("tanh"), mixture(3, "full")),
    Case("mlp_relu_squares_c2", mlp("relu"), least_squares(2)),
    Case("mlp_gelu_squares_c1", mlp("gelu"), least_squares(1)),
    Case("linear_iso_c1", mlp("tanh", hidden=()), mixture(1, "isotropic")),
    Case("linear_full_c2", mlp("tanh", hidden=()), mixture(2, "full")),
    Case("cnn_relu_iso_c2", cnn("relu"), mixture(2, "isotropic")),
    Case("cnn_gelu_full_c2", cnn("gelu"), mixture(2, "full")),
]
# fmt: on


def case_lines():
    """Each case's source line, to quote next to its constants."""
    lines = {}
    with open(__file__) as f:
        for line in f:
            line = line.strip()
            if line.startswith('Case("'):
                lines[line.split('"')[1]] = line.rstrip(",")
    return lines


def rust_float(v):
    return repr(float(v))


def run(case):
    shapes = tensor_shapes(case.backbone, case.head)
    params = parameters(shapes)
    x = inputs(ROWS, input_dim(case.backbone))
    t = targets(ROWS, case.head["c"])
    raw, dead = forward(case.backbone, case.head, params, x)
    loss = head_loss(case.head, raw, t)
    grads = torch.autograd.grad(loss / ROWS, params)  # the gradient of the MEAN loss
    norms = [g.norm().item() for g in grads]
    flat = torch.cat([g.reshape(-1) for g in grads])
    projections = (directions(flat.numel()) @ flat).tolist()
    return loss.item(), norms, projections, dead, flat.numel()


def main():
    lines = case_lines()
    out = sys.stdout
    version = torch.__version__
    command = "python crates/mdn-engine/tests/torch/reference.py"
    out.write(f"// BEGIN: `{command}` (torch {version}, float64)\n")
    for case in CASES:
        loss, norms, projections, dead, n = run(case)
        const = case.name.upper()
        out.write(f"\n/// `{lines[case.name]}`\n")
        out.write(f"/// {n} parameters")
        if dead:
            out.write(f"; {dead} max-pool windows of dead ReLUs (all 0, no gradient)")
        out.write(".\n")
        out.write(f"/// From `python crates/mdn-engine/tests/torch/reference.py`, torch {version}.\n")
        out.write(f"const {const}: Reference = Reference {{\n")
        out.write(f'    name: "{case.name}",\n')
        out.write(f"    loss: {rust_float(loss)},\n")
        out.write("    norms: &[\n")
        for v in norms:
            out.write(f"        {rust_float(v)},\n")
        out.write("    ],\n")
        out.write("    projections: [\n")
        for v in projections:
            out.write(f"        {rust_float(v)},\n")
        out.write("    ],\n")
        out.write("};\n")
    out.write("\n// END\n")


if __name__ == "__main__":
    main()
