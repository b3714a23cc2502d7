#!/usr/bin/env bash
# Fit quality of the built-in flows against zuko on the toy densities: examples/flow_quality.rs
# draws the data once (fixed seeds; 10000 training and 5000 held-out points per set,
# standardised, written as .npy into a temporary directory) and fits MAF, RealNVP and NSF;
# scripts/flow_quality_zuko.py fits zuko's flows of the same architecture to the same files
# (see its docstring for what differs). Both use Adam (lr 1e-3), batch 256 and the same number
# of steps. A single fit's held-out NLL moves by up to ~0.5 nats with the seed of the initial
# weights and batch order (measured on pinwheel, either library), so each flow is fitted with
# several seeds (FLOW_QUALITY_SEED = 0, 1, ...) and the table gives the mean and standard
# deviation over seeds; the fits run as one-thread jobs, two at a time. Prints a markdown table:
# held-out NLL per point (original units) of both, the difference of the means, and the true
# density's NLL where it is known.
# Usage: scripts/flow_quality.sh [steps] [seeds]   (defaults 1000 and 3: about 9 minutes on 2
# cores)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh >&2
scripts/setup_flow_refs.sh >&2
steps=${1:-1000}
seeds=${2:-3}
cargo build --release --example flow_quality >&2
target=${CARGO_TARGET_DIR:-target}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); steps: $steps; seeds: $seeds" >&2
# the data first (0 steps: write the files only), then the fits, two jobs at a time (zuko's,
# the longer ones, first)
OMP_NUM_THREADS=1 "$target/release/examples/flow_quality" "$dir" 0 1 > /dev/null
export dir steps target
{
  for s in $(seq 0 $((seeds - 1))); do echo "zuko $s"; done
  for s in $(seq 0 $((seeds - 1))); do echo "rust $s"; done
} | xargs -P 2 -L 1 bash -c '
  if [ "$0" = zuko ]; then
    FLOW_QUALITY_SEED=$1 OMP_NUM_THREADS=1 .venv/bin/python scripts/flow_quality_zuko.py "$dir" "$steps" 1 > "$dir/zuko_$1.jsonl"
  else
    FLOW_QUALITY_SEED=$1 OMP_NUM_THREADS=1 "$target/release/examples/flow_quality" "$dir/rust$1" "$steps" 1 > "$dir/rust_$1.jsonl"
  fi'
# each Rust run rewrote the same data (same seeds) into its own directory: check they agree
for f in "$dir"/*.npy; do
  for r in "$dir"/rust*/; do cmp -s "$f" "$r/$(basename "$f")" || { echo "flow_quality: data differ: $f" >&2; exit 1; }; done
done
.venv/bin/python - "$dir"/rust_*.jsonl "$dir"/zuko_*.jsonl <<'PY'
import json, statistics, sys
rows = {}
for path in sys.argv[1:]:
    for line in open(path):
        if line.startswith("{"):
            r = json.loads(line)
            rows.setdefault((r["set"], r["flow"]), {}).setdefault(r["impl"], []).append(r)
def stat(v):
    x = [r["nll"] for r in v]
    return statistics.mean(x), (statistics.stdev(x) if len(x) > 1 else float("nan")), x
print("| dataset | flow | ours NLL, mean (sd) | zuko NLL, mean (sd) | ours - zuko | true NLL | ours per seed | zuko per seed |")
print("|---|---|---:|---:|---:|---:|---|---|")
worst = -1e9
for (s, f), v in rows.items():
    (ma, sa, xa), (mb, sb, xb) = stat(v["rust"]), stat(v["zuko"])
    true = v["rust"][0].get("true_nll")
    worst = max(worst, ma - mb)
    t = f"{true:.4f}" if true is not None else "-"
    per = lambda x: ", ".join(f"{y:.3f}" for y in x)
    print(f"| {s} | {f} | {ma:.4f} ({sa:.4f}) | {mb:.4f} ({sb:.4f}) | {ma - mb:+.4f} | {t} | {per(xa)} | {per(xb)} |")
n = {len(v["rust"]) for v in rows.values()}
secs = lambda impl: sum(r["seconds"] for v in rows.values() for r in v.get(impl, []))
print(f"\nseeds per fit: {sorted(n)}; largest (ours - zuko) of the means: {worst:+.4f} nats per point; "
      f"fitting time, all seeds: ours {secs('rust'):.0f} s, zuko {secs('zuko'):.0f} s (one thread each)")
PY
