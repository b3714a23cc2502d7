//! Closed-form KL divergences between two different families: torch.distributions.kl's pairs.
//! Most are `-H(p) + E_p[-log q(X)]` with `p`'s moments; where the support of `p` is not inside
//! that of `q` the KL is `inf`, with torch's conditions. A Gamma side is a [`GammaLike`] (Gamma
//! or Chi2).

use super::{inf_where, tame, GammaLike, EULER};
use crate::distributions::{
    gamma_entropy, Bernoulli, Beta, Binomial, ContinuousBernoulli, Distribution as _, Exponential, Gumbel, Laplace,
    Normal, Pareto, Poisson, Uniform, HALF_LOG_TWO_PI,
};
use anyhow::Result;
use std::f64::consts::PI;
use tch::Tensor;

/// `E_p[-log q(X)]` for `q = Normal(μ, σ)`, from `p`'s mean and variance:
/// `log σ + log(2π)/2 + (Var + (mean - μ)²) / (2σ²)` (the accurate form of torch's expanded
/// `(Var + mean²)/2 - μ mean + μ²/2`, which cancels for large `μ`).
fn normal_cross_entropy(mean: &Tensor, var: &Tensor, q: &Normal) -> Result<Tensor> {
    let (mu, sigma) = (q.loc().value()?, q.scale().value()?);
    Ok(sigma.log() + HALF_LOG_TWO_PI + (var + (mean - mu).square()) / (sigma.square() * 2.0))
}

/// `E_p[-log q(X)]` for `q = ContinuousBernoulli(λ)`, from `p`'s mean: `A(λ) - λ mean` with
/// `A(λ) = softplus(λ) - log C(λ)` the log-normalizer (torch's `-mean λ - log(1 - π) - log C(λ)`,
/// `log(1 - π) = -softplus(λ)` from the logits).
fn continuous_bernoulli_cross_entropy(mean: &Tensor, q: &ContinuousBernoulli) -> Result<Tensor> {
    Ok(q.log_partition()? - q.logits()? * mean)
}

/// `x log x` with `0 log 0 = 0`.
fn x_log_x(x: &Tensor) -> Tensor {
    x.special_xlogy(x)
}

/// `E[log X]` for `X ~ Uniform(l, h)`: `(h log h - l log l - (h - l)) / (h - l)`.
fn uniform_mean_log(l: &Tensor, h: &Tensor) -> Tensor {
    let w = h - l;
    (x_log_x(h) - x_log_x(l) - &w) / w
}

/// `-H(p) + λ - π log λ` (`π` the probability of 1, `xlogy`: `π = 0` gives `λ`).
pub(super) fn bernoulli_poisson(p: &Bernoulli, q: &Poisson) -> Result<Tensor> {
    let rate = q.rate().value()?;
    Ok(-p.entropy()? + &rate - p.probs()?.special_xlogy(&rate))
}

/// `inf` (torch): a Poisson puts mass on 2, 3, ... Where the rate is 0 the Poisson is a point
/// mass at 0 and the KL is `-log(1 - π_q) = softplus(logits_q)` (torch: `inf`).
pub(super) fn poisson_bernoulli(p: &Poisson, q: &Bernoulli) -> Result<Tensor> {
    let rate = p.rate().value()?;
    Ok(inf_where(q.logits()?.softplus(), &rate.ne(0.0)))
}

/// `inf` (torch): a Poisson's support is unbounded. Where the rate is 0 the Poisson is a point
/// mass at 0 and the KL is `-n log(1 - π_q) = n softplus(logits_q)` (torch: `inf`).
pub(super) fn poisson_binomial(p: &Poisson, q: &Binomial) -> Result<Tensor> {
    let rate = p.rate().value()?;
    Ok(inf_where(q.total_count().value()? * q.logits()?.softplus(), &rate.ne(0.0)))
}

/// `-H(p) - log λ + λ a/(a + b)`.
pub(super) fn beta_exponential(p: &Beta, q: &Exponential) -> Result<Tensor> {
    let (a, b) = (p.concentration1().value()?, p.concentration0().value()?);
    let rate = q.rate().value()?;
    Ok(-p.entropy()? - rate.log() + rate * (&a / (&a + b)))
}

