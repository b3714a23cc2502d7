//! The absolute-value map.

use super::{check_input, Bijector};
use anyhow::{bail, Result};
use tch::Tensor;

/// `y = |x|` elementwise, as torch's `AbsTransform`. Not a bijection (`x` and `-x` meet), so
/// only `forward` is defined: `inverse` and both log-dets are errors saying so, where torch's
/// inverse silently returns the positive root and its log-det is not implemented. For a
/// distribution of `|X|`, use the folded family itself (`HalfNormal`, `HalfCauchy`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Abs;

impl Abs {
    fn not_bijective<T>(method: &str) -> Result<T> {
        bail!("abs.{method}: |x| is not injective (x and -x give the same y), so Abs has no {method}; it is a forward map only")
    }
}

impl Bijector for Abs {
    fn name(&self) -> String {
        "abs".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_input("abs.forward", "x", x, 0)?;
        Ok(x.abs())
    }
    fn inverse(&self, _y: &Tensor) -> Result<Tensor> {
        Self::not_bijective("inverse")
    }
    fn forward_log_det_jacobian(&self, _x: &Tensor) -> Result<Tensor> {
        Self::not_bijective("forward_log_det_jacobian")
    }
    fn inverse_log_det_jacobian(&self, _y: &Tensor) -> Result<Tensor> {
        Self::not_bijective("inverse_log_det_jacobian")
    }
}
