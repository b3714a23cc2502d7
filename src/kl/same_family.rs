//! Closed-form KL divergences between two members of one family (torch.distributions.kl's
//! formulas, with the accurate forms noted).

use super::{inf_where, GammaLike, EULER};
use crate::distributions::{
    Bernoulli, Beta, Binomial, Categorical, Cauchy, ContinuousBernoulli, Dirichlet, Distribution as _, Exponential,
    Geometric, Gumbel, HalfNormal, Laplace, Normal, OneHotCategorical, Pareto, Poisson, Uniform,
};
use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// `log(σq/σp) + (σp² + (μp - μq)²) / (2σq²) - 1/2`.
pub(super) fn normal_normal(p: &Normal, q: &Normal) -> Result<Tensor> {
    let (mp, sp) = (p.loc().value()?, p.scale().value()?);
    let (mq, sq) = (q.loc().value()?, q.scale().value()?);
    let ratio = (&sp / &sq).square();
    let diff = ((mp - mq) / &sq).square();
    Ok((ratio.shallow_clone() + diff - 1.0 - ratio.log()) * 0.5)
}

fn check_categories(p: &Categorical, q: &Categorical) -> Result<()> {
    if p.num_categories() != q.num_categories() {
        bail!("kl_divergence: Categorical over {} and {} categories", p.num_categories(), q.num_categories());
    }
    Ok(())
}

/// [`categorical`] after checking the numbers of categories.
pub(super) fn categorical_categorical(p: &Categorical, q: &Categorical) -> Result<Tensor> {
    check_categories(p, q)?;
    categorical(p.log_probs(), q.log_probs())
}

/// The Categorical KL of the underlying categoricals.
pub(super) fn one_hot_one_hot(p: &OneHotCategorical, q: &OneHotCategorical) -> Result<Tensor> {
    categorical_categorical(p.categorical(), q.categorical())
}

/// `Σ_k p_k (log p_k - log q_k)`, with `0 log 0 = 0` (`log p` and `log q` normalised).
fn categorical(lp: Result<Tensor>, lq: Result<Tensor>) -> Result<Tensor> {
    let (lp, lq) = (lp?, lq?);
    let terms = lp.exp() * (&lp - lq);
    let terms = terms.where_self(&lp.isfinite(), &terms.zeros_like());
    Ok(terms.sum_dim_intlist(-1, false, None::<Kind>))
}

/// `π (log σ(lp) - log σ(lq)) + (1 - π) (log σ(-lp) - log σ(-lq))` with `lp`, `lq` the logits,
/// `π = σ(lp)`, `1 - π = σ(-lp)` (torch's softplus form, accurate for probabilities near 0
/// and 1); a term whose weight is 0 counts 0, and one where `q` gives 0 mass to an outcome
/// `p` can take is `inf`.
pub(super) fn bernoulli_bernoulli(p: &Bernoulli, q: &Bernoulli) -> Result<Tensor> {
    Ok(bernoulli_logits(&p.logits()?, &q.logits()?))
}

/// [`bernoulli_bernoulli`] from the two sides' logits.
fn bernoulli_logits(lp: &Tensor, lq: &Tensor) -> Tensor {
    // One side of the sum: `w (log σ(s·lp) - log σ(s·lq))`, with `w = σ(s·lp)`.
    let side = |sign: f64| {
        let (a, b) = (lp * sign, lq * sign);
        let w = a.sigmoid();
        let none = w.eq(0.0);
        // Where the weight is 0 the logits may be infinite: replacing both by 0 there makes the
        // term exactly `0 · 0`, so neither the value nor the gradient sees `0 · inf`.
        let zero = Tensor::zeros([], (a.kind(), a.device()));
        let (a, b) = (a.where_self(&none.logical_not(), &zero), b.where_self(&none.logical_not(), &zero));
        w * (a.log_sigmoid() - b.log_sigmoid())
    };
    side(1.0) + side(-1.0)
}