/// `-H(p) + lgamma(α) - α log β - (α - 1)(ψ(a) - ψ(a + b)) + β a/(a + b)`.
pub(super) fn beta_gamma(p: &Beta, q: GammaLike) -> Result<Tensor> {
    let (a, b) = (p.concentration1().value()?, p.concentration0().value()?);
    let (alpha, beta) = q.params()?;
    let s = &a + b;
    Ok(-p.entropy()? + alpha.lgamma() - &alpha * beta.log() - (alpha - 1.0) * (a.digamma() - s.digamma())
        + beta * (a / s))
}

/// `-H(p) + E_p[-log q]` with mean `E = a/(a + b)` and variance `E(1 - E)/(a + b + 1)`.
pub(super) fn beta_normal(p: &Beta, q: &Normal) -> Result<Tensor> {
    let (a, b) = (p.concentration1().value()?, p.concentration0().value()?);
    let s = &a + b;
    let mean = a / &s;
    let var = &mean * (-&mean + 1.0) / (s + 1.0);
    Ok(-p.entropy()? + normal_cross_entropy(&mean, &var, q)?)
}

/// `-H(p) + log(high - low)`, `inf` where `low > 0` or `high < 1` (torch's condition).
pub(super) fn beta_uniform(p: &Beta, q: &Uniform) -> Result<Tensor> {
    let (low, high) = (q.low().value()?, q.high().value()?);
    let outside = low.gt(0.0).logical_or(&high.lt(1.0));
    Ok(inf_where(-p.entropy()? + (high - low).log(), &outside))
}

/// `-H(p) + A(λ) - λ a/(a + b)` ([`continuous_bernoulli_cross_entropy`] at the Beta mean).
pub(super) fn beta_continuous_bernoulli(p: &Beta, q: &ContinuousBernoulli) -> Result<Tensor> {
    Ok(-p.entropy()? + continuous_bernoulli_cross_entropy(&p.mean()?, q)?)
}

/// `-H(p) - log λ + λ mean_p` (`λ` the rate).
pub(super) fn continuous_bernoulli_exponential(p: &ContinuousBernoulli, q: &Exponential) -> Result<Tensor> {
    let rate = q.rate().value()?;
    Ok(-p.entropy()? - rate.log() + rate * p.mean()?)
}

/// `-H(p) + E_p[-log q]` with `p`'s mean and variance.
pub(super) fn continuous_bernoulli_normal(p: &ContinuousBernoulli, q: &Normal) -> Result<Tensor> {
    Ok(-p.entropy()? + normal_cross_entropy(&p.mean()?, &p.variance()?, q)?)
}

/// `-H(p) + log(high - low)`, `inf` where `low >= 0` or `high <= 1` (torch's condition, which
/// counts bounds exactly at 0 or 1 as outside, unlike Beta–Uniform's).
pub(super) fn continuous_bernoulli_uniform(p: &ContinuousBernoulli, q: &Uniform) -> Result<Tensor> {
    let (low, high) = (q.low().value()?, q.high().value()?);
    let outside = low.ge(0.0).logical_or(&high.le(1.0));
    Ok(inf_where(-p.entropy()? + (high - low).log(), &outside))
}

/// `-α log(β/λ) + β/λ + lgamma(α) + αγ - (1 + γ)` (`γ` Euler's constant).
pub(super) fn exponential_gamma(p: &Exponential, q: GammaLike) -> Result<Tensor> {
    let (alpha, beta) = q.params()?;
    let r = beta / p.rate().value()?;
    Ok(-&alpha * r.log() + r + alpha.lgamma() + alpha * EULER - (1.0 + EULER))
}

/// With `s = λσ`, `m = μ/σ`: `log s - 1 + 1/s - m + e^m s/(s + 1)`.
pub(super) fn exponential_gumbel(p: &Exponential, q: &Gumbel) -> Result<Tensor> {
    let (mu, sigma) = (q.loc().value()?, q.scale().value()?);
    let s = p.rate().value()? * &sigma;
    let m = mu / sigma;
    Ok(s.log() - 1.0 + s.reciprocal() - &m + m.exp() * (&s / (&s + 1.0)))
}

