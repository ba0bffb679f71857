"""Chooses `mdn train`'s defaults on some of the real-data tables and reads the verdict on the
others (issue 16, item 4).

Procedure (fixed before any run; the tables it chooses on are never the ones it is judged on):

1. Start from the previous defaults (BASE below).
2. For each option in KNOBS, in that order, run the benchmark's protocol (run.py, mdn only)
   on the SELECTION tables with every listed value, the options chosen so far held fixed,
   and keep the value with the lowest mean test NLL over those tables — but only if it beats
   the value kept so far by more than MARGIN nats a row (fold-to-fold noise on tables of a
   few hundred rows is of that order; a change must pay for itself).
3. Score the previous and the chosen defaults on the VERDICT tables, which took no part in
   step 2, and report both, table by table.

    python bench/realdata/choose_defaults.py [--mdn target/release/mdn]
                                             [--out docs/results/defaults.md]

Writes the Markdown report and a JSON file beside it (every evaluation's per-table NLL).
About 15-30 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

SELECTION = ("boston", "mcycle", "wage")
VERDICT = ("quakes", "mpg", "cps1988", "flights")
# flights is 327k rows; the verdict uses a fixed 20,000-row subsample of it (run.py --max-rows).
VERDICT_MAX_ROWS = {"flights": 20000}
MARGIN = 0.005

# The defaults before this procedure (mdn 0.1.0 as of issue 15).
BASE = {
    "--noise-y": "off",
    "--noise-x": "off",
    "--components": "5",
    "--hidden": "32,32",
    "--weight-decay": "0",
    "--lr": "0.003",
    "--ensemble": "1",
    "--patience": "100",
    "--epochs": "500",
}
KNOBS = [
    ("--noise-y", ["off", "0.05", "0.1", "0.2", "auto"]),
    ("--noise-x", ["off", "0.05", "0.1", "0.2", "auto"]),
    ("--components", ["3", "5", "8", "auto"]),
    ("--hidden", ["16,16", "32,32", "64,64"]),
    ("--weight-decay", ["0", "0.0001", "0.001"]),
    ("--lr", ["0.001", "0.003", "0.01"]),
    ("--ensemble", ["1", "5"]),
    ("--patience", ["50", "100", "200"]),
    ("--epochs", ["300", "500", "1000"]),
]


def flags(settings: dict) -> str:
    return " ".join(f"{k} {shlex.quote(v)}" for k, v in settings.items())


def evaluate(mdn: str, settings: dict, tables, work: Path, max_rows=None) -> dict:
    """Mean test NLL per table of mdn with `settings` (the benchmark's folds and scoring)."""
    out = {}
    for table in tables:
        target = work / f"{abs(hash((flags(settings), table))):x}" / "realdata.md"
        cmd = [sys.executable, str(HERE / "run.py"), "--mdn", mdn, "--methods", "mdn",
               "--datasets", table, "--mdn-args", flags(settings), "--out", str(target)]
        rows = (max_rows or {}).get(table)
        if rows:
            cmd += ["--max-rows", str(rows)]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        result = json.loads(target.with_suffix(".json").read_text())
        folds = result["datasets"][table]["methods"]["mdn"].get("folds", [])
        nll = [f["nll"] for f in folds if "nll" in f]
        if len(nll) != len(folds) or not nll:
            errors = [f.get("error") for f in folds if "error" in f]
            raise SystemExit(f"{table} with {flags(settings)}: {errors[:1]}")
        out[table] = float(np.mean(nll))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mdn", default=str(REPO / "target" / "release" / "mdn"))
    p.add_argument("--out", default=str(REPO / "docs" / "results" / "defaults.md"))
    a = p.parse_args(argv)
    started = time.perf_counter()
    log = []
    chosen = dict(BASE)
    with tempfile.TemporaryDirectory(prefix="mdn-defaults-") as tmp:
        work = Path(tmp)
        cache = {}

        def score(settings):
            key = flags(settings)
            if key not in cache:
                per_table = evaluate(a.mdn, settings, SELECTION, work)
                cache[key] = per_table
                print(f"  {key}: " + ", ".join(f"{t} {v:.4f}" for t, v in per_table.items())
                      + f" | mean {np.mean(list(per_table.values())):.4f}", flush=True)
            return cache[key]

        for knob, values in KNOBS:
            print(f"{knob}:", flush=True)
            kept = chosen[knob]
            kept_mean = np.mean(list(score(chosen).values()))
            rows = []
            for value in values:
                trial = dict(chosen, **{knob: value})
                per_table = score(trial)
                rows.append({"value": value, "per_table": per_table,
                             "mean": float(np.mean(list(per_table.values())))})
            best = min(rows, key=lambda r: r["mean"])
            if best["value"] != kept and best["mean"] < kept_mean - MARGIN:
                chosen[knob] = best["value"]
            log.append({"knob": knob, "rows": rows, "kept": chosen[knob],
                        "previous": kept})
            print(f"  -> {knob} {chosen[knob]}", flush=True)

        print("verdict:", flush=True)
        verdict = {
            "base": evaluate(a.mdn, BASE, VERDICT, work, VERDICT_MAX_ROWS),
            "chosen": evaluate(a.mdn, chosen, VERDICT, work, VERDICT_MAX_ROWS),
        }
        base_sel = score(BASE)
        chosen_sel = score(chosen)
    result = {"selection": SELECTION, "verdict_tables": VERDICT, "margin": MARGIN,
              "verdict_max_rows": VERDICT_MAX_ROWS, "base": BASE, "chosen": chosen,
              "steps": log, "verdict": verdict,
              "selection_scores": {"base": base_sel, "chosen": chosen_sel},
              "mdn": subprocess.run([a.mdn, "--version"], capture_output=True,
                                    text=True).stdout.strip(),
              "minutes": (time.perf_counter() - started) / 60}
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    out.write_text(render(result))
    print(f"wrote {out} and {out.with_suffix('.json')}")


def render(r) -> str:
    sel = ", ".join(r["selection"])
    lines = [
        "# How `mdn train`'s defaults were chosen",
        "",
        "Generated by `python bench/realdata/choose_defaults.py` "
        f"({r['mdn']}, {r['minutes']:.0f} minutes). Every number is a mean test NLL in nats a "
        "row (lower is better) under the real-data benchmark's protocol "
        "([realdata.md](realdata.md): 10- or 5-fold CV, dequantised targets), mdn alone.",
        "",
        f"**Procedure.** Starting from the previous defaults, each option in turn (the order "
        f"below) takes the value with the lowest mean NLL over the selection tables ({sel}), "
        f"the others held at their values so far; a new value must beat the kept one by more "
        f"than {r['margin']} nats. The verdict tables "
        f"({', '.join(r['verdict_tables'])}) take no part in the choice.",
        "",
        "## The choice (selection tables)",
        "",
        "| option | value | " + " | ".join(r["selection"]) + " | mean |",
        "|---|---|" + "---:|" * (len(r["selection"]) + 1),
    ]
    for step in r["steps"]:
        for row in step["rows"]:
            mark = " **kept**" if row["value"] == step["kept"] else ""
            cells = " | ".join(f"{row['per_table'][t]:.4f}" for t in r["selection"])
            lines.append(f"| `{step['knob']}` | `{row['value']}`{mark} | {cells} | "
                         f"{row['mean']:.4f} |")
    base = " ".join(f"`{k} {v}`" for k, v in r["base"].items())
    chosen = " ".join(f"`{k} {v}`" for k, v in r["chosen"].items())
    lines += [
        "",
        f"- previous defaults: {base}",
        f"- chosen defaults: {chosen}",
        "",
        "## The verdict (tables not used to choose)",
        "",
        "| table | previous defaults | chosen defaults | change |",
        "|---|---:|---:|---:|",
    ]
    for t in r["verdict_tables"]:
        b, c = r["verdict"]["base"][t], r["verdict"]["chosen"][t]
        rows = r["verdict_max_rows"].get(t)
        name = f"{t} ({rows:,}-row subsample)" if rows else t
        lines.append(f"| {name} | {b:.4f} | {c:.4f} | {c - b:+.4f} |")
    diffs = [r["verdict"]["chosen"][t] - r["verdict"]["base"][t] for t in r["verdict_tables"]]
    better = sum(d < 0 for d in diffs)
    lines += [
        "",
        f"The chosen defaults are better on {better} of {len(diffs)} verdict tables "
        f"(mean change {np.mean(diffs):+.4f} nats a row).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
