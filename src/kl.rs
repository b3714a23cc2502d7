//! Kullback-Leibler divergences: closed forms for pairs of families (a registry keyed by the
//! concrete types), and a Monte-Carlo estimator for any pair.
//!
//! `KL(p || q) = E_p[log p(X) - log q(X)]`, of shape the broadcast of the two batch shapes.

use crate::distributions::{
    BatchBroadcast, Bernoulli, Beta, Categorical, Dirichlet, Distribution, Gamma, Independent, Laplace, LogNormal,
    MultivariateNormal, MultivariateNormalDiag, MultivariateNormalTriL, Normal, OneHotCategorical,
    TransformedDistribution, Uniform,
};
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
    |p, q| {
        pair::<Categorical, Categorical>(p, q).map(|(p, q)| {
            check_categories(p, q)?;
            kl_categorical(p.log_probs(), q.log_probs())
        })
    },
    |p, q| {
        pair::<OneHotCategorical, OneHotCategorical>(p, q).map(|(p, q)| {
            let (cp, cq) = (p.categorical(), q.categorical());
            check_categories(cp, cq)?;
            kl_categorical(cp.log_probs(), cq.log_probs())
        })
    },
    |p, q| pair::<Bernoulli, Bernoulli>(p, q).map(|(p, q)| kl_bernoulli(p, q)),
    |p, q| pair::<Gamma, Gamma>(p, q).map(|(p, q)| kl_gamma(p, q)),
    |p, q| pair::<Beta, Beta>(p, q).map(|(p, q)| kl_beta(p, q)),
    |p, q| pair::<Dirichlet, Dirichlet>(p, q).map(|(p, q)| kl_dirichlet(p, q)),
    |p, q| pair::<Uniform, Uniform>(p, q).map(|(p, q)| kl_uniform(p, q)),
    |p, q| pair::<Laplace, Laplace>(p, q).map(|(p, q)| kl_laplace(p, q)),
    |p, q| pair::<MultivariateNormalDiag, MultivariateNormalDiag>(p, q).map(|(p, q)| kl_mvn_diag(p, q)),
    // KL is invariant under a shared bijection: the KL of the underlying normals / bases.
    |p, q| pair::<LogNormal, LogNormal>(p, q).map(|(p, q)| kl_normal_normal(p.normal(), q.normal())),
    |p, q| {
        pair::<TransformedDistribution, TransformedDistribution>(p, q)
            .filter(|(p, q)| std::sync::Arc::ptr_eq(p.bijector(), q.bijector()))
            .map(|(p, q)| kl_divergence(p.base(), q.base()))
    },
    // A broadcast batch: the bases' KL, broadcast to the pair's batch shape.
    |p, q| {
        let (bp, bq) = (p.as_any().downcast_ref::<BatchBroadcast>(), q.as_any().downcast_ref::<BatchBroadcast>());
        if bp.is_none() && bq.is_none() {
            return None;
        }
        let base_p = bp.map(|b| b.base()).unwrap_or(p);
        let base_q = bq.map(|b| b.base()).unwrap_or(q);
        Some(kl_divergence(base_p, base_q).and_then(|kl| {
            let shape = broadcast_shapes("kl_divergence", &p.batch_shape(), &q.batch_shape())?;
            Ok(kl.broadcast_to(shape.as_slice()))
        }))
    },
    // Every other pair among the Gaussian families, through their lower-triangular factors.
    |p, q| {
        (is_gaussian(p) && is_gaussian(q))
            .then(|| kl_mvn_tril(gaussian_factor(p), gaussian_factor(q), p.event_shape()[0]))
    },
];

/// The exact `KL(p || q)`, with gradients to both sides' parameters. Pairs with a closed form
/// (the formulas of torch.distributions.kl):
///
/// * Normal–Normal, Laplace–Laplace, Gamma–Gamma, Beta–Beta, Uniform–Uniform (`inf` where the
///   support of `p` is not inside that of `q`), Bernoulli–Bernoulli;
/// * Categorical–Categorical, OneHotCategorical–OneHotCategorical, Dirichlet–Dirichlet;
/// * Independent–Independent (same reinterpreted dimensions, bases with a closed form);
/// * LogNormal–LogNormal, and TransformedDistribution–TransformedDistribution sharing one
///   bijector (the same `Arc`): the KL of the bases, which a bijection does not change;
/// * BatchBroadcast on either side: the bases' KL, broadcast;
/// * any ordered pair of the Gaussian families MultivariateNormalTriL, MultivariateNormalDiag and
///   MultivariateNormal (full covariance or precision), mixed pairs included.
///
/// Any other pair is an error naming it; [`kl_divergence_mc`] estimates any pair.
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

