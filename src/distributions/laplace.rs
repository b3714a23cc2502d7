//! The Laplace distribution.

use super::univariate_common::{check_params, check_scalar_value, eps, require_not_nan, require_positive, trainable};
use super::{display_as_describe, sample_and_batch, Distribution, Support};
use crate::bijectors::{Bijector, Identity};
use crate::Parameter;
use anyhow::Result;
use std::f64::consts::{LN_2, SQRT_2};
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// `Laplace(loc, scale)` (`μ`, `b`): density `exp(-|x - μ|/b) / (2b)`.
///
/// `batch_shape` is the broadcast of the shapes of `loc` and `scale`; `event_shape` is `[]`.
///
/// * `log_prob(x) = -log(2b) - |x - μ|/b`.
/// * `sample`/`rsample`: inverse cdf, `μ - b · sign(u) · log1p(-|u|)` with
///   `u ~ U[eps - 1, 1)` clamped to `[eps - 1, 1 - eps]` (`eps` of the dtype), so draws are
///   finite (torch's sampler); gradients flow to `μ` and `b`.
/// * mean `μ`, variance `2b²`, stddev `√2 b`, mode `μ`, entropy `1 + log(2b)`.
/// * `cdf(x) = 1/2 - sign(x - μ) expm1(-|x - μ|/b)/2`; `log_cdf` is `z - log 2` for `z < 0`
///   and `log1p(-exp(-z)/2)` for `z >= 0` (`z = (x - μ)/b`), accurate in both tails.
/// * support [`Support::Real`]; `default_event_space_bijector` is [`Identity`].
pub struct Laplace {
    loc: Parameter,
    scale: Parameter,
    name: String,
    batch_shape: Vec<i64>,
    validate_args: bool,
}

impl Laplace {
    /// Builds `Laplace(loc, scale)`. Errors when the parameters are not float, differ in dtype or
    /// device, or their shapes do not broadcast.
    pub fn new(loc: impl Into<Parameter>, scale: impl Into<Parameter>) -> Result<Self> {
        let (loc, scale) = (loc.into(), scale.into());
        let batch_shape = check_params("Laplace::new", &[("loc", &loc), ("scale", &scale)])?;
        Ok(Self { loc, scale, name: "Laplace".into(), batch_shape, validate_args: false })
    }

    /// Sets the name printed by `Display`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// When on, methods check on the host (a device synchronisation) that `scale > 0` and that
    /// values are not NaN. Off by default.
    pub fn with_validate_args(mut self, on: bool) -> Self {
        self.validate_args = on;
        self
    }

    /// The location `μ`.
    pub fn loc(&self) -> &Parameter {
        &self.loc
    }

    /// The scale `b`.
    pub fn scale(&self) -> &Parameter {
        &self.scale
    }

    fn scale_value(&self, op: &str) -> Result<Tensor> {
        let scale = self.scale.value()?;
        if self.validate_args {
            require_positive(op, "scale", &scale)?;
        }
        Ok(scale)
    }

    /// `(x - loc) / scale` after checking `x`.
    fn standardize(&self, op: &str, x: &Tensor) -> Result<Tensor> {
        check_scalar_value(op, x, self.dtype(), self.device(), &self.batch_shape)?;
        if self.validate_args {
            require_not_nan(op, x)?;
        }
        Ok((x - self.loc.value()?) / self.scale_value(op)?)
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = sample_and_batch(op, sample_shape, &self.batch_shape)?;
        let scale = self.scale_value(op)?;
        let e = eps(self.dtype());
        let u = (Tensor::rand(shape.as_slice(), (self.dtype(), self.device())) * (2.0 - e) + (e - 1.0))
            .clamp(e - 1.0, 1.0 - e);
        let step = u.sign() * (-u.abs()).log1p();
        Ok(self.loc.value()? - scale * step)
    }
}

impl Distribution for Laplace {
    fn name(&self) -> &str {
        &self.name
    }
    fn type_name(&self) -> &'static str {
        "Laplace"
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
        let op = "Laplace.log_prob";
        let z = self.standardize(op, x)?;
        Ok(-z.abs() - self.scale_value(op)?.log() - LN_2)
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        tch::no_grad(|| self.draw("Laplace.sample", sample_shape))
    }

    /// `loc - scale · sign(u) · log1p(-|u|)`, `u ~ U(-1, 1)`.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        self.draw("Laplace.rsample", sample_shape)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn mean(&self) -> Result<Tensor> {
        Ok(self.loc.value()?.broadcast_to(self.batch_shape.as_slice()))
    }

    /// `2 scale²`.
    fn variance(&self) -> Result<Tensor> {
        Ok((self.scale_value("Laplace.variance")?.square() * 2.0).broadcast_to(self.batch_shape.as_slice()))
    }

    /// `√2 scale`.
    fn stddev(&self) -> Result<Tensor> {
        Ok((self.scale_value("Laplace.stddev")? * SQRT_2).broadcast_to(self.batch_shape.as_slice()))
    }

    fn mode(&self) -> Result<Tensor> {
        self.mean()
    }

    /// `1 + log(2 scale)`.
    fn entropy(&self) -> Result<Tensor> {
        Ok((self.scale_value("Laplace.entropy")?.log() + (1.0 + LN_2)).broadcast_to(self.batch_shape.as_slice()))
    }

    /// `1/2 - sign(z) expm1(-|z|)/2`, `z = (x - loc)/scale`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let z = self.standardize("Laplace.cdf", x)?;
        Ok(-(z.sign() * (-z.abs()).expm1()) * 0.5 + 0.5)
    }

    /// `z - log 2` for `z < 0`, `log1p(-exp(-z)/2)` for `z >= 0`.
    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        let z = self.standardize("Laplace.log_cdf", x)?;
        // Each branch sees z clamped to its own side so the dropped branch stays finite.
        let left = z.clamp_max(0.0) - LN_2;
        let right = ((-z.clamp_min(0.0)).exp() * -0.5).log1p();
        // tch's `a.where_self(cond, b)` is `where(cond, a, b)`.
        Ok(left.where_self(&z.lt(0.0), &right))
    }

    fn support(&self) -> Support {
        Support::Real
    }

    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        Ok(Arc::new(Identity))
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        trainable(&[&self.loc, &self.scale])
    }
}

display_as_describe!(Laplace);
