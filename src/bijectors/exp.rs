//! The exponential bijector.

use super::{check_input, Bijector};
use anyhow::Result;
use tch::Tensor;

/// `y = exp(x)`; `x = log(y)`; `log|dy/dx| = x`. Maps the reals onto `(0, ∞)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Exp;

impl Bijector for Exp {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
    fn name(&self) -> String {
        "exp".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_input("exp.forward", "x", x, 0)?;
        Ok(x.exp())
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        check_input("exp.inverse", "y", y, 0)?;
        Ok(y.log())
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        check_input("exp.forward_log_det_jacobian", "x", x, 0)?;
        Ok(x.shallow_clone())
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        check_input("exp.inverse_log_det_jacobian", "y", y, 0)?;
        Ok(-y.log())
    }
}