/// Whether `d` is one of the Gaussian families with a lower-triangular factor.
fn is_gaussian(d: &dyn Distribution) -> bool {
    let any = d.as_any();
    any.is::<MultivariateNormalTriL>() || any.is::<MultivariateNormal>() || any.is::<MultivariateNormalDiag>()
}

/// The mean and lower-triangular scale (`Σ = L Lᵀ`) of a Gaussian family: `scale_tril` for
/// MultivariateNormalTriL and MultivariateNormal, `diag_embed(scale_diag)` for
/// MultivariateNormalDiag.
fn gaussian_factor(d: &dyn Distribution) -> Result<(Tensor, Tensor)> {
    let any = d.as_any();
    let l = if let Some(d) = any.downcast_ref::<MultivariateNormalTriL>() {
        d.scale_tril()?
    } else if let Some(d) = any.downcast_ref::<MultivariateNormal>() {
        d.scale_tril()?
    } else if let Some(d) = any.downcast_ref::<MultivariateNormalDiag>() {
        d.scale_diag().value()?.diag_embed(0, -2, -1)
    } else {
        bail!("kl_divergence: {} is not a Gaussian family with a triangular factor", d.type_name())
    };
    Ok((d.mean()?, l))
}

/// `Σ log|diag Lq| - Σ log|diag Lp| + (|Lq⁻¹ Lp|²_F + |Lq⁻¹ (μq - μp)|² - d) / 2`, with
/// triangular solves (`(μ, L)` pairs from [`gaussian_factor`]).
fn kl_mvn_tril(p: Result<(Tensor, Tensor)>, q: Result<(Tensor, Tensor)>, d: i64) -> Result<Tensor> {
    let ((mp, lp), (mq, lq)) = (p?, q?);
    let log_det = |l: &Tensor| l.diagonal(0, -2, -1).abs().log().sum_dim_intlist(-1, false, None::<Kind>);
    let m = Tensor::linalg_solve_triangular(&lq, &lp, false, true, false);
    let trace = m.square().sum_dim_intlist([-2, -1].as_slice(), false, None::<Kind>);
    let diff = (mq - mp).unsqueeze(-1);
    let maha = Tensor::linalg_solve_triangular(&lq, &diff, false, true, false).square().sum_dim_intlist(
        [-2, -1].as_slice(),
        false,
        None::<Kind>,
    );
    Ok(log_det(&lq) - log_det(&lp) + (trace + maha - d as f64) * 0.5)
}

/// `Σ_i [log|sq_i/sp_i| + ((sp_i/sq_i)² + ((μp_i - μq_i)/sq_i)² - 1) / 2]`: the triangular form
/// with diagonal factors, elementwise.
fn kl_mvn_diag(p: &MultivariateNormalDiag, q: &MultivariateNormalDiag) -> Result<Tensor> {
    let (mp, sp) = (p.loc().value()?, p.scale_diag().value()?);
    let (mq, sq) = (q.loc().value()?, q.scale_diag().value()?);
    let ratio = (&sp / &sq).square();
    let diff = ((mp - mq) / &sq).square();
    let terms = (ratio.shallow_clone() + diff - 1.0 - ratio.log()) * 0.5;
    Ok(terms.sum_dim_intlist(-1, false, None::<Kind>))
}

fn check_categories(p: &Categorical, q: &Categorical) -> Result<()> {
    if p.num_categories() != q.num_categories() {
        bail!("kl_divergence: Categorical over {} and {} categories", p.num_categories(), q.num_categories());
    }
    Ok(())
}

/// `Σ_k p_k (log p_k - log q_k)`, with `0 log 0 = 0` (`log p` and `log q` normalised).
fn kl_categorical(lp: Result<Tensor>, lq: Result<Tensor>) -> Result<Tensor> {
    let (lp, lq) = (lp?, lq?);
    let terms = lp.exp() * (&lp - lq);
    let terms = terms.where_self(&lp.isfinite(), &terms.zeros_like());
    Ok(terms.sum_dim_intlist(-1, false, None::<Kind>))
}

