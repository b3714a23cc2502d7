//! The tanh bijector.

use super::{check_input, Bijector};
use anyhow::Result;
use tch::Tensor;

/// `y = tanh(x)`, maps the reals onto `(-1, 1)` elementwise (`forward_min_event_ndims = 0`),
/// as TFP's `Tanh` and torch's `TanhTransform`.
///
/// * inverse: `x = atanh(y)`, defined for `|y| < 1`; `atanh(±1) = ±∞` and `|y| > 1` gives NaN
///   (not checked, as in TFP without `validate_args`). Near `|y| = 1` the inverse is
///   ill-conditioned by nature (relative error about `eps / (1 - y²)`).
/// * `log|dy/dx| = log(1 - tanh²x) = 2 (log 2 - x - softplus(-2x))`, torch's stable form;
///   computed as the (equal, even-in-`x`) `2 log 2 - 2|x| - 2 log1p(exp(-2|x|))`, which is
///   exact to rounding for every `x` in both dtypes (libtorch's `softplus` cuts off at 20,
///   an absolute error of `exp(-20)` in float64) and whose autograd gradient at `x = 0` is the
///   true derivative 0.
/// * `log|dx/dy| = -log(1 - y²)`, computed as `-(log1p(-y) + log1p(y))`: `1 - y` is exact near
///   `|y| = 1`, where `1 - y²` from a rounded `y²` would lose most of its digits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tanh;

impl Bijector for Tanh {
    fn name(&self) -> String {
        "tanh".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_input("tanh.forward", "x", x, 0)?;
        Ok(x.tanh())
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        check_input("tanh.inverse", "y", y, 0)?;
        Ok(y.atanh())
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        check_input("tanh.forward_log_det_jacobian", "x", x, 0)?;
        let a = x.abs();
        let ln2 = std::f64::consts::LN_2;
        Ok((&a * -2.0).exp().log1p() * -2.0 - &a * 2.0 + 2.0 * ln2)
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        check_input("tanh.inverse_log_det_jacobian", "y", y, 0)?;
        Ok(-((-y).log1p() + y.log1p()))
    }
}
