//! The ordered-vector bijector.

use super::{check_input, Bijector};
use anyhow::Result;
use tch::{Kind, Tensor};

/// Maps strictly increasing vectors to unconstrained ones along the last dimension, as TFP's
/// `Ordered`: `y_1 = x_1`, `y_i = log(x_i - x_{i-1})`; min event ndims 1 both ways. Its
/// inverse (`Invert(Ordered)`, TFP's `Ascending`) makes ordered vectors, for example the cut
/// points of an ordinal model.
///
/// * inverse: `x_1 = y_1`, `x_i = y_1 + Σ_{1<j<=i} exp(y_j)`.
/// * `log|det J| = -Σ_{i>1} log(x_i - x_{i-1})`; `log|det J⁻¹| = Σ_{i>1} y_i`.
/// * A vector that is not strictly increasing gives NaN or `-∞` entries (not checked, as in TFP
///   without `validate_args`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ordered;

impl Ordered {
    /// `log(x_i - x_{i-1})` for `i > 1` (`[..., n-1]`).
    fn log_gaps(x: &Tensor) -> Tensor {
        x.diff(1, -1, None::<Tensor>, None::<Tensor>).log()
    }
}

impl Bijector for Ordered {
    fn name(&self) -> String {
        "ordered".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_input("ordered.forward", "x", x, 1)?;
        let n = x.size()[x.dim() - 1];
        Ok(Tensor::cat(&[x.narrow(-1, 0, n.min(1)), Self::log_gaps(x)], -1))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        check_input("ordered.inverse", "y", y, 1)?;
        let n = y.size()[y.dim() - 1];
        let first = y.narrow(-1, 0, n.min(1));
        let steps = y.narrow(-1, n.min(1), n - n.min(1)).exp();
        Ok(Tensor::cat(&[first.shallow_clone(), &first + steps.cumsum(-1, None::<Kind>)], -1))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        check_input("ordered.forward_log_det_jacobian", "x", x, 1)?;
        Ok(-Self::log_gaps(x).sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        check_input("ordered.inverse_log_det_jacobian", "y", y, 1)?;
        let n = y.size()[y.dim() - 1];
        Ok(y.narrow(-1, n.min(1), n - n.min(1)).sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>))
    }
}
