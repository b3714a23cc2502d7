//! The negative binomial distribution.

use super::family::{declare_family_with_probability, family_methods, Constraint, LOGITS, PROBS};
use super::univariate_common::standard_gamma;
use super::Distribution;
use crate::special::log_beta_coefficient;
use anyhow::{anyhow, Result};
use tch::Tensor;

declare_family_with_probability! {
    /// `NegativeBinomial(total_count, probs)` or `NegativeBinomial(total_count, logits)` (torch's
    /// convention): the number of successes, each with probability `p = probs = sigmoid(logits)`,
    /// before `r = total_count` failures; mass
    /// `Γ(k + r) / (Γ(r) k!) p^k (1 - p)^r` at `k = 0, 1, 2, ...` (`r > 0` need not be an integer).
    ///
    /// `batch_shape` is the broadcast of the shapes of `total_count` and the probability;
    /// `event_shape` is `[]`. Values are floats of the parameters' dtype holding integers.
    ///
    /// * `log_prob(k) = log Γ(k + r)/(Γ(r) k!) + xlogy(k, p) + xlog1py(r, -p)` (from logits
    ///   `k log_sigmoid(l) + r log_sigmoid(-l)`), the coefficient by
    ///   [`log_beta_coefficient`](crate::special::log_beta_coefficient) (accurate for large counts);
    ///   `0` at `r = k = 0` (torch's convention).
    /// * `sample`: as torch, a Poisson draw of a gamma rate: `Poisson(G · p/(1 - p))`,
    ///   `G ~ Gamma(r, 1)` (libtorch's `_standard_gamma` and `poisson`), on the parameters' device;
    ///   no `rsample` (discrete).
    /// * mean `r p/(1 - p)`, variance `r p/(1 - p)²`, mode `max(floor((r - 1) p/(1 - p)), 0)`
    ///   (torch's). No closed-form entropy.
    /// * support the non-negative integers (checked with validation on); no default event-space
    ///   bijector (discrete). `total_count >= 0` (a real number; `make_trainable` learns it through
    ///   `Softplus`).
    NegativeBinomial, support: Constraint::NonNegativeInteger,
    with(
        /// The number of failures `r`.
        total_count: Constraint::NonNegative,
    )
    either from_probs(probs = PROBS) or from_logits(logits = LOGITS)
}

impl NegativeBinomial {
    /// The success probability `p`, with gradient.
    pub fn probs(&self) -> Result<Tensor> {
        Ok(self.core.with_prob::<1>("probs")?.1.probs())
    }
}

impl Distribution for NegativeBinomial {
    family_methods!(support);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("NegativeBinomial.log_prob", x)?;
        let ([r], p) = self.core.with_prob::<1>("log_prob")?;
        let total = &r + x;
        let coefficient = log_beta_coefficient(&(x + 1.0), &r);
        // Γ(k + r)/(Γ(r) k!) is 1 at r = k = 0 (the point mass at 0 of r = 0).
        let coefficient = coefficient.where_scalarother(&total.gt(0.0), 0.0);
        Ok(coefficient + p.log_likelihood(x, &r))
    }

    /// `Poisson(G · p/(1 - p))`, `G ~ Gamma(r, 1)` (an error, not a panic, where libtorch refuses).
    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        let op = "NegativeBinomial.sample";
        let shape = self.core.draw_shape(op, sample_shape)?;
        let ([r], p) = tch::no_grad(|| self.core.with_prob::<1>("sample"))?;
        let rate = standard_gamma(&r.expand(shape.as_slice(), false).contiguous()) * p.odds();
        rate.f_poisson().map_err(|e| anyhow!("{op}: libtorch: {e}"))
    }

    /// `r p/(1 - p)`.
    fn mean(&self) -> Result<Tensor> {
        let ([r], p) = self.core.with_prob::<1>("mean")?;
        Ok(self.core.bcast(r * p.odds()))
    }

    /// `r p/(1 - p)²`.
    fn variance(&self) -> Result<Tensor> {
        let ([r], p) = self.core.with_prob::<1>("variance")?;
        Ok(self.core.bcast(r * p.odds() / p.q()))
    }

    /// `max(floor((r - 1) p/(1 - p)), 0)`.
    fn mode(&self) -> Result<Tensor> {
        let ([r], p) = self.core.with_prob::<1>("mode")?;
        Ok(self.core.bcast(((r - 1.0) * p.odds()).floor().clamp_min(0.0)))
    }
}

