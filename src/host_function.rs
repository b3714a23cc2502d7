//! An autograd node whose forward and backward are Rust code: how a host loop (`crate::host`)
//! takes part in a libtorch graph. tch exposes no custom autograd function, so the node is
//! libtorch's `torch::autograd::Function` in `csrc/host_function.cpp`, calling back into a
//! [`HostFunction`] it owns.
//!
//! The node saves its inputs. Its backward runs with grad mode on exactly when a graph of the
//! gradients is asked for (`create_graph`, for second derivatives); a [`HostFunction`] then
//! records that graph with libtorch operations ([`vjp_by_autograd`]), so higher derivatives are
//! exact, only slower.

use anyhow::{anyhow, Result};
use std::ffi::{c_char, c_void, CStr, CString};
use tch::Tensor;

/// A function of tensors with its vector-Jacobian product, run as one autograd node by
/// [`apply`].
pub(crate) trait HostFunction: Send + Sync + 'static {
    /// The output for `inputs`; no graph is recorded meanwhile.
    fn forward(&self, inputs: &[Tensor]) -> Result<Tensor>;

    /// The gradient with respect to each input whose `needs` is set (`None` for the others),
    /// given the gradient `grad` of the output. Called with grad mode on when the caller of
    /// `backward` asked for a graph of the gradients, which must then be recorded.
    fn backward(&self, inputs: &[Tensor], grad: &Tensor, needs: &[bool]) -> Result<Vec<Option<Tensor>>>;
}

/// The output of `f` over `inputs`, recorded as one node of the autograd graph when an input
/// requires a gradient (and grad mode is on).
pub(crate) fn apply(f: impl HostFunction, inputs: &[&Tensor]) -> Result<Tensor> {
    let state = Box::into_raw(Box::new(Box::new(f) as Box<dyn HostFunction>)) as *mut c_void;
    let handles: Vec<*const torch_sys::C_tensor> = inputs.iter().map(|t| t.as_ptr()).collect();
    let mut out: *mut torch_sys::C_tensor = std::ptr::null_mut();
    // SAFETY: the handles are alive for the call, which only copies them; `state` is handed over
    // (the node drops it through VTABLE.drop); `out` receives a handle we then own.
    let message = unsafe { tchd_host_function(handles.as_ptr(), handles.len() as i64, state, &VTABLE, &mut out) };
    if !message.is_null() {
        // SAFETY: a C string from strdup, freed once here.
        let text = unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned();
        unsafe { tchd_free_message(message) };
        return Err(anyhow!("{text}"));
    }
    // SAFETY: a fresh handle from `new at::Tensor`, owned by the returned tensor.
    Ok(unsafe { Tensor::from_ptr(out) })
}

/// `Σ out · grad` differentiated with respect to the inputs whose `needs` is set, with a graph
/// (`create_graph`): the backward of a [`HostFunction`] when second derivatives are asked for,
/// `out` being the same function written in libtorch operations over `inputs`.
pub(crate) fn vjp_by_autograd(
    out: &Tensor,
    inputs: &[Tensor],
    grad: &Tensor,
    needs: &[bool],
) -> Result<Vec<Option<Tensor>>> {
    let wanted: Vec<&Tensor> =
        inputs.iter().zip(needs).filter(|(t, &n)| n && t.requires_grad()).map(|(t, _)| t).collect();
    let total = (out * grad).sum(out.kind());
    let mut grads = Tensor::f_run_backward(&[total], &wanted, true, true)?.into_iter();
    Ok(inputs.iter().zip(needs).map(|(t, &n)| if n && t.requires_grad() { grads.next() } else { None }).collect())
}

#[repr(C)]
struct VTable {
    forward: unsafe extern "C" fn(
        *mut c_void,
        *mut *mut torch_sys::C_tensor,
        i64,
        *mut *mut torch_sys::C_tensor,
    ) -> *mut c_char,
    backward: unsafe extern "C" fn(
        *mut c_void,
        *mut *mut torch_sys::C_tensor,
        i64,
        *mut torch_sys::C_tensor,
        *const u8,
        *mut *mut torch_sys::C_tensor,
    ) -> *mut c_char,
    drop: unsafe extern "C" fn(*mut c_void),
    free_message: unsafe extern "C" fn(*mut c_char),
}

static VTABLE: VTable = VTable { forward, backward, drop, free_message };

extern "C" {
    fn tchd_host_function(
        inputs: *const *const torch_sys::C_tensor,
        n: i64,
        state: *mut c_void,
        vtable: *const VTable,
        out: *mut *mut torch_sys::C_tensor,
    ) -> *mut c_char;
    fn tchd_free_message(message: *mut c_char);
}

/// Owns the `n` handles C++ passed (each a new `at::Tensor`).
unsafe fn owned(handles: *mut *mut torch_sys::C_tensor, n: i64) -> Vec<Tensor> {
    (0..n as usize).map(|i| Tensor::from_ptr(*handles.add(i))).collect()
}

/// Runs `f`, turning an error or a panic into a message for C++ (unwinding into C++ is
/// undefined).
fn guarded(f: impl FnOnce() -> Result<()>) -> *mut c_char {
    let message = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(())) => return std::ptr::null_mut(),
        Ok(Err(e)) => format!("{e:#}"),
        Err(_) => "tch-distributions: a host function panicked".to_owned(),
    };
    CString::new(message.replace('\0', " ")).expect("no NUL left").into_raw()
}

/// Hands `t` over to C++, which takes the handle (`take` in the C++ file).
fn release(t: Tensor) -> *mut torch_sys::C_tensor {
    let mut t = std::mem::ManuallyDrop::new(t);
    t.as_mut_ptr()
}

unsafe extern "C" fn forward(
    state: *mut c_void,
    inputs: *mut *mut torch_sys::C_tensor,
    n: i64,
    out: *mut *mut torch_sys::C_tensor,
) -> *mut c_char {
    let f = &*(state as *const Box<dyn HostFunction>);
    let inputs = owned(inputs, n);
    guarded(|| {
        *out = release(f.forward(&inputs)?);
        Ok(())
    })
}

unsafe extern "C" fn backward(
    state: *mut c_void,
    inputs: *mut *mut torch_sys::C_tensor,
    n: i64,
    grad: *mut torch_sys::C_tensor,
    needs: *const u8,
    out: *mut *mut torch_sys::C_tensor,
) -> *mut c_char {
    let f = &*(state as *const Box<dyn HostFunction>);
    let (inputs, grad) = (owned(inputs, n), Tensor::from_ptr(grad));
    let needs: Vec<bool> = std::slice::from_raw_parts(needs, n as usize).iter().map(|&b| b != 0).collect();
    guarded(|| {
        let grads = f.backward(&inputs, &grad, &needs)?;
        for (i, g) in grads.into_iter().enumerate().take(n as usize) {
            if let Some(g) = g {
                *out.add(i) = release(g);
            }
        }
        Ok(())
    })
}

unsafe extern "C" fn drop(state: *mut c_void) {
    std::mem::drop(Box::from_raw(state as *mut Box<dyn HostFunction>));
}

unsafe extern "C" fn free_message(message: *mut c_char) {
    std::mem::drop(CString::from_raw(message));
}
