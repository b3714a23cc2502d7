//! The softmax-centered bijector.

use super::{check_input, Bijector};
use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// Maps `R^{K-1}` onto the interior of the `K`-simplex, as TFP's `SoftmaxCentered`: append a
/// zero to `x` and take the softmax, `y = softmax([x, 0])` (`y_K = 1 / (1 + Σ exp x_i)` is
/// the pivot). Shapes: `x` is `[..., K-1]`, `y` is `[..., K]`; min event ndims 1 both ways.
///
/// * inverse: `x = log(y[..., :K-1]) - log(y[..., K-1:])`; it reads the `K` entries of `y`
///   without checking that they sum to 1 (as TFP without `validate_args`).
/// * log-det, exactly as TFP computes it:
///   `log|det J| = ½ log K + Σ_{i<K} log y_i = ½ log K + Σ x_i - K · log(1 + Σ exp x_i)`,
///   and `log|det J⁻¹| = -(½ log K + Σ log y_i)`.
///
///   `Σ log y_i` (all `K` entries) is the log-det of the square map `F` from `x` to the first
///   `K-1` coordinates of `y` (`det dF/dx = Π_{i<K} y_i`). TFP adds `½ log K`, the log volume
///   factor `sqrt(det(DGᵀ DG)) = sqrt(K)` of the linear lift `G` that appends
///   `y_K = 1 - Σ y_i`: the density is then with respect to the surface measure of the
///   simplex in `R^K`. A density with respect to Lebesgue measure on the first `K-1`
///   coordinates (the convention of `Dirichlet.log_prob`) is larger by `½ log K` than the
///   one this log-det gives through a transformed distribution; subtract `0.5 * ln(K)` from
///   this log-det to get the `F` convention.
/// * `log(1 + Σ exp x_i)` is `logsumexp([x, 0])`, exact for all `x` in both dtypes.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoftmaxCentered;

impl SoftmaxCentered {
    /// `[x, 0]` along the last dimension.
    fn pad(x: &Tensor) -> Tensor {
        x.constant_pad_nd([0i64, 1].as_slice())
    }
    fn half_log_k(k: i64) -> f64 {
        0.5 * (k as f64).ln()
    }
    fn check_y(op: &str, y: &Tensor) -> Result<i64> {
        check_input(op, "y", y, 1)?;
        let k = y.size()[y.dim() - 1];
        if k < 1 {
            bail!("{op}: expected y with a last dimension K >= 1, got shape {:?}", y.size());
        }
        Ok(k)
    }
    fn fldj_padded(x: &Tensor, z: &Tensor) -> Tensor {
        let k = z.size()[z.dim() - 1];
        let lse = z.logsumexp([-1i64].as_slice(), false);
        x.sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>) - lse * (k as f64) + Self::half_log_k(k)
    }
}

impl Bijector for SoftmaxCentered {
    fn name(&self) -> String {
        "softmax_centered".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_input("softmax_centered.forward", "x", x, 1)?;
        Ok(Self::pad(x).softmax(-1, None::<Kind>))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let k = Self::check_y("softmax_centered.inverse", y)?;
        let logy = y.log();
        Ok(logy.narrow(-1, 0, k - 1) - logy.narrow(-1, k - 1, 1))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        check_input("softmax_centered.forward_log_det_jacobian", "x", x, 1)?;
        Ok(Self::fldj_padded(x, &Self::pad(x)))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        let k = Self::check_y("softmax_centered.inverse_log_det_jacobian", y)?;
        Ok(-(y.log().sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>) + Self::half_log_k(k)))
    }
    fn forward_and_log_det(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        check_input("softmax_centered.forward_and_log_det", "x", x, 1)?;
        let z = Self::pad(x);
        Ok((z.softmax(-1, None::<Kind>), Self::fldj_padded(x, &z)))
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        super::simplex_event_shape("softmax_centered", input, true)
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        super::simplex_event_shape("softmax_centered", output, false)
    }
}
