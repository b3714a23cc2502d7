//! The Bernoulli distribution.

use super::family::{declare_family_with_probability, family_methods, Constraint, LOGITS, PROBS};
use super::{sample_and_batch, Distribution};
use anyhow::Result;
use tch::Tensor;

declare_family_with_probability! {
    /// `Bernoulli(logits)` or `Bernoulli(probs)`: mass `p` at 1 and `1 - p` at 0, with
    /// `p = probs = sigmoid(logits)`.
    ///
    /// `batch_shape` is the shape of the parameter; `event_shape` is `[]`. Values are float 0/1 of
    /// the parameter's dtype (as in torch), so samples can be fed back to `log_prob`.
    ///
    /// * `log_prob(x) = x · log_sigmoid(logits) + (1 - x) · log_sigmoid(-logits)` (minus the binary
    ///   cross-entropy with logits; accurate for large `|logits|`), or with probs
    ///   `xlogy(x, p) + xlog1py(1 - x, -p)` (exact at `p ∈ {0, 1}`).
    /// * `sample`: libtorch's `bernoulli(p)`; no `rsample` (discrete).
    /// * mean `p`, variance `p (1 - p)`, mode `1` where `p > 0.5` else `0` (TFP's `logits > 0`),
    ///   entropy `-(p log p + (1 - p) log(1 - p))` (from the logits: `-(p log_sigmoid(l) +
    ///   (1 - p) log_sigmoid(-l))`).
    /// * support [`Support::Boolean`](super::Support::Boolean); no default event-space bijector
    ///   (discrete).
    Bernoulli, support: Constraint::Boolean,
    with()
    either from_logits(logits = LOGITS) or from_probs(probs = PROBS)
}

impl Bernoulli {
    /// The probability of 1, `sigmoid(logits)` or `probs`, with gradient.
    pub fn probs(&self) -> Result<Tensor> {
        Ok(self.core.prob("probs")?.probs())
    }

    /// The log-odds, `logits` or `log(p) - log1p(-p)`, with gradient.
    pub fn logits(&self) -> Result<Tensor> {
        Ok(self.core.prob("logits")?.logits())
    }
}

impl Distribution for Bernoulli {
    family_methods!();

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("Bernoulli.log_prob", x)?;
        Ok(self.core.prob("log_prob")?.log_likelihood(x, &(-x + 1.0)))
    }

    /// Draws 0/1 values with libtorch's `bernoulli`.
    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        let op = "Bernoulli.sample";
        let shape = sample_and_batch(op, sample_shape, self.core.batch_shape())?;
        let p = self.probs()?.detach();
        // `U < p` with `U ~ Uniform[0, 1)`: no host synchronisation, and nothing that throws on
        // probabilities outside [0, 1] (libtorch's `bernoulli` would); validation is opt-in.
        let u = Tensor::rand(shape.as_slice(), (p.kind(), p.device()));
        Ok(u.lt_tensor(&p).to_kind(p.kind()))
    }

    fn mean(&self) -> Result<Tensor> {
        Ok(self.probs()?.broadcast_to(self.core.batch_shape()))
    }

    /// `p (1 - p)`.
    fn variance(&self) -> Result<Tensor> {
        let p = self.probs()?;
        Ok((&p * (-&p + 1.0)).broadcast_to(self.core.batch_shape()))
    }

    /// `1` where `p > 0.5` (`logits > 0`), else `0`.
    fn mode(&self) -> Result<Tensor> {
        let p = self.core.prob("mode")?;
        let m = if p.is_logits() { p.value().gt(0.0) } else { p.value().gt(0.5) };
        Ok(m.to_kind(self.dtype()))
    }

    /// `-(p log p + (1 - p) log(1 - p))`.
    fn entropy(&self) -> Result<Tensor> {
        let p = self.core.prob("entropy")?;
        Ok(-p.log_likelihood(&p.probs(), &p.q()))
    }

    fn support(&self) -> super::Support {
        self.core.support()
    }
}

