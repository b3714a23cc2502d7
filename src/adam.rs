//! Adam over a fixed set of variables held in one flat buffer: one update of a few tensor
//! operations per step, whatever the number of variables, or one loop on the host for a small
//! buffer on the CPU.

use crate::host::{self, HostFloat};
use crate::shape::{fmt_shape, kind_name};
use anyhow::{bail, Result};
use tch::{Device, Kind, Tensor};

/// The largest flat buffer (in elements) updated by the host loop on the CPU: below it, one loop
/// over the buffer costs less than the eight libtorch calls of the tensor update.
const HOST_MAX: i64 = 1 << 14;

/// Adam as `torch.optim.Adam` (and `tch::nn::Adam`) computes it, without weight decay or
/// AMSGrad: `m ← β₁m + (1-β₁)g`, `v ← β₂v + (1-β₂)g²`,
/// `θ ← θ - lr/(1-β₁ᵗ) · m / (√v/√(1-β₂ᵗ) + ε)`.
///
/// [`Adam::new`] moves the variables into one contiguous buffer (each variable becomes a view of
/// it, keeping its identity: the `VarStore`, the distributions and any other handle see the same
/// tensor), so a step is about eight operations on that buffer instead of some ten per variable.
/// Dropping the optimiser gives every variable its own storage back.
pub struct Adam {
    vars: Vec<Tensor>,
    shapes: Vec<Vec<i64>>,
    flat: Tensor,
    m: Tensor,
    v: Tensor,
    steps: i32,
    /// Whether [`Adam::step`] updates on the host (a CPU buffer of at most `HOST_MAX` elements).
    host: bool,
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment (default 0.9).
    pub beta1: f64,
    /// Decay of the second moment (default 0.999).
    pub beta2: f64,
    /// Added to the denominator (default 1e-8).
    pub eps: f64,
}

impl Adam {
    /// Adam with learning rate `lr` over `vars` (at least one; float32 or float64, one dtype and
    /// device for all, each a distinct tensor).
    pub fn new(vars: &[Tensor], lr: f64) -> Result<Self> {
        let op = "Adam::new";
        let Some(first) = vars.first() else { bail!("{op}: expected at least one variable, got none") };
        if !(lr.is_finite() && lr > 0.0) {
            bail!("{op}: expected a finite, positive learning rate, got {lr}");
        }
        let (kind, device) = (first.kind(), first.device());
        for (i, v) in vars.iter().enumerate() {
            if !matches!(v.kind(), Kind::Float | Kind::Double) || v.kind() != kind || v.device() != device {
                bail!(
                    "{op}: expected every variable float32 or float64 with one dtype and device ({} on {device:?}), got variable {i} {} on {:?}",
                    kind_name(kind),
                    kind_name(v.kind()),
                    v.device()
                );
            }
            if v.numel() > 0 && vars[..i].iter().any(|u| u.data_ptr() == v.data_ptr()) {
                bail!("{op}: variable {i} is given twice");
            }
        }
        let shapes: Vec<Vec<i64>> = vars.iter().map(Tensor::size).collect();
        let flat = tch::no_grad(|| Tensor::cat(&vars.iter().map(|v| v.detach().reshape(-1)).collect::<Vec<_>>(), 0));
        let mut offset = 0;
        let mut vars: Vec<Tensor> = vars.iter().map(Tensor::shallow_clone).collect();
        for (i, (var, shape)) in vars.iter_mut().zip(&shapes).enumerate() {
            let n: i64 = shape.iter().product();
            // (Values are unchanged either way: a variable that refuses stays as it was.)
            var.f_set_data(&flat.narrow(0, offset, n).view(shape.as_slice()))
                .map_err(|e| anyhow::anyhow!("{op}: variable {i} cannot move into the flat buffer: {e}"))?;
            offset += n;
        }
        let m = flat.zeros_like();
        let v = flat.zeros_like();
        let host = device == Device::Cpu && offset <= HOST_MAX;
        Ok(Self { vars, shapes, flat, m, v, steps: 0, host, lr, beta1: 0.9, beta2: 0.999, eps: 1e-8 })
    }

    /// Steps taken so far.
    pub fn steps(&self) -> i32 {
        self.steps
    }

