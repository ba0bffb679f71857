#!/usr/bin/env bash
# The measurements of the performance issues in one sitting: our workloads (W1 toy MDN
# training step, W2 conv MDN training step, W3 density grid) beside their PyTorch twins, the
# W1 batch-scaling table and the W4 CLI table (wall time and peak memory of `mdn train`,
# `mdn predict --output params` and `mdn eval` at 10k, 100k and 1M rows).
#
#   bench/compare.sh [--seconds S] [--retries N] [--skip-scaling] [--skip-w4]
#                    [--rows "10000 100000 1000000"] [--baseline REV]
#
# --baseline REV also builds git revision REV (in a temporary worktree) and times its W1-W3
# workloads and its `mdn` binary (W4) in the same sitting, for a before/after comparison.
#
# Prints Markdown tables and keeps them, with the raw timings of every side, in bench/results/
# (latest.md, ours.tsv, baseline.tsv, torch.tsv); bench/plot_ratios.py draws
# bench/ratios.png from them.
#
# PYTHON (default ~/.venvs/mdn-bench/bin/python, else python3) must have the packages of
# bench/reference/requirements.txt. Timings are only meaningful on an otherwise idle machine:
# the script refuses to start while an MNIST run or a cargo build is going (FORCE=1
# overrides) and records the share of the CPU other processes took during every timing.
set -euo pipefail
cd "$(dirname "$0")/.."

args="$*"
seconds=10
retries=3
scaling=1
w4=1
w4_rows="10000 100000 1000000"
baseline=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --retries) retries="$2"; shift 2 ;;
        --skip-scaling) scaling=0; shift ;;
        --skip-w4) w4=0; shift ;;
        --rows) w4_rows="$2"; shift 2 ;;
        --baseline) baseline="$2"; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$HOME/.venvs/mdn-bench/bin/python" ]]; then
        PYTHON="$HOME/.venvs/mdn-bench/bin/python"
    else
        PYTHON=python3
    fi
fi
if ! "$PYTHON" -c 'import torch, numpy' 2>/dev/null; then
    echo "error: $PYTHON cannot import torch and numpy; install bench/reference/requirements.txt" >&2
    exit 1
fi
if [[ "${FORCE:-0}" != 1 ]] && pgrep -af "experiment mnist|mnist_tune|rustc " | grep -v "pgrep\|while " >/dev/null; then
    echo "error: an MNIST run or a build is going; timings beside it are meaningless (FORCE=1 to run anyway)" >&2
    exit 1
fi

echo "building (release) ..." >&2
cargo build --release --quiet -p mdn --example bench_workloads
cargo build --release --quiet -p mdn-cli --bin mdn
ours=target/release/examples/bench_workloads
mdn=target/release/mdn

work="$(mktemp -d "${TMPDIR:-/tmp}/mdn-bench.XXXXXX")"
cleanup() {
    if [[ -n "$baseline" ]]; then
        git worktree remove --force "$work/baseline" 2>/dev/null || true
        git worktree prune
    fi
    rm -rf "$work"
}
trap cleanup EXIT
if [[ -n "$baseline" ]]; then
    echo "building the baseline mdn at $baseline (release) ..." >&2
    git worktree add --detach --quiet "$work/baseline" "$baseline"
    (cd "$work/baseline" && cargo build --release --quiet -p mdn-cli --bin mdn &&
        cargo build --release --quiet -p mdn --example bench_workloads)
    baseline_mdn="$work/baseline/target/release/mdn"
    baseline_ours="$work/baseline/target/release/examples/bench_workloads"
    baseline_rev=$(git rev-parse --short "$baseline")
fi
results=bench/results
mkdir -p "$results"
exec > >(tee "$results/latest.md")

echo "## Machine"
echo
echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo "- rustc: $(rustc --version)"
echo "- revision: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')${baseline:+; baseline $baseline_rev}"
echo "- $("$PYTHON" -c 'import torch, numpy; print(f"torch {torch.__version__}, numpy {numpy.__version__}, torch threads 2")')"
echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# CPU seconds the whole machine has spent busy so far (all cores; from /proc/stat).
busy_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '/^cpu / { print ($2 + $3 + $4 + $7 + $8) / hz; exit }' /proc/stat
}

# Runs one side's command on one workload and appends its RESULT fields to the file $1,
# followed by the share of the machine's CPU that other processes used meanwhile (percent):
# a timing beside a busy neighbour is worthless, so every row says how quiet it was.
run_side() {
    local tsv="$1"; shift
    local before after
    before=$(busy_seconds)
    /usr/bin/time -f "%e %U %S" -o "$work/side.time" "$@" >"$work/side.out"
    after=$(busy_seconds)
    read -r wall user sys <"$work/side.time"
    local others
    others=$(awk -v b="$before" -v a="$after" -v w="$wall" -v u="$user" -v s="$sys" -v n="$(nproc)" \
        'BEGIN { o = (a - b - u - s) / (w * n) * 100; printf "%.1f", (o < 0 ? 0 : o) }')
    grep '^RESULT' "$work/side.out" | grep -v 'workload' | sed "s/\$/\t$others/" >>"$tsv"
}

