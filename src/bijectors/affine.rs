//! The affine bijector: a shift and a scale in one.

use super::{unique_variables, Bijector, Scale, Shift};
use crate::Parameter;
use anyhow::Result;
use tch::Tensor;

/// `y = loc + scale * x`, elementwise (`forward_min_event_ndims = 0`), as torch's
/// `AffineTransform(loc, scale)` (TFP: `Chain([Shift(loc), Scale(scale)])`), with `loc` and
/// `scale` broadcast against `x`. `x = (y - loc) / scale`; `log|dy/dx| = log|scale|`, broadcast
/// to the output's shape. A zero scale is not invertible (not checked).
///
/// Either parameter may be a constant, a trainable variable or a [`crate::TransformedVariable`]
/// ([`Affine::new`]: inputs must then have its dtype and device), or an `f64`
/// ([`Affine::scalar`]).
#[derive(Debug)]
pub struct Affine {
    shift: Shift,
    scale: Scale,
}

impl Affine {
    /// `loc + scale * x` with tensors or parameters, broadcast against the input.
    pub fn new(loc: impl Into<Parameter>, scale: impl Into<Parameter>) -> Self {
        Affine { shift: Shift::new(loc), scale: Scale::new(scale) }
    }
    /// `loc + scale * x` with scalars, applied in the input's dtype.
    pub fn scalar(loc: f64, scale: f64) -> Self {
        Affine { shift: Shift::scalar(loc), scale: Scale::scalar(scale) }
    }
}

impl Bijector for Affine {
    fn name(&self) -> String {
        "affine".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.shift.forward(&self.scale.forward(x)?)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        self.scale.inverse(&self.shift.inverse(y)?)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let scaled = self.scale.forward(x)?;
        // (the shift's zeros broadcast the log-det to the output's shape)
        Ok(self.scale.forward_log_det_jacobian(x)? + self.shift.forward_log_det_jacobian(&scaled)?)
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        let shifted = self.shift.inverse(y)?;
        Ok(self.scale.inverse_log_det_jacobian(&shifted)? + self.shift.inverse_log_det_jacobian(y)?)
    }
    fn is_constant_jacobian(&self) -> bool {
        true
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        unique_variables([self.shift.trainable_variables(), self.scale.trainable_variables()])
    }
}
