//! The softplus bijector.

use super::{check_input, Bijector};
use anyhow::Result;
use tch::{Kind, Tensor};

/// `y = log(1 + exp(x))`, maps the reals onto `(0, ∞)`.
///
/// * forward: libtorch's `softplus` in float32 (its cut-off at `x > 20` returns `x`, which is
///   exact to float32 rounding); in float64 the cut-off is moved past `x = 20` by using
///   `x + exp(-x)` there, exact to float64 rounding.
/// * inverse: `x = y + log(1 - exp(-y))`, finite and accurate from `y = 1e-7` (where it is
///   `log y`) to large `y` (where it is `y`): its error is a few roundings of
///   `|y| + |log(1 - exp(-y))|`, so near `y = log 2`, where `x` crosses 0 and the two terms
///   cancel, it is accurate in absolute rather than relative terms (as in TFP).
///   `Softplus.inverse(1.0) = 0.54132485` as in TFP.
/// * `log|dy/dx| = log_sigmoid(x)`, and `log|dx/dy| = -log(1 - exp(-y))`.
///
/// `log(1 - exp(-y))` is computed as `log(-expm1(-y))` for `y < log 2` and as
/// `log1p(-exp(-y))` above (Mächler's `log1mexp`), accurate to rounding for every `y > 0`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Softplus;

impl Bijector for Softplus {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
    fn name(&self) -> String {
        "softplus".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_input("softplus.forward", "x", x, 0)?;
        if x.kind() == Kind::Float {
            return Ok(x.softplus());
        }
        // Above 20, log1p(exp(x)) = x + exp(-x) to float64 rounding; clamping keeps the unused
        // branch finite so that its (masked) gradient is 0, not NaN.
        let big = x.clamp_min(20.0);
        // tch's `a.where_self(cond, b)` is `where(cond, a, b)`.
        Ok((&big + (-&big).exp()).where_self(&x.gt(20.0), &x.softplus()))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        check_input("softplus.inverse", "y", y, 0)?;
        Ok(y + log1mexp(y))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        check_input("softplus.forward_log_det_jacobian", "x", x, 0)?;
        Ok(x.log_sigmoid())
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        check_input("softplus.inverse_log_det_jacobian", "y", y, 0)?;
        Ok(-log1mexp(y))
    }
}

/// `log(1 - exp(-a))` for `a > 0`, accurate for small and large `a`. Each branch sees its
/// input clamped to its own side of `log 2`, so the branch that `where` drops stays finite and
/// its masked gradient is 0, not NaN.
fn log1mexp(a: &Tensor) -> Tensor {
    let ln2 = std::f64::consts::LN_2;
    let small = (-a.clamp_max(ln2)).expm1().neg().log();
    let large = (-a.clamp_min(ln2)).exp().neg().log1p();
    small.where_self(&a.lt(ln2), &large)
}