/// `-H(p) + E_p[-log q]` with `H = 1 - log λ`, mean `1/λ`, variance `1/λ²`.
pub(super) fn exponential_normal(p: &Exponential, q: &Normal) -> Result<Tensor> {
    let mean = p.rate().value()?.reciprocal();
    let var = mean.square();
    Ok(-mean.log() - 1.0 + normal_cross_entropy(&mean, &var, q)?)
}

/// `-H(p) - log λ + λ α/β`.
pub(super) fn gamma_exponential(p: GammaLike, q: &Exponential) -> Result<Tensor> {
    let (a, b) = p.params()?;
    let rate = q.rate().value()?;
    Ok(-gamma_entropy(&a, &b) - rate.log() + rate * (a / b))
}

/// With `s = βσ`, `m = μ/σ`: `(α - 1)ψ(α) - lgamma(α) - α + log s + α/s - m
/// + exp(m - α log(1 + 1/s))` (torch's `e^m (1 + 1/s)^(-α)` in one `exp`).
pub(super) fn gamma_gumbel(p: GammaLike, q: &Gumbel) -> Result<Tensor> {
    let (a, b) = p.params()?;
    let (mu, sigma) = (q.loc().value()?, q.scale().value()?);
    let s = b * &sigma;
    let m = mu / sigma;
    Ok((&a - 1.0) * a.digamma() - a.lgamma() - &a + s.log() + &a / &s - &m + (m - &a * s.reciprocal().log1p()).exp())
}

/// `-H(p) + E_p[-log q]` with mean `α/β`, variance `α/β²`.
pub(super) fn gamma_normal(p: GammaLike, q: &Normal) -> Result<Tensor> {
    let (a, b) = p.params()?;
    let mean = &a / &b;
    let var = &mean / &b;
    Ok(-gamma_entropy(&a, &b) + normal_cross_entropy(&mean, &var, q)?)
}

/// `-H(p) + E_p[-log q]` with `H = log σp + 1 + γ`, mean `μp + σp γ`, variance `(π σp)²/6`.
pub(super) fn gumbel_normal(p: &Gumbel, q: &Normal) -> Result<Tensor> {
    let (mu, sigma) = (p.loc().value()?, p.scale().value()?);
    let mean = mu + &sigma * EULER;
    let var = sigma.square() * (PI * PI / 6.0);
    Ok(-sigma.log() - (1.0 + EULER) + normal_cross_entropy(&mean, &var, q)?)
}

/// `-H(p) + E_p[-log q]` with `H = 1 + log(2b)`, mean `μ`, variance `2b²`.
pub(super) fn laplace_normal(p: &Laplace, q: &Normal) -> Result<Tensor> {
    let (mu, b) = (p.loc().value()?, p.scale().value()?);
    let var = b.square() * 2.0;
    Ok(-(b * 2.0).log() - 1.0 + normal_cross_entropy(&mu, &var, q)?)
}

/// With `d = μp - μq`, `r = σp/σq`, `v = r²`: `-log r + d/σq + exp(-d/σq + v/2)
/// - (1 + log 2π)/2` (torch's formula with the locations' difference taken first).
pub(super) fn normal_gumbel(p: &Normal, q: &Gumbel) -> Result<Tensor> {
    let (mp, sp) = (p.loc().value()?, p.scale().value()?);
    let (mq, sq) = (q.loc().value()?, q.scale().value()?);
    let r = sp / &sq;
    let d = (mp - mq) / sq;
    Ok(-r.log() + &d + (-d + r.square() * 0.5).exp() - (0.5 + HALF_LOG_TWO_PI))
}

