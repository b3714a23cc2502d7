//! The log-normal distribution.

use super::univariate_common::{check_scalar_value, require, require_positive, tiny};
use super::{display_as_describe, Distribution, Normal, Support, TransformedDistribution};
use crate::bijectors::{Bijector, Exp};
use crate::Parameter;
use anyhow::Result;
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

use super::HALF_LOG_TWO_PI;

/// `LogNormal(loc, scale)` (`μ`, `σ`): the distribution of `exp(X)`, `X ~ Normal(μ, σ)`;
/// density `exp(-(log x - μ)²/(2σ²)) / (x σ √(2π))` on `x > 0`.
///
/// A thin wrapper of `TransformedDistribution(Normal(loc, scale), Exp)` (its `log_prob`,
/// `sample` and `rsample`), with the closed forms TFP and torch give:
///
/// * `log_prob(x) = Normal.log_prob(log x) - log x` (NaN for `x < 0` without validation).
/// * mean `exp(μ + σ²/2)`, variance `expm1(σ²) exp(2μ + σ²)`, mode `exp(μ - σ²)`,
///   entropy `μ + 1/2 + log(2π)/2 + log σ`.
/// * `cdf(x) = Φ((log x - μ)/σ)` (0 for `x <= 0`), `log_cdf` through `log_ndtr`.
/// * support [`Support::Positive`]; `default_event_space_bijector` is [`Exp`] (TFP).
///
/// `batch_shape` is the broadcast of the shapes of `loc` and `scale`; `event_shape` is `[]`.
pub struct LogNormal {
    inner: TransformedDistribution,
    name: String,
    validate_args: bool,
}

impl LogNormal {
    /// Builds `LogNormal(loc, scale)`. Errors as [`Normal::new`] (naming `LogNormal::new`).
    pub fn new(loc: impl Into<Parameter>, scale: impl Into<Parameter>) -> Result<Self> {
        let normal = Normal::new(loc, scale)
            .map_err(|e| anyhow::anyhow!("{}", e.to_string().replacen("Normal::new", "LogNormal::new", 1)))?;
        let inner = TransformedDistribution::of(normal, Exp)?;
        Ok(Self { inner, name: "LogNormal".into(), validate_args: false })
    }

    /// Sets the name printed by `Display`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// When on, methods check on the host (a device synchronisation) that `scale > 0` and that
    /// values are `> 0`. Off by default.
    pub fn with_validate_args(mut self, on: bool) -> Self {
        self.validate_args = on;
        self
    }

    /// The underlying `TransformedDistribution(Normal(loc, scale), Exp)`.
    pub fn transformed(&self) -> &TransformedDistribution {
        &self.inner
    }

    /// The underlying normal distribution of `log x`.
    pub fn normal(&self) -> &Normal {
        self.inner.base().as_any().downcast_ref::<Normal>().expect("LogNormal is built on a Normal base")
    }

    /// The location `μ` of `log x`.
    pub fn loc(&self) -> &Parameter {
        self.normal().loc()
    }

    /// The scale `σ` of `log x`.
    pub fn scale(&self) -> &Parameter {
        self.normal().scale()
    }

    fn params(&self, op: &str) -> Result<(Tensor, Tensor)> {
        let (loc, scale) = (self.loc().value()?, self.scale().value()?);
        if self.validate_args {
            require_positive(op, "scale", &scale)?;
        }
        Ok((loc, scale))
    }

    fn check_x(&self, op: &str, x: &Tensor) -> Result<()> {
        check_scalar_value(op, x, self.dtype(), self.device(), &self.batch_shape())?;
        if self.validate_args {
            require(op, "value", x, &x.gt(0.0), "a value > 0")?;
            let _ = self.params(op)?;
        }
        Ok(())
    }
}

impl Distribution for LogNormal {
    fn name(&self) -> &str {
        &self.name
    }
    fn type_name(&self) -> &'static str {
        "LogNormal"
    }
    fn batch_shape(&self) -> Vec<i64> {
        self.inner.batch_shape()
    }
    fn event_shape(&self) -> Vec<i64> {
        vec![]
    }
    fn dtype(&self) -> Kind {
        self.inner.dtype()
    }
    fn device(&self) -> Device {
        self.inner.device()
    }

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "LogNormal.log_prob";
        self.check_x(op, x)?;
        self.inner.log_prob(x)
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        if self.validate_args {
            let _ = self.params("LogNormal.sample")?;
        }
        self.inner.sample(sample_shape)
    }

    /// `exp(loc + scale · eps)`, `eps ~ N(0, 1)`.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        if self.validate_args {
            let _ = self.params("LogNormal.rsample")?;
        }
        self.inner.rsample(sample_shape)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    /// `exp(μ + σ²/2)`.
    fn mean(&self) -> Result<Tensor> {
        let (loc, scale) = self.params("LogNormal.mean")?;
        Ok((loc + scale.square() * 0.5).exp().broadcast_to(self.batch_shape().as_slice()))
    }

    /// `expm1(σ²) exp(2μ + σ²)`.
    fn variance(&self) -> Result<Tensor> {
        let (loc, scale) = self.params("LogNormal.variance")?;
        let s2 = scale.square();
        Ok((s2.expm1() * (loc * 2.0 + s2).exp()).broadcast_to(self.batch_shape().as_slice()))
    }

    /// `exp(μ - σ²)`.
    fn mode(&self) -> Result<Tensor> {
        let (loc, scale) = self.params("LogNormal.mode")?;
        Ok((loc - scale.square()).exp().broadcast_to(self.batch_shape().as_slice()))
    }

    /// `μ + 1/2 + log(2π)/2 + log σ`.
    fn entropy(&self) -> Result<Tensor> {
        let (loc, scale) = self.params("LogNormal.entropy")?;
        Ok((loc + scale.log() + 0.5 + HALF_LOG_TWO_PI).broadcast_to(self.batch_shape().as_slice()))
    }

    /// `Φ((log x - μ)/σ)`, 0 for `x <= 0`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "LogNormal.cdf";
        self.check_x(op, x)?;
        // log of x clamped to the support, so the dropped branch stays finite.
        let logx = x.clamp_min(tiny(x.kind())).log();
        let c = self.normal().cdf(&logx).map_err(|e| anyhow::anyhow!("{op}: {e}"))?;
        Ok(c.where_scalarother(&x.gt(0.0), 0.0))
    }

    /// `log Φ((log x - μ)/σ)` (libtorch's `special_log_ndtr`), `-inf` for `x <= 0`.
    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "LogNormal.log_cdf";
        self.check_x(op, x)?;
        let logx = x.clamp_min(tiny(x.kind())).log();
        let c = self.normal().log_cdf(&logx).map_err(|e| anyhow::anyhow!("{op}: {e}"))?;
        Ok(c.where_scalarother(&x.gt(0.0), f64::NEG_INFINITY))
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        Ok(Arc::new(Exp))
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.inner.trainable_variables()
    }
}

display_as_describe!(LogNormal);
