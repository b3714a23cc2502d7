//! The generalized normal (exponential power) distribution (TFP's `GeneralizedNormal`; torch has
//! none).

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::standard_gamma;
use super::Distribution;
use anyhow::Result;
use std::f64::consts::LN_2;
use tch::Tensor;

declare_family! {
    /// `GeneralizedNormal(loc, scale, power)` (`μ`, `α`, `β`): density
    /// `β / (2α Γ(1/β)) exp(-|z|^β)`, `z = (x - μ)/α`, as TFP's `tfd.GeneralizedNormal`: a
    /// Laplace at `β = 1`, a normal of standard deviation `α/√2` at `β = 2`, nearly uniform on
    /// `[μ - α, μ + α]` for large `β`.
    ///
    /// `batch_shape` is the broadcast of the shapes of the three parameters; `event_shape` is `[]`.
    ///
    /// * `log_prob(x) = log β - log 2 - log α - lgamma(1/β) - |z|^β`.
    /// * `sample`/`rsample`: `μ + α s g^(1/β)` with `g ~ Gamma(1/β, 1)` (libtorch's
    ///   `_standard_gamma`, whose implicit reparameterization carries gradients to `β`) and a
    ///   random sign `s` (TFP's sampler); gradients flow to all three parameters.
    /// * mean and mode `μ`, variance `α² Γ(3/β)/Γ(1/β)`, entropy `1/β - log β + log(2α) +
    ///   lgamma(1/β)`.
    /// * `cdf(x)`: `Q(1/β, |z|^β)/2` for `z < 0` and `1 - Q(1/β, |z|^β)/2` above (`Q` the
    ///   regularized upper incomplete gamma), so the left tail keeps its digits where TFP's
    ///   `1/2 + sign(z) P/2` cancels; `log_cdf` is the log of the first and `log1p(-Q/2)` of the
    ///   second. No `icdf` (it needs the inverse incomplete gamma, which libtorch lacks).
    /// * support real; `default_event_space_bijector` is `Identity`.
    GeneralizedNormal, support: Constraint::Real,
    new(
        /// The location `μ`.
        loc: Constraint::Real,
        /// The scale `α`.
        scale: Constraint::Positive,
        /// The power (shape) `β`.
        power: Constraint::Positive,
    )
}

impl GeneralizedNormal {
    /// `(z, Q(1/β, |z|^β) / 2)` after checking `x`: half the mass beyond `|z|`.
    fn half_tail(&self, op: &str, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.core.check_x(op, x)?;
        let [loc, scale, power] = self.core.values(op)?;
        let z = (x - loc) / scale;
        let q = power.reciprocal().special_gammaincc(&z.abs().pow(&power)) * 0.5;
        Ok((z, q))
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [loc, scale, power] = self.core.values(op)?;
        let inv = power.reciprocal();
        let g = standard_gamma(&inv.expand(shape.as_slice(), false));
        let opts = (self.dtype(), self.device());
        let sign = Tensor::rand(shape.as_slice(), opts).lt(0.5).to_kind(self.dtype()) * 2.0 - 1.0;
        Ok(loc + scale * sign * (g.log() * inv).exp())
    }
}

impl Distribution for GeneralizedNormal {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "GeneralizedNormal.log_prob";
        self.core.check_x(op, x)?;
        let [loc, scale, power] = self.core.values(op)?;
        let z = ((x - loc) / &scale).abs();
        Ok(power.log() - LN_2 - scale.log() - power.reciprocal().lgamma() - z.pow(&power))
    }

    fn mean(&self) -> Result<Tensor> {
        let [loc, _, _] = self.core.values("GeneralizedNormal.mean")?;
        Ok(self.core.bcast(loc))
    }

    /// `α² Γ(3/β)/Γ(1/β)`.
    fn variance(&self) -> Result<Tensor> {
        let [_, scale, power] = self.core.values("GeneralizedNormal.variance")?;
        let inv = power.reciprocal();
        Ok(self.core.bcast(scale.square() * ((&inv * 3.0).lgamma() - inv.lgamma()).exp()))
    }

    fn mode(&self) -> Result<Tensor> {
        self.mean()
    }

    /// `1/β - log β + log(2α) + lgamma(1/β)`.
    fn entropy(&self) -> Result<Tensor> {
        let [_, scale, power] = self.core.values("GeneralizedNormal.entropy")?;
        let inv = power.reciprocal();
        Ok(self.core.bcast(&inv - power.log() + LN_2 + scale.log() + inv.lgamma()))
    }

    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let (z, q) = self.half_tail("GeneralizedNormal.cdf", x)?;
        Ok(q.where_self(&z.lt(0.0), &(-&q + 1.0)))
    }

    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        let (z, q) = self.half_tail("GeneralizedNormal.log_cdf", x)?;
        Ok(q.log().where_self(&z.lt(0.0), &(-&q).log1p()))
    }
}
