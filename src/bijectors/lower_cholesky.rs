//! The lower-Cholesky bijector.

use super::{check_square, Bijector};
use anyhow::Result;
use tch::{Kind, Tensor};

/// Square matrices onto lower-triangular ones with a positive diagonal, as torch's
/// `LowerCholeskyTransform`: `y = tril(x, -1) + diag(exp(diag x))`; min event ndims 2 both ways.
/// The strict upper triangle of `x` is dropped, so the map is a bijection of lower-triangular
/// matrices (as `CholeskyOuterProduct` reads them).
///
/// * inverse: `x = tril(y, -1) + diag(log(diag y))` (the upper triangle of `y` is ignored).
/// * `log|det J| = Σ_i x_ii` over the lower entries (torch defines none); `log|det J⁻¹| = -Σ_i
///   log y_ii`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LowerCholesky;

impl LowerCholesky {
    /// `tril(t, -1) + diag(f(diag t))`.
    fn map_diagonal(t: &Tensor, f: impl Fn(&Tensor) -> Tensor) -> Tensor {
        t.tril(-1) + f(&t.diagonal(0, -2, -1)).diag_embed(0, -2, -1)
    }

    fn diagonal_sum(t: &Tensor) -> Tensor {
        t.diagonal(0, -2, -1).sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>)
    }
}

impl Bijector for LowerCholesky {
    fn name(&self) -> String {
        "lower_cholesky".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        2
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_square("lower_cholesky.forward", "x", x)?;
        Ok(Self::map_diagonal(x, |d| d.exp()))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        check_square("lower_cholesky.inverse", "y", y)?;
        Ok(Self::map_diagonal(y, |d| d.log()))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        check_square("lower_cholesky.forward_log_det_jacobian", "x", x)?;
        Ok(Self::diagonal_sum(x))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        check_square("lower_cholesky.inverse_log_det_jacobian", "y", y)?;
        Ok(-y.diagonal(0, -2, -1).log().sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>))
    }
}
