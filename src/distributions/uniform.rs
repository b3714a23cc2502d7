//! The continuous uniform distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::{sample_and_batch, Distribution};
use anyhow::Result;
use tch::Tensor;

declare_family! {
    /// `Uniform(low, high)`: density `1 / (high - low)` on `[low, high)`, 0 elsewhere.
    ///
    /// `batch_shape` is the broadcast of the shapes of `low` and `high`; `event_shape` is `[]`.
    ///
    /// * `log_prob(x) = -log(high - low)` for `low <= x < high`, `-inf` outside (TFP and torch).
    /// * `sample`/`rsample`: `low + (high - low) * u`, `u ~ U[0, 1)`; gradients flow to both bounds.
    /// * mean `(low + high) / 2`, variance `(high - low)² / 12`, entropy `log(high - low)`,
    ///   cdf `clamp((x - low) / (high - low), 0, 1)`, icdf `low + p (high - low)`. No mode (every
    ///   point of the interval is one; TFP leaves it undefined).
    /// * support [`Support::Interval`](super::Support::Interval); `default_event_space_bijector`
    ///   is `Sigmoid::with_bounds(low, high)` holding the bounds' current values (detached).
    ///   Validation checks `low < high` and that values are not NaN.
    Uniform, support: Constraint::Interval("low", "high"),
    new(
        /// The lower bound.
        low: Constraint::Real,
        /// The upper bound.
        high: Constraint::GreaterThan("low"),
    )
}

impl Uniform {
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = sample_and_batch(op, sample_shape, self.core.batch_shape())?;
        let [low, high] = self.core.values(op)?;
        let u = Tensor::rand(shape.as_slice(), (self.dtype(), self.device()));
        Ok(u * (&high - &low) + low)
    }
}

impl Distribution for Uniform {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Uniform.log_prob";
        self.core.check_x(op, x)?;
        let [low, high] = self.core.values(op)?;
        let inside = x.ge_tensor(&low).logical_and(&x.lt_tensor(&high));
        let lp = -(&high - &low).log();
        // tch's `a.where_scalarother(cond, b)` is `where(cond, a, b)`.
        Ok(lp.where_scalarother(&inside, f64::NEG_INFINITY))
    }

    fn mean(&self) -> Result<Tensor> {
        let [low, high] = self.core.values("Uniform.mean")?;
        Ok(self.core.bcast((low + high) * 0.5))
    }

    fn variance(&self) -> Result<Tensor> {
        let [low, high] = self.core.values("Uniform.variance")?;
        Ok(self.core.bcast((high - low).square() / 12.0))
    }

    /// `log(high - low)`.
    fn entropy(&self) -> Result<Tensor> {
        let [low, high] = self.core.values("Uniform.entropy")?;
        Ok(self.core.bcast((high - low).log()))
    }

    /// `clamp((x - low) / (high - low), 0, 1)`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Uniform.cdf";
        self.core.check_x(op, x)?;
        let [low, high] = self.core.values(op)?;
        Ok(((x - &low) / (high - low)).clamp(0.0, 1.0))
    }

    /// `low + p (high - low)`.
    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        let op = "Uniform.icdf";
        self.core.check_prob(op, p)?;
        let [low, high] = self.core.values(op)?;
        Ok(p * (&high - &low) + low)
    }
}
