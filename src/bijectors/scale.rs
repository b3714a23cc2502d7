//! The scale bijector.

use super::shift::Param;
use super::Bijector;
use anyhow::Result;
use tch::Tensor;

/// `y = scale * x`, elementwise (`forward_min_event_ndims = 0`), with `scale` broadcast
/// against `x` (NumPy rules); `x = y / scale`; `log|dy/dx| = log|scale|`, broadcast to the
/// broadcast shape of `x` and `scale`. A zero scale is not invertible (not checked, as in TFP
/// without `validate_args`).
///
/// Build it from a tensor ([`Scale::new`]; inputs must then have its dtype and device) or from
/// an `f64` ([`Scale::scalar`]; works for any float input). A tensor scale may be a learnable
/// variable: gradients flow to it, through the log-det too.
#[derive(Debug)]
pub struct Scale {
    scale: Param,
}

impl Scale {
    /// A scale by a (float32 or float64) tensor, broadcast against the input.
    pub fn new(scale: Tensor) -> Self {
        Scale { scale: Param::Tensor(scale) }
    }
    /// A scale by a scalar, applied in the input's dtype.
    pub fn scalar(scale: f64) -> Self {
        Scale { scale: Param::Scalar(scale) }
    }
    fn log_abs_scale(&self, shape: &[i64], like: &Tensor, sign: f64) -> Tensor {
        match &self.scale {
            Param::Tensor(s) => (s.abs().log() * sign).broadcast_to(shape),
            Param::Scalar(s) => Tensor::full(shape, sign * s.abs().ln(), (like.kind(), like.device())),
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
        self.scale.check("scale.forward", "x", "scale", x)?;
        Ok(match &self.scale {
            Param::Tensor(s) => x * s,
            Param::Scalar(s) => x * *s,
        })
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        self.scale.check("scale.inverse", "y", "scale", y)?;
        Ok(match &self.scale {
            Param::Tensor(s) => y / s,
            Param::Scalar(s) => y / *s,
        })
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let s = self.scale.check("scale.forward_log_det_jacobian", "x", "scale", x)?;
        Ok(self.log_abs_scale(&s, x, 1.0))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        let s = self.scale.check("scale.inverse_log_det_jacobian", "y", "scale", y)?;
        Ok(self.log_abs_scale(&s, y, -1.0))
    }
    fn is_constant_jacobian(&self) -> bool {
        true
    }
}
