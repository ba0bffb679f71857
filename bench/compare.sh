#!/usr/bin/env bash
# The measurements of the performance issues (8, 18) in one sitting: our workloads (W1 toy MDN
# training step, W2 conv MDN training step, W3 density grid) beside their PyTorch and JAX
# twins, the roofline (large-square f32 GEMM throughput of our kernels, PyTorch and JAX, the
# f32 FMA peak, and the GFLOP/s each workload achieves), the W1 batch-scaling table and the W4
# CLI table (wall time and peak memory of `mdn train`, `mdn predict --output params` and
# `mdn eval` at 10k, 100k and 1M rows).
#
#   bench/compare.sh [--seconds S] [--sittings N] [--retries N] [--skip-scaling] [--skip-w4] [--skip-jax]
#                    [--skip-roofline] [--gemm-sizes "1024 1536 2048"] [--rows "10000 100000 1000000"]
#                    [--simd native|avx2] [--threads N] [--baseline REV] [--results DIR]
#                    [--update-benchmarks]
#
# --simd avx2 runs everything as on a CPU without AVX-512: our kernels with MDN_SIMD=avx2,
# PyTorch with ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2 and
# MKL_ENABLE_INSTRUCTIONS=AVX2, JAX with XLA_FLAGS=--xla_cpu_max_isa=AVX2 and YNNPACK off
# (--xla_cpu_experimental_ynn_fusion_type=; see below) and ONEDNN_MAX_CPU_ISA=AVX2. --simd native (the
# default) clears those variables and lets every side pick the best the CPU has.
# --sittings N (default 3): every workload is timed in N sittings of S/N seconds a side,
# going round the sides in turn (ours, PyTorch, JAX, ours, ...), and the median sitting
# counts: on a shared machine whose speed drifts over minutes, sides timed one after the other
# would be compared across different stretches of it.
# --threads N (default 2): RAYON_NUM_THREADS for ours, torch.set_num_threads for PyTorch,
# N CPUs of the process's affinity for JAX (see bench/reference/jax_workloads.py).
# --baseline REV also builds git revision REV (in a temporary worktree) and times its W1-W3
# workloads and its `mdn` binary (W4) in the same sitting, for a before/after comparison.
# --gemm-sizes: sides of the square f32 matrices of the roofline's GEMMs (default 1024 1536
# 2048; the best any side reaches at any of them is the roof), each timed for S/5 seconds per
# figure (the best call counts).
#
# Prints Markdown tables and keeps them, with the raw timings of every side, in DIR (default
# bench/results, bench/results/avx2 with --simd avx2): latest.md, ours.tsv, torch.tsv,
# jax.tsv, baseline.tsv, roofline-{ours,torch,jax}.tsv. bench/plot_ratios.py draws
# bench/ratios.png (bench/ratios-avx2.png; DIR/ratios.png with --results DIR) from them.
# --update-benchmarks also replaces the generated block of this --simd setting in
# BENCHMARKS.md (the file BENCHMARKS_MD names, if set) with latest.md and redraws the figure
# when matplotlib is installed.
#
# PYTHON (default ~/.venvs/mdn-bench/bin/python, else python3) must have the packages of
# bench/reference/requirements.txt. Timings are only meaningful on an otherwise idle machine:
# the script refuses to start while an MNIST run or a cargo build is going (FORCE=1
# overrides) and records the share of the CPU other processes took during every timing.
set -euo pipefail
cd "$(dirname "$0")/.."

