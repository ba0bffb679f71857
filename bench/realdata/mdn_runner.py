"""mdn through its command-line tool, one fold at a time.

The fold's rows are written as CSV (raw columns: categoricals stay text, no encoding), then

    mdn train --data train.csv --inputs ... --targets T --out m.mdn --quiet --seed FOLD [flags]
    mdn eval --model m.mdn --data test.csv                 (JSON: n, nll, ...)
    mdn predict --model m.mdn --data test.csv --output params --out params.csv

and the mixture parameters are scored with the same code as every baseline. A failing command
raises MdnError with mdn's own error message.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from scoring import Mixture


class MdnError(RuntimeError):
    pass


def _run(cmd, cwd):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        msg = (proc.stderr.strip() or proc.stdout.strip() or f"exit status {proc.returncode}")
        # Keep the `error: ...` line(s) and drop clap's usage/help tail.
        lines = [ln for ln in msg.splitlines() if ln.strip()]
        keep = [ln for ln in lines if ln.lower().startswith("error")] or lines[:1]
        raise MdnError(f"`mdn {cmd[1]}` failed: " + " / ".join(keep)[:400])
    return proc.stdout


def parse_params(path: Path, target: str) -> tuple[Mixture, str]:
    """The mixture of `predict --output params`, and the space it describes: "log" when the
    header names the target's logarithm (`mean_K_log_<target>`, what `--log-targets` writes),
    "raw" otherwise."""
    df = pd.read_csv(path)
    alpha = sorted((c for c in df.columns if re.fullmatch(r"alpha_\d+", c)),
                   key=lambda c: int(c.split("_")[1]))
    ks = [c.split("_")[1] for c in alpha]
    space = "log" if f"mean_{ks[0]}_log_{target}" in df.columns else "raw"
    name = f"log_{target}" if space == "log" else target
    w = df[alpha].to_numpy(dtype=float)
    mu = df[[f"mean_{k}_{name}" for k in ks]].to_numpy(dtype=float)
    sd = df[[f"sigma_{k}_{name}" for k in ks]].to_numpy(dtype=float)
    return Mixture(w, mu, sd), space


def fit_predict(binary: str, train: pd.DataFrame, test: pd.DataFrame, inputs, target: str,
                seed: int, flags=(), extra_args: str = "", workdir: str | None = None):
    """Train on `train`, predict `test`. Returns (Mixture, info) where info holds the wall
    times and mdn's own eval JSON."""
    with tempfile.TemporaryDirectory(prefix="mdn-realdata-", dir=workdir) as tmp:
        tmp = Path(tmp)
        train.to_csv(tmp / "train.csv", index=False)
        test.to_csv(tmp / "test.csv", index=False)
        cmd = [binary, "train", "--data", "train.csv", "--inputs", ",".join(inputs),
               "--targets", target, "--out", "m.mdn", "--quiet", "--seed", str(seed)]
        cmd += list(flags) + shlex.split(extra_args)
        t0 = time.perf_counter()
        _run(cmd, tmp)
        fit_s = time.perf_counter() - t0
        model_info = summarise_info(_run([binary, "info", "--model", "m.mdn"], tmp))
        t0 = time.perf_counter()
        out = _run([binary, "eval", "--model", "m.mdn", "--data", "test.csv"], tmp)
        ev = json.loads(out)
        _run([binary, "predict", "--model", "m.mdn", "--data", "test.csv", "--output", "params",
              "--out", "params.csv"], tmp)
        predict_s = time.perf_counter() - t0
        mix, space = parse_params(tmp / "params.csv", target)
    if len(mix) != len(test):
        raise MdnError(f"mdn predict gave {len(mix)} rows for {len(test)} test rows")
    return mix, {"fit_s": fit_s, "predict_s": predict_s, "mdn_eval": ev, "model": model_info,
                 "params_space": space,
                 "command": " ".join(shlex.quote(c) for c in cmd[1:])}


def summarise_info(text: str) -> dict:
    """The parts of `mdn info` that say what was trained (not the scalers)."""
    try:
        d = json.loads(text)
    except json.JSONDecodeError:
        return {"raw": text[:2000]}
    out = {k: d.get(k) for k in ("kind", "components", "parameters", "created_by")}
    net = d.get("network") or {}
    bb = net.get("backbone") or {}
    mlp = bb.get("Mlp") if isinstance(bb, dict) else None
    if mlp:
        out["hidden"], out["activation"] = mlp.get("hidden"), mlp.get("activation")
    head = (net.get("head") or {}).get("Mixture")
    if head:
        out["covariance"], out["min_sigma"] = head.get("covariance"), head.get("min_sigma")
    tr = d.get("training") or {}
    out["config"] = tr.get("config")
    for k in ("epochs_run", "best_epoch", "stopped_early", "train_rows", "validation_rows",
              "seconds", "engine"):
        out[k] = tr.get(k)
    # Anything else a newer mdn reports about its targets (e.g. log transforms) is kept too.
    for k, v in d.items():
        if k not in out and k not in ("network", "training", "input_scaler", "target_scaler",
                                      "inputs", "targets", "input_names", "target_names",
                                      "format_version", "residual_std"):
            out[k] = v
    return out


def version(binary: str) -> str:
    try:
        return subprocess.run([binary, "--version"], capture_output=True, text=True,
                              timeout=30).stdout.strip() or "unknown"
    except Exception as e:  # noqa: BLE001
        return f"unavailable ({e})"
