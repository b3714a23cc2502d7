//! The half-Cauchy distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::Distribution;
use anyhow::Result;
use std::f64::consts::PI;
use tch::Tensor;

declare_family! {
    /// `HalfCauchy(scale)` (`γ`): the distribution of `|X|`, `X ~ Cauchy(0, γ)`; density
    /// `2 / (π γ (1 + (x/γ)²))` on `x >= 0`.
    ///
    /// `batch_shape` is the shape of `scale`; `event_shape` is `[]`.
    ///
    /// * `log_prob(x) = log(2/π) - log γ - log1p((x/γ)²)` for `x >= 0`, `-inf` below (torch).
    /// * `sample`/`rsample`: `|γ c|`, `c` from libtorch's `cauchy_(0, 1)`; gradients flow to `γ`.
    /// * mean and variance `inf` (torch), mode `0`, entropy `log(2πγ)`, `cdf(x) = 2 atan(x/γ)/π`,
    ///   `icdf(p) = γ tan(πp/2)`.
    /// * support `x >= 0`; `default_event_space_bijector` is `Softplus`.
    HalfCauchy, support: Constraint::NonNegative,
    new(
        /// The scale `γ`.
        scale: Constraint::Positive,
    )
}

impl HalfCauchy {
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [scale] = self.core.values(op)?;
        Ok((Tensor::empty(shape.as_slice(), (self.dtype(), self.device())).cauchy_(0.0, 1.0) * scale).abs())
    }
}

impl Distribution for HalfCauchy {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("HalfCauchy.log_prob", x)?;
        let scale = self.core.single("log_prob")?;
        let lp = -(x / &scale).square().log1p() - scale.log() + (2.0 / PI).ln();
        Ok(lp.where_scalarother(&x.ge(0.0), f64::NEG_INFINITY))
    }

    /// `inf`.
    fn mean(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("mean")?.full_like(f64::INFINITY)))
    }

    /// `inf`.
    fn variance(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("variance")?.full_like(f64::INFINITY)))
    }

    fn mode(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("mode")?.zeros_like()))
    }

    /// `log(2π scale)`.
    fn entropy(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("entropy")?.log() + (2.0 * PI).ln()))
    }

    /// `2 atan(x/scale)/π`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("HalfCauchy.cdf", x)?;
        Ok((x / self.core.single("cdf")?).atan() * (2.0 / PI))
    }

    /// `log(2 atan(x/scale)/π)`, the upper tail `log1p(-2 atan(scale/x)/π)` above `x = scale`.
    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("HalfCauchy.log_cdf", x)?;
        let z = x / self.core.single("log_cdf")?;
        let upper = z.gt(1.0);
        let zu = z.where_scalarother(&upper, 2.0);
        Ok((-(zu.reciprocal().atan() * (2.0 / PI))).log1p().where_self(&upper, &(z.atan() * (2.0 / PI)).log()))
    }

    /// `scale tan(πp/2)`.
    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        self.core.check_prob("HalfCauchy.icdf", p)?;
        Ok((p * (PI / 2.0)).tan() * self.core.single("icdf")?)
    }
}