args="$*"
seconds=10
sittings=3
retries=3
scaling=1
w4=1
w4_rows="10000 100000 1000000"
baseline=""
simd=native
threads=2
jax=1
roofline=1
gemm_sizes="1024 1536 2048"
results=""
update=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --sittings) sittings="$2"; shift 2 ;;
        --retries) retries="$2"; shift 2 ;;
        --skip-scaling) scaling=0; shift ;;
        --skip-w4) w4=0; shift ;;
        --skip-jax) jax=0; shift ;;
        --skip-roofline) roofline=0; shift ;;
        --gemm-sizes) gemm_sizes="$2"; shift 2 ;;
        --rows) w4_rows="$2"; shift 2 ;;
        --simd) simd="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --baseline) baseline="$2"; shift 2 ;;
        --results) results="$2"; shift 2 ;;
        --update-benchmarks) update=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
gemm_seconds=$(awk -v s="$seconds" 'BEGIN { print s / 5 }')
if ! [[ $sittings =~ ^[1-9][0-9]*$ ]]; then
    echo "error: --sittings takes a whole number from 1, not '$sittings'" >&2
    exit 2
fi
# Each sitting of a workload times it for S/N seconds on every side.
sitting_seconds=$(awk -v s="$seconds" -v n="$sittings" 'BEGIN { print s / n }')

# The instruction set every side may use. Each side's own switch: our kernels read MDN_SIMD;
# ATen reads ATEN_CPU_CAPABILITY, oneDNN ONEDNN_MAX_CPU_ISA, MKL MKL_ENABLE_INSTRUCTIONS; XLA
# its --xla_cpu_max_isa flag, which bounds only the code its LLVM backend emits. XLA hands dots
# to YNNPACK, whose kernels pick AVX-512 from CPUID whatever the flag says (jaxlib 0.10.2 on a
# Zen 5: `ynn::dot_fp32_5x64x1_1x16x1_avx512`, a 1024² jnp.dot at 394 GFLOP/s against the AVX2
# FMA peak of 236), so the AVX2 run turns YNNPACK off (--xla_cpu_experimental_ynn_fusion_type
# emptied): dots then go to Eigen's contraction on oneDNN's sgemm, which ONEDNN_MAX_CPU_ISA
# bounds (199 GFLOP/s).
case "$simd" in
    native)
        unset MDN_SIMD ATEN_CPU_CAPABILITY ONEDNN_MAX_CPU_ISA MKL_ENABLE_INSTRUCTIONS
        default_results=bench/results
        ;;
    avx2)
        export MDN_SIMD=avx2 ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 \
            MKL_ENABLE_INSTRUCTIONS=AVX2
        export XLA_FLAGS="${XLA_FLAGS:+$XLA_FLAGS }--xla_cpu_max_isa=AVX2 --xla_cpu_experimental_ynn_fusion_type="
        default_results=bench/results/avx2
        ;;
    *) echo "error: --simd takes native or avx2, not '$simd'" >&2; exit 2 ;;
esac
results="${results:-$default_results}"
export RAYON_NUM_THREADS="$threads"

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
if [[ $jax == 1 ]] && ! "$PYTHON" -c 'import jax, optax' 2>/dev/null; then
    echo "error: $PYTHON cannot import jax and optax; install bench/reference/requirements.txt (or --skip-jax)" >&2
    exit 1
fi
if [[ "${FORCE:-0}" != 1 ]] && pgrep -af "experiment mnist|mnist_tune|rustc " | grep -v "pgrep\|while " >/dev/null; then
    echo "error: an MNIST run or a build is going; timings beside it are meaningless (FORCE=1 to run anyway)" >&2
    exit 1
fi

echo "building (release) ..." >&2
cargo build --release --quiet -p mdn --example bench_workloads
cargo build --release --quiet -p mdn-cli --bin mdn
cargo build --release --quiet -p mdn-engine --example gemm_speed
ours=target/release/examples/bench_workloads
mdn=target/release/mdn
gemm_speed=target/release/examples/gemm_speed

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
# The level our kernels run at (gemm_speed prints it first; a tiny, untimed product).
level=$("$gemm_speed" --size 16 --seconds 0 | sed -n 's/^level\t//p')
# Before the results are rewritten: they are tracked files, and would count as changes.
revision="$(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')"
mkdir -p "$results"
exec 3>&1
exec > >(tee "$results/latest.md")
tee_pid=$!

