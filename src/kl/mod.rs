//! Kullback-Leibler divergences: closed forms for pairs of families (a registry keyed by the
//! concrete types), and a Monte-Carlo estimator for any pair.
//!
//! `KL(p || q) = E_p[log p(X) - log q(X)]`, of shape the broadcast of the two batch shapes.
//!
//! The registry is a table of rules (`RULES` in `src/kl/mod.rs`): one entry per ordered pair of
//! families, `rule!(P, Q, formula)`, first match wins. The formulas live by group:
//! `same_family.rs` (both sides one family), `cross_family.rs` (torch's pairs of different
//! families, including those that are `inf` because the support of `p` is not inside that of
//! `q`) and `gaussian.rs` (the multivariate normals). Adding a pair is one `rule!` line and its
//! formula (a new family also joins `plain_families!`); [`closed_form_pairs`] lists the table.

mod cross_family;
mod gaussian;
mod same_family;

use crate::distributions::{
    BatchBroadcast, Bernoulli, Beta, Binomial, Categorical, Cauchy, Chi2, ContinuousBernoulli, Dirichlet, Distribution,
    Exponential, Gamma, Geometric, Gumbel, HalfNormal, Independent, Laplace, LogNormal, MultivariateNormalDiag, Normal,
    OneHotCategorical, Pareto, Poisson, TransformedDistribution, Uniform,
};
use crate::shape::{broadcast_shapes, fmt_shape, kind_name, sum_last};
use anyhow::{bail, Result};
use cross_family as cross;
use gaussian::Gaussian;
use same_family as same;
use tch::{Kind, Tensor};

/// One side of a closed form: the concrete types it accepts (their type names) and the view of
/// a `&dyn Distribution` its formulas read.
trait KlFamily {
    /// The type names of the accepted distributions.
    const NAMES: &'static [&'static str];
    /// What a formula receives: `&T` for a plain family.
    type View<'a>;
    /// The view of `d`, or `None` when `d` is not one of [`KlFamily::NAMES`].
    fn view(d: &dyn Distribution) -> Option<Self::View<'_>>;
}

/// [`KlFamily`] for families that accept only their own type (a downcast).
macro_rules! plain_families {
    ($($t:ident),* $(,)?) => {$(
        impl KlFamily for $t {
            const NAMES: &'static [&'static str] = &[stringify!($t)];
            type View<'a> = &'a $t;
            fn view(d: &dyn Distribution) -> Option<&$t> {
                d.as_any().downcast_ref::<$t>()
            }
        }
    )*};
}

plain_families!(
    Bernoulli,
    Beta,
    Binomial,
    Categorical,
    Cauchy,
    ContinuousBernoulli,
    Dirichlet,
    Exponential,
    Geometric,
    Gumbel,
    HalfNormal,
    Independent,
    Laplace,
    LogNormal,
    MultivariateNormalDiag,
    Normal,
    OneHotCategorical,
    Pareto,
    Poisson,
    TransformedDistribution,
    Uniform,
);

/// A Gamma or a Chi2 (`Gamma(k/2, 1/2)`): torch's `Chi2` subclasses `Gamma`, so torch's KL
/// dispatch applies every Gamma rule to it, and so does this registry.
enum GammaLike<'a> {
    Gamma(&'a Gamma),
    Chi2(&'a Chi2),
}

impl GammaLike<'_> {
    /// `(α, β)`: the concentration and rate, `(k/2, 1/2)` for a Chi2.
    fn params(&self) -> Result<(Tensor, Tensor)> {
        Ok(match self {
            GammaLike::Gamma(g) => (g.concentration().value()?, g.rate().value()?),
            GammaLike::Chi2(c) => {
                let a = c.df().value()? * 0.5;
                let b = a.detach().full_like(0.5);
                (a, b)
            }
        })
    }
}

impl KlFamily for Gamma {
    const NAMES: &'static [&'static str] = &["Gamma", "Chi2"];
    type View<'a> = GammaLike<'a>;
    fn view(d: &dyn Distribution) -> Option<GammaLike<'_>> {
        let any = d.as_any();
        any.downcast_ref::<Gamma>().map(GammaLike::Gamma).or_else(|| any.downcast_ref::<Chi2>().map(GammaLike::Chi2))
    }
}

/// One entry of [`RULES`]: the families of `p` and `q` it covers (type names) and the closed
/// form, which gives `None` when the pair is not its own.
struct Rule {
    p: &'static [&'static str],
    q: &'static [&'static str],
    kl: fn(&dyn Distribution, &dyn Distribution) -> Option<Result<Tensor>>,
}

