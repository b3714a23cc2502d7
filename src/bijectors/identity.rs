//! The identity bijector.

use super::{check_input, Bijector};
use anyhow::Result;
use tch::Tensor;

/// `y = x`, with log-det-Jacobian 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct Identity;

impl Bijector for Identity {
    fn name(&self) -> String {
        "identity".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_input("identity.forward", "x", x, 0)?;
        Ok(x.shallow_clone())
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        check_input("identity.inverse", "y", y, 0)?;
        Ok(y.shallow_clone())
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        check_input("identity.forward_log_det_jacobian", "x", x, 0)?;
        Ok(x.zeros_like())
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        check_input("identity.inverse_log_det_jacobian", "y", y, 0)?;
        Ok(y.zeros_like())
    }
    fn is_constant_jacobian(&self) -> bool {
        true
    }
}
