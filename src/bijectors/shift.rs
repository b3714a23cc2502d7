//! The shift bijector.

use super::{check_input, Bijector};
use crate::shape::{broadcast_shapes, check_float, check_tensor};
use anyhow::Result;
use tch::Tensor;

/// A bijector parameter: a tensor, or an `f64` scalar that takes the input's dtype and device
/// at call time (so one bijector serves float32 and float64 inputs).
#[derive(Debug)]
pub(crate) enum Param {
    Tensor(Tensor),
    Scalar(f64),
}

impl Param {
    /// Checks `x` against the parameter (float dtype, same dtype and device as a tensor
    /// parameter, broadcastable shapes) and returns the broadcast shape of `x` and the parameter.
    pub(crate) fn check(&self, op: &str, what: &str, pname: &str, x: &Tensor) -> Result<Vec<i64>> {
        check_input(op, what, x, 0)?;
        match self {
            Param::Scalar(_) => Ok(x.size()),
            Param::Tensor(p) => {
                check_float(op, pname, p)?;
                check_tensor(op, what, x, p.kind(), p.device())?;
                broadcast_shapes(op, &x.size(), &p.size())
            }
        }
    }
}

/// `y = x + shift`, elementwise (`forward_min_event_ndims = 0`), with `shift` broadcast
/// against `x` (NumPy rules); `x = y - shift`; `log|det J| = 0` (shape: the broadcast shape).
///
/// Build it from a tensor ([`Shift::new`]; inputs must then have its dtype and device) or from
/// an `f64` ([`Shift::scalar`]; works for any float input). A tensor shift may be a learnable
/// variable: gradients flow to it.
#[derive(Debug)]
pub struct Shift {
    shift: Param,
}

impl Shift {
    /// A shift by a (float32 or float64) tensor, broadcast against the input.
    pub fn new(shift: Tensor) -> Self {
        Shift { shift: Param::Tensor(shift) }
    }
    /// A shift by a scalar, applied in the input's dtype.
    pub fn scalar(shift: f64) -> Self {
        Shift { shift: Param::Scalar(shift) }
    }
    fn apply(&self, x: &Tensor, sign: f64) -> Tensor {
        match &self.shift {
            Param::Tensor(s) => {
                if sign > 0.0 {
                    x + s
                } else {
                    x - s
                }
            }
            Param::Scalar(s) => x + sign * *s,
        }
    }
}

impl Bijector for Shift {
    fn name(&self) -> String {
        "shift".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.shift.check("shift.forward", "x", "shift", x)?;
        Ok(self.apply(x, 1.0))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        self.shift.check("shift.inverse", "y", "shift", y)?;
        Ok(self.apply(y, -1.0))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let s = self.shift.check("shift.forward_log_det_jacobian", "x", "shift", x)?;
        Ok(Tensor::zeros(s.as_slice(), (x.kind(), x.device())))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        let s = self.shift.check("shift.inverse_log_det_jacobian", "y", "shift", y)?;
        Ok(Tensor::zeros(s.as_slice(), (y.kind(), y.device())))
    }
    fn is_constant_jacobian(&self) -> bool {
        true
    }
}
