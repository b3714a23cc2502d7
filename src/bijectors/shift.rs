//! The shift bijector.

use super::param::{Param, Val};
use super::Bijector;
use crate::Parameter;
use anyhow::Result;
use tch::Tensor;

/// `y = x + shift`, elementwise (`forward_min_event_ndims = 0`), with `shift` broadcast
/// against `x` (NumPy rules); `x = y - shift`; `log|det J| = 0` (shape: the broadcast shape).
///
/// Build it from a tensor or any [`Parameter`] ([`Shift::new`]: a constant, a trainable
/// variable or a `TransformedVariable`; inputs must then have its dtype and device) or from an
/// `f64` ([`Shift::scalar`]; works for any float input). A learnable shift is read at every
/// call and listed by [`Bijector::trainable_variables`].
#[derive(Debug)]
pub struct Shift {
    shift: Param,
}

impl Shift {
    /// A shift by a (float32 or float64) tensor or parameter, broadcast against the input.
    pub fn new(shift: impl Into<Parameter>) -> Self {
        Shift { shift: Param::value(shift) }
    }
    /// A shift by a scalar, applied in the input's dtype.
    pub fn scalar(shift: f64) -> Self {
        Shift { shift: Param::Scalar(shift) }
    }
    fn apply(x: &Tensor, s: &Val, sign: f64) -> Tensor {
        match s {
            Val::Tensor(s) if sign > 0.0 => x + s,
            Val::Tensor(s) => x - s,
            Val::Scalar(s) => x + sign * *s,
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
        let (_, s) = self.shift.check("shift.forward", "x", "shift", x)?;
        Ok(Self::apply(x, &s, 1.0))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let (_, s) = self.shift.check("shift.inverse", "y", "shift", y)?;
        Ok(Self::apply(y, &s, -1.0))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let (s, _) = self.shift.check("shift.forward_log_det_jacobian", "x", "shift", x)?;
        Ok(Tensor::zeros(s.as_slice(), (x.kind(), x.device())))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        let (s, _) = self.shift.check("shift.inverse_log_det_jacobian", "y", "shift", y)?;
        Ok(Tensor::zeros(s.as_slice(), (y.kind(), y.device())))
    }
    fn forward_and_log_det(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (shape, s) = self.shift.check("shift.forward_and_log_det", "x", "shift", x)?;
        Ok((Self::apply(x, &s, 1.0), Tensor::zeros(shape.as_slice(), (x.kind(), x.device()))))
    }
    fn inverse_and_log_det(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        let (shape, s) = self.shift.check("shift.inverse_and_log_det", "y", "shift", y)?;
        Ok((Self::apply(y, &s, -1.0), Tensor::zeros(shape.as_slice(), (y.kind(), y.device()))))
    }
    fn is_constant_jacobian(&self) -> bool {
        true
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.shift.trainable_variables()
    }
}
