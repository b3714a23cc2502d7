//! The scale bijector.

use super::param::{Param, Val};
use super::Bijector;
use crate::Parameter;
use anyhow::Result;
use tch::Tensor;

/// `y = scale * x`, elementwise (`forward_min_event_ndims = 0`), with `scale` broadcast
/// against `x` (NumPy rules); `x = y / scale`; `log|dy/dx| = log|scale|`, broadcast to the
/// broadcast shape of `x` and `scale`. A zero scale is not invertible (not checked, as in TFP
/// without `validate_args`).
///
/// Build it from a tensor or any [`Parameter`] ([`Scale::new`]; inputs must then have its dtype
/// and device) or from an `f64` ([`Scale::scalar`]; works for any float input). A learnable
/// scale (TFP's `tfb.Scale(tfp.util.TransformedVariable(1., tfb.Softplus()))`) gets gradients
/// through the value and the log-det, and is listed by [`Bijector::trainable_variables`].
#[derive(Debug)]
pub struct Scale {
    scale: Param,
}

impl Scale {
    /// A scale by a (float32 or float64) tensor or parameter, broadcast against the input.
    pub fn new(scale: impl Into<Parameter>) -> Self {
        Scale { scale: Param::value(scale) }
    }
    /// A scale by a scalar, applied in the input's dtype.
    pub fn scalar(scale: f64) -> Self {
        Scale { scale: Param::Scalar(scale) }
    }
    fn log_abs_scale(s: &Val, shape: &[i64], like: &Tensor, sign: f64) -> Tensor {
        match s {
            Val::Tensor(s) => (s.abs().log() * sign).broadcast_to(shape),
            Val::Scalar(s) => Tensor::full(shape, sign * s.abs().ln(), (like.kind(), like.device())),
        }
    }
    fn apply(x: &Tensor, s: &Val, forward: bool) -> Tensor {
        match (s, forward) {
            (Val::Tensor(s), true) => x * s,
            (Val::Tensor(s), false) => x / s,
            (Val::Scalar(s), true) => x * *s,
            (Val::Scalar(s), false) => x / *s,
        }
    }
}

impl Bijector for Scale {
    fn name(&self) -> String {
        "scale".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (_, s) = self.scale.check("scale.forward", "x", "scale", x)?;
        Ok(Self::apply(x, &s, true))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let (_, s) = self.scale.check("scale.inverse", "y", "scale", y)?;
        Ok(Self::apply(y, &s, false))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let (shape, s) = self.scale.check("scale.forward_log_det_jacobian", "x", "scale", x)?;
        Ok(Self::log_abs_scale(&s, &shape, x, 1.0))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        let (shape, s) = self.scale.check("scale.inverse_log_det_jacobian", "y", "scale", y)?;
        Ok(Self::log_abs_scale(&s, &shape, y, -1.0))
    }
    fn forward_and_log_det(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (shape, s) = self.scale.check("scale.forward_and_log_det", "x", "scale", x)?;
        Ok((Self::apply(x, &s, true), Self::log_abs_scale(&s, &shape, x, 1.0)))
    }
    fn inverse_and_log_det(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        let (shape, s) = self.scale.check("scale.inverse_and_log_det", "y", "scale", y)?;
        Ok((Self::apply(y, &s, false), Self::log_abs_scale(&s, &shape, y, -1.0)))
    }
    fn is_constant_jacobian(&self) -> bool {
        true
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.scale.trainable_variables()
    }
}
