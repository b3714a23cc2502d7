//! The Gamma distribution.

use super::univariate_common::{
    check_params, check_scalar_value, require, require_positive, standard_gamma, trainable,
};
use super::{display_as_describe, sample_and_batch, Distribution, Support};
use crate::bijectors::{Bijector, Softplus};
use crate::Parameter;
use anyhow::Result;
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

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
///   entropy `α - log β + lgamma(α) + (1 - α) digamma(α)`.
/// * support [`Support::Positive`]; `default_event_space_bijector` is [`Softplus`] (TFP).
pub struct Gamma {
    concentration: Parameter,
    rate: Parameter,
    name: String,
    batch_shape: Vec<i64>,
    validate_args: bool,
}

impl Gamma {
    /// Builds `Gamma(concentration, rate)`. Errors when the parameters are not float, differ in
    /// dtype or device, or their shapes do not broadcast.
    pub fn new(concentration: impl Into<Parameter>, rate: impl Into<Parameter>) -> Result<Self> {
        let (concentration, rate) = (concentration.into(), rate.into());
        let batch_shape = check_params("Gamma::new", &[("concentration", &concentration), ("rate", &rate)])?;
        Ok(Self { concentration, rate, name: "Gamma".into(), batch_shape, validate_args: false })
    }

    /// Sets the name printed by `Display`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// When on, methods check on the host (a device synchronisation) that `concentration > 0`,
    /// `rate > 0` and values are `>= 0`. Off by default.
    pub fn with_validate_args(mut self, on: bool) -> Self {
        self.validate_args = on;
        self
    }

    /// The concentration (shape) parameter `α`.
    pub fn concentration(&self) -> &Parameter {
        &self.concentration
    }

    /// The rate (inverse scale) parameter `β`.
    pub fn rate(&self) -> &Parameter {
        &self.rate
    }

    fn params(&self, op: &str) -> Result<(Tensor, Tensor)> {
        let (c, r) = (self.concentration.value()?, self.rate.value()?);
        if self.validate_args {
            require_positive(op, "concentration", &c)?;
            require_positive(op, "rate", &r)?;
        }
        Ok((c, r))
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = sample_and_batch(op, sample_shape, &self.batch_shape)?;
        let (c, r) = self.params(op)?;
        Ok(standard_gamma(&c.expand(shape.as_slice(), false)) / r)
    }
}

impl Distribution for Gamma {
    fn name(&self) -> &str {
        &self.name
    }
    fn type_name(&self) -> &'static str {
        "Gamma"
    }
    fn batch_shape(&self) -> Vec<i64> {
        self.batch_shape.clone()
    }
    fn event_shape(&self) -> Vec<i64> {
        vec![]
    }
    fn dtype(&self) -> Kind {
        self.concentration.kind()
    }
    fn device(&self) -> Device {
        self.concentration.device()
    }

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Gamma.log_prob";
        check_scalar_value(op, x, self.dtype(), self.device(), &self.batch_shape)?;
        if self.validate_args {
            require(op, "value", x, &x.ge(0.0), "a value >= 0")?;
        }
        let (c, r) = self.params(op)?;
        Ok(c.special_xlogy(&r) + (&c - 1.0).special_xlogy(x) - &r * x - c.lgamma())
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        tch::no_grad(|| self.draw("Gamma.sample", sample_shape))
    }

    /// `_standard_gamma(α) / β`, differentiable in `α` (implicit reparameterization) and `β`.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        self.draw("Gamma.rsample", sample_shape)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn mean(&self) -> Result<Tensor> {
        let (c, r) = self.params("Gamma.mean")?;
        Ok((c / r).broadcast_to(self.batch_shape.as_slice()))
    }

    fn variance(&self) -> Result<Tensor> {
        let (c, r) = self.params("Gamma.variance")?;
        Ok((c / r.square()).broadcast_to(self.batch_shape.as_slice()))
    }

    /// `max(α - 1, 0) / β`.
    fn mode(&self) -> Result<Tensor> {
        let (c, r) = self.params("Gamma.mode")?;
        Ok(((c - 1.0).clamp_min(0.0) / r).broadcast_to(self.batch_shape.as_slice()))
    }

    /// `α - log β + lgamma(α) + (1 - α) digamma(α)`.
    fn entropy(&self) -> Result<Tensor> {
        let (c, r) = self.params("Gamma.entropy")?;
        let h = &c - r.log() + c.lgamma() + (-&c + 1.0) * c.digamma();
        Ok(h.broadcast_to(self.batch_shape.as_slice()))
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        Ok(Arc::new(Softplus))
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        trainable(&[&self.concentration, &self.rate])
    }
}

display_as_describe!(Gamma);