/// `n · KL(Bernoulli(πp) || Bernoulli(πq))` where the counts are equal (torch's formula), `inf`
/// where `p`'s count exceeds `q`'s (torch). Where `q`'s count is the larger there is no closed
/// form: an error, as torch raises (a host check of the counts).
pub(super) fn binomial_binomial(p: &Binomial, q: &Binomial) -> Result<Tensor> {
    let (np, nq) = (p.total_count().value()?, q.total_count().value()?);
    if np.lt_tensor(&nq).any().int64_value(&[]) != 0 {
        bail!("kl_divergence: no closed form for KL(Binomial || Binomial) where q's total_count exceeds p's");
    }
    Ok(inf_where(&np * bernoulli_logits(&p.logits()?, &q.logits()?), &np.gt_tensor(&nq)))
}

/// `αq log(βp/βq) + lgamma(αq) - lgamma(αp) + (αp - αq) ψ(αp) + (βq - βp) αp/βp`
/// (concentration `α`, rate `β`; a Chi2 is `Gamma(k/2, 1/2)`).
pub(super) fn gamma_gamma(p: GammaLike, q: GammaLike) -> Result<Tensor> {
    let ((ap, bp), (aq, bq)) = (p.params()?, q.params()?);
    Ok(&aq * (&bp / &bq).log() + aq.lgamma() - ap.lgamma() + (&ap - &aq) * ap.digamma() + (bq - &bp) * (ap / bp))
}

