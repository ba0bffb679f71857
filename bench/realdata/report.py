"""docs/results/realdata.md from the raw results (docs/results/realdata.json)."""

from __future__ import annotations

import math

from baselines import LABELS
from protocol import paired_difference, summarise

BASELINE_ORDER = ("linear", "ngboost", "gmm")


def _decimals(se: float) -> int:
    if not math.isfinite(se) or se <= 0:
        return 4
    return int(min(5, max(2, 1 - math.floor(math.log10(se)))))


def pm(mean: float, se: float, d: int | None = None) -> str:
    d = _decimals(se) if d is None else d
    if not math.isfinite(se):
        return f"{mean:.{d}f}"
    return f"{mean:.{d}f} ± {se:.{d}f}"


def signed_pm(mean: float, se: float, d: int | None = None) -> str:
    d = _decimals(se) if d is None else d
    return f"{mean:+.{d}f} ± {se:.{d}f}"


def seconds(s: float) -> str:
    return f"{s:.2g}" if s < 1 else f"{s:.1f}" if s < 100 else f"{s:.0f}"


def best_baseline(methods: dict, key: str):
    best = None
    for m in BASELINE_ORDER:
        s = summarise(methods.get(m, {}))
        if s is not None and (best is None or s[key] < best[1]):
            best = (m, s[key])
    return None if best is None else best[0]


def _grid_text(d: dict) -> str:
    if d["grid"] is None:
        return "none"
    return f"{d['grid']:g}"


def dataset_table(d: dict) -> list[str]:
    lines = []
    methods = d["methods"]
    best = {k: best_baseline(methods, k) for k in ("nll", "crps")}
    lines.append("| method | test NLL (nats) | Δ NLL vs best baseline | test CRPS | "
                 "Δ CRPS vs best baseline | s / fit |")
    lines.append("|---|---:|---:|---:|---:|---:|")
    notes = []
    order = [m for m in list(BASELINE_ORDER) + [k for k in methods if k not in BASELINE_ORDER]
             if m in methods]
    summaries = {m: summarise(methods[m]) for m in order if methods[m]["status"] != "skipped"}
    # One number of decimals per column, from its smallest standard error.
    dec = {}
    for key in ("nll", "crps"):
        ses = [s[key + "_se"] for s in summaries.values() if s is not None]
        dec[key] = max((_decimals(x) for x in ses), default=4)
    for m in order:
        r = methods[m]
        label = LABELS.get(m, m)
        if r["status"] == "skipped":
            notes.append(f"{label}: not run ({r['reason']}).")
            continue
        s = summaries[m]
        if s is None:
            reason = r.get("error", "no folds ran")
            lines.append(f"| {label} | n/a | | n/a | | |")
            notes.append(f"{label}: n/a — {reason}")
            continue
        cells = [label]
        for key in ("nll", "crps"):
            cells.append(pm(s[key], s[key + "_se"], dec[key]))
            b = best[key]
            if b is None:
                cells.append("")
            elif b == m:
                cells.append("(best baseline)")
            else:
                diff = paired_difference(r, methods[b], key)
                cells.append("" if diff is None else f"{signed_pm(*diff, dec[key])} ({b})")
        cells.append(seconds(s["fit_s"]))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for n in notes:
        lines.append(f"- {n}")
    if notes:
        lines.append("")
    return lines


def _mdn_folds(results: dict):
    for name, d in results["datasets"].items():
        r = d["methods"].get("mdn")
        if r:
            for f in r["folds"]:
                if "error" not in f:
                    yield name, d, f


def mdn_config_text(results: dict) -> str:
    for _, _, f in _mdn_folds(results):
        mi = f.get("info", {}).get("model", {})
        cfg = mi.get("config") or {}
        if not mi:
            break
        arch = mi.get("architecture") or {}
        mlp = (arch.get("backbone") or {}).get("mlp") or {}
        head = (arch.get("head") or {}).get("mixture") or {}
        hidden = ",".join(str(h) for h in (mi.get("hidden") or mlp.get("hidden") or []))
        activation = mi.get("activation") or mlp.get("activation")
        covariance = mi.get("covariance") or head.get("covariance", "?")
        min_sigma = mi.get("min_sigma") or head.get("min_sigma")
        members = mi.get("members", 1)
        noise = {k: cfg.get(k) for k in ("noise_x", "noise_y")}
        noise_text = ", ".join(f"{k} {v['Sd'] if isinstance(v, dict) else str(v).lower()}"
                               for k, v in noise.items() if v is not None)
        return (f"what was trained, as `mdn info` records it: an ensemble of {members} "
                f"network(s) of {mi.get('components')} components each, "
                f"{str(covariance).lower()} covariance, {activation} "
                f"[{hidden}], Adam lr {cfg.get('learning_rate')}, batch {cfg.get('batch_size')}, "
                f"at most {cfg.get('epochs')} epochs, early stopping with patience "
                f"{cfg.get('patience')} on a {cfg.get('validation_fraction')} validation split, "
                f"σ floor {min_sigma} target s.d., {noise_text or 'no noise'}; the "
                f"*mdn --ensemble 1* rows are the same with one network")
    return "see `mdn train --help`"


