//! The Bernoulli distribution.

use super::univariate_common::{check_params, check_scalar_value, require, trainable};
use super::{display_as_describe, sample_and_batch, Distribution, Support};
use crate::Parameter;
use anyhow::Result;
use tch::{Device, Kind, Tensor};

enum Param {
    Logits(Parameter),
    Probs(Parameter),
}

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
/// * support [`Support::Boolean`]; no default event-space bijector (discrete).
pub struct Bernoulli {
    param: Param,
    name: String,
    batch_shape: Vec<i64>,
    validate_args: bool,
}

impl Bernoulli {
    /// Builds `Bernoulli(logits=logits)`. Errors when `logits` is not float32/float64.
    pub fn from_logits(logits: impl Into<Parameter>) -> Result<Self> {
        let logits = logits.into();
        let batch_shape = check_params("Bernoulli::from_logits", &[("logits", &logits)])?;
        Ok(Self { param: Param::Logits(logits), name: "Bernoulli".into(), batch_shape, validate_args: false })
    }

    /// Builds `Bernoulli(probs=probs)`. Errors when `probs` is not float32/float64.
    pub fn from_probs(probs: impl Into<Parameter>) -> Result<Self> {
        let probs = probs.into();
        let batch_shape = check_params("Bernoulli::from_probs", &[("probs", &probs)])?;
        Ok(Self { param: Param::Probs(probs), name: "Bernoulli".into(), batch_shape, validate_args: false })
    }

    /// Sets the name printed by `Display`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// When on, methods check on the host (a device synchronisation) that `0 <= probs <= 1`
    /// (or logits are not NaN) and that values are 0 or 1. Off by default.
    pub fn with_validate_args(mut self, on: bool) -> Self {
        self.validate_args = on;
        self
    }

    /// The parameter the distribution was built from (logits or probs).
    pub fn parameter(&self) -> &Parameter {
        match &self.param {
            Param::Logits(p) | Param::Probs(p) => p,
        }
    }

    /// The probability of 1, `sigmoid(logits)` or `probs`, with gradient.
    pub fn probs(&self) -> Result<Tensor> {
        match &self.param {
            Param::Logits(l) => Ok(self.checked_logits("Bernoulli.probs", l)?.sigmoid()),
            Param::Probs(p) => self.checked_probs("Bernoulli.probs", p),
        }
    }

    /// The log-odds, `logits` or `log(p) - log1p(-p)`, with gradient.
    pub fn logits(&self) -> Result<Tensor> {
        match &self.param {
            Param::Logits(l) => self.checked_logits("Bernoulli.logits", l),
            Param::Probs(p) => {
                let p = self.checked_probs("Bernoulli.logits", p)?;
                Ok(p.log() - (-&p).log1p())
            }
        }
    }

    fn checked_logits(&self, op: &str, l: &Parameter) -> Result<Tensor> {
        let l = l.value()?;
        if self.validate_args {
            require(op, "logits", &l, &l.isnan().logical_not(), "logits without NaN")?;
        }
        Ok(l)
    }

    fn checked_probs(&self, op: &str, p: &Parameter) -> Result<Tensor> {
        let p = p.value()?;
        if self.validate_args {
            require(op, "probs", &p, &p.ge(0.0).logical_and(&p.le(1.0)), "0 <= probs <= 1")?;
        }
        Ok(p)
    }
}

impl Distribution for Bernoulli {
    fn name(&self) -> &str {
        &self.name
    }
    fn type_name(&self) -> &'static str {
        "Bernoulli"
    }
    fn batch_shape(&self) -> Vec<i64> {
        self.batch_shape.clone()
    }
    fn event_shape(&self) -> Vec<i64> {
        vec![]
    }
    fn dtype(&self) -> Kind {
        self.parameter().kind()
    }
    fn device(&self) -> Device {
        self.parameter().device()
    }

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Bernoulli.log_prob";
        check_scalar_value(op, x, self.dtype(), self.device(), &self.batch_shape)?;
        if self.validate_args {
            require(op, "value", x, &x.eq(0.0).logical_or(&x.eq(1.0)), "a value of 0 or 1")?;
        }
        match &self.param {
            Param::Logits(l) => {
                let l = self.checked_logits(op, l)?;
                Ok(x * l.log_sigmoid() + (-x + 1.0) * (-l).log_sigmoid())
            }
            Param::Probs(p) => {
                let p = self.checked_probs(op, p)?;
                Ok(x.special_xlogy(&p) + (-x + 1.0).special_xlog1py(&(-p)))
            }
        }
    }

    /// Draws 0/1 values with libtorch's `bernoulli`.
    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        let op = "Bernoulli.sample";
        let shape = sample_and_batch(op, sample_shape, &self.batch_shape)?;
        let p = self.probs()?.detach();
        // `U < p` with `U ~ Uniform[0, 1)`: no host synchronisation, and nothing that throws on
        // probabilities outside [0, 1] (libtorch's `bernoulli` would); validation is opt-in.
        let u = Tensor::rand(shape.as_slice(), (p.kind(), p.device()));
        Ok(u.lt_tensor(&p).to_kind(p.kind()))
    }

    fn mean(&self) -> Result<Tensor> {
        Ok(self.probs()?.broadcast_to(self.batch_shape.as_slice()))
    }

    /// `p (1 - p)`.
    fn variance(&self) -> Result<Tensor> {
        let p = self.probs()?;
        Ok((&p * (-&p + 1.0)).broadcast_to(self.batch_shape.as_slice()))
    }

    /// `1` where `p > 0.5` (`logits > 0`), else `0`.
    fn mode(&self) -> Result<Tensor> {
        let m = match &self.param {
            Param::Logits(l) => self.checked_logits("Bernoulli.mode", l)?.gt(0.0),
            Param::Probs(p) => self.checked_probs("Bernoulli.mode", p)?.gt(0.5),
        };
        Ok(m.to_kind(self.dtype()))
    }

    /// `-(p log p + (1 - p) log(1 - p))`.
    fn entropy(&self) -> Result<Tensor> {
        let op = "Bernoulli.entropy";
        match &self.param {
            Param::Logits(l) => {
                let l = self.checked_logits(op, l)?;
                let p = l.sigmoid();
                Ok(-(&p * l.log_sigmoid() + (-&p + 1.0) * (-l).log_sigmoid()))
            }
            Param::Probs(p) => {
                let p = self.checked_probs(op, p)?;
                Ok(-(p.special_xlogy(&p) + (-&p + 1.0).special_xlog1py(&(-&p))))
            }
        }
    }

    fn support(&self) -> Support {
        Support::Boolean
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        trainable(&[self.parameter()])
    }
}

display_as_describe!(Bernoulli);
