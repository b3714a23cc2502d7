//! The univariate Normal distribution.

use super::family::{family_builders, family_methods, Constraint, FamilyCore, FamilySpec, ParamSpec};
use super::{sample_and_batch, Distribution};
use crate::Parameter;
use anyhow::Result;
use tch::Tensor;

use super::HALF_LOG_TWO_PI;

/// `Normal(loc, scale)`: density `exp(-((x - loc) / scale)² / 2) / (scale √(2π))`.
///
/// `batch_shape` is the broadcast of the shapes of `loc` and `scale`; `event_shape` is `[]`.
/// `log_prob(x) = -z²/2 - log(scale) - log(2π)/2` with `z = (x - loc) / scale`, TFP's form;
/// `icdf(p) = loc + scale √2 erfinv(2p - 1)`.
/// Parameters as in [`Normal::SPEC`] (`loc` real, `scale > 0`); support real,
/// `default_event_space_bijector` `Identity`.
pub struct Normal {
    core: FamilyCore,
}

impl Normal {
    /// The declaration: `loc` real, `scale > 0`, real values.
    pub const SPEC: FamilySpec = FamilySpec {
        type_name: "Normal",
        params: &[ParamSpec::scalar("loc", Constraint::Real), ParamSpec::scalar("scale", Constraint::Positive)],
        support: Constraint::Real,
    };

    /// Builds `Normal(loc, scale)`. Errors when the parameters are not float, differ in dtype or
    /// device, or their shapes do not broadcast.
    pub fn new(loc: impl Into<Parameter>, scale: impl Into<Parameter>) -> Result<Self> {
        let p = Self::SPEC.params;
        let core = FamilyCore::new("Normal::new", &Self::SPEC, vec![(&p[0], loc.into()), (&p[1], scale.into())])?;
        Ok(Self { core })
    }

    /// The location parameter.
    pub fn loc(&self) -> &Parameter {
        self.core.param(0)
    }

    /// The scale parameter.
    pub fn scale(&self) -> &Parameter {
        self.core.param(1)
    }

    /// `loc + scale * eps`, `eps ~ N(0, 1)`, of shape `sample_shape + batch_shape`.
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = sample_and_batch(op, sample_shape, self.core.batch_shape())?;
        let [loc, scale] = self.core.values(op)?;
        let eps = Tensor::randn(shape.as_slice(), (self.dtype(), self.device()));
        Ok(eps * &scale + loc)
    }

    /// `(x - loc) / scale` after checking `x`.
    fn standardize(&self, op: &str, x: &Tensor) -> Result<Tensor> {
        self.core.check_x(op, x)?;
        let [loc, scale] = self.core.values(op)?;
        Ok((x - loc) / scale)
    }

    /// Whether `log_prob` checks its value and scale (`with_validate_args`).
    pub(crate) fn validates_args(&self) -> bool {
        self.core.validate_args
    }
}

impl Distribution for Normal {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Normal.log_prob";
        self.core.check_x(op, x)?;
        let [loc, scale] = self.core.values(op)?;
        let z = (x - loc) / &scale;
        Ok(z.square() * -0.5 - scale.log() - HALF_LOG_TWO_PI)
    }

    fn variance(&self) -> Result<Tensor> {
        let [_, scale] = self.core.values("Normal.variance")?;
        Ok(self.core.bcast(scale.square()))
    }

    fn mode(&self) -> Result<Tensor> {
        self.mean()
    }

    /// `log(scale) + (1 + log(2π)) / 2`.
    fn entropy(&self) -> Result<Tensor> {
        let [_, scale] = self.core.values("Normal.entropy")?;
        Ok(self.core.bcast(scale.log() + 0.5 + HALF_LOG_TWO_PI))
    }

    /// `Φ((x - loc) / scale)`, with `Φ(z) = erfc(-z / √2) / 2`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        Ok((self.standardize("Normal.cdf", x)? * -std::f64::consts::FRAC_1_SQRT_2).erfc() * 0.5)
    }

    /// `log Φ(z)`, accurate far in the left tail (libtorch's `special_log_ndtr`).
    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.standardize("Normal.log_cdf", x)?.special_log_ndtr())
    }

    /// `loc + scale √2 erfinv(2p - 1)` (torch's form).
    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        let op = "Normal.icdf";
        self.core.check_prob(op, p)?;
        let [loc, scale] = self.core.values(op)?;
        Ok(loc + scale * (p * 2.0 - 1.0).erfinv() * std::f64::consts::SQRT_2)
    }

    fn mean(&self) -> Result<Tensor> {
        let [loc, _] = self.core.values("Normal.mean")?;
        Ok(self.core.bcast(loc))
    }
}

family_builders!(Normal);
