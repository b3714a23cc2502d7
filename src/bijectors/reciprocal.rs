//! The reciprocal bijector.

use super::{check_input, Bijector};
use anyhow::Result;
use tch::Tensor;

/// `y = 1 / x` elementwise, its own inverse, as TFP's `Reciprocal` (and torch's
/// `PowerTransform(-1)` on the positive half-line). A bijection of `x != 0`; `x = 0` gives `±∞`.
///
/// * `log|dy/dx| = -2 log|x|`; `log|dx/dy| = -2 log|y|`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reciprocal;

impl Bijector for Reciprocal {
    fn name(&self) -> String {
        "reciprocal".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_input("reciprocal.forward", "x", x, 0)?;
        Ok(x.reciprocal())
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        check_input("reciprocal.inverse", "y", y, 0)?;
        Ok(y.reciprocal())
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        check_input("reciprocal.forward_log_det_jacobian", "x", x, 0)?;
        Ok(x.abs().log() * -2.0)
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        check_input("reciprocal.inverse_log_det_jacobian", "y", y, 0)?;
        Ok(y.abs().log() * -2.0)
    }
}