/// With `d = μp - μq`: `-log(σp/bq) + (√(2/π) σp exp(-d²/(2σp²)) + d erf(d/(σp√2)))/bq
/// - (1 + log(π/2))/2`.
pub(super) fn normal_laplace(p: &Normal, q: &Laplace) -> Result<Tensor> {
    let (mp, sp) = (p.loc().value()?, p.scale().value()?);
    let (mq, bq) = (q.loc().value()?, q.scale().value()?);
    let d = mp - mq;
    let z = &d / &sp;
    let abs_mean =
        &sp * (2.0 / PI).sqrt() * (z.square() * -0.5).exp() + d * (z * std::f64::consts::FRAC_1_SQRT_2).erf();
    Ok(-(sp / &bq).log() + abs_mean / bq - 0.5 * (1.0 + (PI / 2.0).ln()))
}

/// With `s = mλ`: `log(α/s) - 1/α + αs/(α - 1) - 1`, `inf` where `α <= 1` (infinite mean).
pub(super) fn pareto_exponential(p: &Pareto, q: &Exponential) -> Result<Tensor> {
    let (m, alpha) = (p.scale().value()?, p.alpha().value()?);
    let outside = alpha.le(1.0);
    let a = tame(&alpha, &outside, 2.0);
    let s = m * q.rate().value()?;
    Ok(inf_where((&a / &s).log() - a.reciprocal() + &a * s / (&a - 1.0) - 1.0, &outside))
}

/// With `c = E log X = log m + 1/α`: `log α - c + lgamma(αq) - αq log βq + (1 - αq) c
/// + βq αm/(α - 1) - 1`, `inf` where `α <= 1` (infinite mean).
pub(super) fn pareto_gamma(p: &Pareto, q: GammaLike) -> Result<Tensor> {
    let (m, alpha) = (p.scale().value()?, p.alpha().value()?);
    let (aq, bq) = q.params()?;
    let outside = alpha.le(1.0);
    let a = tame(&alpha, &outside, 2.0);
    let c = m.log() + a.reciprocal();
    let kl = a.log() - &c + aq.lgamma() - &aq * bq.log() + (-aq + 1.0) * c + bq * &a * m / (&a - 1.0) - 1.0;
    Ok(inf_where(kl, &outside))
}

/// `-H(p) + E_p[-log q]` with `H = log(m/α) + 1/α + 1`, mean `αm/(α - 1)`, variance
/// `m²α/((α - 1)²(α - 2))`; `inf` where `α <= 2` (infinite variance).
pub(super) fn pareto_normal(p: &Pareto, q: &Normal) -> Result<Tensor> {
    let (m, alpha) = (p.scale().value()?, p.alpha().value()?);
    let outside = alpha.le(2.0);
    let a = tame(&alpha, &outside, 3.0);
    let c = &m / (&a - 1.0);
    let mean = &a * &c;
    let var = &a * c.square() / (&a - 2.0);
    let entropy = (m / &a).log() + a.reciprocal() + 1.0;
    Ok(inf_where(-entropy + normal_cross_entropy(&mean, &var, q)?, &outside))
}

/// `lbeta(a, b) - log w - (a - 1) E log X - (b - 1) E log(1 - X)` for `X ~ Uniform(l, h)`,
/// `w = h - l`; `inf` where `h > 1` or `l < 0` (torch's condition).
pub(super) fn uniform_beta(p: &Uniform, q: &Beta) -> Result<Tensor> {
    let (low, high) = (p.low().value()?, p.high().value()?);
    let (a, b) = (q.concentration1().value()?, q.concentration0().value()?);
    let outside = high.gt(1.0).logical_or(&low.lt(0.0));
    let (l, h) = (tame(&low, &outside, 0.25), tame(&high, &outside, 0.75));
    let w = &h - &l;
    let mean_log = uniform_mean_log(&l, &h);
    // E log(1 - X): X ↦ 1 - X maps Uniform(l, h) onto Uniform(1 - h, 1 - l).
    let mean_log1m = uniform_mean_log(&(-&h + 1.0), &(-&l + 1.0));
    let lbeta = a.lgamma() + b.lgamma() - (&a + &b).lgamma();
    Ok(inf_where(lbeta - w.log() - (a - 1.0) * mean_log - (b - 1.0) * mean_log1m, &outside))
}

