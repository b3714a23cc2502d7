//! The relaxed Bernoulli (binary Concrete) distribution.

use super::family::{declare_family_with_probability, family_methods, Constraint, LOGITS, PROBS};
use super::univariate_common::{eps, softplus, tiny};
use super::{not_implemented, Distribution};
use anyhow::Result;
use tch::Tensor;

declare_family_with_probability! {
    /// `RelaxedBernoulli(temperature, logits)` or `RelaxedBernoulli(temperature, probs)` (the binary
    /// Concrete of Maddison et al. 2017, torch's and TFP's): `y = sigmoid((λ + L) / τ)` with `L`
    /// standard logistic, `τ = temperature > 0`, `λ = logits` or `log p - log1p(-p)` (torch's clamp
    /// of `p` to `[eps, 1 - eps]`). torch builds it as `LogitRelaxedBernoulli` transformed by
    /// `Sigmoid`.
    ///
    /// `batch_shape` is the broadcast of the shapes of `temperature` and the logits (or probs);
    /// `event_shape` is `[]`. The temperature is a parameter like the others (learnable).
    ///
    /// * `log_prob(y)`: with `x = logit(y)` (`y` clamped to `[tiny, 1 - eps]` first, torch's
    ///   `SigmoidTransform` inverse) and `d = λ - τx`,
    ///   `log τ + d - 2 softplus(d) + softplus(x) + softplus(-x)` (torch's, with an overflow-free
    ///   softplus where torch's `2 log1p(exp(d))` is infinite above `d ≈ 88` in float32).
    /// * `sample`/`rsample`: `u ~ U[0, 1)` clamped to `[eps, 1 - eps]` (torch's), `x = (log u -
    ///   log1p(-u) + λ) / τ`, `y = sigmoid(x)` clamped to `[tiny, 1 - eps]` (torch's); gradients
    ///   flow to `τ` and the logits (or probs).
    /// * `cdf(y) = sigmoid(τ logit(y) - λ)`, `icdf(u) = sigmoid((logit(u) + λ) / τ)` (TFP's, through
    ///   its logistic; torch has neither). No mean, variance, mode or entropy (neither has them).
    /// * support [`Support::UnitInterval`](super::Support::UnitInterval);
    ///   `default_event_space_bijector` is `Sigmoid`.
    RelaxedBernoulli, support: Constraint::UnitInterval,
    with(
        /// The temperature `τ`.
        temperature: Constraint::Positive,
    )
    either from_logits(logits = LOGITS) or from_probs(probs = PROBS)
}

impl RelaxedBernoulli {
    /// `(τ, λ)` for the method `method`.
    fn values(&self, method: &str) -> Result<(Tensor, Tensor)> {
        let ([t], p) = self.core.with_prob::<1>(method)?;
        Ok((t, p.clamped_logits()))
    }

    /// The logits `λ`, with gradient (for probs: the logit of the clamped probs).
    pub fn logits(&self) -> Result<Tensor> {
        Ok(self.values("logits")?.1)
    }

    /// `sigmoid(λ)`, with gradient.
    pub fn probs(&self) -> Result<Tensor> {
        Ok(self.values("probs")?.1.sigmoid())
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let (t, l) = self.values(op.rsplit('.').next().unwrap_or(op))?;
        let k = self.dtype();
        let u = Tensor::rand(shape.as_slice(), (k, self.device())).clamp(eps(k), 1.0 - eps(k));
        let x = (u.log() - (-&u).log1p() + l) / t;
        Ok(x.sigmoid().clamp(tiny(k), 1.0 - eps(k)))
    }

    /// `logit(y)` after torch's clamp of `y` to `[tiny, 1 - eps]`.
    fn logit_of(y: &Tensor) -> Tensor {
        let k = y.kind();
        let yc = y.clamp(tiny(k), 1.0 - eps(k));
        yc.log() - (-&yc).log1p()
    }
}

impl Distribution for RelaxedBernoulli {
    family_methods!(support, rsample);

    fn log_prob(&self, y: &Tensor) -> Result<Tensor> {
        self.core.check_x("RelaxedBernoulli.log_prob", y)?;
        let (t, l) = self.values("log_prob")?;
        let x = Self::logit_of(y);
        let d = l - &t * &x;
        Ok(t.log() + &d - softplus(&d) * 2.0 + softplus(&x) + softplus(&(-&x)))
    }

    /// Not implemented: no closed form (torch and TFP have none).
    fn mean(&self) -> Result<Tensor> {
        not_implemented(self, "mean", " (no closed form)")
    }

    /// `sigmoid(τ logit(y) - λ)`: `0` at `y <= 0`, `1` at `y >= 1`.
    fn cdf(&self, y: &Tensor) -> Result<Tensor> {
        self.core.check_x("RelaxedBernoulli.cdf", y)?;
        let (t, l) = self.values("cdf")?;
        let yc = y.clamp(0.0, 1.0);
        let c = (t * (yc.log() - (-&yc).log1p()) - l).sigmoid();
        Ok(c.where_scalarother(&y.gt(0.0), 0.0).where_scalarother(&y.lt(1.0), 1.0))
    }

    /// `sigmoid((logit(u) + λ) / τ)`.
    fn icdf(&self, u: &Tensor) -> Result<Tensor> {
        let op = "RelaxedBernoulli.icdf";
        self.core.check_prob(op, u)?;
        let (t, l) = self.values("icdf")?;
        Ok(((u.log() - (-u).log1p() + l) / t).sigmoid())
    }
}