    /// One update from `grads`, one per variable in the order given to [`Adam::new`], each of its
    /// variable's shape, dtype and device. No host read.
    pub fn step(&mut self, grads: &[Tensor]) -> Result<()> {
        let op = "Adam.step";
        if grads.len() != self.vars.len() {
            bail!("{op}: expected {} gradients (one per variable), got {}", self.vars.len(), grads.len());
        }
        for (i, (g, shape)) in grads.iter().zip(&self.shapes).enumerate() {
            if &g.size() != shape || g.kind() != self.flat.kind() || g.device() != self.flat.device() {
                bail!(
                    "{op}: expected gradient {i} of shape {} ({} on {:?}), got {} ({} on {:?})",
                    fmt_shape(shape),
                    kind_name(self.flat.kind()),
                    self.flat.device(),
                    fmt_shape(&g.size()),
                    kind_name(g.kind()),
                    g.device()
                );
            }
        }
        if self.host {
            let mut g = Vec::with_capacity(self.flat.numel());
            if grads.iter().all(|t| host::read_into(t, &mut g)) && self.step_host(&g) {
                return Ok(());
            }
        }
        tch::no_grad(|| {
            let g = if grads.len() == 1 {
                grads[0].reshape(-1)
            } else {
                Tensor::cat(&grads.iter().map(|g| g.reshape(-1)).collect::<Vec<_>>(), 0)
            };
            self.update(&g);
        });
        Ok(())
    }

    /// Whether `vars` are this optimiser's variables, in its order (the same tensors).
    pub(crate) fn holds<'t>(&self, vars: impl ExactSizeIterator<Item = &'t Tensor>) -> bool {
        vars.len() == self.vars.len()
            && vars.zip(&self.vars).all(|(a, b)| a.data_ptr() == b.data_ptr() && a.size() == b.size())
    }

    /// Whether [`Adam::step_host`] takes the updates (a small buffer on the CPU).
    pub(crate) fn updates_on_host(&self) -> bool {
        self.host
    }

    /// The update on the host from the flat gradient `g` (the variables' gradients in order);
    /// `false`, with nothing changed, when this optimiser does not update on the host or `g` has
    /// the wrong length. (`host` implies that flat, m and v are accessible: CPU buffers made by
    /// `new`, contiguous, float32 or float64.)
    pub(crate) fn step_host(&mut self, g: &[f64]) -> bool {
        if !self.host || g.len() != self.flat.numel() {
            return false;
        }
        debug_assert!([&self.flat, &self.m, &self.v].iter().all(|t| host::accessible(t)));
        self.steps += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let step_size = self.lr / (1.0 - b1.powi(self.steps));
        let bias2_sqrt = (1.0 - b2.powi(self.steps)).sqrt();
        let eps = self.eps;
        fn update<T: HostFloat>(adam: &Adam, g: &[f64], b1: f64, b2: f64, step_size: f64, bias2_sqrt: f64, eps: f64) {
            // SAFETY: flat, m and v are accessible tensors of kind T with their own storages
            // (m and v are new buffers; the variables are views of flat, not read meanwhile).
            let (theta, m, v) = unsafe {
                (host::slice_mut::<T>(&adam.flat), host::slice_mut::<T>(&adam.m), host::slice_mut::<T>(&adam.v))
            };
            for (((theta, m), v), &g) in theta.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
                let mi = m.to_f64() + (1.0 - b1) * (g - m.to_f64());
                let vi = v.to_f64() + (1.0 - b2) * (g * g - v.to_f64());
                *m = T::from_f64(mi);
                *v = T::from_f64(vi);
                *theta = T::from_f64(theta.to_f64() - step_size * mi / (vi.sqrt() / bias2_sqrt + eps));
            }
        }
        if self.flat.kind() == Kind::Float {
            update::<f32>(self, g, b1, b2, step_size, bias2_sqrt, eps);
        } else {
            update::<f64>(self, g, b1, b2, step_size, bias2_sqrt, eps);
        }
        true
    }

    fn update(&mut self, g: &Tensor) {
        self.steps += 1;
        let bias1 = 1.0 - self.beta1.powi(self.steps);
        let bias2_sqrt = (1.0 - self.beta2.powi(self.steps)).sqrt();
        let step_size = self.lr / bias1;
        let _ = self.m.lerp_(g, 1.0 - self.beta1);
        let _ = self.v.lerp_(&(g * g), 1.0 - self.beta2);
        // θ += m / d with d = -(√v/√(1-β₂ᵗ) + ε) / step_size: the update in one addcdiv_.
        let mut d = self.v.sqrt();
        let _ = d.g_mul_scalar_(-1.0 / (bias2_sqrt * step_size));
        let _ = d.g_sub_scalar_(self.eps / step_size);
        let _ = self.flat.addcdiv_(&self.m, &d);
    }
}

impl Drop for Adam {
    fn drop(&mut self) {
        tch::no_grad(|| {
            for var in &mut self.vars {
                let own = var.detach().copy();
                // Cannot fail for a tensor that accepted the view in `new`; if it did, the
                // variable simply stays a view of the buffer, which it keeps alive.
                let _ = var.f_set_data(&own);
            }
        });
    }
}
