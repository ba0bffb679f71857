#!/usr/bin/env bash
# Runs the full experiments and refreshes what the README shows: the PNG figures under
# docs/figures/ and each experiment's report.md under docs/results/.
#
#   bash scripts/reproduce.sh            # toy, robot and mnist
#   bash scripts/reproduce.sh toy robot  # a subset
set -euo pipefail
cd "$(dirname "$0")/.."

experiments=("$@")
[ ${#experiments[@]} -gt 0 ] || experiments=(toy robot mnist)

cargo build --release -p mdn-cli
mkdir -p docs/figures docs/results
for name in "${experiments[@]}"; do
    out="results/$name"
    start=$(date +%s)
    ./target/release/mdn experiment "$name" --out "$out"
    echo "$name: $(( $(date +%s) - start )) s wall time"
    cp "$out"/*.png docs/figures/
    cp "$out/report.md" "docs/results/$name.md"
    cp "$out/metrics.json" "docs/results/$name.json"
done
