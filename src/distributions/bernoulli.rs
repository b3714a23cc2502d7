//! The Bernoulli distribution.

use super::family::{family_builders, family_methods, Constraint, FamilyCore, FamilySpec, Prob, LOGITS, PROBS};
use super::{sample_and_batch, Distribution};
use crate::Parameter;
use anyhow::Result;
use tch::Tensor;

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
pub struct Bernoulli {
    core: FamilyCore,
}

impl Bernoulli {
    /// The declaration with logits (real) or probs (`[0, 1]`); values 0 or 1.
    pub const SPEC: FamilySpec = FamilySpec {
        type_name: "Bernoulli",
        params: &[LOGITS.or(&PROBS)],
        support: Constraint::Boolean,
    };

    /// Builds `Bernoulli(logits=logits)`. Errors when `logits` is not float32/float64.
    pub fn from_logits(logits: impl Into<Parameter>) -> Result<Self> {
        Ok(Self { core: FamilyCore::new("Bernoulli::from_logits", &Self::SPEC, vec![(&LOGITS, logits.into())])? })
    }

    /// Builds `Bernoulli(probs=probs)`. Errors when `probs` is not float32/float64.
    pub fn from_probs(probs: impl Into<Parameter>) -> Result<Self> {
        Ok(Self { core: FamilyCore::new("Bernoulli::from_probs", &Self::SPEC, vec![(&PROBS, probs.into())])? })
    }

    /// The parameter the distribution was built from (logits or probs).
    pub fn parameter(&self) -> &Parameter {
        self.core.param(0)
    }

    /// The parameter's value as [`Prob`], validated when asked.
    fn prob(&self, method: &str) -> Result<Prob> {
        Ok(self.core.prob(0, self.core.single(method)?))
    }

    /// The probability of 1, `sigmoid(logits)` or `probs`, with gradient.
    pub fn probs(&self) -> Result<Tensor> {
        Ok(self.prob("probs")?.probs())
    }

    /// The log-odds, `logits` or `log(p) - log1p(-p)`, with gradient.
    pub fn logits(&self) -> Result<Tensor> {
        Ok(self.prob("logits")?.logits())
    }
}

impl Distribution for Bernoulli {
    family_methods!();

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("Bernoulli.log_prob", x)?;
        Ok(self.prob("log_prob")?.log_likelihood(x, &(-x + 1.0)))
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
        let p = self.prob("mode")?;
        let m = if p.is_logits() { p.value().gt(0.0) } else { p.value().gt(0.5) };
        Ok(m.to_kind(self.dtype()))
    }

    /// `-(p log p + (1 - p) log(1 - p))`.
    fn entropy(&self) -> Result<Tensor> {
        let p = self.prob("entropy")?;
        Ok(-p.log_likelihood(&p.probs(), &p.q()))
    }

    fn support(&self) -> super::Support {
        self.core.support()
    }
}

family_builders!(Bernoulli);