/// `-log(h - l) + A(λ) - λ(h + l)/2` ([`continuous_bernoulli_cross_entropy`] at the Uniform
/// mean), `inf` where `h >= 1` or `l <= 0` (torch's condition, which counts bounds exactly at 0
/// or 1 as outside, unlike Uniform–Beta's).
pub(super) fn uniform_continuous_bernoulli(p: &Uniform, q: &ContinuousBernoulli) -> Result<Tensor> {
    let (low, high) = (p.low().value()?, p.high().value()?);
    let outside = high.ge(1.0).logical_or(&low.le(0.0));
    let mean = (&high + &low) * 0.5;
    Ok(inf_where(-(high - low).log() + continuous_bernoulli_cross_entropy(&mean, q)?, &outside))
}

/// `λ(h + l)/2 - log((h - l)λ)`, `inf` where `l < 0`.
pub(super) fn uniform_exponential(p: &Uniform, q: &Exponential) -> Result<Tensor> {
    let (low, high) = (p.low().value()?, p.high().value()?);
    let rate = q.rate().value()?;
    let outside = low.lt(0.0);
    Ok(inf_where(&rate * (&high + &low) * 0.5 - ((high - low) * rate).log(), &outside))
}

/// `-log w + lgamma(α) - α log β - (α - 1) E log X + β(h + l)/2` for `X ~ Uniform(l, h)`,
/// `w = h - l`; `inf` where `l < 0`.
pub(super) fn uniform_gamma(p: &Uniform, q: GammaLike) -> Result<Tensor> {
    let (low, high) = (p.low().value()?, p.high().value()?);
    let (alpha, beta) = q.params()?;
    let outside = low.lt(0.0);
    let (l, h) = (tame(&low, &outside, 1.0), tame(&high, &outside, 2.0));
    let kl = -(&h - &l).log() + alpha.lgamma() - &alpha * beta.log() - (alpha - 1.0) * uniform_mean_log(&l, &h)
        + beta * (h + l) * 0.5;
    Ok(inf_where(kl, &outside))
}

/// With `c = σ/(h - l)`, `zh = (h - μ)/σ`, `zl = (l - μ)/σ`: `log c + (zh + zl)/2
/// + c e^(-zl) (1 - e^(-(zh - zl)))` (torch's `c (e^(-zl) - e^(-zh))`, with `expm1`).
pub(super) fn uniform_gumbel(p: &Uniform, q: &Gumbel) -> Result<Tensor> {
    let (low, high) = (p.low().value()?, p.high().value()?);
    let (mu, sigma) = (q.loc().value()?, q.scale().value()?);
    let c = &sigma / (&high - &low);
    let zh = (high - &mu) / &sigma;
    let zl = (low - mu) / sigma;
    let tail = -(-&zl).exp() * (&zl - &zh).expm1();
    Ok(c.log() + (&zh + &zl) * 0.5 + c * tail)
}

/// `-log w + E_p[-log q]` with mean `(h + l)/2`, variance `w²/12`, `w = h - l`.
pub(super) fn uniform_normal(p: &Uniform, q: &Normal) -> Result<Tensor> {
    let (low, high) = (p.low().value()?, p.high().value()?);
    let w = &high - &low;
    let mean = (high + low) * 0.5;
    let var = w.square() / 12.0;
    Ok(-w.log() + normal_cross_entropy(&mean, &var, q)?)
}

/// `(α + 1) E log X - log α - α log m - log w` for `X ~ Uniform(l, h)`, `w = h - l`; `inf`
/// where `l < m`.
pub(super) fn uniform_pareto(p: &Uniform, q: &Pareto) -> Result<Tensor> {
    let (low, high) = (p.low().value()?, p.high().value()?);
    let (m, alpha) = (q.scale().value()?, q.alpha().value()?);
    let outside = low.lt_tensor(&m);
    let (l, h) = (tame(&low, &outside, 1.0), tame(&high, &outside, 2.0));
    let kl = (&alpha + 1.0) * uniform_mean_log(&l, &h) - alpha.log() - &alpha * m.log() - (h - l).log();
    Ok(inf_where(kl, &outside))
}
