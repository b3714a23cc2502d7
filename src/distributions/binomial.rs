//! The binomial distribution.

use super::family::{declare_family_with_probability, family_methods, Constraint, LOGITS, PROBS};
use super::Distribution;
use crate::special::log_binomial_coefficient;
use anyhow::{anyhow, Result};
use tch::Tensor;

declare_family_with_probability! {
    /// `Binomial(total_count, probs)` or `Binomial(total_count, logits)`: the number of successes in
    /// `n = total_count` independent trials with success probability `p = probs = sigmoid(logits)`;
    /// mass `C(n, k) p^k (1 - p)^(n - k)` at `k = 0, ..., n`.
    ///
    /// `batch_shape` is the broadcast of the shapes of `total_count` and the probability; `event_shape`
    /// is `[]`. `total_count` is a tensor (a count per batch element, as in torch); values are floats
    /// of the parameters' dtype holding integers.
    ///
    /// * `log_prob(k) = log C(n, k) + xlogy(k, p) + xlog1py(n - k, -p)` (exact at `p ∈ {0, 1}`;
    ///   from logits `k log_sigmoid(l) + (n - k) log_sigmoid(-l)`), with
    ///   [`log_binomial_coefficient`] accurate for counts up to 1e6 and beyond in float32 too
    ///   (torch's `lgamma` differences lose about a nat there).
    /// * `sample`: libtorch's `binomial` on the parameters expanded to the output shape, on their
    ///   device; no `rsample` (discrete).
    /// * mean `n p`, variance `n p (1 - p)`, mode `min(floor((n + 1) p), n)` (torch's). No
    ///   closed-form entropy.
    /// * support the integers from 0 to `total_count` (checked with validation on); no default
    ///   event-space bijector (discrete). `total_count` must be a non-negative integer.
    Binomial, support: Constraint::IntegerUpTo("total_count"),
    with(
        /// The number of trials `n`.
        total_count: Constraint::NonNegativeInteger,
    )
    either from_probs(probs = PROBS) or from_logits(logits = LOGITS)
}

impl Binomial {
    /// The success probability `p`, with gradient.
    pub fn probs(&self) -> Result<Tensor> {
        Ok(self.core.with_prob::<1>("probs")?.1.probs())
    }

    /// The log-odds `logits` or `log(p) - log1p(-p)`, with gradient.
    pub fn logits(&self) -> Result<Tensor> {
        Ok(self.core.with_prob::<1>("logits")?.1.logits())
    }
}

impl Distribution for Binomial {
    family_methods!(support);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("Binomial.log_prob", x)?;
        let ([n], p) = self.core.with_prob::<1>("log_prob")?;
        let rest = &n - x;
        Ok(log_binomial_coefficient(&n, x) + p.log_likelihood(x, &rest))
    }

    /// Draws with libtorch's `binomial` (an error, not a panic, where libtorch refuses).
    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        let op = "Binomial.sample";
        let shape = self.core.draw_shape(op, sample_shape)?;
        let ([n], p) = tch::no_grad(|| self.core.with_prob::<1>("sample"))?;
        let count = n.expand(shape.as_slice(), false).contiguous();
        let prob = p.probs().expand(shape.as_slice(), false).contiguous();
        Tensor::f_binomial(&count, &prob).map_err(|e| anyhow!("{op}: libtorch: {e}"))
    }

    /// `n p`.
    fn mean(&self) -> Result<Tensor> {
        let ([n], p) = self.core.with_prob::<1>("mean")?;
        Ok(self.core.bcast(n * p.probs()))
    }

    /// `n p (1 - p)`.
    fn variance(&self) -> Result<Tensor> {
        let ([n], p) = self.core.with_prob::<1>("variance")?;
        Ok(self.core.bcast(n * p.probs() * p.q()))
    }

    /// `min(floor((n + 1) p), n)`.
    fn mode(&self) -> Result<Tensor> {
        let ([n], p) = self.core.with_prob::<1>("mode")?;
        Ok(self.core.bcast(((&n + 1.0) * p.probs()).floor().minimum(&n)))
    }
}

