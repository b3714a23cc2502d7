//! The Gamma distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::standard_gamma;
use super::{sample_and_batch, Distribution};
use anyhow::Result;
use tch::Tensor;

declare_family! {
    /// `Gamma(concentration, rate)` (`α`, `β`): density `β^α x^(α-1) e^(-βx) / Γ(α)` on `x > 0`.
    ///
    /// `batch_shape` is the broadcast of the shapes of `concentration` and `rate`; `event_shape` is
    /// `[]`.
    ///
    /// * `log_prob(x) = xlogy(α, β) + xlogy(α - 1, x) - βx - lgamma(α)` (torch's form; `x = 0`
    ///   with `α = 1` gives `log β`). Values `x < 0` are outside the support: the result there is
    ///   NaN, as in torch and TFP without validation (`with_validate_args(true)` makes it an error).
    /// * `sample`/`rsample`: libtorch's `_standard_gamma(α) / β`, draws clamped below at the
    ///   dtype's smallest normal number (as torch). `_standard_gamma` has an implicit
    ///   reparameterization gradient, so `rsample` is differentiable in both `α` and `β`.
    /// * mean `α/β`, variance `α/β²`, mode `max(α - 1, 0)/β` (torch's clamp),
    ///   entropy `α - log β + lgamma(α) + (1 - α) digamma(α)`, `cdf(x) = P(α, βx)` (the
    ///   regularized incomplete gamma function; no gradient in `α`).
    /// * support [`Support::Positive`](super::Support::Positive); `default_event_space_bijector`
    ///   is `Softplus` (TFP).
    Gamma, support: Constraint::NonNegative,
    new(
        /// The concentration (shape) parameter `α`.
        concentration: Constraint::Positive,
        /// The rate (inverse scale) parameter `β`.
        rate: Constraint::Positive,
    )
}

impl Gamma {
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = sample_and_batch(op, sample_shape, self.core.batch_shape())?;
        let [c, r] = self.core.values(op)?;
        Ok(standard_gamma(&c.expand(shape.as_slice(), false)) / r)
    }
}

/// `xlogy(α, β) + xlogy(α - 1, x) - βx - lgamma(α)` (shared with Chi2).
pub(crate) fn gamma_log_prob(c: &Tensor, r: &Tensor, x: &Tensor) -> Tensor {
    c.special_xlogy(r) + (c - 1.0).special_xlogy(x) - r * x - c.lgamma()
}

/// `α - log β + lgamma(α) + (1 - α) digamma(α)` (shared with Chi2).
pub(crate) fn gamma_entropy(c: &Tensor, r: &Tensor) -> Tensor {
    c - r.log() + c.lgamma() + (-c + 1.0) * c.digamma()
}

impl Distribution for Gamma {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Gamma.log_prob";
        self.core.check_x(op, x)?;
        let [c, r] = self.core.values(op)?;
        Ok(gamma_log_prob(&c, &r, x))
    }

    fn mean(&self) -> Result<Tensor> {
        let [c, r] = self.core.values("Gamma.mean")?;
        Ok(self.core.bcast(c / r))
    }

    fn variance(&self) -> Result<Tensor> {
        let [c, r] = self.core.values("Gamma.variance")?;
        Ok(self.core.bcast(c / r.square()))
    }

    /// `max(α - 1, 0) / β`.
    fn mode(&self) -> Result<Tensor> {
        let [c, r] = self.core.values("Gamma.mode")?;
        Ok(self.core.bcast((c - 1.0).clamp_min(0.0) / r))
    }

    /// `α - log β + lgamma(α) + (1 - α) digamma(α)`.
    fn entropy(&self) -> Result<Tensor> {
        let [c, r] = self.core.values("Gamma.entropy")?;
        Ok(self.core.bcast(gamma_entropy(&c, &r)))
    }

    /// `P(α, βx)`, the regularized lower incomplete gamma function (libtorch's `special_gammainc`,
    /// torch's `Gamma.cdf`). Gradients flow to `β` and `x`; libtorch has no derivative in `α` (a
    /// backward pass that reaches a trainable `α` is libtorch's error).
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Gamma.cdf";
        self.core.check_x(op, x)?;
        let [c, r] = self.core.values(op)?;
        Ok(gamma_cdf(&c, &r, x))
    }
}

/// `P(α, βx)`, 0 below 0 (shared with Chi2).
pub(crate) fn gamma_cdf(c: &Tensor, r: &Tensor, x: &Tensor) -> Tensor {
    c.special_gammainc(&(r * x.clamp_min(0.0)))
}
