#!/usr/bin/env bash
# Flow workloads (examples/bench_flows.rs) beside zuko on eager PyTorch
# (scripts/bench_flows_zuko.py), one run, same thread count; prints a markdown table of medians.
# Usage: scripts/bench_flows.sh [threads] [quick]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
threads=${1:-2}
scripts/setup.sh >/dev/null
scripts/setup_flow_refs.sh >/dev/null
cargo build --release --example bench_flows >/dev/null
out=$(mktemp)
./target/release/examples/bench_flows "$threads" ${2:-} >>"$out"
.venv/bin/python scripts/bench_flows_zuko.py "$threads" ${2:-} >>"$out"
echo "machine: $(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $threads threads, float32"
.venv/bin/python - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
by = {}
for r in rows:
    by.setdefault((r["workload"], r["size"]), {})[r["impl"]] = r["median_s"] * 1e3
print("| workload | size | Rust ms | zuko ms | zuko / Rust |")
print("|---|---|---|---|---|")
for (w, s), v in by.items():
    rust, zuko = v.get("rust"), v.get("zuko")
    speed = f"{zuko / rust:.2f}" if rust and zuko else "-"
    print(f"| {w} | {s} | {rust:.3g} | {zuko:.3g} | {speed} |")
PY
rm -f "$out"