/// `rule!(P, Q, formula)`: the closed form `formula(view of p, view of q) -> Result<Tensor>` for
/// `p` of the [`KlFamily`] `P` and `q` of `Q`; `rule!(P, Q, infinite)`: a pair whose KL is `inf`
/// everywhere (the support of `p` is never inside that of `q`).
macro_rules! rule {
    ($p:ty, $q:ty, infinite) => {
        Rule {
            p: <$p as KlFamily>::NAMES,
            q: <$q as KlFamily>::NAMES,
            kl: |p, q| {
                <$p as KlFamily>::view(p)?;
                <$q as KlFamily>::view(q)?;
                Some(infinite(p, q))
            },
        }
    };
    ($p:ty, $q:ty, $f:expr) => {
        Rule {
            p: <$p as KlFamily>::NAMES,
            q: <$q as KlFamily>::NAMES,
            kl: |p, q| Some($f(<$p as KlFamily>::view(p)?, <$q as KlFamily>::view(q)?)),
        }
    };
}

/// The closed forms, first match wins (the specific Gaussian pair before the general one).
const RULES: &[Rule] = &[
    // ---- one family on both sides (same_family.rs)
    rule!(Normal, Normal, same::normal_normal),
    rule!(Independent, Independent, kl_independent),
    rule!(Categorical, Categorical, same::categorical_categorical),
    rule!(OneHotCategorical, OneHotCategorical, same::one_hot_one_hot),
    rule!(Bernoulli, Bernoulli, same::bernoulli_bernoulli),
    rule!(Gamma, Gamma, same::gamma_gamma),
    rule!(Beta, Beta, same::beta_beta),
    rule!(Dirichlet, Dirichlet, same::dirichlet_dirichlet),
    rule!(Uniform, Uniform, same::uniform_uniform),
    rule!(Laplace, Laplace, same::laplace_laplace),
    rule!(MultivariateNormalDiag, MultivariateNormalDiag, gaussian::diag_diag),
    // KL is invariant under a shared bijection: the KL of the underlying normals.
    rule!(LogNormal, LogNormal, |p: &LogNormal, q: &LogNormal| same::normal_normal(p.normal(), q.normal())),
    // The bases' KL when both share one bijector (the same `Arc`).
    Rule {
        p: &["TransformedDistribution"],
        q: &["TransformedDistribution"],
        kl: |p, q| {
            let (p, q) = (TransformedDistribution::view(p)?, TransformedDistribution::view(q)?);
            std::sync::Arc::ptr_eq(p.bijector(), q.bijector()).then(|| kl_divergence(p.base(), q.base()))
        },
    },
    // A broadcast batch on either side: the bases' KL, broadcast to the pair's batch shape.
    Rule { p: &["BatchBroadcast"], q: &["BatchBroadcast"], kl: kl_batch_broadcast },
    // Every ordered pair of the Gaussian families (low-rank ones through their capacitance).
    rule!(Gaussian, Gaussian, gaussian::gaussian_gaussian),
    rule!(Cauchy, Cauchy, same::cauchy_cauchy),
    rule!(Exponential, Exponential, same::exponential_exponential),
    rule!(Geometric, Geometric, same::geometric_geometric),
    rule!(Gumbel, Gumbel, same::gumbel_gumbel),
    rule!(HalfNormal, HalfNormal, same::half_normal_half_normal),
    rule!(Pareto, Pareto, same::pareto_pareto),
    rule!(Poisson, Poisson, same::poisson_poisson),
    rule!(Binomial, Binomial, same::binomial_binomial),
    rule!(ContinuousBernoulli, ContinuousBernoulli, same::continuous_bernoulli_continuous_bernoulli),
    // ---- different families (cross_family.rs), grouped by p
    rule!(Bernoulli, Poisson, cross::bernoulli_poisson),
    rule!(Beta, Exponential, cross::beta_exponential),
    rule!(Beta, Gamma, cross::beta_gamma),
    rule!(Beta, Normal, cross::beta_normal),
    rule!(Beta, Pareto, infinite),
    rule!(Beta, Uniform, cross::beta_uniform),
    rule!(Beta, ContinuousBernoulli, cross::beta_continuous_bernoulli),
    rule!(ContinuousBernoulli, Exponential, cross::continuous_bernoulli_exponential),
    rule!(ContinuousBernoulli, Normal, cross::continuous_bernoulli_normal),
    rule!(ContinuousBernoulli, Pareto, infinite),
    rule!(ContinuousBernoulli, Uniform, cross::continuous_bernoulli_uniform),
    rule!(Exponential, Beta, infinite),
    rule!(Exponential, Gamma, cross::exponential_gamma),
    rule!(Exponential, Gumbel, cross::exponential_gumbel),
    rule!(Exponential, Normal, cross::exponential_normal),
    rule!(Exponential, Pareto, infinite),
    rule!(Exponential, Uniform, infinite),
    rule!(Exponential, ContinuousBernoulli, infinite),
    rule!(Gamma, Beta, infinite),
    rule!(Gamma, Exponential, cross::gamma_exponential),
    rule!(Gamma, Gumbel, cross::gamma_gumbel),
    rule!(Gamma, Normal, cross::gamma_normal),
    rule!(Gamma, Pareto, infinite),
    rule!(Gamma, Uniform, infinite),
    rule!(Gamma, ContinuousBernoulli, infinite),
    rule!(Gumbel, Beta, infinite),
    rule!(Gumbel, Exponential, infinite),
    rule!(Gumbel, Gamma, infinite),
    rule!(Gumbel, Normal, cross::gumbel_normal),
    rule!(Gumbel, Pareto, infinite),
    rule!(Gumbel, Uniform, infinite),
    rule!(Gumbel, ContinuousBernoulli, infinite),
    rule!(Laplace, Beta, infinite),
    rule!(Laplace, Exponential, infinite),
    rule!(Laplace, Gamma, infinite),
    rule!(Laplace, Normal, cross::laplace_normal),
    rule!(Laplace, Pareto, infinite),
    rule!(Laplace, Uniform, infinite),
    rule!(Laplace, ContinuousBernoulli, infinite),
    rule!(Normal, Beta, infinite),
    rule!(Normal, Exponential, infinite),
    rule!(Normal, Gamma, infinite),
    rule!(Normal, Gumbel, cross::normal_gumbel),
    rule!(Normal, Laplace, cross::normal_laplace),
    rule!(Normal, Pareto, infinite),
    rule!(Normal, Uniform, infinite),
    rule!(Normal, ContinuousBernoulli, infinite),
    rule!(Pareto, Beta, infinite),
    rule!(Pareto, Exponential, cross::pareto_exponential),
    rule!(Pareto, Gamma, cross::pareto_gamma),
    rule!(Pareto, Normal, cross::pareto_normal),
    rule!(Pareto, Uniform, infinite),
    rule!(Pareto, ContinuousBernoulli, infinite),
    rule!(Poisson, Bernoulli, cross::poisson_bernoulli),
    rule!(Poisson, Binomial, cross::poisson_binomial),
    rule!(Uniform, Beta, cross::uniform_beta),
    rule!(Uniform, Exponential, cross::uniform_exponential),
    rule!(Uniform, Gamma, cross::uniform_gamma),
    rule!(Uniform, Gumbel, cross::uniform_gumbel),
    rule!(Uniform, Normal, cross::uniform_normal),
    rule!(Uniform, Pareto, cross::uniform_pareto),
    rule!(Uniform, ContinuousBernoulli, cross::uniform_continuous_bernoulli),
];

