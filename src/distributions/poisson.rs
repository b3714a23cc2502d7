//! The Poisson distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::Distribution;
use anyhow::{anyhow, Result};
use tch::Tensor;

declare_family! {
    /// `Poisson(rate)` (`λ`): mass `λ^k e^(-λ) / k!` at `k = 0, 1, 2, ...`.
    ///
    /// `batch_shape` is the shape of `rate`; `event_shape` is `[]`. Values are floats of the
    /// parameter's dtype holding integers (as in torch).
    ///
    /// * `log_prob(k) = xlogy(k, λ) - λ - lgamma(k + 1)` (torch's form; `k = 0, λ = 0` gives 0).
    /// * `sample`: libtorch's `poisson` on the rate expanded to the output shape, on the rate's
    ///   device; no `rsample` (discrete).
    /// * mean `λ`, variance `λ`, mode `floor(λ)` (torch). No closed-form entropy.
    /// * support the non-negative integers (checked with validation on); no default event-space
    ///   bijector (discrete).
    Poisson, support: Constraint::NonNegativeInteger,
    new(
        /// The rate `λ`.
        rate: Constraint::NonNegative,
    )
}

impl Distribution for Poisson {
    family_methods!();

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("Poisson.log_prob", x)?;
        let rate = self.core.single("log_prob")?;
        Ok(x.special_xlogy(&rate) - &rate - (x + 1.0).lgamma())
    }

    /// Draws with libtorch's `poisson` (an error, not a panic, where libtorch refuses a rate).
    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        let op = "Poisson.sample";
        let shape = self.core.draw_shape(op, sample_shape)?;
        let rate = self.core.single("sample")?.detach();
        rate.expand(shape.as_slice(), false).contiguous().f_poisson().map_err(|e| anyhow!("{op}: libtorch: {e}"))
    }

    fn mean(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("mean")?))
    }

    fn variance(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("variance")?))
    }

    /// `floor(λ)`.
    fn mode(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("mode")?.floor()))
    }

    fn support(&self) -> super::Support {
        self.core.support()
    }
}
