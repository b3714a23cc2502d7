//! TransformedDistribution: the pushforward of a distribution through a bijector.

use super::{display_as_describe, not_implemented, Distribution, Support};
use crate::bijectors::{reduce_log_det, Bijector};
use crate::shape::{check_value, check_value_shape, fmt_shape, sum_last};
use anyhow::{bail, Result};
use std::sync::Arc;
use tch::Tensor;

/// `TransformedDistribution(base, bijector)`: the distribution of `Y = f(X)`, `X ~ base`, for a
/// bijector `f` (TFP's `TransformedDistribution`).
///
/// Shapes. Let `r` be the base's event rank and `m = bijector.forward_min_event_ndims()`. The
/// bijector acts on events of `n = max(r, m)` dimensions of `x`: when `m > r`, the rightmost
/// `m - r` batch dimensions of the base become event dimensions (as `Independent` would make
/// them), and the base's `log_prob` is summed over them. So
/// `batch_shape = base batch_shape[..len - (n - r)]` and
/// `event_shape = bijector.forward_event_shape(x event shape)`. An elementwise bijector on any
/// base keeps the base's shapes; a vector bijector (`m = 1`) on a vector base maps its event.
/// Bijector parameters must not broadcast the value beyond the base's shapes (the batch shape
/// is the base's; TFP would broadcast it with the bijector's).
///
/// * `log_prob(y) = base.log_prob(f⁻¹(y)) + log|det J_f⁻¹(y)|`, the log-det summed over the
///   event dimensions of `y` only (for a scalar-event base with a batch shape, no reduction).
/// * `sample = f(base.sample)`; `rsample = f(base.rsample)` when the base has one.
/// * `mean` and the other moments have no general closed form: errors (wrappers such as
///   [`super::LogNormal`] provide them).
/// * `support`: [`Support::Positive`] for a real-valued base through a bijector named `"exp"` or
///   `"softplus"`, [`Support::Simplex`] through `"stick_breaking"`, the base's support through
///   `"identity"`, otherwise [`Support::Other`].
pub struct TransformedDistribution {
    base: Box<dyn Distribution>,
    bijector: Arc<dyn Bijector>,
    name: String,
    batch_shape: Vec<i64>,
    event_shape: Vec<i64>,
    /// Base batch dimensions absorbed into the event (`max(r, m) - r`).
    absorbed: usize,
}

impl TransformedDistribution {
    /// Transforms `base` by `bijector`. Errors when the bijector needs more event dimensions
    /// than the base has event and batch dimensions, or rejects the base's event shape.
    pub fn new(base: Box<dyn Distribution>, bijector: Arc<dyn Bijector>) -> Result<Self> {
        let op = "TransformedDistribution::new";
        let base_batch = base.batch_shape();
        let base_event = base.event_shape();
        let m = bijector.forward_min_event_ndims();
        let absorbed = m.saturating_sub(base_event.len());
        if absorbed > base_batch.len() {
            bail!(
                "{op}: bijector {} acts on {m} event dimension(s), but the base has batch shape {} and event shape {}",
                bijector.name(),
                fmt_shape(&base_batch),
                fmt_shape(&base_event)
            );
        }
        let (batch, moved) = base_batch.split_at(base_batch.len() - absorbed);
        let mut x_event = moved.to_vec();
        x_event.extend(&base_event);
        let event_shape = bijector.forward_event_shape(&x_event)?;
        let name = format!("{}{}", bijector.name(), base.name());
        Ok(Self { base, bijector, name, batch_shape: batch.to_vec(), event_shape, absorbed })
    }

    /// As [`TransformedDistribution::new`], from unboxed parts.
    pub fn of(base: impl Distribution + 'static, bijector: impl Bijector + 'static) -> Result<Self> {
        Self::new(Box::new(base), Arc::new(bijector))
    }

    /// Sets the name printed by `Display` (default: the bijector's name then the base's).
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// The base distribution.
    pub fn base(&self) -> &dyn Distribution {
        self.base.as_ref()
    }

    /// The bijector.
    pub fn bijector(&self) -> &Arc<dyn Bijector> {
        &self.bijector
    }
}

impl Distribution for TransformedDistribution {
    super::wrapper_methods!("TransformedDistribution", |s| s.base);

    fn log_prob(&self, y: &Tensor) -> Result<Tensor> {
        let op = "TransformedDistribution.log_prob";
        check_value(op, y, self.dtype(), self.device())?;
        check_value_shape(op, y, &self.batch_shape, &self.event_shape)?;
        let (x, ildj) = self.bijector.inverse_and_log_det(y)?;
        let min = self.bijector.inverse_min_event_ndims();
        let ildj = reduce_log_det(op, &ildj, &y.size(), min, self.event_shape.len())?;
        let base_lp = sum_last(&self.base.log_prob(&x)?, self.absorbed);
        Ok(base_lp + ildj)
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        tch::no_grad(|| self.bijector.forward(&self.base.sample(sample_shape)?))
    }

    /// `f(base.rsample)`; an error when the base has no `rsample`.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        if !self.base.has_rsample() {
            return not_implemented(self, "rsample", &format!(" (the base {} has no rsample)", self.base.type_name()));
        }
        self.bijector.forward(&self.base.rsample(sample_shape)?)
    }

    fn has_rsample(&self) -> bool {
        self.base.has_rsample()
    }

    fn mean(&self) -> Result<Tensor> {
        not_implemented(self, "mean", " (no closed form for a general bijector)")
    }

    fn support(&self) -> Support {
        match (self.bijector.name().as_str(), self.base.support()) {
            ("identity", s) => s,
            ("exp" | "softplus", Support::Real) => Support::Positive,
            ("stick_breaking", Support::Real) => Support::Simplex,
            (b, s) => Support::Other(format!("image of {s:?} under {b}")),
        }
    }

    /// `Chain([bijector, base.default_event_space_bijector()])`: unconstrained reals onto the
    /// base's support, then through this distribution's bijector (TFP's construction).
    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        let base = self.base.default_event_space_bijector()?;
        Ok(Arc::new(crate::bijectors::Chain::new(vec![self.bijector.clone(), base])))
    }

    /// The base's variables, then the bijector's (a learnable `Scale`, a flow's networks), each
    /// name once.
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        crate::bijectors::unique_variables([self.base.trainable_variables(), self.bijector.trainable_variables()])
    }
}

display_as_describe!(TransformedDistribution);
