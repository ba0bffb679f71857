"""A model file written by `mdn train` is a plain safetensors file: NumPy alone, with the
`safetensors` package, reads its weights and metadata and reproduces `mdn predict --output
params` through a forward pass of a few lines.

Run by .ci/run after `cargo test` (which builds target/debug/mdn); MDN=path/to/mdn overrides.
"""

import csv
import io
import json
import math
import os
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parents[2]
# Relative to the repository root unless absolute (the tests run `mdn` in temporary folders).
MDN = str((ROOT / os.environ.get("MDN", "target/debug/mdn")).resolve())
ERF = np.vectorize(math.erf)


def mdn(*args, cwd):
    return subprocess.run([MDN, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def forward(path, x):
    """Mixture parameters in the data's units for rows `x`: weights, means, sigmas [n, m, c]."""
    weights = load_file(path)
    with safe_open(path, "np") as f:
        meta = json.loads(f.metadata()["mdn"])
    arch, scale = meta["architecture"], meta["target_scaler"]
    (mlp,) = arch["backbone"].values()
    head = arch["head"]["mixture"]
    act = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0),
           "gelu": lambda z: 0.5 * z * (1.0 + ERF(z / math.sqrt(2.0)))}[mlp["activation"]]
    h = ((x - meta["input_scaler"]["mean"]) / meta["input_scaler"]["std"]).astype(np.float32)
    for layer in range(len(mlp["hidden"])):
        h = act(h @ weights[f"backbone.{layer}.weight"] + weights[f"backbone.{layer}.bias"])
    raw = (h @ weights["head.weight"] + weights["head.bias"]).astype(np.float64)
    m, c = head["components"], head["target_dim"]
    logits, means = raw[:, :m], raw[:, m:m + m * c].reshape(-1, m, c)
    alpha = np.exp(logits - logits.max(1, keepdims=True))
    alpha /= alpha.sum(1, keepdims=True)
    z = raw[:, m + m * c:m + m * c + (m if head["covariance"] == "isotropic" else m * c)]
    sigma = head["min_sigma"] + np.logaddexp(0.0, z)  # softplus
    sigma = sigma.reshape(len(x), m, -1) * np.ones((1, 1, c))
    s, mu = np.array(scale["std"]), np.array(scale["mean"])
    return alpha, means * s + mu, sigma * s


def predicted(text, m, targets):
    """What `mdn predict --output params` printed: weights [n, m], means and sigmas [n, m, c]."""
    rows = list(csv.DictReader(io.StringIO(text)))
    alpha = np.array([[float(r[f"alpha_{k}"]) for k in range(m)] for r in rows])
    per = lambda what: np.array(
        [[[float(r[f"{what}_{k}_{t}"]) for t in targets] for k in range(m)] for r in rows])
    return alpha, per("mean"), per("sigma")


@pytest.mark.parametrize("case", ["toy", "robot"])
def test_numpy_reproduces_predicted_parameters(tmp_path, case):
    if case == "toy":
        mdn("data", "toy", "--n", "300", "--out", "d.csv", cwd=tmp_path)
        inputs, targets, extra = ["x"], ["t"], ["--activation", "gelu"]
    else:
        mdn("data", "robot", "--n", "300", "--out", "d.csv", cwd=tmp_path)
        inputs, targets, extra = ["x1", "x2"], ["th1", "th2"], ["--covariance", "diagonal"]
    mdn("train", "--data", "d.csv", "--inputs", ",".join(inputs), "--targets", ",".join(targets),
        "--out", "m.mdn", "--epochs", "5", "--hidden", "8,6", "--components", "3", "--quiet",
        "--ensemble", "1", *extra, cwd=tmp_path)
    params = mdn("predict", "--model", "m.mdn", "--data", "d.csv", "--output", "params",
                 cwd=tmp_path)
    with open(tmp_path / "d.csv") as f:
        x = np.array([[float(r[k]) for k in inputs] for r in csv.DictReader(f)])
    ours = forward(str(tmp_path / "m.mdn"), x)
    theirs = predicted(params, 3, targets)
    for name, a, b in zip(["alpha", "mean", "sigma"], ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6, err_msg=f"{case}: {name}")


def test_the_checksum_is_crc32_over_metadata_and_tensors(tmp_path):
    mdn("data", "toy", "--n", "100", "--out", "d.csv", cwd=tmp_path)
    mdn("train", "--data", "d.csv", "--inputs", "x", "--targets", "t", "--out", "m.mdn",
        "--epochs", "2", "--quiet", cwd=tmp_path)
    path = str(tmp_path / "m.mdn")
    with safe_open(path, "np") as f:
        metadata = f.metadata()
        tensors = {name: f.get_tensor(name) for name in f.keys()}
    crc = 0
    for key in sorted(k for k in metadata if k != "checksum"):
        crc = zlib.crc32(key.encode() + b"\0" + metadata[key].encode() + b"\0", crc)
    for name in sorted(tensors):
        t = tensors[name]
        shape = ",".join(map(str, t.shape)).encode()
        crc = zlib.crc32(name.encode() + b"\0F32\0" + shape + b"\0" + t.astype("<f4").tobytes(), crc)
    assert metadata["checksum"] == f"crc32:{crc:08x}"
    assert metadata["format"] == "mdn-model" and metadata["format_version"] == "3"
