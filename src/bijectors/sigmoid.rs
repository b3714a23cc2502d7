//! The sigmoid bijector, with optional bounds.

use super::param::Param;
use super::{check_input, Bijector};
use crate::shape::{broadcast_shapes, check_float, kind_name};
use crate::Parameter;
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
/// Bounds are tensors or [`Parameter`]s ([`Sigmoid::with_bounds`]; inputs must then share their
/// dtype and device, and the output has the broadcast shape of `x`, `low` and `high`; learnable
/// bounds are listed by [`Bijector::trainable_variables`]) or `f64` scalars
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

    /// A sigmoid onto `(low, high)` with tensor or parameter bounds (float32 or float64, same
    /// dtype and device, broadcastable shapes, `low < high` everywhere: checked on the host, once,
    /// at their initial values).
    pub fn with_bounds(low: impl Into<Parameter>, high: impl Into<Parameter>) -> Result<Self> {
        let op = "Sigmoid::with_bounds";
        let (low, high): (Parameter, Parameter) = (low.into(), high.into());
        let (lo, hi) = (low.value()?, high.value()?);
        check_float(op, "low", &lo)?;
        check_float(op, "high", &hi)?;
        if lo.kind() != hi.kind() {
            bail!("{op}: low is {} but high is {}", kind_name(lo.kind()), kind_name(hi.kind()));
        }
        if lo.device() != hi.device() {
            bail!("{op}: low is on {:?} but high is on {:?}", lo.device(), hi.device());
        }
        broadcast_shapes(op, &lo.size(), &hi.size())?;
        let ok = lo.lt_tensor(&hi);
        if ok.logical_not().any().int64_value(&[]) != 0 {
            let gap = (&hi - &lo).min().double_value(&[]);
            bail!("{op}: expected low < high elementwise, got a minimum of high - low of {gap}");
        }
        Ok(Sigmoid { bounds: Some((Param::value(low), Param::value(high))) })
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
                let (a, lo) = lo.check(op, what, "low", t)?;
                let (b, hi) = hi.check(op, what, "high", t)?;
                broadcast_shapes(op, &a, &b)?;
                Ok(Some((lo.tensor(t), hi.tensor(t))))
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
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        match &self.bounds {
            None => vec![],
            Some((lo, hi)) => super::unique_variables([lo.trainable_variables(), hi.trainable_variables()]),
        }
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        match self.bounds("sigmoid.inverse_log_det_jacobian", "y", y)? {
            None => Ok(-y.log() - (-y).log1p()),
            Some((lo, hi)) => Ok((&hi - &lo).log() - (y - &lo).log() - (hi - y).log()),
        }
    }
}