cpu_flags="$(grep -m1 "^flags" /proc/cpuinfo) "
isa=AVX2
[[ $cpu_flags == *" avx512f "* ]] && isa=AVX-512
[[ $cpu_flags == *" amx_tile "* ]] && isa="$isa, AMX"
[[ $cpu_flags == *" avx2 "* ]] || isa="no AVX2"
echo "## Machine"
echo
echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p') ($isa), $(nproc) cores"
echo "- rustc: $(rustc --version)"
echo "- revision: $revision${baseline:+; baseline $baseline_rev}"
echo "- $("$PYTHON" -c 'import platform, torch, numpy; print(f"Python {platform.python_version()}, torch {torch.__version__} (ATen CPU capability {torch.backends.cpu.get_cpu_capability()}), numpy {numpy.__version__}")')"
if [[ $jax == 1 ]]; then
    echo "- $("$PYTHON" -c 'import jax, jaxlib, optax; print(f"jax {jax.__version__}, jaxlib {jaxlib.__version__}, optax {optax.__version__}")')${XLA_FLAGS:+, XLA_FLAGS=$XLA_FLAGS}"
fi
echo "- SIMD: \`--simd $simd\`; our kernels at level $level${MDN_SIMD:+ (MDN_SIMD=$MDN_SIMD)}$([[ $simd == avx2 ]] && echo "; PyTorch with ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2, MKL_ENABLE_INSTRUCTIONS=AVX2; JAX with --xla_cpu_max_isa=AVX2, YNNPACK off, ONEDNN_MAX_CPU_ISA=AVX2")"
echo "- threads: $threads on every side (RAYON_NUM_THREADS, torch.set_num_threads, JAX on $threads CPUs)"
echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# CPU seconds the whole machine has spent busy so far (all cores; from /proc/stat).
busy_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '/^cpu / { print ($2 + $3 + $4 + $7 + $8) / hz; exit }' /proc/stat
}

# Runs one side's command and appends its RESULT fields to the file $1, followed by the share
# of the machine's CPU that other processes used meanwhile (percent): a timing beside a busy
# neighbour is worthless, so every row says how quiet it was.
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

# One side on one item: a workload (w1:BATCH, w2:BATCH, w3) or the roofline's GEMM (and, on
# our side, FMA peak) figures at one matrix size ("roofline:N").
run_one() {
    local side="$1" item="$2" tsv="$3"
    if [[ $item == roofline:* ]]; then
        local gemm_size="${item#roofline:}"
        case "$side" in
            ours) run_side "$tsv" "$gemm_speed" --size "$gemm_size" --seconds "$gemm_seconds" ;;
            torch) run_side "$tsv" "$PYTHON" bench/reference/workloads.py --threads "$threads" \
                --gemm "$gemm_size" --seconds "$gemm_seconds" ;;
            jax) run_side "$tsv" "$PYTHON" bench/reference/jax_workloads.py --threads "$threads" \
                --gemm "$gemm_size" --seconds "$gemm_seconds" ;;
        esac
        return
    fi
    case "$side" in
        ours) run_side "$tsv" "$ours" --seconds "$sitting_seconds" "$item" ;;
        baseline) run_side "$tsv" "$baseline_ours" --seconds "$sitting_seconds" "$item" ;;
        torch) run_side "$tsv" "$PYTHON" bench/reference/workloads.py --threads "$threads" \
            --seconds "$sitting_seconds" "$item" ;;
        jax) run_side "$tsv" "$PYTHON" bench/reference/jax_workloads.py --threads "$threads" \
            --seconds "$sitting_seconds" "$item" ;;
    esac
}

