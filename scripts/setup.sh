#!/usr/bin/env bash
# Idempotent set-up: a Python virtual environment with PyTorch 2.11.0 (libtorch for tch 0.24),
# NumPy and SciPy (float64 references for the parity script's extreme parameters), linked into the project so that plain `cargo build/test/run` work.
#
# - The environment lives in $TCH_DISTRIBUTIONS_VENV, by default
#   ${XDG_CACHE_HOME:-$HOME/.cache}/tch-distributions/venv-torch-2.11.0, and is reused when it
#   already holds torch 2.11.0, numpy and scipy $SCIPY_VERSION (so clones of the project share one install).
# - `.libtorch` (a link to the environment's `torch/` folder) is what `.cargo/config.toml`
#   hands to tch as LIBTORCH; a LIBTORCH set by the user takes precedence.
# - `.venv` (a link to the environment) gives scripts the matching Python.
set -euo pipefail

TORCH_VERSION=2.11.0
SCIPY_VERSION=1.17.1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${TCH_DISTRIBUTIONS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tch-distributions/venv-torch-$TORCH_VERSION}
python_bin=${PYTHON:-python3}

env_ok() {
  [ -x "$venv/bin/python" ] &&
    "$venv/bin/python" -c "import torch, numpy, scipy, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$TORCH_VERSION' and scipy.__version__ == '$SCIPY_VERSION' else 1)" >/dev/null 2>&1
}

if env_ok; then
  echo "setup: reusing $venv (torch $TORCH_VERSION)"
else
  echo "setup: creating $venv with torch==$TORCH_VERSION (PyPI), numpy and scipy==$SCIPY_VERSION"
  start=$(date +%s)
  mkdir -p "$(dirname "$venv")"
  [ -x "$venv/bin/python" ] || "$python_bin" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet "torch==$TORCH_VERSION" numpy "scipy==$SCIPY_VERSION"
  env_ok || { echo "setup: torch $TORCH_VERSION or scipy $SCIPY_VERSION is not importable from $venv" >&2; exit 1; }
  echo "setup: environment ready in $(( $(date +%s) - start )) s"
fi

torch_dir=$("$venv/bin/python" -c "import torch, os; print(os.path.dirname(torch.__file__))")
[ -f "$torch_dir/lib/libtorch_cpu.so" ] || { echo "setup: no libtorch_cpu.so under $torch_dir/lib" >&2; exit 1; }
ln -sfn "$torch_dir" "$root/.libtorch"
ln -sfn "$venv" "$root/.venv"
if [ -n "${LIBTORCH:-}" ]; then
  echo "setup: LIBTORCH is set by the caller ($LIBTORCH); cargo will use it instead of .libtorch"
fi
