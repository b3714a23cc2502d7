//! The half-normal distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::{Distribution, HALF_LOG_TWO_PI};
use anyhow::Result;
use std::f64::consts::{FRAC_1_SQRT_2, LN_2, PI, SQRT_2};
use tch::Tensor;

declare_family! {
    /// `HalfNormal(scale)` (`σ`): the distribution of `|X|`, `X ~ Normal(0, σ)`; density
    /// `√2 / (σ √π) · exp(-x²/(2σ²))` on `x >= 0`.
    ///
    /// `batch_shape` is the shape of `scale`; `event_shape` is `[]`.
    ///
    /// * `log_prob(x) = log 2 - log σ - log(2π)/2 - x²/(2σ²)` for `x >= 0`, `-inf` below (torch).
    /// * `sample`/`rsample`: `|σ ε|`, `ε ~ N(0, 1)`; gradients flow to `σ`.
    /// * mean `σ √(2/π)`, variance `σ² (1 - 2/π)`, mode `0`, entropy `log(σ √(π/2)) + 1/2`,
    ///   `cdf(x) = erf(x / (σ√2))` (torch's `2Φ - 1`), `icdf(p) = σ √2 erfinv(p)`.
    /// * support `x >= 0`; `default_event_space_bijector` is `Softplus`.
    HalfNormal, support: Constraint::NonNegative,
    new(
        /// The scale `σ` of the underlying normal.
        scale: Constraint::Positive,
    )
}

impl HalfNormal {
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [scale] = self.core.values(op)?;
        Ok((Tensor::randn(shape.as_slice(), (self.dtype(), self.device())) * scale).abs())
    }
}

impl Distribution for HalfNormal {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("HalfNormal.log_prob", x)?;
        let scale = self.core.single("log_prob")?;
        let lp = (x / &scale).square() * -0.5 - scale.log() - HALF_LOG_TWO_PI + LN_2;
        Ok(lp.where_scalarother(&x.ge(0.0), f64::NEG_INFINITY))
    }

    /// `σ √(2/π)`.
    fn mean(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("mean")? * (2.0 / PI).sqrt()))
    }

    /// `σ² (1 - 2/π)`.
    fn variance(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("variance")?.square() * (1.0 - 2.0 / PI)))
    }

    fn mode(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("mode")?.zeros_like()))
    }

    /// `log(σ √(π/2)) + 1/2`.
    fn entropy(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("entropy")?.log() + (0.5 * (PI / 2.0).ln() + 0.5)))
    }

    /// `erf(x / (σ √2))`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("HalfNormal.cdf", x)?;
        Ok((x / self.core.single("cdf")? * FRAC_1_SQRT_2).erf())
    }

    /// `log erf(x/(σ√2))`, and `log1p(-erfc(x/(σ√2)))` above `x = σ√2` (the upper tail,
    /// where `erf` rounds to 1).
    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("HalfNormal.log_cdf", x)?;
        let z = x / self.core.single("log_cdf")? * FRAC_1_SQRT_2;
        let upper = z.gt(1.0);
        Ok((-z.erfc()).log1p().where_self(&upper, &z.erf().log()))
    }

    /// `σ √2 erfinv(p)`.
    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        self.core.check_prob("HalfNormal.icdf", p)?;
        Ok(self.core.single("icdf")? * p.erfinv() * SQRT_2)
    }
}
