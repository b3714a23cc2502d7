//! The Cholesky outer-product bijector.

use super::Bijector;
use crate::shape::fmt_shape;
use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// `Y = L Lᵀ` for lower-triangular `L` with a positive diagonal, mapping Cholesky factors
/// onto symmetric positive-definite matrices, as TFP's `CholeskyOuterProduct`. Shapes:
/// `[..., n, n]` both ways, batched over leading dimensions; min event ndims 2 both ways.
///
/// * forward: the strict upper triangle of `x` is ignored (zeroed first, as in TFP).
/// * inverse: `L = cholesky(Y)`, reading only the lower triangle of `Y`, through libtorch's
///   non-raising `linalg_cholesky_ex`. A `Y` that is not positive definite (as the
///   factorisation detects it, or NaN) is an error naming how many matrices failed, never a
///   panic; this check synchronises with the device. TFP raises on CPU in that case too.
/// * log-det (TFP's formula): the Jacobian of the map from the `n(n+1)/2` lower entries of
///   `L` to the lower entries of `Y`, both in row-major order, is lower triangular with
///   diagonal entries `2 L_jj` for entry `(i, j)`, so
///   `log|det J| = n log 2 + Σ_{j=0}^{n-1} (n - j) log L_jj` (0-based `j`; exponents
///   `n, n-1, ..., 1`). Here `log|L_jj|` is used, so the value stays the local log-det off the
///   positive-diagonal domain (TFP gives NaN there). `log|det J⁻¹(Y)| = -log|det J(chol Y)|`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CholeskyOuterProduct;

impl CholeskyOuterProduct {
    fn fldj(l: &Tensor, n: i64) -> Tensor {
        let exponents = Tensor::arange_start_step(n, 0, -1, (l.kind(), l.device()));
        let weighted = l.diagonal(0, -2, -1).abs().log() * exponents;
        weighted.sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>) + n as f64 * std::f64::consts::LN_2
    }

    fn cholesky(op: &str, y: &Tensor) -> Result<Tensor> {
        let (l, info) = y.linalg_cholesky_ex(false, false);
        let failed = info.ne(0).sum(Kind::Int64).int64_value(&[]);
        if failed > 0 {
            bail!(
                "{op}: expected symmetric positive-definite matrices, but the Cholesky factorisation failed for {failed} of {} matrices of shape {}",
                info.numel(),
                fmt_shape(&y.size())
            );
        }
        Ok(l)
    }
}

impl Bijector for CholeskyOuterProduct {
    fn name(&self) -> String {
        "cholesky_outer_product".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        2
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        super::check_square("cholesky_outer_product.forward", "x", x)?;
        let l = x.tril(0);
        Ok(l.matmul(&l.transpose(-2, -1)))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let op = "cholesky_outer_product.inverse";
        super::check_square(op, "y", y)?;
        Self::cholesky(op, y)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let n = super::check_square("cholesky_outer_product.forward_log_det_jacobian", "x", x)?;
        Ok(Self::fldj(x, n))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        Ok(self.inverse_and_log_det(y)?.1)
    }
    fn inverse_and_log_det(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        let op = "cholesky_outer_product.inverse_and_log_det";
        let n = super::check_square(op, "y", y)?;
        let l = Self::cholesky(op, y)?;
        let ildj = -Self::fldj(&l, n);
        Ok((l, ildj))
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        square_shape("cholesky_outer_product.forward_event_shape", input)
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        square_shape("cholesky_outer_product.inverse_event_shape", output)
    }
}

fn square_shape(op: &str, s: &[i64]) -> Result<Vec<i64>> {
    let k = s.len();
    if k < 2 || s[k - 1] != s[k - 2] {
        bail!("{op}: expected a shape [..., n, n], got {}", fmt_shape(s));
    }
    Ok(s.to_vec())
}
