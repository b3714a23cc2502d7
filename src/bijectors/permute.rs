//! The permutation bijector.

use super::{check_input, check_vector, vector_event_shape, Bijector};
use anyhow::{bail, Result};
use std::cell::RefCell;
use tch::{Device, Tensor};

/// `y[..., i] = x[..., permutation[i]]` on vectors (`forward_min_event_ndims = 1`), as TFP's
/// `Permute(permutation)`; `x = y[..., inverse_permutation]`; `log|det J| = 0` (a permutation
/// matrix). Flows interleave it between autoregressive or coupling layers so that every
/// coordinate gets transformed; [`Permute::reverse`] is the usual choice.
///
/// The index tensors are made on the CPU once, and copied once to the device of the last
/// non-CPU input (a fixed permutation is a constant, not a parameter).
#[derive(Debug)]
pub struct Permute {
    permutation: Vec<i64>,
    /// `[forward, inverse]` on the CPU.
    cpu: [Tensor; 2],
    /// The same on the last other device inputs came on.
    on_device: RefCell<Option<(Device, [Tensor; 2])>>,
}

impl Permute {
    /// A permutation of `0..n`; errors when `permutation` is empty or is not one (a repeated
    /// or out-of-range index).
    pub fn new(permutation: Vec<i64>) -> Result<Self> {
        let n = permutation.len();
        if n == 0 {
            bail!("Permute::new: expected a permutation of 0..n with n >= 1, got an empty list");
        }
        let mut inverse = vec![-1i64; n];
        for (i, &p) in permutation.iter().enumerate() {
            if p < 0 || p as usize >= n || inverse[p as usize] >= 0 {
                bail!("Permute::new: {permutation:?} is not a permutation of 0..{n} (index {p} at position {i})");
            }
            inverse[p as usize] = i as i64;
        }
        let cpu = [Tensor::from_slice(&permutation), Tensor::from_slice(&inverse)];
        Ok(Permute { permutation, cpu, on_device: RefCell::new(None) })
    }

    /// The reversal of `n` coordinates, `[n-1, ..., 1, 0]`.
    pub fn reverse(n: i64) -> Result<Self> {
        if n < 1 {
            bail!("Permute::reverse: expected at least one coordinate, got {n}");
        }
        Self::new((0..n).rev().collect())
    }

    /// The permutation.
    pub fn permutation(&self) -> &[i64] {
        &self.permutation
    }

    /// `t` with its last dimension gathered by the forward (`which = 0`) or inverse (`1`) index.
    fn apply(&self, op: &str, what: &str, t: &Tensor, which: usize) -> Result<Tensor> {
        check_vector(op, what, t, self.permutation.len() as i64, None)?;
        let device = t.device();
        if device == Device::Cpu {
            return Ok(t.index_select(-1, &self.cpu[which]));
        }
        let mut cache = self.on_device.borrow_mut();
        if cache.as_ref().is_none_or(|(d, _)| *d != device) {
            *cache = Some((device, [self.cpu[0].to_device(device), self.cpu[1].to_device(device)]));
        }
        let (_, index) = cache.as_ref().expect("filled above");
        Ok(t.index_select(-1, &index[which]))
    }

    fn zeros(t: &Tensor) -> Tensor {
        let s = t.size();
        Tensor::zeros(&s[..s.len() - 1], (t.kind(), t.device()))
    }
}

impl Bijector for Permute {
    fn name(&self) -> String {
        "permute".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.apply("permute.forward", "x", x, 0)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        self.apply("permute.inverse", "y", y, 1)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        check_input("permute.forward_log_det_jacobian", "x", x, 1)?;
        Ok(Self::zeros(x))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        check_input("permute.inverse_log_det_jacobian", "y", y, 1)?;
        Ok(Self::zeros(y))
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        vector_event_shape("permute.forward_event_shape", input, self.permutation.len() as i64)
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        vector_event_shape("permute.inverse_event_shape", output, self.permutation.len() as i64)
    }
    fn is_constant_jacobian(&self) -> bool {
        true
    }
}
