#!/usr/bin/env bash
# The normalizing-flow workloads (called by scripts/bench.sh; BENCH_FLOWS=only there runs just
# these): examples/bench_flows.rs (release build) and zuko on eager PyTorch
# (scripts/bench_flows_zuko.py), one after the other with the same thread count
# (tch::set_num_threads / torch.set_num_threads, OMP_NUM_THREADS) and the same malloc setting as
# scripts/bench.sh. Prints a markdown table: median [min, max] ms per workload and the speed-up
# zuko / Rust (above 1: Rust is faster). Usage: scripts/bench_flows.sh [threads] [quick]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh >&2
scripts/setup_flow_refs.sh >&2
threads=${1:-2}
quick=${2:-}
cargo build --release --example bench_flows >&2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); threads: $threads; load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if [ "${BENCH_MALLOC:-}" = default ]; then
  rust_malloc=default-malloc
  malloc_env=()
else
  rust_malloc=
  malloc_env=(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=67108864)
fi
target=${CARGO_TARGET_DIR:-target}
OMP_NUM_THREADS=$threads "$target/release/examples/bench_flows" "$threads" $quick $rust_malloc >> "$out"
env "${malloc_env[@]}" OMP_NUM_THREADS=$threads .venv/bin/python scripts/bench_flows_zuko.py "$threads" $quick >> "$out"
.venv/bin/python - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
by = {}
for r in rows:
    by.setdefault((r["workload"], r["size"]), {})[r["impl"]] = r
def fmt(r):
    return f"{r['median_s'] * 1e3:.3f} [{r['min_s'] * 1e3:.3f}, {r['max_s'] * 1e3:.3f}]" if r else "-"
print("Rows \"F1 train step (nn::Adam)\" (Rust with tch::nn::Adam) and \"(zuko, fused Adam)\" compare with the other side's plain F1 step.\n")
print("| workload | flow, size | Rust ms median [min, max] | zuko ms median [min, max] | zuko / Rust |")
print("|---|---|---:|---:|---:|")
for (w, s), v in by.items():
    rust, zk = v.get("rust"), v.get("zuko")
    # rows of one side only compare with the other side's plain training step
    if w.startswith("F1 train step ("):
        rust = rust or by[("F1 train step", s)].get("rust")
        zk = zk or by[("F1 train step", s)].get("zuko")
    ratio = f"{zk['median_s'] / rust['median_s']:.2f}x" if rust and zk else "-"
    print(f"| {w} | {s} | {fmt(rust)} | {fmt(zk)} | {ratio} |")
PY