# Times each item on every side named in the array $1 (ours, baseline, torch, jax), one item
# at a time, in $3 sittings that go round the sides in turn (ours, PyTorch, JAX, ours, ...):
# this machine's speed drifts by tens of percent over minutes, and sides timed one after the
# other would each get a different stretch of it, while sittings spread every side over the
# same minutes (the tables take the median sitting). Appends to $work/$2SIDE.tsv. A set of
# sittings during which other processes took more than 5% of the CPU is timed again after a
# pause, up to $retries more times; the last attempt is kept (and the table flags it if
# still noisy).
run_all() {
    local -n run_sides="$1"
    local prefix="$2" item_sittings="$3"
    shift 3
    for item in "$@"; do
        local attempt=0
        while true; do
            for side in "${run_sides[@]}"; do
                : >"$work/one-$side.tsv"
            done
            for ((sitting = 0; sitting < item_sittings; sitting++)); do
                for side in "${run_sides[@]}"; do
                    run_one "$side" "$item" "$work/one-$side.tsv"
                done
            done
            local noisy
            noisy=$(for side in "${run_sides[@]}"; do awk -F'\t' '{ print $NF }' "$work/one-$side.tsv"; done |
                awk '$1 > 5 { n++ } END { print n + 0 }')
            if [[ $noisy == 0 || $attempt -ge $retries ]]; then
                break
            fi
            attempt=$((attempt + 1))
            echo "  $item: the machine was busy; timing it again in 30 s ($attempt/$retries)" >&2
            sleep 30
        done
        for side in "${run_sides[@]}"; do
            cat "$work/one-$side.tsv" >>"$work/$prefix$side.tsv"
        done
    done
}

sides=(ours)
[[ -n "$baseline" ]] && sides+=(baseline)
sides+=(torch)
[[ $jax == 1 ]] && sides+=(jax)
roofline_sides=(ours torch)
[[ $jax == 1 ]] && roofline_sides+=(jax)
main_workloads=(w1:128 w1:4096 w2:64 w3)
scaling_workloads=(w1:1280 w1:12800)
for side in ours baseline torch jax; do
    : >"$work/$side.tsv"
    : >"$work/roofline-$side.tsv"