/// With `a`, `b` the concentrations (`concentration1`, `concentration0`):
/// `lbeta(aq, bq) - lbeta(ap, bp) + (ap - aq) ψ(ap) + (bp - bq) ψ(bp)
/// + (aq + bq - ap - bp) ψ(ap + bp)`, `lbeta(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b)`.
pub(super) fn beta_beta(p: &Beta, q: &Beta) -> Result<Tensor> {
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
pub(super) fn dirichlet_dirichlet(p: &Dirichlet, q: &Dirichlet) -> Result<Tensor> {
    let (ap, aq) = (p.concentration().value()?, q.concentration().value()?);
    let sum = |t: &Tensor| t.sum_dim_intlist(-1, false, None::<Kind>);
    let (sp, sq) = (sum(&ap), sum(&aq));
    let t = sum(&((&ap - &aq) * (ap.digamma() - sp.digamma().unsqueeze(-1))));
    Ok(sp.lgamma() - sq.lgamma() - sum(&(ap.lgamma() - aq.lgamma())) + t)
}

/// `log((highq - lowq) / (highp - lowp))`, and `inf` where `[lowp, highp]` is not inside
/// `[lowq, highq]` (`lowq > lowp` or `highq < highp`).
pub(super) fn uniform_uniform(p: &Uniform, q: &Uniform) -> Result<Tensor> {
    let (lp, hp) = (p.low().value()?, p.high().value()?);
    let (lq, hq) = (q.low().value()?, q.high().value()?);
    let outside = lq.gt_tensor(&lp).logical_or(&hq.lt_tensor(&hp));
    Ok(inf_where(((hq - lq) / (hp - lp)).log(), &outside))
}

/// `log(bq/bp) + |μp - μq|/bq + (bp/bq) exp(-|μp - μq|/bp) - 1` (loc `μ`, scale `b`).
pub(super) fn laplace_laplace(p: &Laplace, q: &Laplace) -> Result<Tensor> {
    let (mp, bp) = (p.loc().value()?, p.scale().value()?);
    let (mq, bq) = (q.loc().value()?, q.scale().value()?);
    let ratio = &bp / &bq;
    let dist = (mp - mq).abs();
    Ok(-ratio.log() + &dist / bq + ratio * (-dist / bp).exp() - 1.0)
}

/// `log(((γp + γq)² + (x₀p - x₀q)²) / (4 γp γq))` (loc `x₀`, scale `γ`; Chyzak and Nielsen 2019).
pub(super) fn cauchy_cauchy(p: &Cauchy, q: &Cauchy) -> Result<Tensor> {
    let (mp, sp) = (p.loc().value()?, p.scale().value()?);
    let (mq, sq) = (q.loc().value()?, q.scale().value()?);
    Ok(((&sp + &sq).square() + (mp - mq).square()).log() - (sp * sq * 4.0).log())
}

/// `r - log r - 1` with `r = λq/λp`.
pub(super) fn exponential_exponential(p: &Exponential, q: &Exponential) -> Result<Tensor> {
    let r = q.rate().value()? / p.rate().value()?;
    Ok(&r - r.log() - 1.0)
}

/// `log(p/q) + ((1 - p)/p) log((1 - p)/(1 - q))` (success probabilities `p`, `q`), from the
/// log-probabilities (accurate from logits); the second term is 0 where `p = 1`. torch's
/// `-H(p) - log1p(-q)/p - logit(q)` is the same sum.
pub(super) fn geometric_geometric(p: &Geometric, q: &Geometric) -> Result<Tensor> {
    let (lp, lp1) = p.log_probs("kl_divergence")?;
    let (lq, lq1) = q.log_probs("kl_divergence")?;
    let w = (&lp1 - &lp).exp();
    let none = w.eq(0.0);
    // Where p = 1 (w = 0) log(1 - p) is -inf: the difference is replaced by 0 there, so the
    // term is exactly 0 for the value and the gradient.
    let d = (lp1 - lq1).where_scalarother(&none.logical_not(), 0.0);
    Ok(lp - lq + w * d)
}

/// With `r = βp/βq`, `d = (μq - μp)/βq`: `-log r + γ r - d + exp(d + lgamma(1 + r)) - (1 + γ)`
/// (torch's formula, the exponent gathered into one `exp`).
pub(super) fn gumbel_gumbel(p: &Gumbel, q: &Gumbel) -> Result<Tensor> {
    let (mp, sp) = (p.loc().value()?, p.scale().value()?);
    let (mq, sq) = (q.loc().value()?, q.scale().value()?);
    let r = &sp / &sq;
    let d = (mq - mp) / sq;
    Ok(-r.log() + &r * EULER - &d + (&d + (r + 1.0).lgamma()).exp() - (1.0 + EULER))
}

/// The Normal–Normal KL with both locations 0: `(r - 1 - log r)/2`, `r = (σp/σq)²`.
pub(super) fn half_normal_half_normal(p: &HalfNormal, q: &HalfNormal) -> Result<Tensor> {
    let r = (p.scale().value()? / q.scale().value()?).square();
    Ok((&r - 1.0 - r.log()) * 0.5)
}

/// `αq log(mp/mq) - log(αq/αp) + αq/αp - 1` (scale `m`, shape `α`), `inf` where
/// `mp < mq` (p puts mass below q's support).
pub(super) fn pareto_pareto(p: &Pareto, q: &Pareto) -> Result<Tensor> {
    let (mp, ap) = (p.scale().value()?, p.alpha().value()?);
    let (mq, aq) = (q.scale().value()?, q.alpha().value()?);
    let outside = mp.lt_tensor(&mq);
    let r = &aq / ap;
    Ok(inf_where(aq * (mp / mq).log() - r.log() + r - 1.0, &outside))
}

/// `λp log(λp/λq) - λp + λq`, with `xlogy` so that `λp = 0` gives `λq` (torch: NaN) and
/// `λq = 0 < λp` gives `inf`.
pub(super) fn poisson_poisson(p: &Poisson, q: &Poisson) -> Result<Tensor> {
    let (rp, rq) = (p.rate().value()?, q.rate().value()?);
    Ok(rp.special_xlogy(&rp) - rp.special_xlogy(&rq) - rp + rq)
}

/// With `λ` the logits and `A(λ) = softplus(λ) - log C(λ)` the log-normalizer
/// (`log p(x) = λx - A(λ)`): `A(λq) - A(λp) - (λq - λp) mean_p`, torch's
/// `mean_p (λp - λq) + log C(λp) + log(1 - πp) - log C(λq) - log(1 - πq)` with
/// `log(1 - π) = -softplus(λ)` from the logits (no clamp of `π`) and the accurate log-normalizer
/// and mean near `λ = 0`.
pub(super) fn continuous_bernoulli_continuous_bernoulli(
    p: &ContinuousBernoulli,
    q: &ContinuousBernoulli,
) -> Result<Tensor> {
    Ok(q.log_partition()? - p.log_partition()? - (q.logits()? - p.logits()?) * p.mean()?)
}
