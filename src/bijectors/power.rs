//! The power and square bijectors.

use super::{check_input, Bijector};
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
#[derive(Debug, Clone, Copy)]
pub struct Power {
    power: f64,
}

impl Power {
    /// The bijector `x -> x^power`; errors if `power` is zero or not finite.
    pub fn new(power: f64) -> Result<Self> {
        if power == 0.0 || !power.is_finite() {
            bail!("Power.new: expected a finite nonzero power, got {power}");
        }
        Ok(Power { power })
    }
    /// The exponent `p`.
    pub fn power(&self) -> f64 {
        self.power
    }
    fn odd_integer(&self) -> bool {
        self.power.fract() == 0.0 && self.power.abs() % 2.0 == 1.0
    }
}

impl Bijector for Power {
    fn name(&self) -> String {
        "power".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_input("power.forward", "x", x, 0)?;
        Ok(x.pow_tensor_scalar(self.power))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        check_input("power.inverse", "y", y, 0)?;
        let q = 1.0 / self.power;
        if self.odd_integer() {
            Ok(y.abs().pow_tensor_scalar(q) * y.sign())
        } else {
            Ok(y.pow_tensor_scalar(q))
        }
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        check_input("power.forward_log_det_jacobian", "x", x, 0)?;
        let p = self.power;
        Ok(x.abs().log() * (p - 1.0) + p.abs().ln())
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        check_input("power.inverse_log_det_jacobian", "y", y, 0)?;
        let p = self.power;
        Ok(y.abs().log() * (1.0 / p - 1.0) - p.abs().ln())
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
