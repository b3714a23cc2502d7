//! The Gumbel (type I extreme value) distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::{open_unit_uniform, EULER_GAMMA};
use super::Distribution;
use anyhow::Result;
use std::f64::consts::PI;
use tch::Tensor;

declare_family! {
    /// `Gumbel(loc, scale)` (`μ`, `β`): density `exp(-(z + e^(-z))) / β`, `z = (x - μ)/β`.
    ///
    /// `batch_shape` is the broadcast of the shapes of `loc` and `scale`; `event_shape` is `[]`.
    ///
    /// * `log_prob(x) = -z - e^(-z) - log β`.
    /// * `sample`/`rsample`: `μ - β log(-log u)`, `u ~ U[tiny, 1 - eps]` (torch's clamp), so draws
    ///   are finite; gradients flow to both parameters.
    /// * mean `μ + βγ` (`γ` Euler's constant), variance `(πβ)²/6`, stddev `πβ/√6`, mode `μ`,
    ///   entropy `log β + 1 + γ`, `cdf(x) = exp(-e^(-z))`, `icdf(p) = μ - β log(-log p)`.
    /// * support real; `default_event_space_bijector` is `Identity`.
    Gumbel, support: Constraint::Real,
    new(
        /// The location (mode) `μ`.
        loc: Constraint::Real,
        /// The scale `β`.
        scale: Constraint::Positive,
    )
}

impl Gumbel {
    /// `μ - β log(-log u)`.
    fn quantile(&self, op: &str, u: &Tensor) -> Result<Tensor> {
        let [loc, scale] = self.core.values(op)?;
        Ok(loc - scale * (-u.log()).log())
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        self.quantile(op, &open_unit_uniform(&shape, self.dtype(), self.device()))
    }
}

impl Distribution for Gumbel {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Gumbel.log_prob";
        self.core.check_x(op, x)?;
        let [loc, scale] = self.core.values(op)?;
        let z = (x - loc) / &scale;
        Ok(-&z - (-z).exp() - scale.log())
    }

    /// `μ + βγ`.
    fn mean(&self) -> Result<Tensor> {
        let [loc, scale] = self.core.values("Gumbel.mean")?;
        Ok(self.core.bcast(loc + scale * EULER_GAMMA))
    }

    /// `(πβ)²/6`.
    fn variance(&self) -> Result<Tensor> {
        let [_, scale] = self.core.values("Gumbel.variance")?;
        Ok(self.core.bcast(scale.square() * (PI * PI / 6.0)))
    }

    /// `πβ/√6`.
    fn stddev(&self) -> Result<Tensor> {
        let [_, scale] = self.core.values("Gumbel.stddev")?;
        Ok(self.core.bcast(scale * (PI / 6f64.sqrt())))
    }

    fn mode(&self) -> Result<Tensor> {
        let [loc, _] = self.core.values("Gumbel.mode")?;
        Ok(self.core.bcast(loc))
    }

    /// `log β + 1 + γ`.
    fn entropy(&self) -> Result<Tensor> {
        let [_, scale] = self.core.values("Gumbel.entropy")?;
        Ok(self.core.bcast(scale.log() + (1.0 + EULER_GAMMA)))
    }

    /// `exp(-exp(-z))`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Gumbel.cdf";
        self.core.check_x(op, x)?;
        let [loc, scale] = self.core.values(op)?;
        Ok((-(-(x - loc) / scale).exp()).exp())
    }

    /// `-exp(-z)`, exact in the left tail.
    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Gumbel.log_cdf";
        self.core.check_x(op, x)?;
        let [loc, scale] = self.core.values(op)?;
        Ok(-(-(x - loc) / scale).exp())
    }

    /// `μ - β log(-log p)`.
    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        let op = "Gumbel.icdf";
        self.core.check_prob(op, p)?;
        self.quantile(op, p)
    }
}
