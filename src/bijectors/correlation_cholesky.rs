//! The correlation-Cholesky bijector.

use super::{check_input, check_square, triangular_rows, Bijector, FillTriangular};
use anyhow::{anyhow, bail, Result};
use tch::{Kind, Tensor};

/// Maps `R^{n(n-1)/2}` onto Cholesky factors of `n x n` correlation matrices (lower triangular,
/// positive diagonal, rows of unit norm), as TFP's `CorrelationCholesky` and in its element
/// order (torch's `CorrCholeskyTransform` is another map): fill the strictly lower triangle
/// from `x` in [`FillTriangular`]'s order, put ones on the diagonal, and divide each row by its
/// norm. Shapes: `x` is `[..., n(n-1)/2]`, `y` is `[..., n, n]`; min event ndims 1 / 2.
///
/// * inverse: the strictly lower triangle of `y` divided row by row by the diagonal, read back
///   in the same order.
/// * `log|det J| = Σ_i (i + 1) log L_ii` (rows `i = 1..n`, so weights `2..n+1`), TFP's formula:
///   the log-det of the map from `x` to the strictly lower entries of `L`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CorrelationCholesky;

impl CorrelationCholesky {
    /// `-Σ_i (i + 1) log L_ii` for `L` `[..., n, n]`: the inverse log-det.
    fn inverse_log_det(y: &Tensor) -> Tensor {
        let n = y.size()[y.dim() - 1];
        let weights = Tensor::arange_start(2, n + 2, (y.kind(), y.device()));
        -(y.diagonal(0, -2, -1).log() * weights).sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>)
    }

    fn rows(op: &str, m: i64) -> Result<i64> {
        triangular_rows(m)
            .map(|k| k + 1)
            .ok_or_else(|| anyhow!("{op}: expected a last dimension of n(n-1)/2 entries, got {m}"))
    }
}

impl Bijector for CorrelationCholesky {
    fn name(&self) -> String {
        "correlation_cholesky".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn inverse_min_event_ndims(&self) -> usize {
        2
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let op = "correlation_cholesky.forward";
        check_input(op, "x", x, 1)?;
        let n = Self::rows(op, x.size()[x.dim() - 1])?;
        // the strictly lower triangle: a lower fill of size n - 1, moved one row down
        let strict = FillTriangular::lower().forward(x)?.constant_pad_nd([0i64, 1, 1, 0].as_slice());
        let y = strict + Tensor::eye(n, (x.kind(), x.device()));
        let norm = y.square().sum_dim_intlist([-1i64].as_slice(), true, None::<Kind>).sqrt();
        Ok(y / norm)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let n = check_square("correlation_cholesky.inverse", "y", y)?;
        if n < 1 {
            bail!("correlation_cholesky.inverse: expected matrices of size n >= 1, got shape {:?}", y.size());
        }
        let x = y.tril(-1) / y.diagonal(0, -2, -1).unsqueeze(-1);
        FillTriangular::lower().inverse(&x.narrow(-2, 1, n - 1).narrow(-1, 0, n - 1))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        Ok(-Self::inverse_log_det(&self.forward(x)?))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        check_square("correlation_cholesky.inverse_log_det_jacobian", "y", y)?;
        Ok(Self::inverse_log_det(y))
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        let op = "correlation_cholesky.forward_event_shape";
        let Some((&m, lead)) = input.split_last() else {
            bail!("{op}: expected a shape with at least 1 dimension, got []")
        };
        let n = Self::rows(op, m)?;
        Ok([lead, &[n, n]].concat())
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        match output {
            [lead @ .., r, c] if r == c && *r >= 1 => Ok([lead, &[r * (r - 1) / 2]].concat()),
            _ => bail!("correlation_cholesky.inverse_event_shape: expected [..., n, n] with n >= 1, got {output:?}"),
        }
    }
}
