//! The Categorical distribution over `{0, ..., K-1}`.

use super::{display_as_describe, Distribution, Support};
use crate::shape::{check_value, check_value_shape, fmt_shape, kind_name};
use crate::Parameter;
use anyhow::{bail, Result};
use tch::{Device, Kind, Tensor};

/// `Categorical(logits)`: `P(k) = softmax(logits)[k]` over the last dimension of `logits`.
///
/// `logits` has shape `batch_shape + [K]`; values are `int64` indices of shape
/// `sample_shape + batch_shape`; `event_shape` is `[]`. `log_prob(k) = log_softmax(logits)[k]`,
/// and `-inf` for an index outside `0..K` (checked without a host synchronisation).
pub struct Categorical {
    logits: Parameter,
    from_probs: bool,
    name: String,
    batch_shape: Vec<i64>,
    num_categories: i64,
}

impl Categorical {
    /// From unnormalised log-probabilities of shape `batch_shape + [K]`, `K >= 1`.
    pub fn new(logits: impl Into<Parameter>) -> Result<Self> {
        Self::build(logits.into(), false, "Categorical::new")
    }

    /// From probabilities of shape `batch_shape + [K]` (normalised over the last dimension at
    /// each read; they must be non-negative).
    pub fn from_probs(probs: impl Into<Parameter>) -> Result<Self> {
        Self::build(probs.into(), true, "Categorical::from_probs")
    }

    fn build(logits: Parameter, from_probs: bool, op: &str) -> Result<Self> {
        if !matches!(logits.kind(), Kind::Float | Kind::Double) {
            bail!("{op}: expected parameters of dtype float32 or float64, got {}", kind_name(logits.kind()));
        }
        let shape = logits.shape();
        match shape.last() {
            Some(&k) if k >= 1 => Ok(Self {
                batch_shape: shape[..shape.len() - 1].to_vec(),
                num_categories: k,
                logits,
                from_probs,
                name: "Categorical".into(),
            }),
            _ => bail!("{op}: expected parameters of shape batch_shape + [K] with K >= 1, got {}", fmt_shape(&shape)),
        }
    }

    /// Sets the name printed by `Display`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// The number of categories `K`.
    pub fn num_categories(&self) -> i64 {
        self.num_categories
    }

    /// The floating dtype of the parameters.
    pub fn param_dtype(&self) -> Kind {
        self.logits.kind()
    }

    /// The logits as given (for a distribution built from probabilities: `log(probs)`), with
    /// gradient; shape `batch_shape + [K]`.
    pub fn logits(&self) -> Result<Tensor> {
        let v = self.logits.value()?;
        Ok(if self.from_probs { v.log() } else { v })
    }

    /// For a family wrapping this categorical with one more parameter `p` named `what`
    /// (Multinomial's `total_count`, RelaxedOneHotCategorical's `temperature`): checks that `p`
    /// has the probabilities' dtype and device and returns the broadcast of `p`'s shape with the
    /// batch shape, errors naming `op`.
    pub(crate) fn batch_with(&self, op: &str, what: &str, p: &Parameter) -> Result<Vec<i64>> {
        if p.kind() != self.param_dtype() || p.device() != self.device() {
            bail!(
                "{op}: expected {what} of the probabilities' dtype and device ({:?} on {:?}), got {:?} on {:?}",
                self.param_dtype(),
                self.device(),
                p.kind(),
                p.device()
            );
        }
        crate::shape::broadcast_shapes(op, &p.shape(), &self.batch_shape)
    }

    /// The parameter as given (logits, or probabilities for `from_probs`).
    pub(crate) fn parameter(&self) -> &Parameter {
        &self.logits
    }

    /// The logits parameter, `None` for a distribution built from probabilities.
    pub(crate) fn logits_parameter(&self) -> Option<&Parameter> {
        (!self.from_probs).then_some(&self.logits)
    }

    /// Normalised log-probabilities `log_softmax(logits)`, shape `batch_shape + [K]`.
    pub fn log_probs(&self) -> Result<Tensor> {
        let v = self.logits.value()?;
        Ok(if self.from_probs {
            (&v / v.sum_dim_intlist(-1, true, None::<Kind>)).log()
        } else {
            v.log_softmax(-1, None::<Kind>)
        })
    }

    /// Probabilities `softmax(logits)`, shape `batch_shape + [K]`.
    pub fn probs(&self) -> Result<Tensor> {
        Ok(self.log_probs()?.exp())
    }
}

