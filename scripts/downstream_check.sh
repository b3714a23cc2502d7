#!/usr/bin/env bash
# Uses the library as a dependent crate would: creates a new crate in a temporary directory with
# `tch-distributions = { path = <this checkout> }`, `tch = "0.24"` and `anyhow`, and the build.rs
# recipe of the README ("Use it in your crate"); builds its program (scripts/downstream/src/main.rs:
# fits the seed model learnable_mvn_diag to generated data, saves and reloads it, checks the fitted
# mean and sd against the data's); runs it WITHOUT LD_LIBRARY_PATH; and reports whether CUDA was
# visible (required when libtorch has libtorch_cuda.so and nvidia-smi lists a GPU). The README's
# minimal program is built beside it (not run), so the README stays in step with the API.
#
# Offline and quick: the new crate gets this project's Cargo.lock (the same dependency versions,
# nothing to download: `cargo build --offline`) and this project's target directory
# (CARGO_TARGET_DIR or target/), so tch and torch-sys are not compiled again.
# DOWNSTREAM_NO_RECIPE=1 leaves the build.rs out (to see what a dependent gets without it).
set -euo pipefail
start=$(date +%s)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
target_dir=${CARGO_TARGET_DIR:-$root/target}
# What .cargo/config.toml gives this project (cargo resolves it from the physical path, hence
# pwd -P); a dependent sets LIBTORCH (or LIBTORCH_USE_PYTORCH)
# itself. The same string as the project's builds, so torch-sys is not rebuilt.
if [ -z "${LIBTORCH:-}" ] && [ -z "${LIBTORCH_USE_PYTORCH:-}" ]; then
  export LIBTORCH="$root/.libtorch"
fi

crate=$(mktemp -d "${TMPDIR:-/tmp}/tchd-downstream.XXXXXX")
trap 'rm -rf "$crate"' EXIT
mkdir -p "$crate/src"
cp "$root/scripts/downstream/src/main.rs" "$crate/src/main.rs"
[ -n "${DOWNSTREAM_NO_RECIPE:-}" ] || cp "$root/scripts/downstream/build.rs" "$crate/build.rs"
# The README's minimal program, as a second binary: it must build as written.
mkdir -p "$crate/src/bin"
awk '/^A minimal program/ {found = 1} found && /^```rust$/ {inside = 1; next} inside && /^```$/ {exit} inside' \
  "$root/README.md" > "$crate/src/bin/downstream-readme.rs"
[ -s "$crate/src/bin/downstream-readme.rs" ] || { echo "downstream check: no minimal program found in README.md" >&2; exit 1; }
cp "$root/Cargo.lock" "$crate/Cargo.lock"
cat > "$crate/Cargo.toml" <<TOML
[package]
name = "downstream-check"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
tch-distributions = { path = "$root" }
tch = "0.24"
anyhow = "1"

[workspace]
TOML

echo "== downstream check: building a new crate in $crate against $root (target $target_dir)"
(cd "$crate" && CARGO_TARGET_DIR="$target_dir" cargo build --offline --quiet --bins)
bin="$target_dir/debug/downstream-check"
built=$(date +%s)

# libtorch's library folder: LIBTORCH's, else (LIBTORCH_USE_PYTORCH) the run path the recipe set.
runpath=$(readelf -d "$bin" 2>/dev/null | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p')
echo "run path: ${runpath:-none}"
lib_dir=${LIBTORCH:+$LIBTORCH/lib}
lib_dir=${lib_dir:-$runpath}
has_cuda_lib=false
if [ -n "$lib_dir" ] && [ -f "$lib_dir/libtorch_cuda.so" ]; then has_cuda_lib=true; fi
if command -v readelf >/dev/null; then
  needs_cuda=$(readelf -d "$bin" | grep -c 'NEEDED.*libtorch_cuda.so' || true)
  echo "links libtorch_cuda.so: $([ "$needs_cuda" -gt 0 ] && echo yes || echo no) (libtorch has it: $has_cuda_lib)"
  if $has_cuda_lib && [ "$needs_cuda" -eq 0 ] && [ -z "${DOWNSTREAM_NO_RECIPE:-}" ]; then
    echo "downstream check FAILED: libtorch has libtorch_cuda.so but the binary does not link it" >&2
    exit 1
  fi
fi

echo "== running $bin without LD_LIBRARY_PATH"
set +e
out=$(env -u LD_LIBRARY_PATH "$bin" 2>&1)
rc=$?
set -e
echo "$out"
if [ $rc -ne 0 ] || ! grep -q '^check: ok' <<<"$out"; then
  echo "downstream check FAILED (exit status $rc)" >&2
  exit 1
fi

gpu=false
if command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then gpu=true; fi
if grep -q '^cuda_available: true' <<<"$out"; then
  echo "CUDA: visible"
elif $gpu && $has_cuda_lib; then
  echo "downstream check FAILED: nvidia-smi lists a GPU and libtorch has libtorch_cuda.so, but CUDA was not visible" >&2
  exit 1
else
  why=()
  $gpu || why+=("nvidia-smi lists no GPU")
  $has_cuda_lib || why+=("libtorch has no libtorch_cuda.so in ${lib_dir:-its folder} (a CPU build)")
  echo "CUDA: not visible ($(IFS=';'; echo "${why[*]}"))"
fi
echo "downstream check: ok (build $((built - start)) s, total $(( $(date +%s) - start )) s)"
