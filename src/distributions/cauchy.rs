//! The Cauchy distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::Distribution;
use anyhow::Result;
use std::f64::consts::PI;
use tch::Tensor;

declare_family! {
    /// `Cauchy(loc, scale)` (`x₀`, `γ`): density `1 / (π γ (1 + z²))`, `z = (x - x₀)/γ`.
    ///
    /// `batch_shape` is the broadcast of the shapes of `loc` and `scale`; `event_shape` is `[]`.
    ///
    /// * `log_prob(x) = -log π - log γ - log1p(z²)` (torch's form).
    /// * `sample`/`rsample`: `x₀ + γ c`, `c` from libtorch's `cauchy_(0, 1)`; gradients flow to both.
    /// * mean NaN and variance `inf` (undefined, as torch), mode `x₀`, entropy `log(4πγ)`,
    ///   `cdf(x) = atan(z)/π + 1/2`, `icdf(p) = x₀ + γ tan(π (p - 1/2))`.
    /// * support real; `default_event_space_bijector` is `Identity`.
    Cauchy, support: Constraint::Real,
    new(
        /// The location (median) `x₀`.
        loc: Constraint::Real,
        /// The scale (half width at half maximum) `γ`.
        scale: Constraint::Positive,
    )
}

impl Cauchy {
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [loc, scale] = self.core.values(op)?;
        Ok(Tensor::empty(shape.as_slice(), (self.dtype(), self.device())).cauchy_(0.0, 1.0) * scale + loc)
    }

    /// `(x - loc)/scale` after checking `x`, and `scale`.
    fn standardize(&self, method: &str, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let op = self.core.op(method);
        self.core.check_x(&op, x)?;
        let [loc, scale] = self.core.values(&op)?;
        Ok(((x - loc) / &scale, scale))
    }
}

impl Distribution for Cauchy {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let (z, scale) = self.standardize("log_prob", x)?;
        Ok(-z.square().log1p() - scale.log() - PI.ln())
    }

    /// NaN (undefined).
    fn mean(&self) -> Result<Tensor> {
        let [loc, _] = self.core.values("Cauchy.mean")?;
        Ok(self.core.bcast(loc.full_like(f64::NAN)))
    }

    /// `inf` (undefined).
    fn variance(&self) -> Result<Tensor> {
        let [loc, _] = self.core.values("Cauchy.variance")?;
        Ok(self.core.bcast(loc.full_like(f64::INFINITY)))
    }

    fn mode(&self) -> Result<Tensor> {
        let [loc, _] = self.core.values("Cauchy.mode")?;
        Ok(self.core.bcast(loc))
    }

    /// `log(4π scale)`.
    fn entropy(&self) -> Result<Tensor> {
        let [_, scale] = self.core.values("Cauchy.entropy")?;
        Ok(self.core.bcast(scale.log() + (4.0 * PI).ln()))
    }

    /// `atan(z)/π + 1/2`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.standardize("cdf", x)?.0.atan() / PI + 0.5)
    }

    /// `loc + scale tan(π (p - 1/2))`.
    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        let op = "Cauchy.icdf";
        self.core.check_prob(op, p)?;
        let [loc, scale] = self.core.values(op)?;
        Ok(((p - 0.5) * PI).tan() * scale + loc)
    }
}
