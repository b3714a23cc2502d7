#!/usr/bin/env bash
# Idempotent set-up of the optional third column of scripts/bench.sh: TensorFlow Probability's
# JAX substrate (`from tensorflow_probability.substrates import jax as tfp`, no TensorFlow) with
# jax[cpu] and optax, in a virtual environment of its own, separate from the torch one of
# scripts/setup.sh.
#
# - The environment lives in $TFP_JAX_VENV, by default
#   ${XDG_CACHE_HOME:-$HOME/.cache}/tch-distributions/venv-tfp-jax, and is reused when it already
#   imports the pinned versions.
# - Pins: tensorflow-probability 0.25.0 (the last release) imports on JAX <= 0.6.x only: JAX 0.7
#   removed jax.interpreters.xla.pytype_aval_mappings, which TFP 0.25's JAX backend reads at
#   import. optax 0.2.8 needs jax >= 0.5.3. tf-keras is not needed by the JAX substrate.
set -euo pipefail

JAX_VERSION=0.6.2
TFP_VERSION=0.25.0
OPTAX_VERSION=0.2.8
venv=${TFP_JAX_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tch-distributions/venv-tfp-jax}
python_bin=${PYTHON:-python3}

env_ok() {
  [ -x "$venv/bin/python" ] && JAX_PLATFORMS=cpu "$venv/bin/python" - >/dev/null 2>&1 <<PY
import sys
import jax, optax, tensorflow_probability
from tensorflow_probability.substrates import jax as tfp
tfp.distributions.Normal(0.0, 1.0).log_prob(0.0)
sys.exit(0 if (jax.__version__, tensorflow_probability.__version__, optax.__version__)
         == ("$JAX_VERSION", "$TFP_VERSION", "$OPTAX_VERSION") else 1)
PY
}

if env_ok; then
  echo "setup_tfp_jax: reusing $venv (jax $JAX_VERSION, tensorflow-probability $TFP_VERSION, optax $OPTAX_VERSION)"
else
  echo "setup_tfp_jax: creating $venv with jax[cpu]==$JAX_VERSION, tensorflow-probability==$TFP_VERSION, optax==$OPTAX_VERSION (PyPI)"
  start=$(date +%s)
  mkdir -p "$(dirname "$venv")"
  [ -x "$venv/bin/python" ] || "$python_bin" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet "jax[cpu]==$JAX_VERSION" "jaxlib==$JAX_VERSION" \
    "tensorflow-probability==$TFP_VERSION" "optax==$OPTAX_VERSION" "numpy<2.5"
  env_ok || { echo "setup_tfp_jax: the TFP JAX substrate is not importable from $venv" >&2; exit 1; }
  echo "setup_tfp_jax: environment ready in $(( $(date +%s) - start )) s"
fi
