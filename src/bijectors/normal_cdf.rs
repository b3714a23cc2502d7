//! The standard normal cdf as a bijector.

use super::{check_input, Bijector};
use crate::distributions::HALF_LOG_TWO_PI;
use anyhow::Result;
use tch::Tensor;

/// `y = Φ(x)`, the standard normal cdf (`ndtr`), maps the reals onto `(0, 1)` elementwise, as
/// TFP's `NormalCDF`.
///
/// * inverse: `x = Φ⁻¹(y)` (`ndtri`); `y = 0` or `1` gives `∓∞`, outside `[0, 1]` NaN (not
///   checked). In float32, `Φ(x)` rounds to 1 from `x ≈ 5.4` on, as any cdf does.
/// * `log|dy/dx| = log φ(x) = -x²/2 - log(2π)/2`, in closed form (finite where `Φ(x)` has
///   rounded to 0 or 1); `log|dx/dy| = -log φ(Φ⁻¹(y))`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NormalCdf;

impl Bijector for NormalCdf {
    fn name(&self) -> String {
        "normal_cdf".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_input("normal_cdf.forward", "x", x, 0)?;
        Ok(x.special_ndtr())
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        check_input("normal_cdf.inverse", "y", y, 0)?;
        Ok(y.special_ndtri())
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        check_input("normal_cdf.forward_log_det_jacobian", "x", x, 0)?;
        Ok(x.square() * -0.5 - HALF_LOG_TWO_PI)
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        check_input("normal_cdf.inverse_log_det_jacobian", "y", y, 0)?;
        Ok(y.special_ndtri().square() * 0.5 + HALF_LOG_TWO_PI)
    }
}
