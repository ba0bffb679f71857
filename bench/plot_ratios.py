#!/usr/bin/env python3
"""Draws the speed-ratio figure from the raw timings bench/compare.sh leaves in its results
folder: our speed relative to PyTorch and to JAX per workload, against issue 18's goal
(1.5x both), and — when the run had a --baseline — the baseline revision's relative to
PyTorch beside them.

    python bench/plot_ratios.py [--results DIR] [--out PNG]

Defaults: bench/results and bench/ratios.png (compare.sh --simd avx2 keeps its timings in
bench/results/avx2; --update-benchmarks draws bench/ratios-avx2.png from them). Needs
matplotlib (bench/reference/requirements.txt).
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
GOAL = 1.5  # issue 18: every workload >= 1.5x PyTorch and >= 1.5x JAX (W3: in time)
LABELS = {
    "w1:128": "W1 batch 128",
    "w1:4096": "W1 batch 4096",
    "w2:64": "W2 conv batch 64",
    "w3": "W3 200×200 grid",
}


def load(path):
    """Milliseconds per iteration by workload, of the median sitting (as bench/compare.sh's
    tables take it); empty when the file is missing or empty."""
    sittings = {}
    if path.exists():
        for line in path.read_text().splitlines():
            _, name, ms, *_ = line.split("\t")
            sittings.setdefault(name, []).append(float(ms))
    return {name: sorted(ms)[(len(ms) - 1) // 2] for name, ms in sittings.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--out", type=Path, default=HERE / "ratios.png")
    args = parser.parse_args()
    ours = load(args.results / "ours.tsv")
    refs = {"PyTorch": load(args.results / "torch.tsv"), "JAX": load(args.results / "jax.tsv")}
    refs = {name: times for name, times in refs.items() if times}
    base = load(args.results / "baseline.tsv")
    keys = [k for k in LABELS if k in ours and all(k in t for t in refs.values())]
    if not keys or not refs:
        raise SystemExit(f"no timings of ours and a reference in {args.results}")

    # Bars: (label, speed ratios per key, colour rule)
    bars = []
    if base and all(k in base for k in keys) and "PyTorch" in refs:
        bars.append(("baseline revision / PyTorch",
                     [refs["PyTorch"][k] / base[k] for k in keys], "baseline"))
    for name, times in refs.items():
        bars.append((f"ours / {name}", [times[k] / ours[k] for k in keys], name))

    fig, ax = plt.subplots(figsize=(8, 4), dpi=120)
    xs = list(range(len(keys)))
    width = 0.8 / len(bars)
    shades = {"PyTorch": ("tab:green", "tab:red"), "JAX": ("mediumseagreen", "salmon")}
    for i, (label, speed, kind) in enumerate(bars):
        offset = (i - (len(bars) - 1) / 2) * width
        if kind == "baseline":
            colors, edge = ["lightgrey"] * len(keys), "grey"
        else:
            good, bad = shades[kind]
            colors, edge = [good if s >= GOAL else bad for s in speed], "black"
        ax.bar([x + offset for x in xs], speed, width=width, color=colors, edgecolor=edge,
               linewidth=0.5, label=label, hatch="//" if kind == "JAX" else None)
        for x, s in zip(xs, speed):
            ax.annotate(f"{s:.2f}×", (x + offset, s), ha="center", va="bottom", fontsize=7)
    ax.axhline(GOAL, color="black", lw=1.0, ls=":", label=f"issue 18 goal ({GOAL}×)")
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xticks(xs, [LABELS[k] for k in keys])
    ax.set_yscale("log")
    everything = [s for _, speed, _ in bars for s in speed] + [GOAL]
    ax.set_ylim(min(everything) / 2, max(everything) * 4)
    ax.set_ylabel("speed relative to the reference (log)")
    ax.set_title("mdn vs PyTorch and JAX on the CPU (green: goal met)")
    ax.legend(loc="upper left", fontsize=7, ncol=2)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
