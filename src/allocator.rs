//! An opt-in setting of the C allocator for libtorch's CPU tensors.
//!
//! libtorch allocates every intermediate of a CPU kernel with `malloc` and frees it when the
//! tensor is dropped, so a training loop allocates and frees the same buffers at every step.
//! With glibc's default settings, freed memory at the top of the heap beyond 128 KB is returned
//! to the kernel (and large blocks are `mmap`ed and `munmap`ed), so each step page-faults its
//! buffers in anew. A Python process has usually raised these thresholds by the time it trains
//! (glibc raises them itself after freeing a large block, up to 32 MB, as importing torch does),
//! a Rust program often has not. Measured with `examples/bench.rs` on the mixture of issue 5 at
//! K = 3, d = 4, N = 1e4 (2 threads): `log_prob` 0.47-0.63 ms by default, 0.32 ms with
//! [`keep_freed_memory`].

/// Sets glibc's `M_MMAP_THRESHOLD` to 32 MB and `M_TRIM_THRESHOLD` to 64 MB (the largest values
/// glibc would reach by itself), so freed blocks up to that size stay in the process for reuse.
/// Process-wide, and it holds on to up to 64 MB of freed memory: call it once at start-up of a
/// program that trains on the CPU (`tchd` and the benchmark do). Returns whether it applied:
/// `false` where the C library is not glibc.
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // glibc's malloc.h: M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3; mallopt returns 1 on
        // success.
        extern "C" {
            fn mallopt(param: std::os::raw::c_int, value: std::os::raw::c_int) -> std::os::raw::c_int;
        }
        // SAFETY: mallopt only changes the allocator's thresholds; it takes the allocator's own
        // lock and is safe to call at any time from any thread.
        unsafe { mallopt(-3, 32 << 20) == 1 && mallopt(-1, 64 << 20) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
