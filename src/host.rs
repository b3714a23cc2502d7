//! Direct access to the memory of small CPU tensors, for the fused host kernels of
//! [`crate::mixture_nll`] and [`crate::adam`]: a problem small enough to sit in cache costs less
//! as one loop in Rust than as dozens of libtorch calls (about 2 us each, `examples/op_costs.rs`).
//!
//! Only contiguous float32 and float64 tensors on the CPU are read or written ([`accessible`]);
//! the callers take the libtorch path for anything else. Values go through `f64`, so a float32
//! result differs from libtorch's float32 kernels by rounding only.
//!
//! Writes bypass autograd's version counter, as an optimiser's update of its own variables does
//! in effect: a graph recorded before the write is not warned about.

use tch::{Device, Kind, Tensor};

/// The element types the host kernels read and write.
pub(crate) trait HostFloat: Copy + Send + Sync {
    /// The tensor kind holding this type.
    const KIND: Kind;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}

impl HostFloat for f32 {
    const KIND: Kind = Kind::Float;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl HostFloat for f64 {
    const KIND: Kind = Kind::Double;
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// Whether autograd records operations now (not inside `tch::no_grad`).
pub(crate) fn grad_enabled() -> bool {
    // SAFETY: sets the thread's grad mode and puts it back; no tensor is involved.
    unsafe {
        let previous = torch_sys::at_grad_set_enabled(0);
        torch_sys::at_grad_set_enabled(previous);
        previous != 0
    }
}

/// Whether `t` is a contiguous float32 or float64 CPU tensor, which the functions below accept.
pub(crate) fn accessible(t: &Tensor) -> bool {
    t.defined() && t.device() == Device::Cpu && matches!(t.kind(), Kind::Float | Kind::Double) && t.is_contiguous()
}

/// The elements of `t` as a mutable slice of `T`.
///
/// # Safety
/// `t` must be [`accessible`] with elements of type `T`, and no other slice of its memory may be
/// alive while this one is. `t` keeps the storage alive for the slice's lifetime.
// The memory belongs to libtorch's storage, not to the `Tensor` handle, so `&Tensor` is what
// there is to borrow; exclusivity is the caller's promise above.
#[allow(clippy::mut_from_ref)]
pub(crate) unsafe fn slice_mut<T: HostFloat>(t: &Tensor) -> &mut [T] {
    std::slice::from_raw_parts_mut(t.data_ptr() as *mut T, t.numel())
}

/// The elements of `t` as a slice of `T`, or `None` when `t` is not [`accessible`] with elements
/// of type `T`.
///
/// # Safety
/// Nothing may write to `t`'s memory while the slice is alive.
pub(crate) unsafe fn slice<T: HostFloat>(t: &Tensor) -> Option<&[T]> {
    (accessible(t) && t.kind() == T::KIND).then(|| std::slice::from_raw_parts(t.data_ptr() as *const T, t.numel()))
}

/// The elements of `t` in memory order, as `f64`, appended to `out`; `false` (nothing appended)
/// when `t` is not [`accessible`].
pub(crate) fn read_into(t: &Tensor, out: &mut Vec<f64>) -> bool {
    fn copy<T: HostFloat>(t: &Tensor, out: &mut Vec<f64>) -> bool {
        // SAFETY: the slice is read and dropped at once; nothing writes meanwhile.
        unsafe { slice::<T>(t) }.map(|s| out.extend(s.iter().map(|v| v.to_f64()))).is_some()
    }
    copy::<f32>(t, out) || copy::<f64>(t, out)
}

/// The elements of `t` as `f64` (see [`read_into`]).
pub(crate) fn read(t: &Tensor) -> Option<Vec<f64>> {
    let mut out = Vec::new();
    read_into(t, &mut out).then_some(out)
}

/// A new CPU tensor of `shape` and `kind` (float32, else float64) holding `values`, in one
/// libtorch call.
pub(crate) fn tensor(values: &[f64], shape: &[i64], kind: Kind) -> Tensor {
    fn bytes<T: HostFloat>(values: &[f64]) -> Vec<u8> {
        let size = std::mem::size_of::<T>();
        let mut out = vec![0u8; values.len() * size];
        for (chunk, &v) in out.chunks_exact_mut(size).zip(values) {
            // SAFETY: `chunk` holds exactly one T; the write is unaligned-safe.
            unsafe { std::ptr::write_unaligned(chunk.as_mut_ptr() as *mut T, T::from_f64(v)) }
        }
        out
    }
    match kind {
        Kind::Float => Tensor::from_data_size(&bytes::<f32>(values), shape, Kind::Float),
        _ => Tensor::from_data_size(&bytes::<f64>(values), shape, Kind::Double),
    }
}

extern "C" {
    /// `csrc/parallel.cpp`: `f(ctx, begin, end)` on consecutive ranges of `[0, n)` on libtorch's
    /// OpenMP threads (`at::parallel_for`).
    fn tchd_parallel_for(
        n: i64,
        grain: i64,
        f: extern "C" fn(*mut std::ffi::c_void, i64, i64),
        ctx: *mut std::ffi::c_void,
    );
}

/// Work (about the multiply-adds) per thread from which [`parallel_map`] splits a host loop over
/// libtorch's threads.
pub(crate) const WORK_PER_THREAD: usize = 1 << 15;

/// `f` of consecutive ranges of `0..n` (items of about `work` multiply-adds each), run on
/// libtorch's intra-op threads (`at::parallel_for`, `tch::set_num_threads`) with at least
/// [`WORK_PER_THREAD`] of work per range; the results in the ranges' order. libtorch's pool is
/// used rather than threads of our own, which would compete with its spin-waiting workers.
pub(crate) fn parallel_map<R: Send>(n: usize, work: usize, f: impl Fn(std::ops::Range<usize>) -> R + Sync) -> Vec<R> {
    let grain = (WORK_PER_THREAD / work.max(1)).max(1);
    if n <= grain {
        return vec![f(0..n)];
    }
    let results = std::sync::Mutex::new(Vec::new());
    let run = |r: std::ops::Range<usize>| {
        let start = r.start;
        let value = f(r);
        results.lock().unwrap_or_else(|e| e.into_inner()).push((start, value));
    };
    extern "C" fn call<G: Fn(std::ops::Range<usize>) + Sync>(ctx: *mut std::ffi::c_void, begin: i64, end: i64) {
        // SAFETY: ctx is the `&G` passed below, alive for the whole parallel_for call.
        let g = unsafe { &*(ctx as *const G) };
        // Unwinding into C++ is undefined: a panic aborts instead.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g(begin as usize..end as usize))).is_err() {
            std::process::abort();
        }
    }
    fn launch<G: Fn(std::ops::Range<usize>) + Sync>(n: usize, grain: usize, g: &G) {
        // SAFETY: the callback only reads `g` through the pointer, during this call.
        unsafe { tchd_parallel_for(n as i64, grain as i64, call::<G>, g as *const G as *mut std::ffi::c_void) }
    }
    launch(n, grain, &run);
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(start, _)| *start);
    results.into_iter().map(|(_, v)| v).collect()
}

