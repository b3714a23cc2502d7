//! The lower-triangular matrix-vector scale bijector.

use super::{check_input, Bijector};
use crate::shape::{broadcast_shapes, check_float, check_tensor, fmt_shape};
use crate::Parameter;
use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// `y = L x` (matrix-vector product) for a lower-triangular `scale_tril` `L` of shape
/// `[..., n, n]`, acting on vectors `x` of shape `[..., n]` (`forward_min_event_ndims = 1`),
/// as TFP's `ScaleMatvecTriL` (torch: an `AffineTransform`-like `L @ x`).
///
/// * Only the lower triangle of `L` is used (entries above the diagonal are ignored, as
///   TFP's `LinearOperatorLowerTriangular` does); this is read at every call, so `L` may be a
///   learnable variable updated in place, and gradients flow to it.
/// * inverse: `x = L⁻¹ y` by a triangular solve (`linalg_solve_triangular`), never an
///   explicit inverse.
/// * `log|det J| = Σ_i log|L_ii|` (constant in `x`), `log|det J⁻¹| = -Σ_i log|L_ii|`, with the
///   broadcast of `L`'s batch shape and `x`'s batch shape. A zero on the diagonal is not
///   invertible (not checked, as in TFP without `validate_args`).
/// * batch dimensions of `L` and `x` broadcast (NumPy rules); `x` must have `L`'s dtype and
///   device and a last dimension `n`.
///
/// An affine map `y = L x + b` (TFP's old `Affine(shift, scale_tril)`) is a chain; the shift
/// is applied last, so it comes first:
///
/// ```
/// # #![allow(clippy::arc_with_non_send_sync)]
/// use std::sync::Arc;
/// use tch::Tensor;
/// use tch_distributions::bijectors::{Bijector, Chain, ScaleMatvecTriL, Shift};
///
/// let l = Tensor::from_slice(&[2.0, 0.0, 1.0, 3.0]).reshape([2, 2]);
/// let b = Tensor::from_slice(&[10.0, 20.0]);
/// let affine = Chain::new(vec![Arc::new(Shift::new(b)), Arc::new(ScaleMatvecTriL::new(l).unwrap())]);
/// let y = affine.forward(&Tensor::from_slice(&[1.0, 1.0])).unwrap();
/// assert_eq!(Vec::<f64>::try_from(&y).unwrap(), vec![12.0, 24.0]); // [2*1 + 10, 1 + 3 + 20]
/// let ldj = affine.forward_log_det_jacobian(&Tensor::from_slice(&[1.0, 1.0])).unwrap();
/// assert!((ldj.double_value(&[]) - 6f64.ln()).abs() < 1e-12); // log(2 * 3)
/// let x = affine.inverse(&y).unwrap();
/// assert_eq!(Vec::<f64>::try_from(&x).unwrap(), vec![1.0, 1.0]);
/// ```
#[derive(Debug)]
pub struct ScaleMatvecTriL {
    scale_tril: Parameter,
}

impl ScaleMatvecTriL {
    /// `L x` with `scale_tril` a float tensor or [`Parameter`] (a trainable variable or a
    /// `TransformedVariable`, e.g. through `FillScaleTriL`) of shape `[..., n, n]`; errors for
    /// other dtypes, ranks or non-square shapes.
    pub fn new(scale_tril: impl Into<Parameter>) -> Result<Self> {
        let op = "ScaleMatvecTriL.new";
        let scale_tril = scale_tril.into();
        let l = scale_tril.value()?;
        check_float(op, "scale_tril", &l)?;
        check_input(op, "scale_tril", &l, 2)?;
        let s = l.size();
        if s[s.len() - 1] != s[s.len() - 2] {
            bail!("{op}: expected scale_tril of square matrices [..., n, n], got shape {}", fmt_shape(&s));
        }
        Ok(ScaleMatvecTriL { scale_tril })
    }

    /// The scale matrix as given (upper entries included; only the lower triangle is used), read
    /// now (with gradient to a learnable parameter).
    pub fn scale_tril(&self) -> Result<Tensor> {
        self.scale_tril.value()
    }

    /// Checks `t` against `L`'s dtype, device and size; returns `L` and the broadcast batch shape.
    fn check(&self, op: &str, what: &str, t: &Tensor) -> Result<(Tensor, Vec<i64>)> {
        check_input(op, what, t, 1)?;
        let l = self.scale_tril.value()?;
        check_tensor(op, what, t, l.kind(), l.device())?;
        let (ls, ts) = (l.size(), t.size());
        let n = ls[ls.len() - 1];
        if ts[ts.len() - 1] != n {
            bail!(
                "{op}: expected {what} of shape [..., {n}] to match scale_tril of shape {}, got {}",
                fmt_shape(&ls),
                fmt_shape(&ts)
            );
        }
        let batch = broadcast_shapes(op, &ts[..ts.len() - 1], &ls[..ls.len() - 2]).map_err(|_| {
            anyhow::anyhow!(
                "{op}: the batch shape of {what} {} does not broadcast with scale_tril of shape {}",
                fmt_shape(&ts),
                fmt_shape(&ls)
            )
        })?;
        Ok((l, batch))
    }

    fn log_abs_diag(l: &Tensor, batch: &[i64], sign: f64) -> Tensor {
        let d = l.diagonal(0, -2, -1).abs().log();
        (d.sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>) * sign).broadcast_to(batch)
    }
}

impl Bijector for ScaleMatvecTriL {
    fn name(&self) -> String {
        "scale_matvec_tril".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (l, _) = self.check("scale_matvec_tril.forward", "x", x)?;
        Ok(l.tril(0).matmul(&x.unsqueeze(-1)).squeeze_dim(-1))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let (l, _) = self.check("scale_matvec_tril.inverse", "y", y)?;
        Ok(crate::linalg::solve_lower_vec(&l, y))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let (l, batch) = self.check("scale_matvec_tril.forward_log_det_jacobian", "x", x)?;
        Ok(Self::log_abs_diag(&l, &batch, 1.0))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        let (l, batch) = self.check("scale_matvec_tril.inverse_log_det_jacobian", "y", y)?;
        Ok(Self::log_abs_diag(&l, &batch, -1.0))
    }
    fn is_constant_jacobian(&self) -> bool {
        true
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.scale_tril.trainable_variables()
    }
}
