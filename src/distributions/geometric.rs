//! The geometric distribution.

use super::family::{declare_family_with_probability, family_methods, Constraint, LOGITS, PROBS};
use super::univariate_common::tiny;
use super::Distribution;
use anyhow::Result;
use tch::Tensor;

declare_family_with_probability! {
    /// `Geometric(probs)` or `Geometric(logits)`: the number of failures before the first success
    /// of independent trials with success probability `p = probs = sigmoid(logits)`; mass
    /// `(1 - p)^k p` at `k = 0, 1, 2, ...` (torch's and TFP's convention).
    ///
    /// `batch_shape` is the shape of the parameter; `event_shape` is `[]`. Values are floats of the
    /// parameter's dtype holding integers.
    ///
    /// * `log_prob(k) = xlog1py(k, -p) + log p` (exact at `p = 1`), from logits
    ///   `k · log_sigmoid(-l) + log_sigmoid(l)`.
    /// * `sample`: `floor(log u / log1p(-p))`, `u ~ U[tiny, 1)` (torch's sampler), on the
    ///   parameter's device; no `rsample` (discrete).
    /// * mean `1/p - 1`, variance `(1 - p)/p²`, mode `0`,
    ///   entropy `-(p log p + (1 - p) log(1 - p))/p`.
    /// * support the non-negative integers (checked with validation on); no default event-space
    ///   bijector (discrete).
    Geometric, support: Constraint::NonNegativeInteger,
    with()
    either from_probs(probs = PROBS) or from_logits(logits = LOGITS)
}

impl Geometric {
    /// `(log p, log(1 - p))`, accurate from logits.
    pub(crate) fn log_probs(&self, method: &str) -> Result<(Tensor, Tensor)> {
        let p = self.core.prob(method)?;
        Ok((p.log_p(), p.log_q()))
    }

    /// The success probability `p`, with gradient.
    pub fn probs(&self) -> Result<Tensor> {
        Ok(self.core.prob("probs")?.probs())
    }
}

impl Distribution for Geometric {
    family_methods!();

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("Geometric.log_prob", x)?;
        let p = self.core.prob("log_prob")?;
        Ok(p.log_likelihood(&x.ones_like(), x))
    }

    /// `floor(log u / log1p(-p))`, `u ~ U[tiny, 1)`.
    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        let op = "Geometric.sample";
        let shape = self.core.draw_shape(op, sample_shape)?;
        let (_, lq) = tch::no_grad(|| self.log_probs("sample"))?;
        let k = self.dtype();
        let u = Tensor::rand(shape.as_slice(), (k, self.device())).clamp_min(tiny(k));
        Ok((u.log() / lq).floor())
    }

    /// `1/p - 1`.
    fn mean(&self) -> Result<Tensor> {
        let (lp, lq) = self.log_probs("mean")?;
        Ok(self.core.bcast((lq - lp).exp()))
    }

    /// `(1 - p)/p²`.
    fn variance(&self) -> Result<Tensor> {
        let (lp, lq) = self.log_probs("variance")?;
        Ok(self.core.bcast((lq - lp * 2.0).exp()))
    }

    fn mode(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("mode")?.zeros_like()))
    }

    /// `-(p log p + (1 - p) log(1 - p))/p`.
    fn entropy(&self) -> Result<Tensor> {
        let (lp, lq) = self.log_probs("entropy")?;
        let (p, q) = (lp.exp(), lq.exp());
        // (1 - p) log(1 - p) is 0 at p = 1.
        let q_term = (&q * lq).where_scalarother(&q.gt(0.0), 0.0);
        Ok(self.core.bcast(-(&p * lp + q_term) / p))
    }

    fn support(&self) -> super::Support {
        self.core.support()
    }
}

