//! The Laplace distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::eps;
use super::{sample_and_batch, Distribution};
use anyhow::Result;
use std::f64::consts::{LN_2, SQRT_2};
use tch::Tensor;

declare_family! {
    /// `Laplace(loc, scale)` (`μ`, `b`): density `exp(-|x - μ|/b) / (2b)`.
    ///
    /// `batch_shape` is the broadcast of the shapes of `loc` and `scale`; `event_shape` is `[]`.
    ///
    /// * `log_prob(x) = -log(2b) - |x - μ|/b`.
    /// * `sample`/`rsample`: inverse cdf, `μ - b · sign(u) · log1p(-|u|)` with
    ///   `u ~ U[eps - 1, 1)` clamped to `[eps - 1, 1 - eps]` (`eps` of the dtype), so draws are
    ///   finite (torch's sampler); gradients flow to `μ` and `b`.
    /// * mean `μ`, variance `2b²`, stddev `√2 b`, mode `μ`, entropy `1 + log(2b)`.
    /// * `cdf(x) = 1/2 - sign(x - μ) expm1(-|x - μ|/b)/2`; `log_cdf` is `z - log 2` for `z < 0`
    ///   and `log1p(-exp(-z)/2)` for `z >= 0` (`z = (x - μ)/b`), accurate in both tails;
    ///   `icdf(p) = μ - b · sign(p - 1/2) · log1p(-2|p - 1/2|)`.
    /// * support real; `default_event_space_bijector` is `Identity`.
    Laplace, support: Constraint::Real,
    new(
        /// The location `μ`.
        loc: Constraint::Real,
        /// The scale `b`.
        scale: Constraint::Positive,
    )
}

impl Laplace {
    /// `(x - loc) / scale` after checking `x`, and the scale (read once per call).
    fn standardize(&self, op: &str, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.core.check_x(op, x)?;
        let [loc, scale] = self.core.values(op)?;
        Ok(((x - loc) / &scale, scale))
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = sample_and_batch(op, sample_shape, self.core.batch_shape())?;
        let [loc, scale] = self.core.values(op)?;
        let e = eps(self.dtype());
        let u = (Tensor::rand(shape.as_slice(), (self.dtype(), self.device())) * (2.0 - e) + (e - 1.0))
            .clamp(e - 1.0, 1.0 - e);
        let step = u.sign() * (-u.abs()).log1p();
        Ok(loc - scale * step)
    }
}

impl Distribution for Laplace {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Laplace.log_prob";
        let (z, scale) = self.standardize(op, x)?;
        Ok(-z.abs() - scale.log() - LN_2)
    }

    fn mean(&self) -> Result<Tensor> {
        let [loc, _] = self.core.values("Laplace.mean")?;
        Ok(self.core.bcast(loc))
    }

    /// `2 scale²`.
    fn variance(&self) -> Result<Tensor> {
        let [_, scale] = self.core.values("Laplace.variance")?;
        Ok(self.core.bcast(scale.square() * 2.0))
    }

    /// `√2 scale`.
    fn stddev(&self) -> Result<Tensor> {
        let [_, scale] = self.core.values("Laplace.stddev")?;
        Ok(self.core.bcast(scale * SQRT_2))
    }

    fn mode(&self) -> Result<Tensor> {
        self.mean()
    }

    /// `1 + log(2 scale)`.
    fn entropy(&self) -> Result<Tensor> {
        let [_, scale] = self.core.values("Laplace.entropy")?;
        Ok(self.core.bcast(scale.log() + (1.0 + LN_2)))
    }

    /// `1/2 - sign(z) expm1(-|z|)/2`, `z = (x - loc)/scale`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let (z, _) = self.standardize("Laplace.cdf", x)?;
        Ok(-(z.sign() * (-z.abs()).expm1()) * 0.5 + 0.5)
    }

    /// `loc - scale · sign(p - 1/2) · log1p(-2|p - 1/2|)` (torch's form).
    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        let op = "Laplace.icdf";
        self.core.check_prob(op, p)?;
        let [loc, scale] = self.core.values(op)?;
        let t = p - 0.5;
        Ok(loc - scale * t.sign() * (t.abs() * -2.0).log1p())
    }

    /// `z - log 2` for `z < 0`, `log1p(-exp(-z)/2)` for `z >= 0`.
    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        let (z, _) = self.standardize("Laplace.log_cdf", x)?;
        // Each branch sees z clamped to its own side so the dropped branch stays finite.
        let left = z.clamp_max(0.0) - LN_2;
        let right = ((-z.clamp_min(0.0)).exp() * -0.5).log1p();
        // tch's `a.where_self(cond, b)` is `where(cond, a, b)`.
        Ok(left.where_self(&z.lt(0.0), &right))
    }
}
