#!/usr/bin/env bash
# Runs the issue-5 workloads in Rust (examples/bench.rs, release build) and in eager
# torch.distributions (scripts/bench_torch.py), one after the other on this machine with the
# same thread count, and prints a table: median [min, max] per workload and the ratio
# Rust / PyTorch (below 1: Rust is faster). Usage: scripts/bench.sh [threads] [quick]
#
# Optional third column: TensorFlow Probability on JAX with jax.jit (scripts/bench_tfp_jax.py),
# run when its environment from scripts/setup_tfp_jax.sh exists ($TFP_JAX_VENV, by default
# ${XDG_CACHE_HOME:-$HOME/.cache}/tch-distributions/venv-tfp-jax); TFP_JAX=1 installs it first
# if missing, TFP_JAX=0 skips it. It adds "TFP-JAX ms median [min, max]" and "ratio Rust/TFP-JAX".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh >&2
threads=${1:-2}
quick=${2:-}
if [ "${BENCH_FLOWS:-}" = only ]; then
  exec scripts/bench_flows.sh "$threads" $quick
fi
cargo build --release --example bench >&2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); threads: $threads" >&2
# One malloc setting for all three sides, and the TFP-JAX environment (scripts/bench_env.sh).
source scripts/bench_env.sh
echo "malloc: ${BENCH_MALLOC:-keep freed memory (32 MB mmap / 64 MB trim thresholds)}" >&2
OMP_NUM_THREADS=$threads ./target/release/examples/bench "$threads" $quick $rust_malloc >> "$out"
env "${malloc_env[@]}" OMP_NUM_THREADS=$threads .venv/bin/python scripts/bench_torch.py "$threads" $quick >> "$out"
if [ -n "$tfp_python" ]; then
  # bench_tfp_jax.py limits itself to $threads CPUs (affinity); see its docstring.
  env "${malloc_env[@]}" "$tfp_python" scripts/bench_tfp_jax.py "$threads" $quick >> "$out"
fi
.venv/bin/python - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
by = {}
for r in rows:
    by.setdefault((r["workload"], r["size"]), {})[r["impl"]] = r
def fmt(r):
    return f"{r['median_s'] * 1e3:10.3f} [{r['min_s'] * 1e3:.3f}, {r['max_s'] * 1e3:.3f}]" if r else "-"
tfp = any(r["impl"] == "tfp-jax" for r in rows)
print(f"{'workload':30} {'size':22} {'Rust ms median [min, max]':>34} {'PyTorch ms median [min, max]':>34} {'ratio':>7}"
      + (f" {'TFP-JAX ms median [min, max]':>34} {'ratio Rust/TFP-JAX':>18}" if tfp else ""))
for (w, s), v in by.items():
    rust, tch = v.get("rust"), v.get("torch")
    ratio = f"{rust['median_s'] / tch['median_s']:7.3f}" if rust and tch else "-"
    line = f"{w:30} {s:22} {fmt(rust):>34} {fmt(tch):>34} {ratio}"
    if tfp:
        jx = v.get("tfp-jax")
        ratio_jx = f"{rust['median_s'] / jx['median_s']:.3f}" if rust and jx else "-"
        line = f"{line:<{30 + 1 + 22 + 1 + 34 + 1 + 34 + 1 + 7}} {fmt(jx):>34} {ratio_jx:>18}"
    print(line)
PY
# The flow workloads (train steps and sampling of MAF and NSF) beside zuko, same threads;
# BENCH_FLOWS=0 skips them, BENCH_FLOWS=only runs only them.
if [ "${BENCH_FLOWS:-1}" != 0 ]; then
  echo
  scripts/bench_flows.sh "$threads" $quick
fi