/// `π (log σ(lp) - log σ(lq)) + (1 - π) (log σ(-lp) - log σ(-lq))` with `lp`, `lq` the logits,
/// `π = σ(lp)`, `1 - π = σ(-lp)` (torch's softplus form, accurate for probabilities near 0
/// and 1); a term whose weight is 0 counts 0, and one where `q` gives 0 mass to an outcome
/// `p` can take is `inf`.
fn kl_bernoulli(p: &Bernoulli, q: &Bernoulli) -> Result<Tensor> {
    let (lp, lq) = (p.logits()?, q.logits()?);
    // One side of the sum: `w (log σ(s·lp) - log σ(s·lq))`, with `w = σ(s·lp)`.
    let side = |sign: f64| {
        let (a, b) = (&lp * sign, &lq * sign);
        let w = a.sigmoid();
        let none = w.eq(0.0);
        // Where the weight is 0 the logits may be infinite: replacing both by 0 there makes the
        // term exactly `0 · 0`, so neither the value nor the gradient sees `0 · inf`.
        let zero = Tensor::zeros([], (a.kind(), a.device()));
        let (a, b) = (a.where_self(&none.logical_not(), &zero), b.where_self(&none.logical_not(), &zero));
        w * (a.log_sigmoid() - b.log_sigmoid())
    };
    Ok(side(1.0) + side(-1.0))
}

/// `αq log(βp/βq) + lgamma(αq) - lgamma(αp) + (αp - αq) ψ(αp) + (βq - βp) αp/βp`
/// (concentration `α`, rate `β`).
fn kl_gamma(p: &Gamma, q: &Gamma) -> Result<Tensor> {
    let (ap, bp) = (p.concentration().value()?, p.rate().value()?);
    let (aq, bq) = (q.concentration().value()?, q.rate().value()?);
    Ok(&aq * (&bp / &bq).log() + aq.lgamma() - ap.lgamma() + (&ap - &aq) * ap.digamma() + (bq - &bp) * (ap / bp))
}

/// With `a`, `b` the concentrations (`concentration1`, `concentration0`):
/// `lbeta(aq, bq) - lbeta(ap, bp) + (ap - aq) ψ(ap) + (bp - bq) ψ(bp)
/// + (aq + bq - ap - bp) ψ(ap + bp)`, `lbeta(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b)`.
fn kl_beta(p: &Beta, q: &Beta) -> Result<Tensor> {
    let (ap, bp) = (p.concentration1().value()?, p.concentration0().value()?);
    let (aq, bq) = (q.concentration1().value()?, q.concentration0().value()?);
    let (sp, sq) = (&ap + &bp, &aq + &bq);
    let lbeta = |a: &Tensor, b: &Tensor, s: &Tensor| a.lgamma() + b.lgamma() - s.lgamma();
    Ok(lbeta(&aq, &bq, &sq) - lbeta(&ap, &bp, &sp)
        + (&ap - &aq) * ap.digamma()
        + (&bp - &bq) * bp.digamma()
        + (sq - &sp) * sp.digamma())
}

/// With `α₀ = Σ_k α_k`: `lgamma(αp₀) - lgamma(αq₀) - Σ_k (lgamma(αp_k) - lgamma(αq_k))
/// + Σ_k (αp_k - αq_k) (ψ(αp_k) - ψ(αp₀))`.
fn kl_dirichlet(p: &Dirichlet, q: &Dirichlet) -> Result<Tensor> {
    let (ap, aq) = (p.concentration().value()?, q.concentration().value()?);
    let sum = |t: &Tensor| t.sum_dim_intlist(-1, false, None::<Kind>);
    let (sp, sq) = (sum(&ap), sum(&aq));
    let t = sum(&((&ap - &aq) * (ap.digamma() - sp.digamma().unsqueeze(-1))));
    Ok(sp.lgamma() - sq.lgamma() - sum(&(ap.lgamma() - aq.lgamma())) + t)
}

/// `log((highq - lowq) / (highp - lowp))`, and `inf` where `[lowp, highp]` is not inside
/// `[lowq, highq]` (`lowq > lowp` or `highq < highp`).
fn kl_uniform(p: &Uniform, q: &Uniform) -> Result<Tensor> {
    let (lp, hp) = (p.low().value()?, p.high().value()?);
    let (lq, hq) = (q.low().value()?, q.high().value()?);
    let outside = lq.gt_tensor(&lp).logical_or(&hq.lt_tensor(&hp));
    let kl = ((hq - lq) / (hp - lp)).log();
    Ok(kl.where_self(&outside.logical_not(), &kl.full_like(f64::INFINITY)))
}

/// `log(bq/bp) + |μp - μq|/bq + (bp/bq) exp(-|μp - μq|/bp) - 1` (loc `μ`, scale `b`).
fn kl_laplace(p: &Laplace, q: &Laplace) -> Result<Tensor> {
    let (mp, bp) = (p.loc().value()?, p.scale().value()?);
    let (mq, bq) = (q.loc().value()?, q.scale().value()?);
    let ratio = &bp / &bq;
    let dist = (mp - mq).abs();
    Ok(-ratio.log() + &dist / bq + ratio * (-dist / bp).exp() - 1.0)
}
