#!/usr/bin/env bash
# The normalizing-flow workloads (called by scripts/bench.sh; BENCH_FLOWS=only there runs just
# these): examples/bench_flows.rs (release build) and zuko on eager PyTorch
# (scripts/bench_flows_zuko.py), one after the other with the same thread count
# (tch::set_num_threads / torch.set_num_threads, OMP_NUM_THREADS) and the same malloc setting as
# scripts/bench.sh; then, for MAF, TFP on JAX with jax.jit (scripts/bench_flows_tfp_jax.py) when
# the environment of scripts/setup_tfp_jax.sh exists (TFP_JAX=1 installs it first, TFP_JAX=0
# skips it). Prints a markdown table: median [min, max] ms per workload and the speed-ups
# zuko / Rust and TFP-JAX / Rust (above 1: Rust is faster).
# Usage: scripts/bench_flows.sh [threads] [quick]
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
source scripts/bench_env.sh
target=${CARGO_TARGET_DIR:-target}
OMP_NUM_THREADS=$threads "$target/release/examples/bench_flows" "$threads" $quick $rust_malloc >> "$out"
env "${malloc_env[@]}" OMP_NUM_THREADS=$threads .venv/bin/python scripts/bench_flows_zuko.py "$threads" $quick >> "$out"
if [ -n "$tfp_python" ]; then
  "$tfp_python" scripts/bench_flows_tfp_jax.py "$threads" $quick >> "$out"
fi
.venv/bin/python - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
by = {}
for r in rows:
    by.setdefault((r["workload"], r["size"]), {})[r["impl"]] = r
def fmt(r):
    return f"{r['median_s'] * 1e3:.3f} [{r['min_s'] * 1e3:.3f}, {r['max_s'] * 1e3:.3f}]" if r else "-"
print("Rows \"F1 train step (nn::Adam)\" (Rust with tch::nn::Adam) and \"(zuko, fused Adam)\" compare with the other side's plain F1 step.\n")
jx_any = any("tfp-jax" in v for v in by.values())
head = "| workload | flow, size | Rust ms median [min, max] | zuko ms median [min, max] | zuko / Rust |"
rule = "|---|---|---:|---:|---:|"
if jx_any:
    head += " TFP-JAX jit ms median [min, max] | TFP-JAX / Rust |"
    rule += "---:|---:|"
print(head)
print(rule)
for (w, s), v in by.items():
    rust, zk = v.get("rust"), v.get("zuko")
    # rows of one side only compare with the other side's plain training step
    if w.startswith("F1 train step ("):
        rust = rust or by[("F1 train step", s)].get("rust")
        zk = zk or by[("F1 train step", s)].get("zuko")
    ratio = f"{zk['median_s'] / rust['median_s']:.2f}x" if rust and zk else "-"
    line = f"| {w} | {s} | {fmt(rust)} | {fmt(zk)} | {ratio} |"
    if jx_any:
        jx = v.get("tfp-jax")
        rj = f"{jx['median_s'] / rust['median_s']:.2f}x" if rust and jx else "-"
        line += f" {fmt(jx)} | {rj} |"
    print(line)
PY
