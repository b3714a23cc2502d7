//! The negative binomial distribution.

use super::family::{family_builders, family_methods, Constraint, FamilyCore, FamilySpec, ParamSpec, Prob, LOGITS, PROBS};
use super::univariate_common::standard_gamma;
use super::Distribution;
use crate::special::log_beta_coefficient;
use crate::Parameter;
use anyhow::{anyhow, Result};
use tch::Tensor;

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
pub struct NegativeBinomial {
    core: FamilyCore,
}

impl NegativeBinomial {
    /// The declaration: `total_count >= 0`, probs in `[0, 1]` or logits real; values
    /// non-negative integers.
    pub const SPEC: FamilySpec = FamilySpec {
        type_name: "NegativeBinomial",
        params: &[ParamSpec::scalar("total_count", Constraint::NonNegative), PROBS.or(&LOGITS)],
        support: Constraint::NonNegativeInteger,
    };

    /// Builds `NegativeBinomial(total_count, probs=probs)`. Errors when a parameter is not
    /// float32/float64, they differ in dtype or device, or their shapes do not broadcast.
    pub fn from_probs(total_count: impl Into<Parameter>, probs: impl Into<Parameter>) -> Result<Self> {
        let params = vec![(&Self::SPEC.params[0], total_count.into()), (&PROBS, probs.into())];
        Ok(Self { core: FamilyCore::new("NegativeBinomial::from_probs", &Self::SPEC, params)? })
    }

    /// Builds `NegativeBinomial(total_count, logits=logits)`; errors as
    /// [`NegativeBinomial::from_probs`].
    pub fn from_logits(total_count: impl Into<Parameter>, logits: impl Into<Parameter>) -> Result<Self> {
        let params = vec![(&Self::SPEC.params[0], total_count.into()), (&LOGITS, logits.into())];
        Ok(Self { core: FamilyCore::new("NegativeBinomial::from_logits", &Self::SPEC, params)? })
    }

    /// The number of failures `r`.
    pub fn total_count(&self) -> &Parameter {
        self.core.param(0)
    }

    /// The probability parameter the distribution was built from (probs or logits).
    pub fn parameter(&self) -> &Parameter {
        self.core.param(1)
    }

    /// `(r, p)` for the method `method`, validated when asked.
    fn values(&self, method: &str) -> Result<(Tensor, Prob)> {
        let [r, v] = self.core.values(&self.core.op(method))?;
        Ok((r, self.core.prob(1, v)))
    }

    /// The success probability `p`, with gradient.
    pub fn probs(&self) -> Result<Tensor> {
        Ok(self.values("probs")?.1.probs())
    }
}

/// `p/(1 - p)`, the odds: `exp(l)` from logits.
fn odds(p: &Prob) -> Tensor {
    if p.is_logits() { p.value().exp() } else { p.probs() / p.q() }
}

impl Distribution for NegativeBinomial {
    family_methods!(support);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("NegativeBinomial.log_prob", x)?;
        let (r, p) = self.values("log_prob")?;
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
        let (r, p) = tch::no_grad(|| self.values("sample"))?;
        let rate = standard_gamma(&r.expand(shape.as_slice(), false).contiguous()) * odds(&p);
        rate.f_poisson().map_err(|e| anyhow!("{op}: libtorch: {e}"))
    }

    /// `r p/(1 - p)`.
    fn mean(&self) -> Result<Tensor> {
        let (r, p) = self.values("mean")?;
        Ok(self.core.bcast(r * odds(&p)))
    }

    /// `r p/(1 - p)²`.
    fn variance(&self) -> Result<Tensor> {
        let (r, p) = self.values("variance")?;
        Ok(self.core.bcast(r * odds(&p) / p.q()))
    }

    /// `max(floor((r - 1) p/(1 - p)), 0)`.
    fn mode(&self) -> Result<Tensor> {
        let (r, p) = self.values("mode")?;
        Ok(self.core.bcast(((r - 1.0) * odds(&p)).floor().clamp_min(0.0)))
    }
}

family_builders!(NegativeBinomial);
