//! The power and square bijectors.

use super::param::{Param, Val};
use super::{check_input, Bijector};
use crate::Parameter;
use anyhow::{bail, Result};
use tch::Tensor;

/// `y = x^p` elementwise (`forward_min_event_ndims = 0`), as TFP's `Power(power=p)`.
///
/// * domain: `x > 0` (onto `y > 0`); for an odd integer `p` (`±1, ±3, ...`) the map is also a
///   bijection of the nonzero reals (all reals for `p > 0`) and the inverse keeps the sign.
///   Other inputs give NaN (not checked, as in TFP without `validate_args`).
/// * inverse: `x = y^(1/p)` (`sign(y) |y|^(1/p)` for odd integer `p`).
/// * `log|dy/dx| = log|p| + (p - 1) log|x|`; `log|dx/dy| = -log|p| + (1/p - 1) log|y|`.
/// * `p` must be finite and nonzero ([`Power::new`] errors otherwise).
/// * `p` may be learnable ([`Power::learnable`]: a tensor or [`Parameter`], broadcast against
///   `x`, with gradients through value and log-det); the odd-integer rule then applies
///   elementwise.
#[derive(Debug)]
pub struct Power {
    power: Param,
}

impl Power {
    /// The bijector `x -> x^power`; errors if `power` is zero or not finite.
    pub fn new(power: f64) -> Result<Self> {
        if power == 0.0 || !power.is_finite() {
            bail!("Power.new: expected a finite nonzero power, got {power}");
        }
        Ok(Power { power: Param::Scalar(power) })
    }
    /// `x -> x^power` with a tensor or parameter exponent (a trainable variable or a
    /// `TransformedVariable`), read at every call; inputs must have its dtype and device.
    pub fn learnable(power: impl Into<Parameter>) -> Self {
        Power { power: Param::value(power) }
    }
    /// The exponent `p` when it is a fixed scalar ([`Power::new`]); `None` for a tensor exponent.
    pub fn power(&self) -> Option<f64> {
        match self.power {
            Param::Scalar(p) => Some(p),
            Param::Value(_) => None,
        }
    }
}

fn odd_integer(p: f64) -> bool {
    p.fract() == 0.0 && p.abs() % 2.0 == 1.0
}

impl Bijector for Power {
    fn name(&self) -> String {
        "power".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self.power.check("power.forward", "x", "power", x)?.1 {
            Val::Scalar(p) => x.pow_tensor_scalar(p),
            Val::Tensor(p) => x.pow(&p),
        })
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        Ok(match self.power.check("power.inverse", "y", "power", y)?.1 {
            Val::Scalar(p) if odd_integer(p) => y.abs().pow_tensor_scalar(1.0 / p) * y.sign(),
            Val::Scalar(p) => y.pow_tensor_scalar(1.0 / p),
            Val::Tensor(p) => {
                let q = p.reciprocal();
                let odd = p.fmod(2.0).abs().eq(1.0);
                (y.abs().pow(&q) * y.sign()).where_self(&odd, &y.pow(&q))
            }
        })
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self.power.check("power.forward_log_det_jacobian", "x", "power", x)?.1 {
            Val::Scalar(p) => x.abs().log() * (p - 1.0) + p.abs().ln(),
            Val::Tensor(p) => x.abs().log() * (&p - 1.0) + p.abs().log(),
        })
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        Ok(match self.power.check("power.inverse_log_det_jacobian", "y", "power", y)?.1 {
            Val::Scalar(p) => y.abs().log() * (1.0 / p - 1.0) - p.abs().ln(),
            Val::Tensor(p) => y.abs().log() * (p.reciprocal() - 1.0) - p.abs().log(),
        })
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.power.trainable_variables()
    }
}

/// `y = x²` on `x ≥ 0` (onto `y ≥ 0`), elementwise, as TFP's `Square`: inverse `x = sqrt(y)`;
/// `log|dy/dx| = log 2 + log x`; `log|dx/dy| = -log 2 - ½ log y`. Negative inputs are outside
/// the domain (the forward map is not injective there; the log-det is then NaN, not checked).
#[derive(Debug, Clone, Copy, Default)]
pub struct Square;

impl Bijector for Square {
    fn name(&self) -> String {
        "square".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_input("square.forward", "x", x, 0)?;
        Ok(x.square())
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        check_input("square.inverse", "y", y, 0)?;
        Ok(y.sqrt())
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        check_input("square.forward_log_det_jacobian", "x", x, 0)?;
        Ok(x.log() + std::f64::consts::LN_2)
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        check_input("square.inverse_log_det_jacobian", "y", y, 0)?;
        Ok(y.log() * -0.5 - std::f64::consts::LN_2)
    }
}
