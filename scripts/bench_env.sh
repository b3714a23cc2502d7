# Sourced by scripts/bench.sh and scripts/bench_flows.sh: what every side of a benchmark shares.
#
# One malloc setting for every side. The Rust benches apply allocator::keep_freed_memory (glibc's
# mmap threshold 32 MB, trim threshold 64 MB) unless given "default-malloc" ($rust_malloc); the
# Python processes get the same through glibc's environment variables ($malloc_env, for
# `env "${malloc_env[@]}" ...`). BENCH_MALLOC=default leaves glibc's defaults everywhere.
if [ "${BENCH_MALLOC:-}" = default ]; then
  rust_malloc=default-malloc
  malloc_env=()
else
  rust_malloc=
  malloc_env=(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=67108864)
fi

# The optional TFP-on-JAX side: $tfp_python is the Python of scripts/setup_tfp_jax.sh's
# environment ($TFP_JAX_VENV, by default ${XDG_CACHE_HOME:-$HOME/.cache}/tch-distributions/
# venv-tfp-jax) when it exists, empty otherwise; TFP_JAX=1 installs it first, TFP_JAX=0 skips it.
tfp_venv=${TFP_JAX_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tch-distributions/venv-tfp-jax}
if [ "${TFP_JAX:-}" = 1 ]; then
  scripts/setup_tfp_jax.sh >&2
fi
tfp_python=
if [ "${TFP_JAX:-}" != 0 ] && [ -x "$tfp_venv/bin/python" ]; then
  tfp_python=$tfp_venv/bin/python
fi
