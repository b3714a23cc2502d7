//! The univariate Normal distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::{sample_and_batch, Distribution};
use anyhow::Result;
use tch::Tensor;

use super::HALF_LOG_TWO_PI;

declare_family! {
    /// `Normal(loc, scale)`: density `exp(-((x - loc) / scale)² / 2) / (scale √(2π))`.
    ///
    /// `batch_shape` is the broadcast of the shapes of `loc` and `scale`; `event_shape` is `[]`.
    /// `log_prob(x) = -z²/2 - log(scale) - log(2π)/2` with `z = (x - loc) / scale`, TFP's form;
    /// `icdf(p) = loc + scale √2 erfinv(2p - 1)`.
    /// Parameters as in [`Normal::SPEC`] (`loc` real, `scale > 0`); support real,
    /// `default_event_space_bijector` `Identity`.
    Normal, support: Constraint::Real,
    new(
        /// The location parameter.
        loc: Constraint::Real,
        /// The scale parameter.
        scale: Constraint::Positive,
    )
}

impl Normal {
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
