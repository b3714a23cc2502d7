//! The relaxed one-hot categorical (Gumbel-softmax, concrete) distribution on the simplex.

use super::rename;
use super::{handwritten_builders, Categorical, Constraint, Distribution, Support};
use crate::bijectors::{Bijector, SoftmaxCentered};
use crate::shape::{check_value, check_value_shape};
use crate::Parameter;
use anyhow::Result;
use std::sync::Arc;
use tch::{Kind, Tensor};

/// `RelaxedOneHotCategorical(temperature, logits)` (or `from_probs`; torch's and TFP's, the
/// Gumbel-softmax / concrete distribution of Maddison et al. and Jang et al.):
/// `y = softmax((log p + G) / τ)` with `G_k` standard Gumbel, on the simplex of `K` categories.
///
/// `temperature` (`τ > 0`) has a shape that broadcasts with the logits' batch shape (one per
/// batch member; torch takes a scalar); `batch_shape` is that broadcast, `event_shape` `[K]`.
///
/// * `log_prob(y) = lgamma(K) + (K-1) log τ + Σ_k s_k - K logsumexp_k s_k - Σ_k log y_k`,
///   `s_k = log p_k - τ log y_k` (torch's `ExpRelaxedCategorical` density of `log y` and the
///   Jacobian of `exp`);
/// * `sample`/`rsample`: `exp(log_softmax((log p + G)/τ))`, `G = -log(-log U)` with `U` clamped
///   to `[eps, 1 - eps]` (torch's `clamp_probs`): gradients flow to `τ` and the logits;
/// * no closed-form moments or entropy (as torch); support the simplex, default event-space
///   bijector `SoftmaxCentered` (TFP's).
///
/// With validation on, every method checks that `τ > 0`, and `log_prob` that `y` is on the
/// simplex.
pub struct RelaxedOneHotCategorical {
    temperature: Parameter,
    categorical: Categorical,
    name: String,
    batch_shape: Vec<i64>,
    event_shape: Vec<i64>,
    validate_args: bool,
}

impl RelaxedOneHotCategorical {
    /// From the temperature and unnormalised log-probabilities of shape `[..., K]`.
    pub fn new(temperature: impl Into<Parameter>, logits: impl Into<Parameter>) -> Result<Self> {
        let op = "RelaxedOneHotCategorical::new";
        Self::build(op, temperature.into(), Categorical::new(logits).map_err(|e| rename(e, op))?)
    }

    /// From the temperature and probabilities of shape `[..., K]` (normalised at each read).
    pub fn from_probs(temperature: impl Into<Parameter>, probs: impl Into<Parameter>) -> Result<Self> {
        let op = "RelaxedOneHotCategorical::from_probs";
        Self::build(op, temperature.into(), Categorical::from_probs(probs).map_err(|e| rename(e, op))?)
    }

    fn build(op: &str, temperature: Parameter, categorical: Categorical) -> Result<Self> {
        let batch_shape = categorical.batch_with(op, "temperature", &temperature)?;
        let event_shape = vec![categorical.num_categories()];
        Ok(Self {
            temperature,
            categorical,
            name: "RelaxedOneHotCategorical".into(),
            batch_shape,
            event_shape,
            validate_args: false,
        })
    }

    /// The temperature `τ`.
    pub fn temperature(&self) -> &Parameter {
        &self.temperature
    }

    /// The categorical distribution at temperature 0 (the limit of the hard one-hot draws).
    pub fn categorical(&self) -> &Categorical {
        &self.categorical
    }

    /// `τ` as `[..., 1]` (against the categories), checked with validation on.
    fn tau(&self, method: &str) -> Result<Tensor> {
        let t = self.temperature.value()?;
        if self.validate_args {
            Constraint::Positive.require(&format!("RelaxedOneHotCategorical.{method}"), "temperature", &t)?;
        }
        Ok(t.unsqueeze(-1))
    }

    fn k(&self) -> i64 {
        self.categorical.num_categories()
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let mut shape = super::sample_and_batch(op, sample_shape, &self.batch_shape)?;
        shape.push(self.k());
        let tau = self.tau(op.rsplit('.').next().unwrap_or("sample"))?;
        let logp = self.categorical.log_probs()?;
        let e = super::univariate_common::eps(self.dtype());
        let u = Tensor::rand(shape.as_slice(), (self.dtype(), self.device())).clamp(e, 1.0 - e);
        let gumbel = -(-u.log()).log();
        Ok(((logp + gumbel) / tau).log_softmax(-1, None::<Kind>).exp())
    }
}

impl Distribution for RelaxedOneHotCategorical {
    super::wrapper_methods!("RelaxedOneHotCategorical", parameter | s | s.categorical.parameter());

    fn log_prob(&self, y: &Tensor) -> Result<Tensor> {
        let op = "RelaxedOneHotCategorical.log_prob";
        check_value(op, y, self.dtype(), self.device())?;
        check_value_shape(op, y, &self.batch_shape, &[self.k()])?;
        let tau = self.tau("log_prob")?;
        if self.validate_args {
            Constraint::Simplex.require(op, "value", y)?;
        }
        let k = self.k() as f64;
        let log_y = y.log();
        let score = self.categorical.log_probs()? - &tau * &log_y;
        let sum = |t: &Tensor| t.sum_dim_intlist(-1, false, None::<Kind>);
        let lse = score.logsumexp([-1].as_slice(), false);
        let log_scale = tau.squeeze_dim(-1).log() * (k - 1.0) + log_factorial_below(k);
        Ok(sum(&score) - lse * k + log_scale - sum(&log_y))
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        tch::no_grad(|| self.draw("RelaxedOneHotCategorical.sample", sample_shape))
    }

    /// The reparameterized draw: gradients to `τ` and the logits.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        self.draw("RelaxedOneHotCategorical.rsample", sample_shape)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn mean(&self) -> Result<Tensor> {
        super::not_implemented(self, "mean", " (no closed form, as torch)")
    }

    fn support(&self) -> Support {
        Support::Simplex
    }

    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        Ok(Arc::new(SoftmaxCentered))
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        let mut v = self.temperature.trainable_variables();
        v.extend(self.categorical.trainable_variables());
        v
    }
}

/// `lgamma(k) = log((k-1)!)` for a positive integer `k`.
fn log_factorial_below(k: f64) -> f64 {
    (1..k as i64).map(|i| (i as f64).ln()).sum()
}

handwritten_builders!(RelaxedOneHotCategorical);
