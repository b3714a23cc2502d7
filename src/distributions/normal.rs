//! The univariate Normal distribution.

use super::{display_as_describe, sample_and_batch, Distribution, Support};
use crate::bijectors::{Bijector, Identity};
use crate::shape::{check_value, check_value_shape};
use crate::Parameter;
use anyhow::{bail, Result};
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

use super::HALF_LOG_TWO_PI;

/// `Normal(loc, scale)`: density `exp(-((x - loc) / scale)² / 2) / (scale √(2π))`.
///
/// `batch_shape` is the broadcast of the shapes of `loc` and `scale`; `event_shape` is `[]`.
/// `log_prob(x) = -z²/2 - log(scale) - log(2π)/2` with `z = (x - loc) / scale`, TFP's form.
pub struct Normal {
    loc: Parameter,
    scale: Parameter,
    name: String,
    batch_shape: Vec<i64>,
    validate_args: bool,
}

impl Normal {
    /// Builds `Normal(loc, scale)`. Errors when the parameters are not float, differ in dtype or
    /// device, or their shapes do not broadcast.
    pub fn new(loc: impl Into<Parameter>, scale: impl Into<Parameter>) -> Result<Self> {
        let (loc, scale) = (loc.into(), scale.into());
        let op = "Normal::new";
        let batch_shape = crate::variable::check_params(op, &[("loc", &loc), ("scale", &scale)])?;
        Ok(Self { loc, scale, name: "Normal".into(), batch_shape, validate_args: false })
    }

    /// Sets the name printed by `Display`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// When on, `log_prob` and `sample` check (on the host, so at the cost of a device
    /// synchronisation) that `scale > 0` and that values are not NaN. Off by default.
    pub fn with_validate_args(mut self, on: bool) -> Self {
        self.validate_args = on;
        self
    }

    /// The location parameter.
    pub fn loc(&self) -> &Parameter {
        &self.loc
    }

    /// The scale parameter.
    pub fn scale(&self) -> &Parameter {
        &self.scale
    }

    /// `loc + scale * eps`, `eps ~ N(0, 1)`, of shape `sample_shape + batch_shape`.
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = sample_and_batch(op, sample_shape, &self.batch_shape)?;
        let scale = self.scale_value(op)?;
        let eps = Tensor::randn(shape.as_slice(), (self.dtype(), self.device()));
        Ok(eps * &scale + self.loc.value()?)
    }

    /// `(x - loc) / scale` after checking `x`.
    fn standardize(&self, op: &str, x: &Tensor) -> Result<Tensor> {
        check_value(op, x, self.dtype(), self.device())?;
        check_value_shape(op, x, &self.batch_shape, &[])?;
        Ok((x - self.loc.value()?) / self.scale_value(op)?)
    }

    /// Whether `log_prob` checks its value and scale (`with_validate_args`).
    pub(crate) fn validates_args(&self) -> bool {
        self.validate_args
    }

    fn scale_value(&self, op: &str) -> Result<Tensor> {
        let scale = self.scale.value()?;
        if self.validate_args {
            let bad = scale.le(0.0).logical_or(&scale.isnan());
            if bad.any().int64_value(&[]) != 0 {
                bail!("{op}: expected scale > 0, got a minimum of {}", scale.min().double_value(&[]));
            }
        }
        Ok(scale)
    }
}

impl Distribution for Normal {
    fn name(&self) -> &str {
        &self.name
    }
    fn type_name(&self) -> &'static str {
        "Normal"
    }
    fn batch_shape(&self) -> Vec<i64> {
        self.batch_shape.clone()
    }
    fn event_shape(&self) -> Vec<i64> {
        vec![]
    }
    fn dtype(&self) -> Kind {
        self.loc.kind()
    }
    fn device(&self) -> Device {
        self.loc.device()
    }

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Normal.log_prob";
        check_value(op, x, self.dtype(), self.device())?;
        check_value_shape(op, x, &self.batch_shape, &[])?;
        if self.validate_args && x.isnan().any().int64_value(&[]) != 0 {
            bail!("{op}: expected a value without NaN, got NaN");
        }
        let loc = self.loc.value()?;
        let scale = self.scale_value(op)?;
        let z = (x - loc) / &scale;
        Ok(z.square() * -0.5 - scale.log() - HALF_LOG_TWO_PI)
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        tch::no_grad(|| self.draw("Normal.sample", sample_shape))
    }

    /// `loc + scale * eps`, `eps ~ N(0, 1)`.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        self.draw("Normal.rsample", sample_shape)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn variance(&self) -> Result<Tensor> {
        Ok(self.scale.value()?.square().broadcast_to(self.batch_shape.as_slice()))
    }

    fn mode(&self) -> Result<Tensor> {
        self.mean()
    }

    /// `log(scale) + (1 + log(2π)) / 2`.
    fn entropy(&self) -> Result<Tensor> {
        Ok((self.scale.value()?.log() + 0.5 + HALF_LOG_TWO_PI).broadcast_to(self.batch_shape.as_slice()))
    }

    /// `Φ((x - loc) / scale)`, with `Φ(z) = erfc(-z / √2) / 2`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        Ok((self.standardize("Normal.cdf", x)? * -std::f64::consts::FRAC_1_SQRT_2).erfc() * 0.5)
    }

    /// `log Φ(z)`, accurate far in the left tail (libtorch's `special_log_ndtr`).
    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.standardize("Normal.log_cdf", x)?.special_log_ndtr())
    }

    fn support(&self) -> Support {
        Support::Real
    }

    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        Ok(Arc::new(Identity))
    }

    fn mean(&self) -> Result<Tensor> {
        Ok(self.loc.value()?.broadcast_to(self.batch_shape.as_slice()))
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        let mut v = self.loc.trainable_variables();
        v.extend(self.scale.trainable_variables());
        v
    }
}

display_as_describe!(Normal);
