//! The continuous uniform distribution.

use super::univariate_common::{check_params, check_scalar_value, require, require_not_nan, trainable};
use super::{display_as_describe, sample_and_batch, Distribution, Support};
use crate::bijectors::{Bijector, Sigmoid};
use crate::Parameter;
use anyhow::Result;
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// `Uniform(low, high)`: density `1 / (high - low)` on `[low, high)`, 0 elsewhere.
///
/// `batch_shape` is the broadcast of the shapes of `low` and `high`; `event_shape` is `[]`.
///
/// * `log_prob(x) = -log(high - low)` for `low <= x < high`, `-inf` outside (TFP and torch).
/// * `sample`/`rsample`: `low + (high - low) * u`, `u ~ U[0, 1)`; gradients flow to both bounds.
/// * mean `(low + high) / 2`, variance `(high - low)² / 12`, entropy `log(high - low)`,
///   cdf `clamp((x - low) / (high - low), 0, 1)`. No mode (every point of the interval is one;
///   TFP leaves it undefined).
/// * support [`Support::Interval`]; `default_event_space_bijector` is
///   `Sigmoid::with_bounds(low, high)` holding the bounds' current values (detached).
pub struct Uniform {
    low: Parameter,
    high: Parameter,
    name: String,
    batch_shape: Vec<i64>,
    validate_args: bool,
}

impl Uniform {
    /// Builds `Uniform(low, high)`. Errors when the parameters are not float, differ in dtype or
    /// device, or their shapes do not broadcast.
    pub fn new(low: impl Into<Parameter>, high: impl Into<Parameter>) -> Result<Self> {
        let (low, high) = (low.into(), high.into());
        let batch_shape = check_params("Uniform::new", &[("low", &low), ("high", &high)])?;
        Ok(Self { low, high, name: "Uniform".into(), batch_shape, validate_args: false })
    }

    /// Sets the name printed by `Display`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// When on, methods check on the host (a device synchronisation) that `low < high` and that
    /// values are not NaN. Off by default.
    pub fn with_validate_args(mut self, on: bool) -> Self {
        self.validate_args = on;
        self
    }

    /// The lower bound.
    pub fn low(&self) -> &Parameter {
        &self.low
    }

    /// The upper bound.
    pub fn high(&self) -> &Parameter {
        &self.high
    }

    /// `(low, high)`, validated when asked.
    fn bounds(&self, op: &str) -> Result<(Tensor, Tensor)> {
        let (low, high) = (self.low.value()?, self.high.value()?);
        if self.validate_args {
            require(op, "high - low", &(&high - &low), &low.lt_tensor(&high), "low < high")?;
        }
        Ok((low, high))
    }

    fn check_x(&self, op: &str, x: &Tensor) -> Result<()> {
        check_scalar_value(op, x, self.dtype(), self.device(), &self.batch_shape)?;
        if self.validate_args {
            require_not_nan(op, x)?;
        }
        Ok(())
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = sample_and_batch(op, sample_shape, &self.batch_shape)?;
        let (low, high) = self.bounds(op)?;
        let u = Tensor::rand(shape.as_slice(), (self.dtype(), self.device()));
        Ok(u * (&high - &low) + low)
    }
}

impl Distribution for Uniform {
    fn name(&self) -> &str {
        &self.name
    }
    fn type_name(&self) -> &'static str {
        "Uniform"
    }
    fn batch_shape(&self) -> Vec<i64> {
        self.batch_shape.clone()
    }
    fn event_shape(&self) -> Vec<i64> {
        vec![]
    }
    fn dtype(&self) -> Kind {
        self.low.kind()
    }
    fn device(&self) -> Device {
        self.low.device()
    }

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Uniform.log_prob";
        self.check_x(op, x)?;
        let (low, high) = self.bounds(op)?;
        let inside = x.ge_tensor(&low).logical_and(&x.lt_tensor(&high));
        let lp = -(&high - &low).log();
        // tch's `a.where_scalarother(cond, b)` is `where(cond, a, b)`.
        Ok(lp.where_scalarother(&inside, f64::NEG_INFINITY))
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        tch::no_grad(|| self.draw("Uniform.sample", sample_shape))
    }

    /// `low + (high - low) * u`, `u ~ U[0, 1)`.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        self.draw("Uniform.rsample", sample_shape)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn mean(&self) -> Result<Tensor> {
        let (low, high) = self.bounds("Uniform.mean")?;
        Ok(((low + high) * 0.5).broadcast_to(self.batch_shape.as_slice()))
    }

    fn variance(&self) -> Result<Tensor> {
        let (low, high) = self.bounds("Uniform.variance")?;
        Ok(((high - low).square() / 12.0).broadcast_to(self.batch_shape.as_slice()))
    }

    /// `log(high - low)`.
    fn entropy(&self) -> Result<Tensor> {
        let (low, high) = self.bounds("Uniform.entropy")?;
        Ok((high - low).log().broadcast_to(self.batch_shape.as_slice()))
    }

    /// `clamp((x - low) / (high - low), 0, 1)`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Uniform.cdf";
        self.check_x(op, x)?;
        let (low, high) = self.bounds(op)?;
        Ok(((x - &low) / (high - low)).clamp(0.0, 1.0))
    }

    fn support(&self) -> Support {
        Support::Interval
    }

    /// `Sigmoid` onto `(low, high)`, with the bounds' current values (detached).
    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        let (low, high) = self.bounds("Uniform.default_event_space_bijector")?;
        Ok(Arc::new(Sigmoid::with_bounds(low.detach(), high.detach())?))
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        trainable(&[&self.low, &self.high])
    }
}

display_as_describe!(Uniform);
