//! The positive-definite bijector.

use super::{Bijector, CholeskyOuterProduct, LowerCholesky};
use anyhow::Result;
use tch::Tensor;

/// Square matrices onto symmetric positive-definite ones, as torch's
/// `PositiveDefiniteTransform`: `y = L Lᵀ` with `L = LowerCholesky(x)` (the strict upper
/// triangle of `x` is dropped); min event ndims 2 both ways.
///
/// * inverse: `x = LowerCholesky⁻¹(cholesky(y))`; a `y` that is not positive definite is an
///   error, as in [`CholeskyOuterProduct`].
/// * log-det: `LowerCholesky`'s plus `CholeskyOuterProduct`'s at `L`, over the lower entries
///   (torch defines none).
#[derive(Debug, Clone, Copy, Default)]
pub struct PositiveDefinite;

impl Bijector for PositiveDefinite {
    fn name(&self) -> String {
        "positive_definite".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        2
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        CholeskyOuterProduct.forward(&LowerCholesky.forward(x)?)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        LowerCholesky.inverse(&CholeskyOuterProduct.inverse(y)?)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let l = LowerCholesky.forward(x)?;
        Ok(LowerCholesky.forward_log_det_jacobian(x)? + CholeskyOuterProduct.forward_log_det_jacobian(&l)?)
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        let l = CholeskyOuterProduct.inverse(y)?;
        Ok(CholeskyOuterProduct.inverse_log_det_jacobian(y)? + LowerCholesky.inverse_log_det_jacobian(&l)?)
    }
}