# Times each workload on our kernels, on the baseline's (with --baseline) and on PyTorch, one
# workload at a time. A set of sides during which other processes took more than 5% of the
# CPU is timed again after a pause, up to $retries more times; the last attempt is kept (and
# the table flags it if still noisy).
sides=(ours torch)
[[ -n "$baseline" ]] && sides=(ours baseline torch)
run_all() {
    for workload in "$@"; do
        local attempt=0
        while true; do
            for side in "${sides[@]}"; do
                : >"$work/one-$side.tsv"
            done
            run_side "$work/one-ours.tsv" "$ours" --seconds "$seconds" "$workload"
            if [[ -n "$baseline" ]]; then
                run_side "$work/one-baseline.tsv" "$baseline_ours" --seconds "$seconds" "$workload"
            fi
            run_side "$work/one-torch.tsv" "$PYTHON" bench/reference/workloads.py \
                --seconds "$seconds" "$workload"
            local noisy
            noisy=$(for side in "${sides[@]}"; do cut -f7 "$work/one-$side.tsv"; done |
                awk '$1 > 5 { n++ } END { print n + 0 }')
            if [[ $noisy == 0 || $attempt -ge $retries ]]; then
                break
            fi
            attempt=$((attempt + 1))
            echo "  $workload: the machine was busy; timing it again in 30 s ($attempt/$retries)" >&2
            sleep 30
        done
        for side in "${sides[@]}"; do
            cat "$work/one-$side.tsv" >>"$work/$side.tsv"
        done
    done
}

