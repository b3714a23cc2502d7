//! The exponential distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::log1mexp;
use super::Distribution;
use anyhow::Result;
use tch::Tensor;

declare_family! {
    /// `Exponential(rate)` (`λ`): density `λ e^(-λx)` on `x >= 0`.
    ///
    /// `batch_shape` is the shape of `rate`; `event_shape` is `[]`.
    ///
    /// * `log_prob(x) = log λ - λx` (torch's form, not `-inf` below 0 without validation).
    /// * `sample`/`rsample`: `E / λ`, `E` from libtorch's `exponential_(1)`; gradients flow to `λ`.
    /// * mean `1/λ`, variance `1/λ²`, mode `0`, entropy `1 - log λ`, `cdf(x) = -expm1(-λx)`,
    ///   `icdf(p) = -log1p(-p)/λ`.
    /// * support `x >= 0`; `default_event_space_bijector` is `Softplus`.
    Exponential, support: Constraint::NonNegative,
    new(
        /// The rate `λ`.
        rate: Constraint::Positive,
    )
}

impl Exponential {
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [rate] = self.core.values(op)?;
        Ok(Tensor::empty(shape.as_slice(), (self.dtype(), self.device())).exponential_(1.0) / rate)
    }
}

impl Distribution for Exponential {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("Exponential.log_prob", x)?;
        let rate = self.core.single("log_prob")?;
        Ok(rate.log() - rate * x)
    }

    fn mean(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("mean")?.reciprocal()))
    }

    fn variance(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("variance")?.square().reciprocal()))
    }

    fn mode(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("mode")?.zeros_like()))
    }

    /// `1 - log λ`.
    fn entropy(&self) -> Result<Tensor> {
        Ok(self.core.bcast(-self.core.single("entropy")?.log() + 1.0))
    }

    /// `-expm1(-λx)`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("Exponential.cdf", x)?;
        Ok(-(-self.core.single("cdf")? * x).expm1())
    }

    /// `log(1 - e^(-λx))` through `log1mexp`: accurate in both tails.
    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("Exponential.log_cdf", x)?;
        Ok(log1mexp(&(-self.core.single("log_cdf")? * x)))
    }

    /// `-log1p(-p) / λ`.
    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        self.core.check_prob("Exponential.icdf", p)?;
        Ok(-(-p).log1p() / self.core.single("icdf")?)
    }
}