/// A mutable slice whose disjoint parts the ranges of [`parallel_map`] write, each its own.
pub(crate) struct Disjoint<'a, T> {
    ptr: *mut T,
    len: usize,
    _slice: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: the parts handed out never overlap (see `part`), so threads never share an element.
unsafe impl<T: Send> Send for Disjoint<'_, T> {}
unsafe impl<T: Send> Sync for Disjoint<'_, T> {}

impl<'a, T> Disjoint<'a, T> {
    pub(crate) fn new(slice: &'a mut [T]) -> Self {
        Self { ptr: slice.as_mut_ptr(), len: slice.len(), _slice: std::marker::PhantomData }
    }

    /// Elements `range` of the slice.
    ///
    /// # Safety
    /// No two live parts may overlap (the ranges of one [`parallel_map`] call do not).
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn part(&self, range: std::ops::Range<usize>) -> &mut [T] {
        assert!(range.start <= range.end && range.end <= self.len, "a part inside the slice");
        std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.end - range.start)
    }
}

/// Whether the CPU has AVX2 with FMA, which the fast versions of [`simd_dispatch`] need at least.
pub(crate) fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `pub(crate) fn $name(args) -> ret` running `$fast` compiled for AVX-512 (F, DQ) or for AVX2
/// with FMA when the CPU has them (checked at run time, once), else `$fallback` compiled for the
/// baseline x86-64 (SSE2) the crate is built for. `$fast` is inlined into each version, so the
/// compiler vectorises its loops for that version's registers; without `mul_add` (which only the
/// FMA versions make fast) the versions do the same arithmetic. The second form takes a body
/// for each of the two.
macro_rules! simd_dispatch {
    ($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty, $fast:expr, $fallback:expr) => {
        $crate::host::simd_dispatch!($name($($arg: $ty),*) -> $ret, avx512: $fast, avx2: $fast, $fallback);
    };
    // (a body of its own for each: a loop whose block is sized to the vector registers)
    ($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty, avx512: $fast512:expr, avx2: $fast2:expr, $fallback:expr) => {
        pub(super) fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512dq,avx2,fma")]
                unsafe fn avx512($($arg: $ty),*) -> $ret {
                    $fast512
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) -> $ret {
                    $fast2
                }
                if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512dq") {
                    // SAFETY: the CPU has the features the function is compiled for.
                    return unsafe { avx512($($arg),*) };
                }
                if $crate::host::has_fma() {
                    // SAFETY: as above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $fallback
        }
    };
}
pub(crate) use simd_dispatch;