def eval_agreement_text(results: dict) -> str:
    diffs = [abs(f["nll"] - f["mdn_eval_nll"]) for _, d, f in _mdn_folds(results)
             if not d["log_target"] and f.get("mdn_eval_nll") is not None]
    if not diffs:
        return ""
    return (f"The NLL computed here from those parameters matches `mdn eval`'s own to "
            f"{max(diffs):.1e} nats (largest difference over {len(diffs)} folds).")


def render(results: dict) -> str:
    meta = results["meta"]
    L = []
    L.append("# Real-data benchmark: mdn against probabilistic baselines")
    L.append("")
    L.append("Generated by `bench/realdata/run.py` (see `bench/realdata/README.md`); do not edit "
             "by hand. The raw per-fold numbers are in `realdata.json` beside this file.")
    L.append("")
    for c in meta["commands"]:
        L.append(f"- command: `{c['command']}` ({c['date']}; datasets: {', '.join(c['datasets'])})")
    L.append(f"- machine: {meta['machine']['cpu']}, {meta['machine']['cores']} cores, "
             f"{meta['machine']['memory']}")
    L.append(f"- software: {meta['software']}")
    L.append(f"- mdn: `{meta['mdn']['binary']}` ({meta['mdn']['version']}); repository HEAD "
             f"{meta['mdn']['commit']} (a binary built from a work tree may hold uncommitted "
             f"changes); extra mdn flags: "
             f"{('`' + meta['mdn']['args'] + '`') if meta['mdn']['args'] else 'none'}")
    L.append("")
    L.append("## Protocol")
    L.append("")
    L.extend([
        "- **Folds**: 10-fold cross-validation below 10,000 rows, 5-fold above; scikit-learn "
        "`KFold(shuffle=True, random_state=0)` on the prepared rows. Every method sees the same "
        "folds and the same targets. A table marked *capped* ran only the first folds.",
        "- **Seeds**: fold *i* (0-based) trains every method with seed *i* (`mdn train --seed i`, "
        "NGBoost `random_state=i` and its validation split, GaussianMixture `random_state=i`).",
        "- **Scores**: per fold, the mean over its test rows of the negative log-likelihood "
        "(nats) and of the CRPS, both in the target's original units; the tables give the "
        "mean ± standard error over folds, and for each method the mean ± s.e. of its paired "
        "per-fold difference to the best baseline (lowest mean; negative is better than it). "
        "Fold-to-fold s.e.'s ignore the overlap of training sets, so they are optimistic.",
        "- **CRPS**: one implementation for every method. Gaussian mixtures: the closed form of "
        "Grimit et al. (2006). Log-target tables (the predictive distribution of the target is "
        "then a mixture of log-normals): composite Simpson quadrature of "
        "∫ (F(t) − 1{t ≥ y})² dt after t = eˢ, 2 × 2001 nodes per row (checked against the "
        "closed-form log-normal CRPS and adaptive quadrature in `test_scoring.py`).",
        "- **Dequantisation**: a target recorded on a grid of step *g* has U(−g/2, g/2) noise "
        "added, to training and test rows alike and the same draw for every method, since a "
        "continuous density's NLL on discrete values is unbounded below. The noise is drawn "
        "once per dataset with a fixed seed (CRC-32 of `dequantise:<name>`, numpy "
        "`default_rng`), before any subsampling. The step is declared per dataset and checked "
        "against the data (the coarsest of 1000, 100, …, 0.001 that divides every value).",
        "- **Log targets**: every method fits log(target) and is scored on the target itself: "
        "the NLL adds the Jacobian log y (the dequantisation noise goes on the target before the log). "
        "mdn gets the raw column and `--log-targets`; its `predict --output params` names "
        "log-space parameters `mean_K_log_<target>`, which the harness reads (a table whose "
        "params are not in the expected space is an error).",
        "- **Missing values**: rows with a missing target or input are dropped before the folds, "
        "for every method (counts below); mdn additionally gets `--missing drop` on such "
        "tables, which is then a no-op.",
        "- **Methods**: *linear Gaussian*: OLS on the one-hot design, σ² = RSS/(n − rank). "
        "*NGBoost*: `NGBRegressor(Dist=Normal)`, default learner (depth-3 trees), natural "
        "gradient, learning rate 0.01, up to 2000 rounds, early stopping (50 rounds) on a 10% "
        "validation split of the training fold, predicting with the best iteration. *Joint GMM "
        "conditional* (tables with at most 4 numeric inputs and no categorical one): "
        "`GaussianMixture(covariance_type='full', n_init=3)` on standardised [x, y], K = 1…10 "
        "by BIC, conditioned on x in closed form. *mdn*: `mdn train` with its default options "
        "plus the table's own flags and any `--mdn-args` "
        f"({mdn_config_text(results)}), on the raw columns (categorical columns as text, no encoding by the harness); `mdn predict "
        "--output params` gives the mixture that is scored here. "
        f"{eval_agreement_text(results)}",
        "- **Time**: wall seconds per fit (mean over folds; the GMM's includes its BIC search "
        "over K). Baselines: fit plus prediction in-process, BLAS on "
        f"{meta.get('blas_threads', '?')} thread(s) (NGBoost's trees are single-threaded). "
        "mdn: the `mdn train` process alone (CSV reading included), on all cores (its "
        f"default). Folds run {meta['jobs']} at a time.",
    ])
    L.append("")
    L.append("## Datasets")
    L.append("")
    L.append("| dataset | source | target | inputs (categorical in italics) | rows | dropped "
             "(missing) | rows used | folds | grid step | log target |")
    L.append("|---|---|---|---|---:|---:|---:|---:|---:|---|")
    for name, d in results["datasets"].items():
        ins = ", ".join(f"*{c}*" if c in d["categorical"] else c for c in d["inputs"])
        folds = f"{d['folds_run']} of {d['folds']} (capped)" if d["folds_run"] < d["folds"] \
            else str(d["folds"])
        used = f"{d['n_used']:,}" + (" (subsample)" if d["n_used"] < d["n_after_missing"] else "")
        L.append(f"| {name} | {d['source']} | {d['target']} | {ins} | {d['n_source']:,} | "
                 f"{d['n_dropped_missing']:,} | {used} | {folds} | {_grid_text(d)} | "
                 f"{'yes' if d['log_target'] else 'no'} |")
    L.append("")
    for name, d in results["datasets"].items():
        extra = f" {d['note'][0].upper()}{d['note'][1:]}" if d.get("note") else ""
        L.append(f"- **{name}**: grid: {d['grid_note']}.{extra}")
    L.append("")
    L.append("## Summary: test NLL (nats, mean over folds; lower is better)")
    L.append("")
    methods = []
    for d in results["datasets"].values():
        for m in d["methods"]:
            if m not in methods:
                methods.append(m)
    order = [m for m in BASELINE_ORDER if m in methods] + [m for m in methods
                                                           if m not in BASELINE_ORDER]
    L.append("| dataset | " + " | ".join(LABELS.get(m, m) for m in order) + " |")
    L.append("|---|" + "---:|" * len(order))
    for name, d in results["datasets"].items():
        cells = []
        for m in order:
            r = d["methods"].get(m)
            s = summarise(r) if r else None
            if r is None or r["status"] == "skipped":
                cells.append("—")
            elif s is None:
                cells.append("n/a")
            else:
                cells.append(f"{s['nll']:.3f}")
        L.append(f"| {name} | " + " | ".join(cells) + " |")
    L.append("")
    L.append("— not applicable; n/a: the run failed (reason under the dataset's table).")
    L.append("")
    L.append("## Results per dataset")
    for name, d in results["datasets"].items():
        L.append("")
        L.append(f"### {name}: {d['target']} | {', '.join(d['inputs'])}")
        L.append("")
        L.append(f"{d['source']}, {d['n_used']:,} rows, {d['folds_run']} folds, grid "
                 f"{_grid_text(d)}{', log target' if d['log_target'] else ''}; "
                 f"{d['wall_s']:.0f} s for the whole table.")
        L.append("")
        L.extend(dataset_table(d))
    return "\n".join(L).rstrip() + "\n"
