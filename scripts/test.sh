#!/usr/bin/env bash
# Builds and tests everything: set-up (idempotent), `cargo test` (with the `cli` feature, so the
# `tchd` program and its test are built and run too), a new crate using the library
# (scripts/downstream_check.sh), `cargo package`, the PyTorch parity script, and the flow
# parity scripts against TFP on JAX and nflows (their environments set up by the two scripts
# below, pinned, from PyPI).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
scripts/setup_tfp_jax.sh
scripts/setup_flow_refs.sh
cargo build --examples --features cli
cargo test --features cli
echo "== the library used from a new crate (scripts/downstream_check.sh)"
scripts/downstream_check.sh
echo "== cargo package (offline): only what a user needs is shipped, and the packaged crate builds"
listed=$(cargo package --list --offline --allow-dirty 2>/dev/null)
if grep -E '^(data|tests|examples|scripts|benches)/' <<<"$listed"; then
  echo "cargo package would ship the files above; see include in Cargo.toml" >&2
  exit 1
fi
# (The warnings name the tests and examples left out of the package on purpose.)
cargo package --offline --allow-dirty 2> >(grep -v '^warning: ignoring \(test\|example\) ' >&2)
# The verify build compiles the packaged copy (target/package/...) into this target directory
# under the same unit hash as this checkout's featureless library, so cargo would afterwards
# take that library as up to date with the packaged sources; drop those fingerprints.
for f in target/debug/.fingerprint/tch-distributions-*/dep-lib-tch_distributions; do
  if [ -e "$f" ] && grep -aq "package/tch-distributions-" "$f"; then rm -rf "$(dirname "$f")"; fi
done
echo "== the docs.rs build: documentation without libtorch (feature doc-only, as [package.metadata.docs.rs])"
LIBTORCH=/nonexistent DOCS_RS=1 RUSTDOCFLAGS="-D warnings" \
  cargo doc --no-deps --lib --features doc-only --offline --target-dir target/doc-only
echo "== parity with PyTorch (scripts/parity.py)"
.venv/bin/python scripts/parity.py --driver target/debug/examples/json_driver
echo "== parity of the rational-quadratic spline with TFP-JAX and nflows (scripts/parity_spline.py)"
.venv/bin/python scripts/parity_spline.py --driver target/debug/examples/json_driver
echo "== parity of MAF, IAF and RealNVP with TFP on JAX (scripts/parity_flows.py)"
"${TFP_JAX_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tch-distributions/venv-tfp-jax}/bin/python" scripts/parity_flows.py --driver target/debug/examples/json_driver
