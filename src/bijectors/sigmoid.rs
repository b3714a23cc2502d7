//! The sigmoid bijector, with optional bounds.

use super::shift::Param;
use super::{check_input, Bijector};
use crate::shape::{broadcast_shapes, check_float, kind_name};
use anyhow::{bail, Result};
use tch::Tensor;

/// `y = low + (high - low) * sigmoid(x)`, elementwise (`forward_min_event_ndims = 0`); maps the
/// reals onto `(low, high)`, by default `(0, 1)` (TFP's `Sigmoid(low, high)`).
///
/// * forward: `sigmoid(x)` unbounded; with bounds, TFP's form
///   `where(x < 0, low + (high - low) * sigmoid(x), high - (high - low) * sigmoid(-x))`, which
///   keeps `y` accurate next to whichever bound it approaches.
/// * inverse: `x = log(y - low) - log(high - y)` (`log(y) - log1p(-y)` unbounded).
/// * `log|dy/dx| = log(high - low) + log_sigmoid(x) + log_sigmoid(-x)`, and
///   `log|dx/dy| = log(high - low) - log(y - low) - log(high - y)`
///   (`-log(y) - log1p(-y)` unbounded).
///
/// Bounds are tensors ([`Sigmoid::with_bounds`]; inputs must then share their dtype and device,
/// and the output has the broadcast shape of `x`, `low` and `high`) or `f64` scalars
/// ([`Sigmoid::with_scalar_bounds`]; any float input).
#[derive(Debug, Default)]
pub struct Sigmoid {
    bounds: Option<(Param, Param)>,
}

impl Sigmoid {
    /// The standard sigmoid onto `(0, 1)`.
    pub fn new() -> Self {
        Sigmoid { bounds: None }
    }

    /// A sigmoid onto `(low, high)` with tensor bounds (float32 or float64, same dtype and device,
    /// broadcastable shapes, `low < high` everywhere: checked on the host, once).
    pub fn with_bounds(low: Tensor, high: Tensor) -> Result<Self> {
        let op = "Sigmoid::with_bounds";
        check_float(op, "low", &low)?;
        check_float(op, "high", &high)?;
        if low.kind() != high.kind() {
            bail!("{op}: low is {} but high is {}", kind_name(low.kind()), kind_name(high.kind()));
        }
        if low.device() != high.device() {
            bail!("{op}: low is on {:?} but high is on {:?}", low.device(), high.device());
        }
        broadcast_shapes(op, &low.size(), &high.size())?;
        let ok = low.lt_tensor(&high);
        if ok.logical_not().any().int64_value(&[]) != 0 {
            let gap = (&high - &low).min().double_value(&[]);
            bail!("{op}: expected low < high elementwise, got a minimum of high - low of {gap}");
        }
        Ok(Sigmoid { bounds: Some((Param::Tensor(low), Param::Tensor(high))) })
    }

    /// A sigmoid onto `(low, high)` with scalar bounds, finite and `low < high`.
    pub fn with_scalar_bounds(low: f64, high: f64) -> Result<Self> {
        if !(low.is_finite() && high.is_finite() && low < high) {
            bail!("Sigmoid::with_scalar_bounds: expected finite low < high, got low {low} and high {high}");
        }
        Ok(Sigmoid { bounds: Some((Param::Scalar(low), Param::Scalar(high))) })
    }

    /// Checks `t` against the bounds; returns `(low, high)` as tensors of `t`'s dtype and device.
    fn bounds(&self, op: &str, what: &str, t: &Tensor) -> Result<Option<(Tensor, Tensor)>> {
        match &self.bounds {
            None => {
                check_input(op, what, t, 0)?;
                Ok(None)
            }
            Some((lo, hi)) => {
                let a = lo.check(op, what, "low", t)?;
                let b = hi.check(op, what, "high", t)?;
                broadcast_shapes(op, &a, &b)?;
                let as_tensor = |p: &Param| match p {
                    Param::Tensor(p) => p.shallow_clone(),
                    Param::Scalar(s) => Tensor::from(*s).to_kind(t.kind()).to_device(t.device()),
                };
                Ok(Some((as_tensor(lo), as_tensor(hi))))
            }
        }
    }
}

impl Bijector for Sigmoid {
    fn name(&self) -> String {
        "sigmoid".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self.bounds("sigmoid.forward", "x", x)? {
            None => Ok(x.sigmoid()),
            Some((lo, hi)) => {
                let diff = &hi - &lo;
                let left = &lo + &diff * x.sigmoid();
                let right = &hi - &diff * (-x).sigmoid();
                // tch's `a.where_self(cond, b)` is `where(cond, a, b)`.
                Ok(left.where_self(&x.lt(0.0), &right))
            }
        }
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        match self.bounds("sigmoid.inverse", "y", y)? {
            None => Ok(y.log() - (-y).log1p()),
            Some((lo, hi)) => Ok((y - &lo).log() - (&hi - y).log()),
        }
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let bounds = self.bounds("sigmoid.forward_log_det_jacobian", "x", x)?;
        let ldj = x.log_sigmoid() + (-x).log_sigmoid();
        match bounds {
            None => Ok(ldj),
            Some((lo, hi)) => Ok(ldj + (hi - lo).log()),
        }
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        match self.bounds("sigmoid.inverse_log_det_jacobian", "y", y)? {
            None => Ok(-y.log() - (-y).log1p()),
            Some((lo, hi)) => Ok((&hi - &lo).log() - (y - &lo).log() - (hi - y).log()),
        }
    }
}