done
echo "timing W1-W3 in $sittings sittings (about $(awk -v s="$seconds" -v n="${#sides[@]}" -v k="$sittings" 'BEGIN { print int((s + 5 * k) * 4 * n + 60) }') s) ..." >&2
run_all sides "" "$sittings" "${main_workloads[@]}"
if [[ $scaling == 1 ]]; then
    echo "timing the W1 scaling batches ..." >&2
    run_all sides "" "$sittings" "${scaling_workloads[@]}"
fi
if [[ $roofline == 1 ]]; then
    echo "timing the roofline's GEMMs and FMA peak ..." >&2
    roofline_items=()
    for n in $gemm_sizes; do
        roofline_items+=("roofline:$n")
    done
    # The best call counts: one sitting.
    run_all roofline_sides roofline- 1 "${roofline_items[@]}"
fi

for side in ours baseline torch jax; do
    cp "$work/$side.tsv" "$results/"
    cp "$work/roofline-$side.tsv" "$results/"
done

"$PYTHON" - "$work" "$scaling" "${baseline_rev:-}" "$threads" "$gemm_sizes" "$level" <<'EOF_PY'
import sys
from pathlib import Path

work = Path(sys.argv[1])
scaling = sys.argv[2] == "1"
base_rev = sys.argv[3]
threads = int(sys.argv[4])
gemm_sizes = [int(n) for n in sys.argv[5].split()]
level = sys.argv[6]


def load(path):
    """By workload: the median sitting's (ms, per second, rows per second), the iterations
    timed over all sittings, the largest share of the CPU others took in any of them, and
    every sitting's (ms, per second) in the order timed."""
    sittings = {}
    for line in open(path):
        _, name, ms, per_s, rows_per_s, n, others = line.rstrip("\n").split("\t")
        sittings.setdefault(name, []).append(
            (float(ms), float(per_s), float(rows_per_s), int(n), float(others))
        )
    rows = {}
    for name, runs in sittings.items():
        ms, per_s, rows_per_s, _, _ = sorted(runs)[(len(runs) - 1) // 2]
        rows[name] = (ms, per_s, rows_per_s, sum(r[3] for r in runs), max(r[4] for r in runs),
                      [(r[0], r[1]) for r in runs])
    return rows


def load_roofline(path):
    """GFLOP/s and others' CPU % by figure; our FMA peak, measured once per GEMM size, keeps
    its best."""
    rows = {}
    for line in open(path):
        _, name, gflops, others = line.rstrip("\n").split("\t")
        if name not in rows or float(gflops) > rows[name][0]:
            rows[name] = (float(gflops), float(others))
    return rows


ours, base, torch, jax = (load(work / f"{s}.tsv") for s in ("ours", "baseline", "torch", "jax"))
roof = {s: load_roofline(work / f"roofline-{s}.tsv") for s in ("ours", "torch", "jax")}


# FLOPs of the matrix products of one training step (issue 18's roofline). A layer mapping
# k inputs to n outputs at r positions per example (r = 1 for a dense layer, the output
# pixels for a convolution, whose k is c_in * kernel^2) costs 2 r k n FLOPs per example in
# each of its three products: forward, weight gradient, input gradient; the first layer's
# input gradient is not needed. Elementwise work (activations, the head's softmax/softplus/
# logsumexp, pooling, Adam) is left out: it is not multiply-add work and has no GEMM roof.
HEAD = 5 * (1 + 1 + 1)  # m (1 + c + 1) outputs, m = 5, c = 1
LAYERS = {
    # (positions, k, n) per example
    "w1": [(1, 1, 32), (1, 32, 32), (1, 32, HEAD)],
    "w2": [(28 * 28, 1 * 5 * 5, 16), (14 * 14, 16 * 5 * 5, 32), (1, 32 * 7 * 7, 128), (1, 128, HEAD)],
}


def step_flops(key):
    kind, _, batch = key.partition(":")
    if kind not in LAYERS:
        return None
    per_example = sum(
        2 * r * k * n * (2 if i == 0 else 3) for i, (r, k, n) in enumerate(LAYERS[kind])
    )
    return per_example * int(batch)


labels = {
    "w1:128": "W1 toy MDN training step, batch 128",
    "w1:4096": "W1 toy MDN training step, batch 4096",
    "w2:64": "W2 conv MDN training step, batch 64",
    "w3": "W3 p(t\\|x) on a 200×200 grid",
}
GOAL = 1.5  # issue 18: every workload >= 1.5x PyTorch and >= 1.5x JAX

# The roofline's limits: the best large-square GEMM any side reached on all threads, and the
# FMA peak of the level our kernels ran at.
gemms = {(s, n): roof[s][f"gemm:{n}:{threads}"][0]
         for s in roof for n in gemm_sizes if f"gemm:{n}:{threads}" in roof[s]}
best_at = max(gemms, key=gemms.get) if gemms else None
best_gemm = gemms[best_at] if gemms else None
fma_key = f"fma_peak:{threads}"
fma_peak = roof["ours"][fma_key][0] if fma_key in roof["ours"] else None
names = {"ours": "ours", "torch": "PyTorch", "jax": "JAX"}


def achieved(key, side):
    flops = step_flops(key)
    if flops is None or key not in side:
        return None
    return flops * side[key][1] * 1e-9


def speed_ratio(key, other):
    """ours over `other` as steps/s (training) or time (W3); None without `other`."""
    if key not in other:
        return None
    o, t = ours[key], other[key]
    return o[1] / t[1] if key != "w3" else o[0] / t[0]


print("## W1–W3: ours vs PyTorch and JAX, {threads} threads".format(threads=threads)
      + (f", and ours at {base_rev}" if base else ""))
print()
head = "| workload | ours | PyTorch | JAX | ours/PyTorch | ours/JAX | goal (issue 18) | met |"
rule = "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"
if base:
    head += f" ours at {base_rev} | ours vs {base_rev} |"
    rule += " ---: | ---: |"
print(head + " others' CPU % |")
print(rule + " ---: |")
for key, label in labels.items():
    if key not in ours:
        continue
    o = ours[key]
    steps = key != "w3"
    if steps:
        cell = lambda r: f"{r[1]:,.1f} steps/s ({r[0]:.3f} ms)"
        fmt = lambda r: "–" if r is None else f"{r:.2f}× steps/s"
        ok = lambda r: r is not None and r >= GOAL
        goal = f"≥ {GOAL}× both"
    else:
        cell = lambda r: f"{r[0]:.3f} ms"
        fmt = lambda r: "–" if r is None else f"{r:.2f}× time"
        ok = lambda r: r is not None and r <= 1 / GOAL
        goal = f"≤ {1 / GOAL:.2f}× the time of both"
    vs_torch, vs_jax = speed_ratio(key, torch), speed_ratio(key, jax)
    # Without a JAX run (--skip-jax) the goal is checked against PyTorch alone.
    met = ok(vs_torch) and (ok(vs_jax) or not jax)
    if not jax:
        goal = goal.replace("both", "PyTorch") + " (JAX not run)"
    if key == "w1:4096":
        goal += ", ≥ 2,500 steps/s"
        met = met and o[1] >= 2500
    if key == "w2:64":
        share = achieved(key, ours) / best_gemm if best_gemm else None
        goal += ", ≥ 40% of the best GEMM"
        met = met and share is not None and share >= 0.4
    row = (f"| {label} | {cell(o)} | {cell(torch[key]) if key in torch else '–'} | "
           f"{cell(jax[key]) if key in jax else '–'} | {fmt(vs_torch)} | {fmt(vs_jax)} | "
           f"{goal} | {'yes' if met else 'no'} |")
    quiet = [o[4]] + [side[key][4] for side in (torch, jax) if key in side]
    if base and key in base:
        b = base[key]
        row += f" {cell(b)} | {b[0] / o[0]:.2f}× faster |"
        quiet.append(b[4])
    print(row + " " + ", ".join(f"{q:.1f}" for q in quiet) + " |")
print()
sides = [("ours", ours), ("PyTorch", torch), ("JAX", jax)] + ([(f"ours at {base_rev}", base)] if base else [])
if any(len(side[key][5]) > 1 for _, side in sides for key in labels if key in side):
    # The tables take each side's median sitting; here is how far the sittings spread.
    print("Every sitting, in the order timed (steps/s; W3: ms), the sides taking turns:")
    print()
    print("| workload | " + " | ".join(name for name, _ in sides) + " |")
    print("| --- |" + " ---: |" * len(sides))
    for key, label in labels.items():
        if key not in ours:
            continue
        value = (lambda t: f"{t[0]:.3f}") if key == "w3" else (lambda t: f"{t[1]:,.1f}")
        cells = [" · ".join(value(t) for t in side[key][5]) if key in side else "–" for _, side in sides]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()

if gemms or fma_peak:
    print(f"## Roofline: GFLOP/s of matrix-product work against the machine's limits, {threads} threads")
    print()
    print("Limits (GFLOP/s of the best call over the timing; f32 products of square N × N "
          "matrices):")
    print()
    print(f"| limit | 1 thread | {threads} threads | others' CPU % |")
    print("| --- | ---: | ---: | ---: |")
    what = {
        "ours": f"ours, `mdn_engine::matmul` (level {level})",
        "torch": "PyTorch, `torch.matmul`",
        "jax": "JAX, jitted `jnp.dot`",
    }
    for side in ("ours", "torch", "jax"):
        for n in gemm_sizes:
            key = f"gemm:{n}:{threads}"
            if key in roof[side]:
                one = roof[side].get(f"gemm:{n}:1")
                print(f"| GEMM N = {n}, {what[side]} | {f'{one[0]:,.1f}' if one else '–'} | "
                      f"{roof[side][key][0]:,.1f} | {roof[side][key][1]:.1f} |")
    if fma_peak:
        one = roof["ours"].get("fma_peak:1")
        print(f"| f32 FMA peak at level {level} (independent vector FMAs, `gemm_speed`) | "
              f"{f'{one[0]:,.1f}' if one else '–'} | {fma_peak:,.1f} | "
              f"{roof['ours'][fma_key][1]:.1f} |")
    print()
    best_text = (f"best GEMM ({names[best_at[0]]}, N = {best_at[1]}: {best_gemm:,.1f})"
                 if best_gemm else "best GEMM")
    print(f"| workload | GEMM MFLOP/step | ours GFLOP/s | ours % of {best_text} | ours % of FMA peak | "
          "PyTorch GFLOP/s (% of best GEMM) | JAX GFLOP/s (% of best GEMM) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    share = lambda g, limit: f"{100 * g / limit:.1f}%" if g is not None and limit else "–"
    with_share = lambda g: "–" if g is None else f"{g:,.1f} ({share(g, best_gemm)})"
    for key in sorted(ours, key=lambda k: (k.split(":")[0], int(k.partition(":")[2] or 0))):
        flops = step_flops(key)
        if flops is None:
            print(f"| {key} | – (f64 density maths, not matrix products) | – | – | – | – | – |")
            continue
        g = achieved(key, ours)
        print(f"| {key} | {flops * 1e-6:,.2f} | {g:,.1f} | {share(g, best_gemm)} | "
              f"{share(g, fma_peak)} | {with_share(achieved(key, torch))} | "
              f"{with_share(achieved(key, jax))} |")
    print()
    print("GEMM MFLOP/step: 2·r·k·n per example for each layer (k inputs, n outputs, r "
          "positions: 1 for a dense layer, the output pixels for a convolution, whose k is "
          "c_in·5²) in each of forward, weight gradient and input gradient (none for the first "
          f"layer), times the batch: W1 {step_flops('w1:1'):,} FLOP per row, W2 "
          f"{step_flops('w2:1'):,} per image. "
          "Elementwise work (activations, pooling, the head's softmax, softplus and logsumexp, "
          "Adam) is not counted.")
    print()

if scaling:
    epoch = 128_000
    print(f"## W1 scaling: time per epoch-equivalent ({epoch:,} rows) as the batch grows")
    print()
    print("| batch | steps/epoch | ours s/epoch | PyTorch s/epoch | JAX s/epoch | ours/PyTorch time | "
          "ours/JAX time | ours rows/s | PyTorch rows/s | JAX rows/s | others' CPU % |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for batch in (128, 1280, 4096, 12800):
        key = f"w1:{batch}"
        if key not in ours:
            continue
        steps = epoch / batch
        per_epoch = {name: side[key][0] * steps / 1e3 for name, side in
                     (("ours", ours), ("torch", torch), ("jax", jax)) if key in side}
        text = lambda s: f"{per_epoch[s]:.3f}" if s in per_epoch else "–"
        ratio = lambda s: f"{per_epoch['ours'] / per_epoch[s]:.2f}×" if s in per_epoch else "–"
        rate = lambda side: f"{side[key][2]:,.0f}" if key in side else "–"
        worst = max(side[key][4] for side in (ours, torch, jax) if key in side)
        print(f"| {batch:,} | {steps:,.1f} | {text('ours')} | {text('torch')} | {text('jax')} | "
              f"{ratio('torch')} | {ratio('jax')} | {rate(ours)} | {rate(torch)} | {rate(jax)} | "
              f"{worst:.1f} |")
    print()

everything = [r[4] for side in (ours, base, torch, jax) for r in side.values()]
everything += [r[1] for side in roof.values() for r in side.values()]
worst = max(everything)
print(f"Other processes used at most {worst:.1f}% of the machine's CPU during any timing above.")
if worst > 5:
    print(f"**Warning: the machine was not quiet (up to {worst:.0f}% busy with other work); "
          "these timings are not trustworthy. Rerun on an idle machine.**")
print()
EOF_PY
if [[ $w4 == 1 ]]; then
    echo "W4: generating data and training the model ..." >&2
    largest=0
    for n in $w4_rows; do
        "$mdn" data toy --n "$n" --seed 1 --out "$work/toy-$n.csv"
        (( n > largest )) && largest=$n
    done
    # The W4 model: the toy MDN (1 → 32 → 32 tanh, m = 5) as one network (the defaults train
    # an ensemble of 5, five times the work of every row) trained 5 epochs on the largest file.
    train_before=$(busy_seconds)
    /usr/bin/time -v -o "$work/train.time" \
        "$mdn" train --data "$work/toy-$largest.csv" --inputs x --targets t \
        --out "$work/toy.mdn" --epochs 5 --quiet --ensemble 1 --noise-y off
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
        # The baseline binary may not read today's model files: it gets its own model, the
        # same single network where it knows the options (before ensembles were the default,
        # a single network was all it trained); without them it trained an ensemble of 5 and
        # its W4 rows were five times the work of ours.
        single=()
        if "$baseline_mdn" train --help | grep -q -- '--ensemble'; then
            single=(--ensemble 1 --noise-y off)
        fi
        measure "baseline ($baseline_rev) mdn train, $largest rows, 5 epochs" \
            "$baseline_mdn" train --data "$work/toy-$largest.csv" --inputs x --targets t \
            --out "$work/toy-baseline.mdn" --epochs 5 --quiet "${single[@]}"
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

# latest.md is complete once tee has seen the end of its input.
exec >&3 3>&-
wait "$tee_pid" 2>/dev/null || true

if [[ $update == 1 ]]; then
    benchmarks="${BENCHMARKS_MD:-BENCHMARKS.md}"
    # The figure of the default results folders is bench/ratios.png (bench/ratios-avx2.png);
    # a run with --results DIR draws DIR/ratios.png.
    figure=bench/ratios.png
    [[ $simd == avx2 ]] && figure=bench/ratios-avx2.png
    [[ $results != "$default_results" ]] && figure="$results/ratios.png"
    if "$PYTHON" -c 'import matplotlib' 2>/dev/null; then
        "$PYTHON" bench/plot_ratios.py --results "$results" --out "$figure" >&2
    else
        echo "matplotlib is not installed: $figure not redrawn" >&2
        figure=""
    fi
    "$PYTHON" - "$benchmarks" "$results/latest.md" "$simd" "$figure" <<'EOF_PY'
import sys
from datetime import datetime, timezone
from pathlib import Path

path, latest, simd, figure = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
begin = f"<!-- BEGIN generated by bench/compare.sh --simd {simd} --update-benchmarks; do not edit -->"
end = f"<!-- END generated by bench/compare.sh --simd {simd} -->"
text = path.read_text()
if begin not in text or end not in text:
    sys.exit(f"error: {path} has no generated block for --simd {simd} (the lines {begin!r} ... {end!r})")
# Two heading levels down: the block sits under "## Results" / "### <SIMD setting>".
body = ["##" + line if line.startswith("#") else line for line in latest.read_text().splitlines()]
stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
block = [begin, "", f"_Written by `bench/compare.sh` on {stamp}; the command is the last line._", ""]
block += body
if figure:
    block += ["", f"![speed relative to PyTorch and JAX per workload, against issue 18's goal]({figure})"]
block += ["", end]
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
path.write_text(head + "\n".join(block) + tail)
print(f"updated the --simd {simd} block of {path}", file=sys.stderr)
EOF_PY
fi
