//! The `log1p` bijector.

use super::{check_input, Bijector};
use anyhow::Result;
use tch::Tensor;

/// `y = log(1 + x)` (by `log1p`, exact near 0), maps `(-1, ∞)` onto the reals elementwise, as
/// TFP's `Log1p` (the inverse of [`super::Expm1`]).
///
/// * inverse: `x = expm1(y)`; `x <= -1` gives `-∞` or NaN (not checked).
/// * `log|dy/dx| = -log1p(x)`; `log|dx/dy| = y`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Log1p;

impl Bijector for Log1p {
    fn name(&self) -> String {
        "log1p".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_input("log1p.forward", "x", x, 0)?;
        Ok(x.log1p())
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        check_input("log1p.inverse", "y", y, 0)?;
        Ok(y.expm1())
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        check_input("log1p.forward_log_det_jacobian", "x", x, 0)?;
        Ok(-x.log1p())
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        check_input("log1p.inverse_log_det_jacobian", "y", y, 0)?;
        Ok(y.shallow_clone())
    }
}
