#!/usr/bin/env bash
# Fit quality of the built-in flows against zuko on the toy densities: examples/flow_quality.rs
# draws the data once (fixed seeds; 10000 training and 5000 held-out points per set,
# standardised, written as .npy into a temporary directory) and fits MAF, RealNVP and NSF
# (flow_models::spec with FlowOptions::default()); scripts/flow_quality_zuko.py fits zuko's flows
# to the same files twice: "zuko" is zuko's own flows of the same architecture (its affine and
# spline parametrisations and init), "zuko matched" (FLOW_QUALITY_ZUKO=matched) zuko's flow
# classes with our parametrisation and init, so that only the implementations differ (see its
# docstring). All use Adam (lr 1e-3), batch 256 and the same number of steps. A single fit's
# held-out NLL moves by up to ~0.5 nats with the seed of the initial weights and batch order
# (either library), so each flow is fitted with several seeds (FLOW_QUALITY_SEED = 0, 1, ...) and
# the table gives the mean and standard deviation over seeds; the fits run as one-thread jobs,
# two at a time. Prints a markdown table: held-out NLL per point (original units), the
# differences of the means, and the true density's NLL where it is known.
# Usage: scripts/flow_quality.sh [steps] [seeds]   (defaults 1000 and 3: about 25 minutes on 2
# cores); FLOW_QUALITY_INIT / FLOW_QUALITY_ZERO_LAST change the start of ours and of "zuko
# matched" alike (examples/flow_quality.rs).
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
  for s in $(seq 0 $((seeds - 1))); do echo "zuko $s"; echo "matched $s"; done
  for s in $(seq 0 $((seeds - 1))); do echo "rust $s"; done
} | xargs -P 2 -L 1 bash -c '
  if [ "$0" = zuko ]; then
    FLOW_QUALITY_SEED=$1 OMP_NUM_THREADS=1 .venv/bin/python scripts/flow_quality_zuko.py "$dir" "$steps" 1 > "$dir/zuko_$1.jsonl"
  elif [ "$0" = matched ]; then
    FLOW_QUALITY_ZUKO=matched FLOW_QUALITY_SEED=$1 OMP_NUM_THREADS=1 .venv/bin/python scripts/flow_quality_zuko.py "$dir" "$steps" 1 > "$dir/matched_$1.jsonl"
  else
    FLOW_QUALITY_SEED=$1 OMP_NUM_THREADS=1 "$target/release/examples/flow_quality" "$dir/rust$1" "$steps" 1 > "$dir/rust_$1.jsonl"
  fi'
# each Rust run rewrote the same data (same seeds) into its own directory: check they agree
for f in "$dir"/*.npy; do
  for r in "$dir"/rust*/; do cmp -s "$f" "$r/$(basename "$f")" || { echo "flow_quality: data differ: $f" >&2; exit 1; }; done
done
.venv/bin/python - "$dir"/rust_*.jsonl "$dir"/zuko_*.jsonl "$dir"/matched_*.jsonl <<'PY'
import json, math, statistics, sys
rows = {}
for path in sys.argv[1:]:
    for line in open(path):
        if line.startswith("{"):
            r = json.loads(line)
            rows.setdefault((r["set"], r["flow"]), {}).setdefault(r["impl"], []).append(r)
def stat(v):
    x = [r["nll"] for r in v]
    return statistics.mean(x), (statistics.stdev(x) if len(x) > 1 else float("nan")), x
def diff(a, b):
    # difference of the means and its standard error (independent seeds)
    (ma, sa, xa), (mb, sb, xb) = a, b
    se = math.sqrt(sa * sa / len(xa) + sb * sb / len(xb)) if len(xa) > 1 and len(xb) > 1 else float("nan")
    return f"{ma - mb:+.3f} ± {se:.3f}", ma - mb, se
print("| dataset | flow | ours NLL, mean (sd) | zuko matched | ours - matched (± s.e.) | zuko | ours - zuko (± s.e.) | true NLL | ours per seed |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|")
worst = {"zuko-matched": [], "zuko": []}
for (s, f), v in rows.items():
    a = stat(v["rust"])
    cells = []
    for impl in ("zuko-matched", "zuko"):
        if impl in v:
            b = stat(v[impl])
            text, d, se = diff(a, b)
            worst[impl].append((d, se, s, f))
            cells += [f"{b[0]:.4f} ({b[1]:.4f})", text]
        else:
            cells += ["-", "-"]
    true = v["rust"][0].get("true_nll")
    t = f"{true:.4f}" if true is not None else "-"
    per = ", ".join(f"{y:.3f}" for y in a[2])
    print(f"| {s} | {f} | {a[0]:.4f} ({a[1]:.4f}) | {' | '.join(cells)} | {t} | {per} |")
n = {len(v["rust"]) for v in rows.values()}
secs = lambda impl: sum(r["seconds"] for v in rows.values() for r in v.get(impl, []))
print(f"\nseeds per fit: {sorted(n)}; fitting time, all seeds: ours {secs('rust'):.0f} s, zuko {secs('zuko'):.0f} s, "
      f"zuko matched {secs('zuko-matched'):.0f} s (one thread each)")
for impl, ds in worst.items():
    if ds:
        within = sum(1 for d, se, _, _ in ds if d <= 0.02)
        within2 = sum(1 for d, se, _, _ in ds if d <= 0.02 + 2 * se)
        d, se, s, f = max(ds)
        print(f"ours - {impl}: {within} of {len(ds)} fits no worse by more than 0.02 nats, {within2} of {len(ds)} "
              f"within 0.02 + 2 s.e.; largest {d:+.4f} ± {se:.4f} ({s}, {f})")
PY
