# Sourced by scripts/bench.sh and scripts/bench_flows.sh: one malloc setting for every side. The
# Rust benches apply allocator::keep_freed_memory (glibc's mmap threshold 32 MB, trim threshold
# 64 MB) unless given "default-malloc" ($rust_malloc); the Python processes get the same through
# glibc's environment variables ($malloc_env, for `env "${malloc_env[@]}" ...`).
# BENCH_MALLOC=default leaves glibc's defaults everywhere.
if [ "${BENCH_MALLOC:-}" = default ]; then
  rust_malloc=default-malloc
  malloc_env=()
else
  rust_malloc=
  malloc_env=(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=67108864)
fi