/// The ordered pairs `(p, q)` of type names that [`kl_divergence`] has a closed form for, in
/// registry order, each once (from the registry itself). A Gamma rule also lists `Chi2` on that
/// side. The wrappers are listed as the wrapper with itself: `("Independent", "Independent")`,
/// `("TransformedDistribution", "TransformedDistribution")` and `("BatchBroadcast",
/// "BatchBroadcast")` hold when their bases have a closed form (BatchBroadcast also against an
/// unwrapped `q` or `p`).
pub fn closed_form_pairs() -> Vec<(&'static str, &'static str)> {
    let mut pairs = Vec::new();
    for rule in RULES {
        for &p in rule.p {
            for &q in rule.q {
                if !pairs.contains(&(p, q)) {
                    pairs.push((p, q));
                }
            }
        }
    }
    pairs
}

/// The exact `KL(p || q)`, with gradients to both sides' parameters. Pairs with a closed form
/// (the formulas of torch.distributions.kl; [`closed_form_pairs`] lists them):
///
/// * one family on both sides: Normal, Laplace, Gamma, Beta, Uniform (`inf` where the support
///   of `p` is not inside that of `q`), Bernoulli, Cauchy, Exponential, Geometric, Gumbel,
///   HalfNormal, Pareto (`inf` where `scale_p < scale_q`), Poisson, ContinuousBernoulli;
///   Categorical, OneHotCategorical, Dirichlet;
/// * different families (torch's pairs; `inf` where the support of `p` is not inside that of
///   `q`, with torch's conventions):
///   - Bernoulli–Poisson, Poisson–Bernoulli (`inf`, except a rate of 0: a point mass at 0);
///   - Beta–{ContinuousBernoulli, Exponential, Gamma, Normal, Pareto (`inf`), Uniform (`inf`
///     unless `low <= 0` and `high >= 1`)};
///   - ContinuousBernoulli–{Exponential, Normal}, ContinuousBernoulli–Pareto (`inf`),
///     ContinuousBernoulli–Uniform (`inf` unless `low < 0` and `high > 1`: torch's condition);
///   - Exponential–{Gamma, Gumbel, Normal}, Exponential–{Beta, ContinuousBernoulli, Pareto,
///     Uniform} (`inf`);
///   - Gamma–{Exponential, Gumbel, Normal}, Gamma–{Beta, ContinuousBernoulli, Pareto, Uniform}
///     (`inf`);
///   - Gumbel–Normal, Gumbel–{Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform}
///     (`inf`);
///   - Laplace–Normal, Laplace–{Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform}
///     (`inf`);
///   - Normal–{Gumbel, Laplace}, Normal–{Beta, ContinuousBernoulli, Exponential, Gamma, Pareto,
///     Uniform} (`inf`);
///   - Pareto–Exponential and Pareto–Gamma (`inf` where `alpha <= 1`), Pareto–Normal (`inf`
///     where `alpha <= 2`), Pareto–{Beta, ContinuousBernoulli, Uniform} (`inf`);
///   - Uniform–{Gumbel, Normal}, Uniform–Beta (`inf` unless `0 <= low` and `high <= 1`),
///     Uniform–ContinuousBernoulli (`inf` unless `0 < low` and `high < 1`: torch's condition),
///     Uniform–Exponential and Uniform–Gamma (`inf` where `low < 0`), Uniform–Pareto (`inf`
///     where `low < scale`);
/// * Chi2 is `Gamma(df/2, 1/2)` wherever a Gamma rule applies (Chi2–Chi2, Chi2–Gamma,
///   Chi2–Normal, Uniform–Chi2, ...), as torch's `Chi2` subclasses `Gamma`;
/// * Independent–Independent (same reinterpreted dimensions, bases with a closed form);
/// * LogNormal–LogNormal, and TransformedDistribution–TransformedDistribution sharing one
///   bijector (the same `Arc`): the KL of the bases, which a bijection does not change;
/// * BatchBroadcast on either side: the bases' KL, broadcast;
/// * any ordered pair of the Gaussian families MultivariateNormalTriL, MultivariateNormalDiag and
///   MultivariateNormal (full covariance or precision), mixed pairs included.
///
/// An `inf` is a constant (no gradient), and the formula's inputs are replaced where it is
/// `inf`, so the gradients of the finite elements stay finite. Where torch's formula gives NaN
/// at a boundary (`0 log 0`: a Poisson rate of 0, Uniform bounds exactly at a support's end),
/// the limit is returned; the Normal-q forms use `Var + (mean - loc)²` instead of torch's
/// expanded sum, which cancels for large locations. The ContinuousBernoulli forms are computed
/// from the logits with its accurate mean, variance, entropy and log-normalizer (torch's cancel
/// near `probs = 1/2` and clamp `probs` for large logits). The result has the broadcast of the two
/// batch shapes (torch's all-`inf` pairs have `p`'s).
///
/// Any other pair is an error naming it; [`kl_divergence_mc`] estimates any pair.
pub fn kl_divergence(p: &dyn Distribution, q: &dyn Distribution) -> Result<Tensor> {
    check_pair("kl_divergence", p, q)?;
    for rule in RULES {
        if let Some(kl) = (rule.kl)(p, q) {
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

/// Euler's constant `γ = -ψ(1)`.
const EULER: f64 = 0.577_215_664_901_532_9;

/// `inf` of the pair's broadcast batch shape, dtype and device (no gradient): torch's
/// `_infinite_like` for pairs whose supports never nest.
fn infinite(p: &dyn Distribution, q: &dyn Distribution) -> Result<Tensor> {
    let shape = broadcast_shapes("kl_divergence", &p.batch_shape(), &q.batch_shape())?;
    Ok(Tensor::full(shape.as_slice(), f64::INFINITY, (p.dtype(), p.device())))
}

/// `kl` where `outside` is false, `inf` where it is true (the support of `p` not inside that of
/// `q` there).
fn inf_where(kl: Tensor, outside: &Tensor) -> Tensor {
    kl.where_scalarother(&outside.logical_not(), f64::INFINITY)
}

/// `t` where `outside` is false and `value` where it is true: a formula's input replaced where
/// [`inf_where`] replaces its output, so no NaN or `inf` of the discarded branch reaches the
/// gradient (`0 · NaN`).
fn tame(t: &Tensor, outside: &Tensor, value: f64) -> Tensor {
    t.where_scalarother(&outside.logical_not(), value)
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

/// With a BatchBroadcast on either side: the bases' KL, broadcast to the pair's batch shape.
fn kl_batch_broadcast(p: &dyn Distribution, q: &dyn Distribution) -> Option<Result<Tensor>> {
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
}
