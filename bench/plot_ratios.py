#!/usr/bin/env python3
"""Draws bench/ratios.png from the raw timings bench/compare.sh leaves in bench/results/:
our speed relative to PyTorch per workload against issue 8's goal for it, and — when the run
had a --baseline — the baseline revision's beside it.

    python bench/plot_ratios.py        # needs matplotlib (bench/reference/requirements.txt)
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent

# workload: (label, goal as a speed ratio ours/PyTorch; W3's "≤ 0.5× time" is "≥ 2× speed")
GOALS = {
    "w1:128": ("W1 batch 128", 4.0),
    "w1:4096": ("W1 batch 4096", 1.5),
    "w2:64": ("W2 conv batch 64", 1.0),
    "w3": ("W3 200×200 grid", 2.0),
}


def load(path):
    times = {}
    for line in path.read_text().splitlines():
        _, name, ms, *_ = line.split("\t")
        times[name] = float(ms)
    return times


def main():
    ours = load(HERE / "results" / "ours.tsv")
    torch = load(HERE / "results" / "torch.tsv")
    baseline_path = HERE / "results" / "baseline.tsv"
    base = load(baseline_path) if baseline_path.exists() else {}
    keys = [k for k in GOALS if k in ours and k in torch]
    speed = [torch[k] / ours[k] for k in keys]
    base_speed = [torch[k] / base[k] for k in keys if k in base]
    goals = [GOALS[k][1] for k in keys]

    fig, ax = plt.subplots(figsize=(7.5, 4), dpi=120)
    xs = list(range(len(keys)))
    width = 0.38
    colors = ["tab:green" if s >= g else "tab:red" for s, g in zip(speed, goals)]
    if len(base_speed) == len(keys):
        ax.bar([x - width / 2 for x in xs], base_speed, width=width, color="lightgrey",
               edgecolor="grey", label="baseline revision / PyTorch")
        for x, b in zip(xs, base_speed):
            ax.annotate(f"{b:.2f}×", (x - width / 2, b), ha="center", va="bottom", fontsize=8,
                        color="dimgrey")
    ax.bar([x + width / 2 for x in xs], speed, width=width, color=colors,
           label="ours / PyTorch")
    ax.scatter([x + width / 2 for x in xs], goals, marker="_", s=700, color="black", zorder=3,
               label="issue 8 goal")
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    for x, s in zip(xs, speed):
        ax.annotate(f"{s:.2f}×", (x + width / 2, s), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(xs, [GOALS[k][0] for k in keys])
    ax.set_yscale("log")
    everything = speed + goals + base_speed
    ax.set_ylim(min(everything) / 2, max(everything) * 4)
    ax.set_ylabel("speed relative to PyTorch (log)")
    ax.set_title("mdn vs PyTorch on the CPU, 2 threads (green: goal met)")
    ax.legend(loc="upper left", fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(HERE / "ratios.png")
    print(f"wrote {HERE / 'ratios.png'}")


if __name__ == "__main__":
    main()
