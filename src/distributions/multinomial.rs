//! The multinomial distribution: counts of `n` categorical draws.

use super::rename;
use super::{handwritten_builders, Categorical, Constraint, Distribution, Support};
use crate::shape::{check_value, check_value_shape};
use crate::special::log_binomial_coefficient;
use crate::Parameter;
use anyhow::{anyhow, Result};
use tch::{Kind, Tensor};

/// `Multinomial(total_count, logits)` (or `from_probs`): the counts `x` (`Σ_k x_k = n`) of
/// `n = total_count` independent draws from `Categorical(logits)` over `K` categories; mass
/// `n! / Π x_k! · Π p_k^x_k`.
///
/// `total_count` is a tensor of non-negative integers (TFP's; torch takes one `int`) whose shape
/// broadcasts with the logits' batch shape; `batch_shape` is that broadcast, `event_shape` `[K]`;
/// values are floats of the parameters' dtype holding integers.
///
/// * `log_prob(x) = Σ_k log C(s_k, x_k) + Σ_k x_k log p_k` with `s_k = x_k + ... + x_K` (the
///   multinomial coefficient as a product of binomial ones, accurate for large counts; terms
///   with `x_k = 0` count 0, so zero probabilities give `-inf` only where `x` picks them);
/// * `sample`: the counts one category after the other, `x_k ~ Binomial(n - x_1 - ... - x_{k-1},
///   p_k / (p_k + ... + p_K))` (libtorch's `binomial`; any `n`, batched); no `rsample`;
/// * mean `n p`, variance `n p (1 - p)`, covariance `n (diag(p) - p pᵀ)`; entropy torch's sum
///   over the binomial marginals, `n H(p) - log n! + Σ_k Σ_{j=1..n} P(x_k = j) log j!`
///   (`O(n K)` work, up to the largest `total_count`, read on the host).
///
/// With validation on, `total_count` must hold non-negative integers and values non-negative
/// integers summing to it.
pub struct Multinomial {
    total_count: Parameter,
    categorical: Categorical,
    name: String,
    batch_shape: Vec<i64>,
    event_shape: Vec<i64>,
    validate_args: bool,
}

impl Multinomial {
    /// From `total_count` and unnormalised log-probabilities of shape `[..., K]`.
    pub fn new(total_count: impl Into<Parameter>, logits: impl Into<Parameter>) -> Result<Self> {
        let op = "Multinomial::new";
        Self::build(op, total_count.into(), Categorical::new(logits).map_err(|e| rename(e, op))?)
    }

    /// From `total_count` and probabilities of shape `[..., K]` (normalised at each read).
    pub fn from_probs(total_count: impl Into<Parameter>, probs: impl Into<Parameter>) -> Result<Self> {
        let op = "Multinomial::from_probs";
        Self::build(op, total_count.into(), Categorical::from_probs(probs).map_err(|e| rename(e, op))?)
    }

    fn build(op: &str, total_count: Parameter, categorical: Categorical) -> Result<Self> {
        let batch_shape = categorical.batch_with(op, "total_count", &total_count)?;
        let event_shape = vec![categorical.num_categories()];
        Ok(Self {
            total_count,
            categorical,
            name: "Multinomial".into(),
            batch_shape,
            event_shape,
            validate_args: false,
        })
    }

    /// The number of draws `n`.
    pub fn total_count(&self) -> &Parameter {
        &self.total_count
    }

    /// The categorical distribution of one draw.
    pub fn categorical(&self) -> &Categorical {
        &self.categorical
    }

    /// `n` for the method `method`, checked with validation on.
    fn n(&self, method: &str) -> Result<Tensor> {
        let n = self.total_count.value()?;
        if self.validate_args {
            Constraint::NonNegativeInteger.require(&format!("Multinomial.{method}"), "total_count", &n)?;
        }
        Ok(n)
    }

    fn k(&self) -> i64 {
        self.categorical.num_categories()
    }

    fn event_batch(&self) -> Vec<i64> {
        let mut shape = self.batch_shape.clone();
        shape.push(self.k());
        shape
    }

    fn probs(&self) -> Result<Tensor> {
        self.categorical.probs()
    }
}

/// `Σ_{j >= k} t_j` along the last dimension.
fn suffix_sums(t: &Tensor) -> Tensor {
    t.flip([-1]).cumsum(-1, None::<Kind>).flip([-1])
}

