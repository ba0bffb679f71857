"""The harness's mdn path and protocol pieces, with a stand-in `mdn` (a small Python script
that speaks the same CLI: train / info / eval / predict --output params), so no Rust build is
needed."""

import json
import stat
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import protocol
from datasets import DatasetSpec, Prepared, design_matrix, detect_grid

FAKE_MDN = textwrap.dedent(
    """\
    #!PYTHON
    # Stand-in for mdn: one Gaussian (split into two equal components) fit to the target,
    # or to its log with --log-targets; refuses text columns unless told to accept them.
    import json, math, sys
    import csv
    args = sys.argv[1:]
    cmd = args[0]
    def opt(name, default=None):
        return args[args.index(name) + 1] if name in args else default
    if cmd == "--version":
        print("mdn 0.0-fake"); sys.exit(0)
    if cmd == "train":
        rows = list(csv.DictReader(open(opt("--data"))))
        t = opt("--targets")
        for c in opt("--inputs").split(","):
            for r in rows:
                try:
                    float(r[c])
                except ValueError:
                    if "--accept-text" not in args:
                        print(f"error: {opt('--data')}: column '{c}': '{r[c]}' is not a number",
                              file=sys.stderr)
                        sys.exit(1)
        y = [float(r[t]) for r in rows]
        log = opt("--log-targets") == t
        z = [math.log(v) for v in y] if log else y
        m = sum(z) / len(z)
        s = math.sqrt(sum((v - m) ** 2 for v in z) / len(z))
        json.dump({"mean": m, "sd": s, "log": log, "target": t}, open(opt("--out"), "w"))
    elif cmd == "info":
        d = json.load(open(opt("--model")))
        print(json.dumps({"kind": "mdn", "components": 2, "training": {"config": {}}}))
    elif cmd in ("eval", "predict"):
        d = json.load(open(opt("--model")))
        rows = list(csv.DictReader(open(opt("--data"))))
        if cmd == "eval":
            nll = 0.0
            for r in rows:
                y = float(r[d["target"]])
                z = math.log(y) if d["log"] else y
                nll += 0.5 * ((z - d["mean"]) / d["sd"]) ** 2 + math.log(d["sd"])
                nll += 0.5 * math.log(2 * math.pi) + (z if d["log"] else 0.0)
            print(json.dumps({"n": len(rows), "nll": nll / len(rows)}))
        else:
            t = ("log_" if d["log"] else "") + d["target"]
            with open(opt("--out"), "w") as f:
                f.write(f"row,alpha_0,mean_0_{t},sigma_0_{t},alpha_1,mean_1_{t},sigma_1_{t}\\n")
                for i, _ in enumerate(rows):
                    m, s = repr(d["mean"]), repr(d["sd"])
                    f.write(f"{i},0.5,{m},{s},0.5,{m},{s}\\n")
    """
)


@pytest.fixture()
def fake_mdn(tmp_path):
    path = tmp_path / "mdn"
    path.write_text(FAKE_MDN.replace("PYTHON", sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def prepared(spec, n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    g = rng.choice(["a b", "c"], size=n)
    y = np.exp(rng.normal(5.0, 0.5, size=n)) if spec.log_target else rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "g": g, spec.target: y})
    frame = frame[list(spec.inputs) + [spec.target]]
    return Prepared(spec, frame, y.copy(), n, 0, n, None, 0)


def test_mdn_log_target_is_scored_in_original_units(fake_mdn):
    spec = DatasetSpec("t", "p", "i", "wage", ("x",), log_target=True,
                       mdn_flags=("--log-targets", "wage"))
    prep = prepared(spec)
    tr, te = np.arange(100), np.arange(100, 120)
    r = protocol.run_fold(prep, "mdn", 0, tr, te, fake_mdn, "")
    assert r["info"]["params_space"] == "log"
    z = np.log(prep.y[tr])
    m, s = z.mean(), z.std()
    y = prep.y[te]
    expected = np.mean(-norm.logpdf(np.log(y), m, s) + np.log(y))
    assert r["nll"] == pytest.approx(expected, rel=1e-10)
    assert r["mdn_eval_nll"] == pytest.approx(expected, rel=1e-10)
    assert "--log-targets wage" in r["info"]["command"]


def test_mdn_failure_is_recorded_not_raised(fake_mdn):
    spec = DatasetSpec("t", "p", "i", "y", ("x", "g"), categorical=("g",))
    prep = prepared(spec)
    out = protocol.run_method(prep, "mdn", protocol.folds(len(prep.frame))[:3], fake_mdn, "",
                              log=lambda s: None)
    assert out["status"] == "failed"
    assert "is not a number" in out["error"]
    assert len(out["folds"]) == 1  # stops after the first failing fold


def test_mdn_gets_raw_text_columns_and_extra_args(fake_mdn):
    spec = DatasetSpec("t", "p", "i", "y", ("x", "g"), categorical=("g",))
    prep = prepared(spec)
    splits = protocol.folds(len(prep.frame))[:2]
    out = protocol.run_method(prep, "mdn", splits, fake_mdn, "--accept-text",
                              log=lambda s: None)
    assert out["status"] == "ok", out.get("error")
    f = out["folds"][0]
    assert f["nll"] == pytest.approx(f["mdn_eval_nll"], rel=1e-10)


def test_baselines_run_and_gmm_is_gated():
    spec = DatasetSpec("t", "p", "i", "y", ("x", "g"), categorical=("g",))
    prep = prepared(spec)
    splits = protocol.folds(len(prep.frame))[:2]
    lin = protocol.run_method(prep, "linear", splits, "", "", log=lambda s: None)
    assert lin["status"] == "ok" and len(lin["folds"]) == 2
    assert protocol.run_method(prep, "gmm", splits, "", "")["status"] == "skipped"
    s = protocol.summarise(lin)
    assert np.isfinite(s["nll"]) and np.isfinite(s["crps_se"])
    d = protocol.paired_difference(lin, lin, "nll")
    assert d == (0.0, 0.0)


def test_design_matrix_one_hot_with_fixed_levels():
    spec = DatasetSpec("t", "p", "i", "y", ("x", "g"), categorical=("g",))
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "g": ["b", "a", "c"], "y": [0.0, 0.0, 0.0]})
    X, names = design_matrix(frame, spec, {"g": ["a", "b", "c"]})
    assert names == ["x", "g=b", "g=c"]
    np.testing.assert_array_equal(X, [[1, 1, 0], [2, 0, 0], [3, 0, 1]])


def test_folds_and_grid_detection():
    assert protocol.n_folds(9_999) == 10 and protocol.n_folds(10_000) == 5
    a = [te for _, te in protocol.folds(50)]
    b = [te for _, te in protocol.folds(50)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert np.array_equal(np.sort(np.concatenate(a)), np.arange(50))
    assert detect_grid(np.array([4.0, 4.3, 5.1])) == 0.1
    assert detect_grid(np.array([12.0, 31.0, -4.0])) == 1.0
    assert detect_grid(np.array([354.94, 123.46])) == 0.01
    assert detect_grid(np.exp([4.7, 4.1])) is None


def test_json_round_trip_of_results_is_plain():
    spec = DatasetSpec("t", "p", "i", "y", ("x",))
    prep = prepared(spec)
    out = protocol.run_method(prep, "linear", protocol.folds(120)[:2], "", "", log=lambda s: None)
    json.dumps(out, default=float)
