//! Kullback-Leibler divergences: closed forms for pairs of families (a registry keyed by the
//! concrete types), and a Monte-Carlo estimator for any pair.
//!
//! `KL(p || q) = E_p[log p(X) - log q(X)]`, of shape the broadcast of the two batch shapes.

use crate::distributions::{Categorical, Distribution, Independent, MultivariateNormalTriL, Normal};
use crate::shape::{broadcast_shapes, fmt_shape, kind_name, sum_last};
use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// A closed form for one ordered pair of families: `None` when the pair is not its own.
type Rule = fn(&dyn Distribution, &dyn Distribution) -> Option<Result<Tensor>>;

/// Downcasts both sides, or gives `None`.
fn pair<'a, P: 'static, Q: 'static>(p: &'a dyn Distribution, q: &'a dyn Distribution) -> Option<(&'a P, &'a Q)> {
    Some((p.as_any().downcast_ref::<P>()?, q.as_any().downcast_ref::<Q>()?))
}

const RULES: &[Rule] = &[
    |p, q| pair::<Normal, Normal>(p, q).map(|(p, q)| kl_normal_normal(p, q)),
    |p, q| pair::<Independent, Independent>(p, q).map(|(p, q)| kl_independent(p, q)),
    |p, q| pair::<MultivariateNormalTriL, MultivariateNormalTriL>(p, q).map(|(p, q)| kl_mvn_tril(p, q)),
    |p, q| pair::<Categorical, Categorical>(p, q).map(|(p, q)| kl_categorical(p, q)),
];

/// The exact `KL(p || q)`, with gradients to both sides' parameters. Pairs with a closed form:
/// Normal–Normal, Independent–Independent (same reinterpreted dimensions, bases with a closed
/// form), MultivariateNormalTriL–MultivariateNormalTriL, Categorical–Categorical. Any other pair
/// is an error naming it; [`kl_divergence_mc`] estimates any pair.
pub fn kl_divergence(p: &dyn Distribution, q: &dyn Distribution) -> Result<Tensor> {
    check_pair("kl_divergence", p, q)?;
    for rule in RULES {
        if let Some(kl) = rule(p, q) {
            return kl;
        }
    }
    bail!(
        "kl_divergence: no closed form for KL({} || {}); use kl_divergence_mc for a Monte-Carlo estimate",
        p.type_name(),
        q.type_name()
    )
}

/// A Monte-Carlo estimate of `KL(p || q)`: the mean of `log p(x) - log q(x)` over
/// `num_samples` draws `x ~ p` (reparameterized, so differentiable, when `p` has `rsample`).
/// Its standard error shrinks as `1/sqrt(num_samples)`.
pub fn kl_divergence_mc(p: &dyn Distribution, q: &dyn Distribution, num_samples: i64) -> Result<Tensor> {
    check_pair("kl_divergence_mc", p, q)?;
    if num_samples < 1 {
        bail!("kl_divergence_mc: expected num_samples >= 1, got {num_samples}");
    }
    let x = if p.has_rsample() { p.rsample(&[num_samples])? } else { p.sample(&[num_samples])? };
    Ok((p.log_prob(&x)? - q.log_prob(&x)?).mean_dim(0, false, None::<Kind>))
}

fn check_pair(op: &str, p: &dyn Distribution, q: &dyn Distribution) -> Result<()> {
    if p.event_shape() != q.event_shape() {
        bail!(
            "{op}: the event shapes differ: {} for {} and {} for {}",
            fmt_shape(&p.event_shape()),
            p.type_name(),
            fmt_shape(&q.event_shape()),
            q.type_name()
        );
    }
    if p.dtype() != q.dtype() {
        bail!("{op}: p is {} but q is {}", kind_name(p.dtype()), kind_name(q.dtype()));
    }
    if p.device() != q.device() {
        bail!("{op}: p is on {:?} but q is on {:?}", p.device(), q.device());
    }
    broadcast_shapes(op, &p.batch_shape(), &q.batch_shape())?;
    Ok(())
}

/// `log(σq/σp) + (σp² + (μp - μq)²) / (2σq²) - 1/2`.
fn kl_normal_normal(p: &Normal, q: &Normal) -> Result<Tensor> {
    let (mp, sp) = (p.loc().value()?, p.scale().value()?);
    let (mq, sq) = (q.loc().value()?, q.scale().value()?);
    let ratio = (&sp / &sq).square();
    let diff = ((mp - mq) / &sq).square();
    Ok((ratio.shallow_clone() + diff - 1.0 - ratio.log()) * 0.5)
}

/// The bases' KL summed over the reinterpreted dimensions.
fn kl_independent(p: &Independent, q: &Independent) -> Result<Tensor> {
    let n = p.reinterpreted_batch_ndims();
    if n != q.reinterpreted_batch_ndims() || p.base().event_shape() != q.base().event_shape() {
        bail!(
            "kl_divergence: Independent distributions with different reinterpreted dimensions ({n} and {}) or base event shapes",
            q.reinterpreted_batch_ndims()
        );
    }
    Ok(sum_last(&kl_divergence(p.base(), q.base())?, n))
}

/// `Σ log|diag Lq| - Σ log|diag Lp| + (|Lq⁻¹ Lp|²_F + |Lq⁻¹ (μq - μp)|² - d) / 2`, with
/// triangular solves.
fn kl_mvn_tril(p: &MultivariateNormalTriL, q: &MultivariateNormalTriL) -> Result<Tensor> {
    let (lp, lq) = (p.scale_tril()?, q.scale_tril()?);
    let d = p.event_shape()[0] as f64;
    let log_det = |l: &Tensor| l.diagonal(0, -2, -1).abs().log().sum_dim_intlist(-1, false, None::<Kind>);
    let m = Tensor::linalg_solve_triangular(&lq, &lp, false, true, false);
    let trace = m.square().sum_dim_intlist([-2, -1].as_slice(), false, None::<Kind>);
    let diff = (q.mean()? - p.mean()?).unsqueeze(-1);
    let maha = Tensor::linalg_solve_triangular(&lq, &diff, false, true, false).square().sum_dim_intlist(
        [-2, -1].as_slice(),
        false,
        None::<Kind>,
    );
    Ok(log_det(&lq) - log_det(&lp) + (trace + maha - d) * 0.5)
}

/// `Σ_k p_k (log p_k - log q_k)`, with `0 log 0 = 0`.
fn kl_categorical(p: &Categorical, q: &Categorical) -> Result<Tensor> {
    if p.num_categories() != q.num_categories() {
        bail!("kl_divergence: Categorical over {} and {} categories", p.num_categories(), q.num_categories());
    }
    let (lp, lq) = (p.log_probs()?, q.log_probs()?);
    let terms = lp.exp() * (&lp - lq);
    let terms = terms.where_self(&lp.isfinite(), &terms.zeros_like());
    Ok(terms.sum_dim_intlist(-1, false, None::<Kind>))
}
