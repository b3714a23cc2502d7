//! The fill-scale-tril bijector.

use super::{Bijector, Chain, FillTriangular, Shift, Softplus, TransformDiagonal};
use anyhow::Result;
use std::sync::Arc;
use tch::Tensor;

/// Maps an unconstrained vector `[..., n(n+1)/2]` to a lower-triangular matrix `[..., n, n]`
/// with a positive diagonal (a Cholesky factor / `scale_tril`), as TFP's `FillScaleTriL`:
///
/// `Chain([TransformDiagonal(Chain([Shift(diag_shift), diag_bijector])), FillTriangular(lower)])`
///
/// that is, the vector fills the lower triangle in TFP's order ([`FillTriangular`]), then each
/// diagonal entry becomes `diag_bijector(x_ii) + diag_shift`. `log|det J|` is the sum over the
/// diagonal of `diag_bijector`'s log-det (the fill and the shift have log-det 0); the Jacobian
/// is square once the output is read back through `FillTriangular`'s inverse. The inverse
/// reads only the lower triangle. Forward min event ndims 1, inverse 2.
///
/// The default is `diag_bijector = Softplus`, `diag_shift = 1e-5`, for which the inverse of
/// `10 * eye(4)` (float32) is `[9.999945, 0, 0, 0, 9.999945, 9.999945, 0, 0, 0, 9.999945]`
/// as in TFP. The shift is an `f64` applied in the input's dtype, so the bijector serves
/// float32 and float64 alike.
#[derive(Clone)]
pub struct FillScaleTriL {
    /// The bijector that makes the diagonal positive (elementwise, min event ndims 0).
    pub diag_bijector: Arc<dyn Bijector>,
    /// Added to the diagonal after `diag_bijector`.
    pub diag_shift: f64,
}

impl std::fmt::Debug for FillScaleTriL {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FillScaleTriL({}, diag_shift={})", self.diag_bijector.name(), self.diag_shift)
    }
}

impl Default for FillScaleTriL {
    fn default() -> Self {
        FillScaleTriL { diag_bijector: Arc::new(Softplus), diag_shift: 1e-5 }
    }
}

impl FillScaleTriL {
    /// A `FillScaleTriL` with the given diagonal bijector and shift.
    pub fn new(diag_bijector: Arc<dyn Bijector>, diag_shift: f64) -> Self {
        FillScaleTriL { diag_bijector, diag_shift }
    }

    /// The equivalent chain, `Chain([TransformDiagonal(Chain([Shift(diag_shift),
    /// diag_bijector])), FillTriangular(lower)])`.
    // `dyn Bijector` is not `Send + Sync` (the trait has no such bound and `Tensor` is not
    // `Sync`); `Arc` is what `Chain` holds, as everywhere bijectors are shared.
    pub fn chain(&self) -> Chain {
        let diag = Chain::new(vec![Arc::new(Shift::scalar(self.diag_shift)), self.diag_bijector.clone()]);
        Chain::new(vec![Arc::new(TransformDiagonal(Arc::new(diag))), Arc::new(FillTriangular { upper: false })])
    }
}

impl FillScaleTriL {
    /// The matrix and, when asked, the log-det, sharing the gather of the diagonal entries.
    fn forward_parts(&self, op: &str, x: &Tensor, log_det: bool) -> Result<(Tensor, Option<Tensor>)> {
        let pos = self.diagonal_positions(op, x)?;
        let s = x.size();
        let n = pos.size()[0];
        let raw_diag = x.index_select(-1, &pos);
        let diag = self.diag_bijector.forward(&raw_diag)? + self.diag_shift;
        let mut zshape = s.clone();
        *zshape.last_mut().unwrap() = 1;
        let src = Tensor::cat(&[x.shallow_clone(), diag, Tensor::zeros(zshape.as_slice(), (x.kind(), x.device()))], -1);
        let mut out = s[..s.len() - 1].to_vec();
        out.extend([n, n]);
        let y = src.index_select(-1, &super::fill_triangular::lower_fill_with_diagonal_index(n, x.device()));
        let ldj = if log_det {
            Some(self.diag_bijector.forward_log_det_jacobian(&raw_diag)?.sum_dim_intlist(-1, false, None::<tch::Kind>))
        } else {
            None
        };
        Ok((y.reshape(out.as_slice()), ldj))
    }

    /// Checks `x` (`[..., n(n+1)/2]`) and gives the vector positions of the diagonal entries.
    fn diagonal_positions(&self, op: &str, x: &Tensor) -> Result<Tensor> {
        super::check_input(op, "x", x, 1)?;
        let m = x.size()[x.dim() - 1];
        let n = super::triangular_rows(m)
            .ok_or_else(|| anyhow::anyhow!("{op}: expected a last dimension of n(n+1)/2 entries, got {m}"))?;
        Ok(super::fill_triangular::lower_diagonal_positions(n, x.device()))
    }
}

impl Bijector for FillScaleTriL {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
    fn name(&self) -> String {
        "fill_scale_tril".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn inverse_min_event_ndims(&self) -> usize {
        2
    }
    /// The chain's map in fewer operations: the diagonal entries are gathered at their fill
    /// positions and mapped, then one gather from `cat([x, diagonal, 0])` fills the matrix.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.forward_parts("fill_scale_tril.forward", x, false)?.0)
    }
    fn forward_and_log_det(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (y, ldj) = self.forward_parts("fill_scale_tril.forward_and_log_det", x, true)?;
        Ok((y, ldj.expect("asked for")))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        self.chain().inverse(y)
    }
    /// The diagonal bijector's log-det at the entries that land on the diagonal, summed.
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let pos = self.diagonal_positions("fill_scale_tril.forward_log_det_jacobian", x)?;
        let ldj = self.diag_bijector.forward_log_det_jacobian(&x.index_select(-1, &pos))?;
        Ok(ldj.sum_dim_intlist(-1, false, None::<tch::Kind>))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        self.chain().inverse_log_det_jacobian(y)
    }
    fn inverse_and_log_det(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        self.chain().inverse_and_log_det(y)
    }
    fn inverse_log_det_jacobian_reduced(&self, y: &Tensor, event_ndims: usize) -> Result<Tensor> {
        self.chain().inverse_log_det_jacobian_reduced(y, event_ndims)
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        self.chain().forward_event_shape(input)
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        self.chain().inverse_event_shape(output)
    }
    fn is_constant_jacobian(&self) -> bool {
        false
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.diag_bijector.trainable_variables()
    }
}
