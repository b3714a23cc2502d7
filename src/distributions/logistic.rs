//! The logistic distribution (TFP's `Logistic`; torch has none).

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::{open_unit_uniform, softplus};
use super::Distribution;
use anyhow::Result;
use std::f64::consts::PI;
use tch::Tensor;

declare_family! {
    /// `Logistic(loc, scale)` (`μ`, `s`): density `e^(-z) / (s (1 + e^(-z))²)`, `z = (x - μ)/s`,
    /// as TFP's `tfd.Logistic`.
    ///
    /// `batch_shape` is the broadcast of the shapes of `loc` and `scale`; `event_shape` is `[]`.
    ///
    /// * `log_prob(x) = -|z| - 2 log1p(e^(-|z|)) - log s` (the density is even in `z`; no
    ///   overflow in either tail).
    /// * `sample`/`rsample`: inverse cdf, `μ + s (log u - log1p(-u))`, `u ~ U[tiny, 1 - eps]`, so
    ///   draws are finite; gradients flow to both parameters.
    /// * mean `μ`, variance `(π s)²/3`, stddev `π s/√3`, mode `μ`, entropy `log s + 2`.
    /// * `cdf(x) = sigmoid(z)`; `log_cdf(x) = -softplus(-z)`, accurate in the left tail;
    ///   `icdf(p) = μ + s (log p - log1p(-p))`.
    /// * support real; `default_event_space_bijector` is `Identity`.
    Logistic, support: Constraint::Real,
    new(
        /// The location (mean, median and mode) `μ`.
        loc: Constraint::Real,
        /// The scale `s`.
        scale: Constraint::Positive,
    )
}

impl Logistic {
    /// `(x - μ) / s` after checking `x`, and `s` (read once per call).
    fn standardize(&self, op: &str, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.core.check_x(op, x)?;
        let [loc, scale] = self.core.values(op)?;
        Ok(((x - loc) / &scale, scale))
    }

    /// `μ + s (log u - log1p(-u))`.
    fn quantile(&self, op: &str, u: &Tensor) -> Result<Tensor> {
        let [loc, scale] = self.core.values(op)?;
        Ok(loc + scale * (u.log() - (-u).log1p()))
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        self.quantile(op, &open_unit_uniform(&shape, self.dtype(), self.device()))
    }
}

impl Distribution for Logistic {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Logistic.log_prob";
        let (z, scale) = self.standardize(op, x)?;
        let z = z.abs();
        Ok(-&z - (-z).exp().log1p() * 2.0 - scale.log())
    }

    fn mean(&self) -> Result<Tensor> {
        let [loc, _] = self.core.values("Logistic.mean")?;
        Ok(self.core.bcast(loc))
    }

    /// `(π s)²/3`.
    fn variance(&self) -> Result<Tensor> {
        let [_, scale] = self.core.values("Logistic.variance")?;
        Ok(self.core.bcast(scale.square() * (PI * PI / 3.0)))
    }

    /// `π s/√3`.
    fn stddev(&self) -> Result<Tensor> {
        let [_, scale] = self.core.values("Logistic.stddev")?;
        Ok(self.core.bcast(scale * (PI / 3f64.sqrt())))
    }

    fn mode(&self) -> Result<Tensor> {
        self.mean()
    }

    /// `log s + 2`.
    fn entropy(&self) -> Result<Tensor> {
        let [_, scale] = self.core.values("Logistic.entropy")?;
        Ok(self.core.bcast(scale.log() + 2.0))
    }

    /// `sigmoid(z)`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.standardize("Logistic.cdf", x)?.0.sigmoid())
    }

    /// `-softplus(-z)`.
    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        let (z, _) = self.standardize("Logistic.log_cdf", x)?;
        Ok(-softplus(&-z))
    }

    /// `μ + s (log p - log1p(-p))`.
    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        let op = "Logistic.icdf";
        self.core.check_prob(op, p)?;
        self.quantile(op, p)
    }
}
