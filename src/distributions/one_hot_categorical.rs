//! The one-hot Categorical distribution: categories as one-hot float vectors.

use super::rename;
use super::{Categorical, Distribution, Support};
use crate::shape::{check_value, check_value_shape};
use crate::Parameter;
use anyhow::{bail, Result};
use tch::{Device, Kind, Tensor};

/// `OneHotCategorical(logits)` (or `from_probs(probs)`): a [`Categorical`] over `K` whose values
/// are one-hot vectors `e_k` of the parameters' float dtype.
///
/// `logits` has shape `batch_shape + [K]`; `event_shape` is `[K]`.
/// `log_prob(x) = Σ_k x_k log_softmax(logits)_k` (terms with `x_k = 0` count 0, so zero
/// probabilities give `-inf` only where `x` picks them; TFP's `-softmax_cross_entropy`). `sample`
/// one-hot encodes a categorical draw (no gradient; there is no `rsample`). Mean `p`, variance
/// `p (1 - p)`, covariance `diag(p) - p pᵀ`, mode the one-hot of the most probable category,
/// entropy `-Σ p_k log p_k`.
///
/// With validation on, `log_prob` checks that its value is one-hot.
///
/// [`OneHotCategorical::straight_through`] makes it torch's `OneHotCategoricalStraightThrough`:
/// `rsample` is the draw plus `p - stop_gradient(p)` (the straight-through estimator: the
/// value of the draw, the gradient of the mean `p`).
pub struct OneHotCategorical {
    categorical: Categorical,
    name: String,
    validate_args: bool,
    straight_through: bool,
}

impl OneHotCategorical {
    /// From unnormalised log-probabilities of shape `batch_shape + [K]`, `K ≥ 1`.
    pub fn new(logits: impl Into<Parameter>) -> Result<Self> {
        Self::wrap(Categorical::new(logits).map_err(|e| rename(e, "OneHotCategorical::new"))?)
    }

    /// From probabilities of shape `batch_shape + [K]` (non-negative; normalised at each read).
    pub fn from_probs(probs: impl Into<Parameter>) -> Result<Self> {
        Self::wrap(Categorical::from_probs(probs).map_err(|e| rename(e, "OneHotCategorical::from_probs"))?)
    }

    fn wrap(categorical: Categorical) -> Result<Self> {
        Ok(Self { categorical, name: "OneHotCategorical".into(), validate_args: false, straight_through: false })
    }

    /// The same distribution with torch's straight-through `rsample` (its type name becomes
    /// `OneHotCategoricalStraightThrough`, and so does its name unless one was set).
    pub fn straight_through(mut self) -> Self {
        self.straight_through = true;
        if self.name == "OneHotCategorical" {
            self.name = "OneHotCategoricalStraightThrough".into();
        }
        self
    }

    /// The categorical distribution of the index of the hot entry.
    pub fn categorical(&self) -> &Categorical {
        &self.categorical
    }

    /// The number of categories `K`.
    pub fn num_categories(&self) -> i64 {
        self.categorical.num_categories()
    }

    /// Normalised log-probabilities, shape `batch_shape + [K]`.
    pub fn log_probs(&self) -> Result<Tensor> {
        self.categorical.log_probs()
    }

    /// Probabilities, shape `batch_shape + [K]`.
    pub fn probs(&self) -> Result<Tensor> {
        self.categorical.probs()
    }

    fn event_batch(&self) -> Vec<i64> {
        let mut shape = self.categorical.batch_shape();
        shape.push(self.num_categories());
        shape
    }

    fn one_hot(&self, idx: &Tensor) -> Tensor {
        let mut shape = idx.size();
        shape.push(self.num_categories());
        Tensor::zeros(shape.as_slice(), (self.dtype(), self.device())).scatter_value(-1, &idx.unsqueeze(-1), 1.0)
    }
}

impl Distribution for OneHotCategorical {
    fn name(&self) -> &str {
        &self.name
    }
    fn type_name(&self) -> &'static str {
        if self.straight_through {
            "OneHotCategoricalStraightThrough"
        } else {
            "OneHotCategorical"
        }
    }
    fn batch_shape(&self) -> Vec<i64> {
        self.categorical.batch_shape()
    }
    fn event_shape(&self) -> Vec<i64> {
        vec![self.num_categories()]
    }
    /// Values are one-hot vectors of the parameters' float dtype.
    fn dtype(&self) -> Kind {
        self.categorical.param_dtype()
    }
    fn device(&self) -> Device {
        self.categorical.device()
    }

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "OneHotCategorical.log_prob";
        check_value(op, x, self.dtype(), self.device())?;
        check_value_shape(op, x, &self.batch_shape(), &[self.num_categories()])?;
        if self.validate_args {
            let binary = x.eq(0.0).logical_or(&x.eq(1.0)).all();
            let one = x.sum_dim_intlist(-1, false, None::<Kind>).eq(1.0).all();
            if binary.logical_and(&one).int64_value(&[]) == 0 {
                bail!("{op}: expected one-hot values (entries 0 or 1, exactly one 1 per event)");
            }
        }
        let logp = self.log_probs()?;
        let terms = x * logp;
        let terms = terms.where_self(&x.ne(0.0), &terms.zeros_like());
        Ok(terms.sum_dim_intlist(-1, false, None::<Kind>))
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        let idx =
            self.categorical.sample(sample_shape).map_err(|e| rename(e, &format!("{}.sample", self.type_name())))?;
        Ok(tch::no_grad(|| self.one_hot(&idx)))
    }

    /// Straight-through only: the one-hot draw `x` plus `p - stop_gradient(p)` (the value of
    /// `x`, the gradient of `p`); an error otherwise.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        if !self.straight_through {
            return super::not_implemented(
                self,
                "rsample",
                " (no reparameterized sampler; straight_through() adds one)",
            );
        }
        let x = self.sample(sample_shape)?;
        let p = self.probs()?;
        Ok(x + (&p - p.detach()))
    }

    fn has_rsample(&self) -> bool {
        self.straight_through
    }

    /// `p`.
    fn mean(&self) -> Result<Tensor> {
        Ok(self.probs()?.broadcast_to(self.event_batch().as_slice()))
    }

    /// `p (1 - p)`.
    fn variance(&self) -> Result<Tensor> {
        let p = self.probs()?;
        // p (1 - p), as torch: `p - p²` loses digits to cancellation for p near 1
        Ok((&p * (-&p + 1.0)).broadcast_to(self.event_batch().as_slice()))
    }

    /// The one-hot vector of the most probable category (the first of ties).
    fn mode(&self) -> Result<Tensor> {
        Ok(self.one_hot(&self.categorical.mode()?))
    }

    /// `-Σ p_k log p_k`.
    fn entropy(&self) -> Result<Tensor> {
        self.categorical.entropy()
    }

    /// `diag(p) - p pᵀ`, shape `batch_shape + [K, K]`.
    fn covariance(&self) -> Result<Tensor> {
        let p = self.probs()?;
        Ok(p.diag_embed(0, -2, -1) - p.unsqueeze(-1) * p.unsqueeze(-2))
    }

    fn support(&self) -> Support {
        Support::OneHot
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.categorical.trainable_variables()
    }
}

super::handwritten_builders!(OneHotCategorical);
