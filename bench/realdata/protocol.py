"""The protocol: K-fold cross-validation with fixed seeds, every method on the same folds and
the same (dequantised) targets, scored by the same code.

* folds: 10 below 10,000 rows, 5 from there on; scikit-learn KFold(shuffle=True,
  random_state=0) on the prepared rows; --folds-cap N runs only the first N of them;
* seeds: fold i (0-based) trains every method with seed i (mdn --seed i, NGBoost
  random_state=i and its validation split, GaussianMixture random_state=i);
* scores per fold: the mean over the fold's test rows of NLL and CRPS, in original units.
"""

from __future__ import annotations

import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from sklearn.model_selection import KFold

import baselines
import mdn_runner
import scoring
from datasets import Prepared, category_levels, design_matrix

FOLD_SEED = 0
SMALL_TABLE_ROWS = 10_000


def n_folds(n_rows: int) -> int:
    return 10 if n_rows < SMALL_TABLE_ROWS else 5


def folds(n_rows: int):
    kf = KFold(n_splits=n_folds(n_rows), shuffle=True, random_state=FOLD_SEED)
    return list(kf.split(np.arange(n_rows)))


# mdn as the benchmark runs it: with its defaults, and as a single network (its defaults
# train an ensemble). The flags come before --mdn-args, which may override them.
MDN_VARIANTS = {"mdn": (), "mdn_single": ("--ensemble", "1")}


def applicable(method: str, prep: Prepared) -> str | None:
    """None when the method runs on this table, else the reason it does not."""
    spec = prep.spec
    if method == "gmm":
        if spec.categorical:
            return "categorical inputs"
        if len(spec.numeric_inputs) > baselines.GMM_MAX_NUMERIC_INPUTS:
            return f"more than {baselines.GMM_MAX_NUMERIC_INPUTS} numeric inputs"
    return None


def _score(mix, y, log_target):
    nll = scoring.nll(mix, y, log_target)
    crps = scoring.crps(mix, y, log_target)
    return float(np.mean(nll)), float(np.mean(crps))


def run_fold(prep: Prepared, method: str, fold: int, train_idx, test_idx, mdn_binary: str,
             mdn_args: str) -> dict:
    spec = prep.spec
    frame = prep.frame
    y = prep.y
    y_te = y[test_idx]
    out = {"fold": fold, "n_train": int(len(train_idx)), "n_test": int(len(test_idx))}
    if method in MDN_VARIANTS:
        cols = list(spec.inputs) + [spec.target]
        mix, info = mdn_runner.fit_predict(
            mdn_binary, frame.iloc[train_idx][cols], frame.iloc[test_idx][cols], spec.inputs,
            spec.target, seed=fold, flags=spec.mdn_flags + MDN_VARIANTS[method],
            extra_args=mdn_args)
        if spec.log_target != (info["params_space"] == "log"):
            raise mdn_runner.MdnError(
                f"mdn predict's params describe the {info['params_space']} target, but the "
                f"table's target is{'' if spec.log_target else ' not'} log-transformed")
        out["nll"], out["crps"] = _score(mix, y_te, spec.log_target)
        out["fit_s"], out["predict_s"] = info.pop("fit_s"), info.pop("predict_s")
        out["mdn_eval_nll"] = info["mdn_eval"].get("nll")
        out["info"] = info
        return out
    levels = category_levels(frame, spec)
    X, _ = design_matrix(frame, spec, levels)
    z = np.log(y) if spec.log_target else y
    fit = baselines.BASELINES[method]
    t0 = time.perf_counter()
    mix, info = fit(X[train_idx], z[train_idx], X[test_idx], seed=fold)
    elapsed = time.perf_counter() - t0
    t1 = time.perf_counter()
    out["nll"], out["crps"] = _score(mix, y_te, spec.log_target)
    out["fit_s"] = elapsed  # fit and predict together; scoring not included
    out["score_s"] = time.perf_counter() - t1
    out["info"] = info
    return out


def _run_fold_safe(args):
    prep, method, fold, tr, te, binary, mdn_args = args
    try:
        return run_fold(prep, method, fold, tr, te, binary, mdn_args)
    except mdn_runner.MdnError as e:
        return {"fold": fold, "error": str(e)}
    except Exception as e:  # noqa: BLE001 - record and go on
        return {"fold": fold, "error": f"{type(e).__name__}: {e}",
                "traceback": traceback.format_exc(limit=5)}


def run_method(prep: Prepared, method: str, splits, mdn_binary: str, mdn_args: str,
               jobs: int = 1, log=print) -> dict:
    reason = applicable(method, prep)
    if reason:
        return {"status": "skipped", "reason": reason, "folds": []}
    if method in MDN_VARIANTS and not os.path.exists(mdn_binary):
        return {"status": "failed", "error": f"no mdn binary at {mdn_binary}", "folds": []}
    tasks = [(prep, method, i, tr, te, mdn_binary, mdn_args) for i, (tr, te) in
             enumerate(splits)]
    results = []
    t0 = time.perf_counter()
    if jobs <= 1:
        for t in tasks:
            r = _run_fold_safe(t)
            results.append(r)
            _log_fold(log, prep.spec.name, method, r)
            if "error" in r and r["fold"] == 0:
                break  # the same error would repeat on every fold
    else:
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            for r in ex.map(_run_fold_safe, tasks):
                results.append(r)
                _log_fold(log, prep.spec.name, method, r)
    wall = time.perf_counter() - t0
    errors = [r for r in results if "error" in r]
    status = "failed" if errors else "ok"
    out = {"status": status, "folds": results, "wall_s": wall}
    if errors:
        out["error"] = errors[0]["error"]
    return out


def _log_fold(log, name, method, r):
    if "error" in r:
        log(f"  {name:8s} {method:8s} fold {r['fold']}: FAILED {r['error']}")
    else:
        log(f"  {name:8s} {method:8s} fold {r['fold']}: nll {r['nll']:.4f} crps {r['crps']:.4f}"
            f" fit {r['fit_s']:.2f}s")


def summarise(method_result: dict) -> dict | None:
    """mean ± s.e. over folds of NLL, CRPS and fit seconds (None unless every fold ran)."""
    if method_result.get("status") != "ok" or not method_result["folds"]:
        return None
    f = method_result["folds"]
    out = {"folds": len(f)}
    for key in ("nll", "crps", "fit_s"):
        v = np.array([r[key] for r in f], dtype=float)
        out[key] = float(v.mean())
        out[key + "_se"] = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")
    return out


def paired_difference(a: dict, b: dict, key: str):
    """mean and s.e. over folds of a[key] - b[key], fold by fold."""
    fa = {r["fold"]: r[key] for r in a["folds"]}
    fb = {r["fold"]: r[key] for r in b["folds"]}
    common = sorted(set(fa) & set(fb))
    d = np.array([fa[i] - fb[i] for i in common], dtype=float)
    if len(d) == 0:
        return None
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    return float(d.mean()), se