impl Distribution for Multinomial {
    super::wrapper_methods!("Multinomial", parameter | s | s.categorical.parameter());

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Multinomial.log_prob";
        check_value(op, x, self.dtype(), self.device())?;
        check_value_shape(op, x, &self.batch_shape, &[self.k()])?;
        let n = self.n("log_prob")?;
        if self.validate_args {
            let counts = x.ge(0.0).logical_and(&x.eq_tensor(&x.floor())).all_dim(-1, false);
            let sums = x.sum_dim_intlist(-1, false, None::<Kind>).eq_tensor(&n);
            let ok = counts.logical_and(&sums);
            super::univariate_common::require(
                op,
                "value",
                x,
                &ok.unsqueeze(-1),
                "a value of non-negative integers summing to total_count",
            )?;
        }
        let logp = self.categorical.log_probs()?;
        let terms = x * logp;
        let terms = terms.where_self(&x.ne(0.0), &terms.zeros_like());
        let coefficient = log_binomial_coefficient(&suffix_sums(x), x);
        Ok((coefficient + terms).sum_dim_intlist(-1, false, None::<Kind>))
    }

    /// Conditional binomial draws, one category after the other (an error, not a panic, where
    /// libtorch refuses).
    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        let op = "Multinomial.sample";
        let mut shape = super::sample_and_batch(op, sample_shape, &self.batch_shape)?;
        tch::no_grad(|| {
            let n = self.n("sample")?;
            let p = self.probs()?;
            // p_k / (p_k + ... + p_K), clamped to [0, 1] against rounding
            let ratio = (&p / suffix_sums(&p)).clamp(0.0, 1.0).nan_to_num(0.0, None, None);
            let mut rest = n.broadcast_to(shape.as_slice()).contiguous();
            let mut counts = Vec::with_capacity(self.k() as usize);
            for k in 0..self.k() - 1 {
                let prob = ratio.select(-1, k).broadcast_to(shape.as_slice()).contiguous();
                let x = Tensor::f_binomial(&rest, &prob).map_err(|e| anyhow!("{op}: libtorch: {e}"))?;
                rest = &rest - &x;
                counts.push(x);
            }
            counts.push(rest);
            shape.push(self.k());
            Ok(Tensor::stack(&counts, -1).reshape(shape.as_slice()))
        })
    }

    /// `n p`.
    fn mean(&self) -> Result<Tensor> {
        let n = self.n("mean")?.unsqueeze(-1);
        Ok((n * self.probs()?).broadcast_to(self.event_batch().as_slice()))
    }

    /// `n p (1 - p)`.
    fn variance(&self) -> Result<Tensor> {
        let n = self.n("variance")?.unsqueeze(-1);
        let p = self.probs()?;
        Ok((n * &p * (-&p + 1.0)).broadcast_to(self.event_batch().as_slice()))
    }

    /// `n (diag(p) - p pᵀ)`, shape `batch_shape + [K, K]`.
    fn covariance(&self) -> Result<Tensor> {
        let n = self.n("covariance")?.unsqueeze(-1).unsqueeze(-1);
        let p = self.probs()?;
        let mut shape = self.event_batch();
        shape.push(self.k());
        Ok((n * (p.diag_embed(0, -2, -1) - p.unsqueeze(-1) * p.unsqueeze(-2))).broadcast_to(shape.as_slice()))
    }

    /// `n H(p) - log n! + Σ_k Σ_{j=1..n} P(x_k = j) log j!` (torch's form; the binomial
    /// marginals `P(x_k = j)` enumerated up to the largest `n`).
    fn entropy(&self) -> Result<Tensor> {
        let n = self.n("entropy")?.broadcast_to(self.batch_shape.as_slice());
        let logp = self.categorical.log_probs()?;
        let cat_entropy = -(logp.exp() * &logp).sum_dim_intlist(-1, false, None::<Kind>);
        let term1 = &n * cat_entropy - (&n + 1.0).lgamma();
        let n_max = if n.numel() == 0 { 0.0 } else { tch::no_grad(|| n.max().double_value(&[])) };
        if n_max < 1.0 {
            return Ok(term1);
        }
        // j = 1..n_max along a new leading dimension, [J, batch..., K]
        let j = Tensor::arange_start(1, n_max as i64 + 1, (self.dtype(), self.device()));
        let mut j_shape = vec![-1i64];
        j_shape.resize(self.batch_shape.len() + 2, 1);
        let j = j.reshape(j_shape.as_slice());
        let nk = n.unsqueeze(-1);
        // j clamped to n where j > n (masked out below), and 0 · log 0 = 0 where j = n: no NaN
        // in the value or in the gradients
        let inside = j.le_tensor(&nk);
        let jj = j.minimum(&nk);
        let rest = &nk - &jj;
        let log_q = (-logp.exp()).log1p();
        let rest_term = (&rest * log_q).where_self(&rest.gt(0.0), &rest.zeros_like());
        let log_pmf = log_binomial_coefficient(&nk, &jj) + &jj * &logp + rest_term;
        let pmf = log_pmf.exp().where_self(&inside, &log_pmf.zeros_like());
        let term2 = (pmf * (&jj + 1.0).lgamma()).sum_dim_intlist([0, -1].as_slice(), false, None::<Kind>);
        Ok(term1 + term2)
    }

    fn support(&self) -> Support {
        Support::Other("non-negative integer vectors summing to total_count".into())
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        let mut v = self.total_count.trainable_variables();
        v.extend(self.categorical.trainable_variables());
        v
    }
}

handwritten_builders!(Multinomial);
