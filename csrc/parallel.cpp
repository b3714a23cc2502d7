// libtorch's intra-op thread pool for the host loops of tch-distributions (src/host.rs): tch does
// not expose at::parallel_for, and a thread of our own beside libtorch's OpenMP workers (which
// spin-wait after each parallel operation) competes with them for the cores.
#include <ATen/Parallel.h>
#include <cstdint>

extern "C" {

// Calls f(ctx, begin, end) on consecutive ranges of [0, n) of at least `grain` items, on
// libtorch's OpenMP threads (at::parallel_for; one range on the caller's thread when n <= grain
// or inside a parallel region). f must not unwind.
void tchd_parallel_for(int64_t n, int64_t grain, void (*f)(void*, int64_t, int64_t), void* ctx) {
  at::parallel_for(0, n, grain, [&](int64_t begin, int64_t end) { f(ctx, begin, end); });
}

}