main_workloads=(w1:128 w1:4096 w2:64 w3)
scaling_workloads=(w1:1280 w1:12800)
: >"$work/ours.tsv"
: >"$work/baseline.tsv"
: >"$work/torch.tsv"
echo "timing W1-W3 (about $(awk -v s="$seconds" -v n="${#sides[@]}" 'BEGIN { print int(s * 4 * n + 45) }') s) ..." >&2
run_all "${main_workloads[@]}"
if [[ $scaling == 1 ]]; then
    echo "timing the W1 scaling batches ..." >&2
    run_all "${scaling_workloads[@]}"
fi

cp "$work/ours.tsv" "$work/baseline.tsv" "$work/torch.tsv" "$results/"

"$PYTHON" - "$work/ours.tsv" "$work/baseline.tsv" "$work/torch.tsv" "$scaling" "${baseline_rev:-}" <<'EOF'
import sys

def load(path):
    rows = {}
    for line in open(path):
        _, name, ms, per_s, rows_per_s, n, others = line.rstrip("\n").split("\t")
        rows[name] = (float(ms), float(per_s), float(rows_per_s), int(n), float(others))
    return rows

ours, base, torch = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
scaling = sys.argv[4] == "1"
base_rev = sys.argv[5]
labels = {
    "w1:128": ("W1 toy MDN training step, batch 128", "steps/s", "≥ 4×"),
    "w1:4096": ("W1 toy MDN training step, batch 4096", "steps/s", "≥ 1.5×"),
    "w2:64": ("W2 conv MDN training step, batch 64", "steps/s", "≥ 1×"),
    "w3": ("W3 p(t|x) on a 200×200 grid", "ms", "≤ 0.5× time"),
}
print("## W1–W3: ours vs PyTorch, 2 threads" + (f", and ours at {base_rev}" if base else ""))
print()
head = "| workload | ours | PyTorch | ours/PyTorch | goal | met |"
rule = "| --- | ---: | ---: | ---: | --- | --- |"
if base:
    head += f" ours at {base_rev} | ours vs {base_rev} |"
    rule += " ---: | ---: |"
print(head + " others' CPU % |")
print(rule + " ---: |")
for key, (label, unit, goal) in labels.items():
    o, t = ours[key], torch[key]
    if unit == "steps/s":
        ratio = o[1] / t[1]
        need = {"w1:128": 4.0, "w1:4096": 1.5, "w2:64": 1.0}[key]
        met = ratio >= need
        cell = lambda r: f"{r[1]:,.1f} steps/s ({r[0]:.3f} ms)"
        ratio_text = f"{ratio:.2f}× steps/s"
    else:
        ratio = o[0] / t[0]
        met = ratio <= 0.5
        cell = lambda r: f"{r[0]:.3f} ms"
        ratio_text = f"{ratio:.2f}× time"
    row = f"| {label} | {cell(o)} | {cell(t)} | {ratio_text} | {goal} | {'yes' if met else 'no'} |"
    quiet = [o[4], t[4]]
    if base:
        b = base[key]
        row += f" {cell(b)} | {b[0] / o[0]:.2f}× faster |"
        quiet.append(b[4])
    print(row + " " + ", ".join(f"{q:.1f}" for q in quiet) + " |")
print()

if scaling:
    epoch = 128_000
    print(f"## W1 scaling: time per epoch-equivalent ({epoch:,} rows) as the batch grows")
    print()
    print("| batch | steps/epoch | ours s/epoch | PyTorch s/epoch | ours/PyTorch time | ours rows/s | PyTorch rows/s | others' CPU % |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for batch in (128, 1280, 4096, 12800):
        key = f"w1:{batch}"
        if key not in ours or key not in torch:
            continue
        o, t = ours[key], torch[key]
        steps = epoch / batch
        so, st = (r[0] * steps / 1e3 for r in (o, t))
        worst = max(o[4], t[4])
        print(f"| {batch:,} | {steps:,.1f} | {so:.3f} | {st:.3f} | {so / st:.2f}× | {o[2]:,.0f} | {t[2]:,.0f} | {worst:.1f} |")
    print()

worst = max(r[4] for side in (ours, base, torch) for r in side.values())
print(f"Other processes used at most {worst:.1f}% of the machine's CPU during any timing above.")
if worst > 5:
    print(f"**Warning: the machine was not quiet (up to {worst:.0f}% busy with other work); "
          "these timings are not trustworthy. Rerun on an idle machine.**")
print()
EOF

if [[ $w4 == 1 ]]; then
    echo "W4: generating data and training the model ..." >&2
    largest=0
    for n in $w4_rows; do
        "$mdn" data toy --n "$n" --seed 1 --out "$work/toy-$n.csv"
        (( n > largest )) && largest=$n
    done
    # The W4 model: the default toy MDN (1 → 32 → 32 tanh, m = 5) trained 5 epochs on the
    # largest file.
    train_before=$(busy_seconds)
    /usr/bin/time -v -o "$work/train.time" \
        "$mdn" train --data "$work/toy-$largest.csv" --inputs x --targets t \
        --out "$work/toy.mdn" --epochs 5 --quiet
    train_after=$(busy_seconds)
    report() { # label, /usr/bin/time -v output, machine busy seconds before and after
        awk -v label="$1" -v b="$3" -v a="$4" -v n="$(nproc)" -F': ' '
            /Elapsed \(wall clock\)/ { k = split($2, p, ":"); wall = 0
                                          for (i = 1; i <= k; i++) wall = wall * 60 + p[i] }
            /User time \(seconds\)/ { cpu += $2 }
            /System time \(seconds\)/ { cpu += $2 }
            /Maximum resident set size/ { rss = $2 / 1024 }
            END { o = (a - b - cpu) / (wall * n) * 100; if (o < 0) o = 0
                  # Under 0.5 s the jiffy-resolution CPU counters say nothing.
                  share = wall < 0.5 ? "n/a" : sprintf("%.1f", o)
                  printf "| %s | %.2f | %.1f | %s |\n", label, wall, rss, share }' "$2"
    }
    measure() { # label, then the command; timed again (as W1-W3 are) while others were busy
        local label="$1"; shift
        local attempt=0 before after row
        while true; do
            before=$(busy_seconds)
            /usr/bin/time -v -o "$work/cmd.time" "$@" >/dev/null
            after=$(busy_seconds)
            row=$(report "$label" "$work/cmd.time" "$before" "$after")
            # Columns: | label | wall | MB | others % |; commands under 0.5 s are too short
            # for the jiffy-resolution estimate of the others' share (n/a).
            if awk -F'|' '{ exit !($3 > 0.5 && $5 + 0 > 5) }' <<<"$row" && ((attempt < retries)); then
                attempt=$((attempt + 1))
                echo "  $label: the machine was busy; timing it again in 30 s" >&2
                sleep 30
                continue
            fi
            echo "$row"
            break
        done
    }
    echo "## W4: the CLI on toy CSVs (wall time, peak resident memory from /usr/bin/time -v)"
    echo
    echo "| command | wall s | peak MB | others' CPU % |"
    echo "| --- | ---: | ---: | ---: |"
    report "mdn train, $largest rows, 5 epochs (the model below)" "$work/train.time" \
        "$train_before" "$train_after"
    for n in $w4_rows; do
        measure "mdn predict --output params, $n rows" \
            "$mdn" predict --model "$work/toy.mdn" --data "$work/toy-$n.csv" \
            --output params --out "$work/params-$n.csv"
        measure "mdn eval, $n rows" "$mdn" eval --model "$work/toy.mdn" --data "$work/toy-$n.csv"
    done
    if [[ -n "$baseline" ]]; then
        # The baseline binary may not read today's model files: it gets its own model.
        measure "baseline ($baseline_rev) mdn train, $largest rows, 5 epochs" \
            "$baseline_mdn" train --data "$work/toy-$largest.csv" --inputs x --targets t \
            --out "$work/toy-baseline.mdn" --epochs 5 --quiet
        for n in $w4_rows; do
            measure "baseline ($baseline_rev) mdn predict --output params, $n rows" \
                "$baseline_mdn" predict --model "$work/toy-baseline.mdn" \
                --data "$work/toy-$n.csv" --output params --out "$work/params-b-$n.csv"
            measure "baseline ($baseline_rev) mdn eval, $n rows" \
                "$baseline_mdn" eval --model "$work/toy-baseline.mdn" --data "$work/toy-$n.csv"
        done
    fi
    echo
fi
echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- command: bench/compare.sh${args:+ $args}"
