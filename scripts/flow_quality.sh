#!/usr/bin/env bash
# Fit quality of the built-in flows against zuko on the toy densities: examples/flow_quality.rs
# draws the data once (fixed seeds; 10000 training and 5000 held-out points per set,
# standardised, written as .npy into a temporary directory) and fits MAF, RealNVP and NSF;
# scripts/flow_quality_zuko.py fits zuko's flows of the same architecture to the same files
# (see its docstring for what differs). Both use Adam (lr 1e-3), batch 256 and the same number
# of steps; the two fits run side by side, one thread each. Prints a markdown table of the
# held-out NLL per point (original units) of both, their difference and the true density's
# where it is known. Usage: scripts/flow_quality.sh [steps]   (default 2000: about 8 minutes
# on 2 cores)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh >&2
scripts/setup_flow_refs.sh >&2
steps=${1:-2000}
cargo build --release --example flow_quality >&2
target=${CARGO_TARGET_DIR:-target}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); steps: $steps" >&2
# the data first (0 steps: write the files only), then both fits at once
OMP_NUM_THREADS=1 "$target/release/examples/flow_quality" "$dir" 0 1 > /dev/null
OMP_NUM_THREADS=1 "$target/release/examples/flow_quality" "$dir/rust" "$steps" 1 > "$dir/rust.jsonl" &
rust_pid=$!
OMP_NUM_THREADS=1 .venv/bin/python scripts/flow_quality_zuko.py "$dir" "$steps" 1 > "$dir/zuko.jsonl"
wait "$rust_pid"
# the Rust run rewrote the same data (same seeds) into its own directory: check they agree
for f in "$dir"/*.npy; do cmp -s "$f" "$dir/rust/$(basename "$f")" || { echo "flow_quality: data differ: $f" >&2; exit 1; }; done
.venv/bin/python - "$dir/rust.jsonl" "$dir/zuko.jsonl" <<'PY'
import json, sys
rows = {}
for path in sys.argv[1:]:
    for line in open(path):
        if line.startswith("{"):
            r = json.loads(line)
            rows.setdefault((r["set"], r["flow"]), {})[r["impl"]] = r
print("| dataset | flow | ours NLL | zuko NLL | ours - zuko | true NLL | ours s | zuko s |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
worst = -1e9
for (s, f), v in rows.items():
    a, b = v.get("rust"), v.get("zuko")
    true = (a or b).get("true_nll")
    diff = a["nll"] - b["nll"] if a and b else float("nan")
    worst = max(worst, diff)
    t = f"{true:.4f}" if true is not None else "-"
    print(f"| {s} | {f} | {a['nll']:.4f} | {b['nll']:.4f} | {diff:+.4f} | {t} | {a['seconds']:.1f} | {b['seconds']:.1f} |")
print(f"\nlargest (ours - zuko): {worst:+.4f} nats per point")
PY
