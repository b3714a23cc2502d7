#!/usr/bin/env bash
# Runs the issue-5 workloads in Rust (examples/bench.rs, release build) and in eager
# torch.distributions (scripts/bench_torch.py), one after the other on this machine with the
# same thread count, and prints a table: median [min, max] per workload and the ratio
# Rust / PyTorch (below 1: Rust is faster). Usage: scripts/bench.sh [threads] [quick]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh >&2
threads=${1:-2}
quick=${2:-}
cargo build --release --example bench >&2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); threads: $threads" >&2
OMP_NUM_THREADS=$threads ./target/release/examples/bench "$threads" $quick >> "$out"
OMP_NUM_THREADS=$threads .venv/bin/python scripts/bench_torch.py "$threads" $quick >> "$out"
.venv/bin/python - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
by = {}
for r in rows:
    by.setdefault((r["workload"], r["size"]), {})[r["impl"]] = r
def fmt(r):
    return f"{r['median_s'] * 1e3:10.3f} [{r['min_s'] * 1e3:.3f}, {r['max_s'] * 1e3:.3f}]" if r else "-"
print(f"{'workload':30} {'size':22} {'Rust ms median [min, max]':>34} {'PyTorch ms median [min, max]':>34} {'ratio':>7}")
for (w, s), v in by.items():
    rust, tch = v.get("rust"), v.get("torch")
    ratio = f"{rust['median_s'] / tch['median_s']:7.3f}" if rust and tch else "-"
    print(f"{w:30} {s:22} {fmt(rust):>34} {fmt(tch):>34} {ratio}")
PY