impl Distribution for Categorical {
    fn name(&self) -> &str {
        &self.name
    }
    fn type_name(&self) -> &'static str {
        "Categorical"
    }
    fn batch_shape(&self) -> Vec<i64> {
        self.batch_shape.clone()
    }
    fn event_shape(&self) -> Vec<i64> {
        vec![]
    }
    /// Values are `int64` indices.
    fn dtype(&self) -> Kind {
        Kind::Int64
    }
    fn device(&self) -> Device {
        self.logits.device()
    }

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Categorical.log_prob";
        check_value(op, x, Kind::Int64, self.device())?;
        let shape = check_value_shape(op, x, &self.batch_shape, &[])?;
        let logp = self.log_probs()?;
        let k = self.num_categories;
        let valid = x.ge(0).logical_and(&x.lt(k)).broadcast_to(shape.as_slice());
        let idx = x.to_kind(Kind::Int64).clamp(0, k - 1).broadcast_to(shape.as_slice()).unsqueeze(-1);
        let mut full = shape.clone();
        full.push(k);
        let picked = logp.broadcast_to(full.as_slice()).gather(-1, &idx, false).squeeze_dim(-1);
        Ok(picked.where_self(&valid, &picked.full_like(f64::NEG_INFINITY)))
    }

    /// The Gumbel-max draw `argmax_k(log p_k + G_k)`, `G_k = -log(-log U_k)`: vectorised over
    /// sample and batch, with no host synchronisation and nothing that can throw on bad
    /// probabilities (libtorch's `multinomial` would).
    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        let mut shape = super::sample_and_batch("Categorical.sample", sample_shape, &self.batch_shape)?;
        tch::no_grad(|| {
            let logp = self.log_probs()?;
            if self.batch_shape.is_empty() {
                // One categorical: the inverse of its cdf, one uniform per draw (the first k with
                // U < cdf_k, the cdf in float64 so that small probabilities keep their share;
                // a category of probability 0 is never drawn), against K uniforms and two logs
                // each for the Gumbel-max below.
                let cdf = logp.to_kind(Kind::Double).exp().cumsum(0, None::<Kind>);
                let u = Tensor::rand(shape.as_slice(), (Kind::Double, self.device())) * cdf.get(-1);
                let idx = u.searchsorted(&cdf, false, true, "right", None::<&Tensor>);
                return Ok(idx.clamp_max(self.num_categories - 1));
            }
            shape.push(self.num_categories);
            // U in [tiny, 1): -log(-log U) stays finite.
            let u =
                Tensor::rand(shape.as_slice(), (logp.kind(), self.device())).clamp_min(f64::from(f32::MIN_POSITIVE));
            let gumbel = -(-u.log()).log();
            Ok((gumbel + logp).argmax(-1, false))
        })
    }

    fn mean(&self) -> Result<Tensor> {
        bail!("Categorical.mean: not implemented for Categorical (category indices have no mean; use probs())")
    }

    /// The most probable category (the first of ties), `int64`.
    fn mode(&self) -> Result<Tensor> {
        Ok(self.log_probs()?.argmax(-1, false))
    }

    /// `-Σ p_k log p_k` (terms with `p_k = 0` count 0).
    fn entropy(&self) -> Result<Tensor> {
        let logp = self.log_probs()?;
        let plogp = logp.exp() * logp.nan_to_num(0.0, Some(0.0), Some(0.0));
        Ok(-plogp.sum_dim_intlist(-1, false, None::<Kind>))
    }

    /// `P(X <= x) = Σ_{k <= x} p_k` (0 below 0, 1 from `K - 1` on; `x` integer indices).
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Categorical.cdf";
        check_value(op, x, Kind::Int64, self.device())?;
        let shape = check_value_shape(op, x, &self.batch_shape, &[])?;
        let k = self.num_categories;
        let cum = self.probs()?.cumsum(-1, None::<Kind>);
        let mut full = shape.clone();
        full.push(k);
        let idx = x.to_kind(Kind::Int64).clamp(0, k - 1).broadcast_to(shape.as_slice()).unsqueeze(-1);
        let picked = cum.broadcast_to(full.as_slice()).gather(-1, &idx, false).squeeze_dim(-1);
        let below = x.lt(0).broadcast_to(shape.as_slice());
        let above = x.ge(k - 1).broadcast_to(shape.as_slice());
        Ok(picked
            .where_self(&below.logical_not(), &picked.zeros_like())
            .where_self(&above.logical_not(), &picked.ones_like()))
    }

    fn support(&self) -> Support {
        Support::Categories(self.num_categories)
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.logits.trainable_variables()
    }
}

display_as_describe!(Categorical);
