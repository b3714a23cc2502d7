//! The cumulative-sum bijector.

use super::{check_input, Bijector};
use anyhow::Result;
use tch::{Kind, Tensor};

/// `y_i = Σ_{j<=i} x_j` along the last dimension, as TFP's `Cumsum` (its default `axis=-1`);
/// min event ndims 1 both ways.
///
/// * inverse: `x_1 = y_1`, `x_i = y_i - y_{i-1}`.
/// * The Jacobian is unit lower-triangular: `log|det J| = 0` (one value per event, the batch
///   shape of the input), and [`Bijector::is_constant_jacobian`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Cumsum;

impl Cumsum {
    /// Zeros of the batch shape of `t` (all but its last dimension).
    fn zero_log_det(t: &Tensor) -> Tensor {
        let s = t.size();
        Tensor::zeros(&s[..s.len() - 1], (t.kind(), t.device()))
    }
}

impl Bijector for Cumsum {
    fn name(&self) -> String {
        "cumsum".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn is_constant_jacobian(&self) -> bool {
        true
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_input("cumsum.forward", "x", x, 1)?;
        Ok(x.cumsum(-1, None::<Kind>))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        check_input("cumsum.inverse", "y", y, 1)?;
        // [y_1, y_2 - y_1, ...]: the differences with a zero before the first entry
        Ok(y.diff(1, -1, Some(y.narrow(-1, 0, 0).zeros_like().constant_pad_nd([0i64, 1].as_slice())), None::<Tensor>))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        check_input("cumsum.forward_log_det_jacobian", "x", x, 1)?;
        Ok(Self::zero_log_det(x))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        check_input("cumsum.inverse_log_det_jacobian", "y", y, 1)?;
        Ok(Self::zero_log_det(y))
    }
}
