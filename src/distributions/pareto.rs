//! The Pareto (type I) distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::log1mexp;
use super::Distribution;
use anyhow::Result;
use tch::Tensor;

declare_family! {
    /// `Pareto(scale, alpha)` (`m`, `α`, torch's order): density `α m^α / x^(α+1)` on `x >= m`.
    ///
    /// `batch_shape` is the broadcast of the shapes of `scale` and `alpha`; `event_shape` is `[]`.
    ///
    /// * `log_prob(x) = log α + α log m - (α + 1) log x` for `x >= m`, `-inf` below (TFP; torch
    ///   leaves values below `m` unchecked without validation).
    /// * `sample`/`rsample`: `m exp(E/α)`, `E` from libtorch's `exponential_(1)`; gradients flow to
    ///   both parameters.
    /// * mean `αm/(α - 1)` (`inf` for `α <= 1`), variance `m² α / ((α - 1)² (α - 2))` (`inf` for
    ///   `α <= 2`) as torch, mode `m`, entropy `log(m/α) + 1/α + 1`,
    ///   `cdf(x) = 1 - (m/x)^α` (0 below `m`), `icdf(p) = m (1 - p)^(-1/α)`.
    /// * support `x >= m`; `default_event_space_bijector` is `Chain([Shift(m), Softplus])` with
    ///   the scale's current value (detached), as TFP.
    Pareto, support: Constraint::AtLeast("scale"),
    new(
        /// The scale (minimum) `m`.
        scale: Constraint::Positive,
        /// The shape (tail index) `α`.
        alpha: Constraint::Positive,
    )
}

impl Pareto {
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [scale, alpha] = self.core.values(op)?;
        let e = Tensor::empty(shape.as_slice(), (self.dtype(), self.device())).exponential_(1.0);
        Ok((e / alpha).exp() * scale)
    }
}

impl Distribution for Pareto {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Pareto.log_prob";
        self.core.check_x(op, x)?;
        let [scale, alpha] = self.core.values(op)?;
        let lp = alpha.log() + &alpha * scale.log() - (&alpha + 1.0) * x.log();
        Ok(lp.where_scalarother(&x.ge_tensor(&scale), f64::NEG_INFINITY))
    }

    /// `αm/(α - 1)`, `inf` for `α <= 1`.
    fn mean(&self) -> Result<Tensor> {
        let [scale, alpha] = self.core.values("Pareto.mean")?;
        let a = alpha.clamp_min(1.0);
        Ok(self.core.bcast(&a * scale / (&a - 1.0)))
    }

    /// `m² α / ((α - 1)² (α - 2))`, `inf` for `α <= 2`.
    fn variance(&self) -> Result<Tensor> {
        let [scale, alpha] = self.core.values("Pareto.variance")?;
        let a = alpha.clamp_min(2.0);
        Ok(self.core.bcast(scale.square() * &a / ((&a - 1.0).square() * (&a - 2.0))))
    }

    fn mode(&self) -> Result<Tensor> {
        let [scale, _] = self.core.values("Pareto.mode")?;
        Ok(self.core.bcast(scale))
    }

    /// `log(m/α) + 1/α + 1`.
    fn entropy(&self) -> Result<Tensor> {
        let [scale, alpha] = self.core.values("Pareto.entropy")?;
        Ok(self.core.bcast((scale / &alpha).log() + alpha.reciprocal() + 1.0))
    }

    /// `1 - (m/x)^α` for `x >= m`, 0 below.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Pareto.cdf";
        self.core.check_x(op, x)?;
        let [scale, alpha] = self.core.values(op)?;
        let c = -(-((x - &scale) / &scale).log1p() * &alpha).expm1();
        Ok(c.where_scalarother(&x.ge_tensor(&scale), 0.0))
    }

    /// `log(1 - (m/x)^α)` through `log1mexp`, `log(x/m)` as `log1p((x - m)/m)` (`-inf` below `m`):
    /// accurate in both tails.
    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Pareto.log_cdf";
        self.core.check_x(op, x)?;
        let [scale, alpha] = self.core.values(op)?;
        let inside = x.gt_tensor(&scale);
        // Outside the support the exponent is replaced by a safe -1 (no NaN into the gradient).
        let t = (-((x - &scale) / &scale).log1p() * &alpha).where_scalarother(&inside, -1.0);
        Ok(log1mexp(&t).where_scalarother(&inside, f64::NEG_INFINITY))
    }

    /// `m (1 - p)^(-1/α)`.
    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        let op = "Pareto.icdf";
        self.core.check_prob(op, p)?;
        let [scale, alpha] = self.core.values(op)?;
        Ok(((-p).log1p() / -alpha).exp() * scale)
    }
}
