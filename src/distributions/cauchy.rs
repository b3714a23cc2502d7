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

/// `(cdf, log cdf)` of the standard Cauchy at `z` from the accurate pieces: `atan(-1/z)/π`
/// below `-1`, `1/2 + atan(z)/π` in `[-1, 1]`, `1 - atan(1/z)/π` above `1` (the log takes the
/// upper tail through `log1p`). Each branch sees a safe
/// input outside its range, so that no NaN reaches the gradient through `where`.
fn tails(z: &Tensor) -> (Tensor, Tensor) {
    let (below, above) = (z.lt(-1.0), z.gt(1.0));
    let zl = z.where_scalarother(&below, -2.0);
    let zu = z.where_scalarother(&above, 2.0);
    let middle = z.atan() / PI + 0.5;
    let lower_tail = (-zl.reciprocal()).atan() / PI;
    let upper_tail = zu.reciprocal().atan() / PI;
    let cdf = lower_tail.where_self(&below, &middle.where_self(&above.logical_not(), &(-&upper_tail + 1.0)));
    let log_cdf = (-upper_tail).log1p().where_self(&above, &cdf.log());
    (cdf, log_cdf)
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
    /// `1/2 + atan(z)/π`, `z = (x - loc)/scale`, written `atan(-1/z)/π` below `z = -1` (the
    /// lower tail, where the sum cancels).
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let z = self.standardize("cdf", x)?.0;
        Ok(tails(&z).0)
    }

    /// `log cdf`, with the upper tail `log1p(-atan(1/z)/π)` above `z = 1`: accurate in both tails.
    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        let z = self.standardize("log_cdf", x)?.0;
        Ok(tails(&z).1)
    }

    /// `loc + scale tan(π (p - 1/2))`.
    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        let op = "Cauchy.icdf";
        self.core.check_prob(op, p)?;
        let [loc, scale] = self.core.values(op)?;
        Ok(((p - 0.5) * PI).tan() * scale + loc)
    }
}
