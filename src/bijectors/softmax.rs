//! The softmax map.

use super::{check_input, Bijector};
use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// `y = softmax(x)` along the last dimension, as torch's `SoftmaxTransform`: onto the simplex,
/// but not a bijection (`x + c` gives the same `y`); min event ndims 1 both ways.
///
/// * inverse: `log(y)` (torch's), a right inverse: `softmax(log y) = y` on the simplex.
/// * No log-det (torch implements none): both are errors saying so. For a bijection onto the
///   simplex, use [`super::SoftmaxCentered`] or [`super::StickBreaking`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Softmax;

impl Softmax {
    fn no_log_det<T>(method: &str) -> Result<T> {
        bail!(
            "softmax.{method}: softmax is not a bijection (x and x + c give the same y), so it has no log-det; \
             use SoftmaxCentered or StickBreaking"
        )
    }
}

impl Bijector for Softmax {
    fn name(&self) -> String {
        "softmax".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_input("softmax.forward", "x", x, 1)?;
        Ok(x.softmax(-1, None::<Kind>))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        check_input("softmax.inverse", "y", y, 1)?;
        Ok(y.log())
    }
    fn forward_log_det_jacobian(&self, _x: &Tensor) -> Result<Tensor> {
        Self::no_log_det("forward_log_det_jacobian")
    }
    fn inverse_log_det_jacobian(&self, _y: &Tensor) -> Result<Tensor> {
        Self::no_log_det("inverse_log_det_jacobian")
    }
}
