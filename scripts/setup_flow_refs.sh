#!/usr/bin/env bash
# Idempotent set-up of the flow reference libraries in the torch environment of scripts/setup.sh
# (`.venv`): nflows, zuko and Pyro, pinned, for the parity scripts (scripts/parity_spline.py).
#
# - Runs scripts/setup.sh first if `.venv` is missing.
# - The three packages are installed with `--no-deps`, so that pip never replaces the
#   environment's torch 2.11.0; their small pure-Python dependencies are pinned and installed
#   explicitly instead:
#   * nflows 0.14 (its last release, 2020) lists matplotlib, tensorboard, tqdm and umnn, but
#     importing its transforms needs only matplotlib (nflows/nn/nde/made.py imports pyplot at
#     module level) and tqdm; tensorboard and umnn are not imported by the spline code.
#   * zuko 1.6.0 needs only torch and numpy.
#   * pyro-ppl 1.9.2 needs opt_einsum, pyro-api and tqdm.
# - Each package is checked by importing it (and nflows' spline function) with torch 2.11.0;
#   the environment is reused when all the pins already import.
set -euo pipefail

NFLOWS_VERSION=0.14
ZUKO_VERSION=1.6.0
PYRO_VERSION=1.9.2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ -x "$root/.venv/bin/python" ] || "$root/scripts/setup.sh"
py="$root/.venv/bin/python"

env_ok() {
  "$py" - >/dev/null 2>&1 <<PY
import sys
from importlib.metadata import version
import torch, nflows, zuko, pyro
from nflows.transforms.splines.rational_quadratic import unconstrained_rational_quadratic_spline
from zuko.transforms import MonotonicRQSTransform
import pyro.distributions.transforms
want = {"nflows": "$NFLOWS_VERSION", "zuko": "$ZUKO_VERSION", "pyro-ppl": "$PYRO_VERSION"}
sys.exit(0 if all(version(p) == v for p, v in want.items()) and torch.__version__.startswith("2.11.0") else 1)
PY
}

if env_ok; then
  echo "setup_flow_refs: reusing $root/.venv (nflows $NFLOWS_VERSION, zuko $ZUKO_VERSION, pyro-ppl $PYRO_VERSION)"
else
  echo "setup_flow_refs: installing nflows==$NFLOWS_VERSION zuko==$ZUKO_VERSION pyro-ppl==$PYRO_VERSION into $root/.venv (PyPI, --no-deps)"
  start=$(date +%s)
  "$py" -m pip install --quiet --no-deps "nflows==$NFLOWS_VERSION" "zuko==$ZUKO_VERSION" "pyro-ppl==$PYRO_VERSION"
  # Their dependencies, without letting pip resolve torch or numpy again.
  "$py" -m pip install --quiet --no-deps "tqdm==4.67.1" "opt_einsum==3.4.0" "pyro-api==0.1.2" \
    "matplotlib==3.10.3" "contourpy==1.3.2" "cycler==0.12.1" "fonttools==4.58.4" "kiwisolver==1.4.8" \
    "packaging==25.0" "pillow==11.2.1" "pyparsing==3.2.3" "python-dateutil==2.9.0.post0" "six==1.17.0"
  if ! env_ok; then
    "$py" - <<'PY' || true
import nflows, zuko, pyro
from nflows.transforms.splines.rational_quadratic import unconstrained_rational_quadratic_spline
PY
    echo "setup_flow_refs: the flow references are not importable from $root/.venv" >&2
    exit 1
  fi
  echo "setup_flow_refs: ready in $(( $(date +%s) - start )) s"
fi
