//! The `expm1` bijector.

use super::{check_input, Bijector};
use anyhow::Result;
use tch::Tensor;

/// `y = exp(x) - 1` (by `expm1`, exact near 0), maps the reals onto `(-1, ∞)` elementwise, as
/// TFP's `Expm1`.
///
/// * inverse: `x = log1p(y)`; `y <= -1` gives `-∞` or NaN (not checked, as in TFP without
///   `validate_args`).
/// * `log|dy/dx| = x`; `log|dx/dy| = -log1p(y)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expm1;

impl Bijector for Expm1 {
    fn name(&self) -> String {
        "expm1".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_input("expm1.forward", "x", x, 0)?;
        Ok(x.expm1())
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        check_input("expm1.inverse", "y", y, 0)?;
        Ok(y.log1p())
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        check_input("expm1.forward_log_det_jacobian", "x", x, 0)?;
        Ok(x.shallow_clone())
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        check_input("expm1.inverse_log_det_jacobian", "y", y, 0)?;
        Ok(-y.log1p())
    }
}
