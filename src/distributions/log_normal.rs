//! The log-normal distribution.

use super::family::{family_builders, family_methods, Constraint, FamilyCore, FamilySpec, ParamSpec};
use super::univariate_common::tiny;
use super::{Distribution, Normal, Support, TransformedDistribution};
use crate::bijectors::{Bijector, Exp};
use crate::Parameter;
use anyhow::Result;
use std::sync::Arc;
use tch::Tensor;

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
/// * `cdf(x) = Φ((log x - μ)/σ)` (0 for `x <= 0`), `log_cdf` through `log_ndtr`,
///   `icdf(p) = exp(μ + σ √2 erfinv(2p - 1))`.
/// * support [`Support::Positive`]; `default_event_space_bijector` is [`Exp`] (TFP).
///
/// `batch_shape` is the broadcast of the shapes of `loc` and `scale`; `event_shape` is `[]`.
pub struct LogNormal {
    core: FamilyCore,
    inner: TransformedDistribution,
}

impl LogNormal {
    /// The declaration: `loc` real, `scale > 0`, values `> 0`.
    pub const SPEC: FamilySpec = FamilySpec {
        type_name: "LogNormal",
        params: &[ParamSpec::scalar("loc", Constraint::Real), ParamSpec::scalar("scale", Constraint::Positive)],
        support: Constraint::Positive,
        event_ndims: 0,
    };

    /// Builds `LogNormal(loc, scale)`. Errors when the parameters are not float, differ in dtype
    /// or device, or their shapes do not broadcast.
    pub fn new(loc: impl Into<Parameter>, scale: impl Into<Parameter>) -> Result<Self> {
        let (loc, scale) = (loc.into(), scale.into());
        let p = Self::SPEC.params;
        let core = FamilyCore::new("LogNormal::new", &Self::SPEC, vec![(&p[0], loc.clone()), (&p[1], scale.clone())])?;
        let inner = TransformedDistribution::of(Normal::new(loc, scale)?, Exp)?;
        Ok(Self { core, inner })
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
        self.core.param(0)
    }

    /// The scale `σ` of `log x`.
    pub fn scale(&self) -> &Parameter {
        self.core.param(1)
    }

    fn params(&self, op: &str) -> Result<(Tensor, Tensor)> {
        let [loc, scale] = self.core.values(op)?;
        Ok((loc, scale))
    }

    fn check_x(&self, op: &str, x: &Tensor) -> Result<()> {
        self.core.check_x(op, x)?;
        if self.core.validate_args {
            let _ = self.params(op)?;
        }
        Ok(())
    }
}

impl Distribution for LogNormal {
    family_methods!();

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "LogNormal.log_prob";
        self.check_x(op, x)?;
        self.inner.log_prob(x)
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        if self.core.validate_args {
            let _ = self.params("LogNormal.sample")?;
        }
        self.inner.sample(sample_shape)
    }

    /// `exp(loc + scale · eps)`, `eps ~ N(0, 1)`.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        if self.core.validate_args {
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
        Ok((loc + scale.square() * 0.5).exp().broadcast_to(self.core.batch_shape()))
    }

    /// `expm1(σ²) exp(2μ + σ²)`.
    fn variance(&self) -> Result<Tensor> {
        let (loc, scale) = self.params("LogNormal.variance")?;
        let s2 = scale.square();
        Ok((s2.expm1() * (loc * 2.0 + s2).exp()).broadcast_to(self.core.batch_shape()))
    }

    /// `exp(μ - σ²)`.
    fn mode(&self) -> Result<Tensor> {
        let (loc, scale) = self.params("LogNormal.mode")?;
        Ok((loc - scale.square()).exp().broadcast_to(self.core.batch_shape()))
    }

    /// `μ + 1/2 + log(2π)/2 + log σ`.
    fn entropy(&self) -> Result<Tensor> {
        let (loc, scale) = self.params("LogNormal.entropy")?;
        Ok((loc + scale.log() + 0.5 + HALF_LOG_TWO_PI).broadcast_to(self.core.batch_shape()))
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

    /// `exp(Normal.icdf(p))`.
    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        let op = "LogNormal.icdf";
        self.core.check_prob(op, p)?;
        let _ = self.params(op)?;
        Ok(self.normal().icdf(p)?.exp())
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        Ok(Arc::new(Exp))
    }
}

family_builders!(LogNormal);
