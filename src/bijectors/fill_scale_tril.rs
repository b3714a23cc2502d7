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

impl Bijector for FillScaleTriL {
    fn name(&self) -> String {
        "fill_scale_tril".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn inverse_min_event_ndims(&self) -> usize {
        2
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.chain().forward(x)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        self.chain().inverse(y)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        self.chain().forward_log_det_jacobian(x)
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        self.chain().inverse_log_det_jacobian(y)
    }
    fn forward_and_log_det(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.chain().forward_and_log_det(x)
    }
    fn inverse_and_log_det(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        self.chain().inverse_and_log_det(y)
    }
    fn forward_log_det_jacobian_reduced(&self, x: &Tensor, event_ndims: usize) -> Result<Tensor> {
        self.chain().forward_log_det_jacobian_reduced(x, event_ndims)
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
}
