//! Property tests with fixed seeds: every bijector and every distribution family on random batch
//! shapes (rank 0–3, sizes 1–4), random sample shapes, random valid parameters (broadcasting
//! between parameters included) and a random dtype, 50 cases each.
//!
//! Bijectors (the flow layers too: MAF, IAF, RealNVP, spline MAF and coupling, the constrained
//! spline, `Permute`): `forward`/`inverse` shapes agree with the event-shape maps, round trip within
//! float64 `1e-9 + 1e-9·|x|` / float32 `1e-4 + 1e-4·|x|`, the log-det broadcasts to the batch
//! shape, `inverse_log_det_jacobian(forward(x)) = -forward_log_det_jacobian(x)`, the combined
//! methods agree with the separate ones, and in float64 `bijectors::testing::check_bijector`
//! (log-det against the autograd Jacobian where it is square) at `1e-8`. CholeskyOuterProduct,
//! whose Jacobian over full matrices is singular, is held to its closed-form log-det instead.
//!
//! Distributions: batch and event shapes equal the broadcast computed here, `sample`/`rsample`
//! give `sample + batch + event`, `log_prob` of the draws has shape `sample + batch` and is
//! finite, one event broadcasts against the batch, and `mean`/`variance`/`stddev`/`entropy`
//! (where the family has them) have their documented shapes.
//!
//! Junk inputs: every bijector method and `log_prob`/`cdf`/`log_cdf`/`sample`/`rsample` of every
//! family, on random junk and near misses of valid inputs (other dtypes, dimensions dropped or
//! added, empty batches, NaN/inf, negative or zero sample sizes): each call must return `Ok` or
//! `Err`, never panic (it found empty batch dimensions broadcast as 1 in the Gaussian families'
//! linear algebra).
//!
//! Junk parameters: 1000 random constructions of 40 families and 7 parametrised bijectors from
//! junk and near-miss parameters, then their methods on junk inputs: errors, never a panic.
//!
//! Cases are drawn from `StdRng::seed_from_u64`; the draws of the distributions use libtorch's
//! generator, seeded under the lock of `tests/common`. A failure names the family, the case
//! number and the shapes, so it can be replayed.

#![allow(clippy::arc_with_non_send_sync)]

mod common;

use anyhow::{bail, ensure, Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use serde_json::json;
use std::time::Instant;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::spec;
use tch_distributions::bijectors::{
    testing, Bijector, Chain, CholeskyOuterProduct, ConcatConstant, Exp, FillScaleTriL, FillTriangular, Identity,
    Invert, Pad, Permute, Position, Power, RationalQuadraticSpline, Reshape, Scale, ScaleMatvecTriL, Shift, Sigmoid,
    SoftmaxCentered, Softplus, Square, Tanh, TransformDiagonal,
};
use tch_distributions::distributions::{
    expand, BatchBroadcast, Bernoulli, Beta, Binomial, Categorical, Cauchy, Chi2, Dirichlet, Distribution, Exponential, Gamma,
    Geometric, Gumbel, HalfCauchy, HalfNormal, Independent, Laplace, LogNormal, Mixture, MixtureSameFamily, NegativeBinomial,
    MultivariateNormal, MultivariateNormalDiag, MultivariateNormalTriL, Normal, OneHotCategorical, Pareto, Poisson,
    StudentT, TransformedDistribution, Uniform, Weibull, InverseGamma, Kumaraswamy, FisherSnedecor, GeneralizedPareto,
};
use tch_distributions::distributions::{ContinuousBernoulli, RelaxedBernoulli, VonMises};

const CASES: usize = 50;

/// Random shapes, numbers and tensors from a seeded generator.
struct Gen(StdRng);

impl Gen {
    fn new(seed: u64) -> Self {
        Gen(StdRng::seed_from_u64(seed))
    }
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        self.0.random_range(lo..=hi)
    }
    fn f(&mut self, lo: f64, hi: f64) -> f64 {
        self.0.random_range(lo..hi)
    }
    fn coin(&mut self) -> bool {
        self.0.random_bool(0.5)
    }
    fn kind(&mut self) -> Kind {
        if self.coin() {
            Kind::Float
        } else {
            Kind::Double
        }
    }
    /// Rank `0..=max_rank`, sizes `1..=max_size`.
    fn shape(&mut self, max_rank: i64, max_size: i64) -> Vec<i64> {
        let r = self.int(0, max_rank);
        (0..r).map(|_| self.int(1, max_size)).collect()
    }
    /// A shape that broadcasts to `s`: some leading dimensions dropped, some sizes set to 1.
    fn variant(&mut self, s: &[i64]) -> Vec<i64> {
        let drop = self.int(0, s.len() as i64) as usize;
        s[drop..].iter().map(|&d| if self.int(0, 3) == 0 { 1 } else { d }).collect()
    }
    /// Uniform values in `[lo, hi)`.
    fn uniform(&mut self, shape: &[i64], lo: f64, hi: f64, kind: Kind) -> Tensor {
        let n: i64 = shape.iter().product();
        let v: Vec<f64> = (0..n).map(|_| self.f(lo, hi)).collect();
        Tensor::from_slice(&v).reshape(shape).to_kind(kind)
    }
    /// Lower-triangular `[.., n, n]`: diagonal in `[0.5, 2)` (sign random when `signed`),
    /// strictly lower entries in `[-1, 1)`.
    fn tril(&mut self, batch: &[i64], n: i64, signed: bool, kind: Kind) -> Tensor {
        let mut shape = batch.to_vec();
        shape.extend([n, n]);
        let m = self.uniform(&shape, -1.0, 1.0, Kind::Double).tril(-1);
        let mut dshape = batch.to_vec();
        dshape.push(n);
        let mut diag = self.uniform(&dshape, 0.5, 2.0, Kind::Double);
        if signed {
            diag *= (self.uniform(&dshape, -1.0, 1.0, Kind::Double).sign() + 0.5).sign();
        }
        (m + diag.diag_embed(0, -2, -1)).to_kind(kind)
    }
}

/// NumPy broadcasting, written here independently of the library.
fn bcast(a: &[i64], b: &[i64]) -> Vec<i64> {
    let n = a.len().max(b.len());
    let pad = |s: &[i64]| {
        let mut v = vec![1; n - s.len()];
        v.extend_from_slice(s);
        v
    };
    let (a, b) = (pad(a), pad(b));
    a.iter().zip(&b).map(|(&x, &y)| if x == 1 { y } else { x }).collect()
}

fn cat(parts: &[&[i64]]) -> Vec<i64> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

fn all_finite(t: &Tensor) -> bool {
    t.isfinite().all().int64_value(&[]) != 0
}

// ---------------------------------------------------------------------------------------------
// Bijectors
// ---------------------------------------------------------------------------------------------

/// A bijector case: the bijector, an input in its domain, and optionally a closed-form
/// log-det to hold it to instead of the autograd Jacobian.
struct BijCase {
    b: Arc<dyn Bijector>,
    x: Tensor,
    closed_form: Option<Tensor>,
}

fn case(b: impl Bijector + 'static, x: Tensor) -> BijCase {
    BijCase { b: Arc::new(b), x, closed_form: None }
}

/// An elementwise bijector with an input in its domain.
fn elementwise(g: &mut Gen, shape: &[i64], kind: Kind) -> (Arc<dyn Bijector>, Tensor) {
    match g.int(0, 5) {
        0 => (Arc::new(Identity), g.uniform(shape, -3.0, 3.0, kind)),
        1 => (Arc::new(Exp), g.uniform(shape, -3.0, 3.0, kind)),
        2 => (Arc::new(Softplus), g.uniform(shape, -5.0, 5.0, kind)),
        3 => (Arc::new(Tanh), g.uniform(shape, -2.5, 2.5, kind)),
        4 => (Arc::new(Sigmoid::new()), g.uniform(shape, -4.0, 4.0, kind)),
        _ => (Arc::new(Shift::scalar(g.f(-2.0, 2.0))), g.uniform(shape, -3.0, 3.0, kind)),
    }
}

const BIJECTORS: [&str; 29] = [
    "Identity",
    "Exp",
    "Softplus",
    "Tanh",
    "Sigmoid",
    "Sigmoid(low, high)",
    "Shift",
    "Scale",
    "Power",
    "Square",
    "Chain",
    "FillTriangular",
    "TransformDiagonal",
    "FillScaleTriL",
    "Pad",
    "ConcatConstant",
    "SoftmaxCentered",
    "CholeskyOuterProduct",
    "ScaleMatvecTriL",
    "Reshape",
    "Invert",
    "Chain(FillScaleTriL, ConcatConstant)",
    "MaskedAutoregressiveFlow",
    "Invert(MaskedAutoregressiveFlow)",
    "MaskedAutoregressiveFlow(spline)",
    "RealNVP",
    "RealNVP(spline)",
    "RationalQuadraticSpline",
    "Permute",
];

/// One flow layer from its JSON description: event size 1-4 (2-4 for RealNVP, with a random
/// `num_masked` of either sign), a conditioner of 0-2 hidden tanh layers of 1-8 units with
/// random weights (torch's init, the last layer random too, so the map is not the identity), the
/// affine map or a spline of 1-5 bins on [-3, 3]; inputs in [-3.5, 3.5] reach the spline's tails.
fn flow_case(g: &mut Gen, which: &str, batch: &[i64], kind: Kind) -> Result<BijCase> {
    let coupling = which.starts_with("RealNVP");
    let d = g.int(if coupling { 2 } else { 1 }, 4);
    let hidden = vec![g.int(1, 8); g.int(0, 2) as usize];
    let net = json!({"hidden_units": hidden, "activation": "tanh", "zero_init_last": false, "init": "torch_linear"});
    let mut layer = if coupling {
        let m = g.int(1, d - 1);
        json!({"type": "RealNVP", "event_size": d, "num_masked": if g.coin() { m } else { -m }, "network": net})
    } else {
        let mut net = net;
        net["event_size"] = json!(d);
        json!({"type": "MaskedAutoregressiveFlow", "network": net})
    };
    if which.contains("spline") {
        layer["transform"] = json!({"type": "spline", "bins": g.int(1, 5), "bound": 3.0});
    }
    if which.starts_with("Invert") {
        layer = json!({"type": "Invert", "bijector": layer});
    }
    tch::manual_seed(g.int(0, 1 << 30));
    let vs = nn::VarStore::new(Device::Cpu);
    let b = spec::build_bijector_in(&vs.root(), &layer, kind)?;
    let x = g.uniform(&cat(&[batch, &[d]]), -3.5, 3.5, kind);
    Ok(BijCase { b, x, closed_form: None })
}

fn bijector_case(g: &mut Gen, which: &str, kind: Kind) -> Result<BijCase> {
    let batch = g.shape(3, 4);
    let x_of = |g: &mut Gen, event: &[i64], lo: f64, hi: f64| g.uniform(&cat(&[&batch, event]), lo, hi, kind);
    Ok(match which {
        "Identity" => case(Identity, x_of(g, &[], -3.0, 3.0)),
        "Exp" => case(Exp, x_of(g, &[], -3.0, 3.0)),
        "Softplus" => case(Softplus, x_of(g, &[], -5.0, 5.0)),
        "Tanh" => case(Tanh, x_of(g, &[], -2.5, 2.5)),
        "Sigmoid" => case(Sigmoid::new(), x_of(g, &[], -4.0, 4.0)),
        "Sigmoid(low, high)" => {
            let lo_shape = g.variant(&batch);
            let low = g.uniform(&lo_shape, -3.0, 1.0, kind);
            let hi_shape = g.variant(&batch);
            let high = g.uniform(&hi_shape, 1.5, 4.0, kind);
            case(Sigmoid::with_bounds(low, high)?, x_of(g, &[], -4.0, 4.0))
        }
        "Shift" => {
            let s = g.variant(&batch);
            case(Shift::new(g.uniform(&s, -5.0, 5.0, kind)), x_of(g, &[], -3.0, 3.0))
        }
        "Scale" => {
            let s = g.variant(&batch);
            let mag = g.uniform(&s, 0.3, 3.0, Kind::Double);
            let sign = (g.uniform(&s, -1.0, 1.0, Kind::Double).sign() + 0.5).sign();
            case(Scale::new((mag * sign).to_kind(kind)), x_of(g, &[], -3.0, 3.0))
        }
        "Power" => {
            let p = if g.coin() { g.f(0.3, 3.0) } else { -g.f(0.3, 2.0) };
            case(Power::new(p)?, x_of(g, &[], 0.3, 3.0))
        }
        "Square" => case(Square, x_of(g, &[], 0.3, 3.0)),
        "Chain" => {
            let full = batch.clone();
            let (b1, x) = elementwise(g, &full, kind);
            // The second member acts on b1's image; pick ones defined on all reals.
            let b2: Arc<dyn Bijector> = match g.int(0, 2) {
                0 => Arc::new(Shift::scalar(g.f(-1.0, 1.0))),
                1 => Arc::new(Scale::scalar(g.f(0.5, 2.0))),
                _ => Arc::new(Softplus),
            };
            // Chain applies the last member first.
            case(Chain::new(vec![b2, b1]), x)
        }
        "FillTriangular" => {
            let n = g.int(1, 4);
            let upper = g.coin();
            case(FillTriangular { upper }, x_of(g, &[n * (n + 1) / 2], -2.0, 2.0))
        }
        "TransformDiagonal" => {
            let n = g.int(1, 4);
            let (inner, _) = elementwise(g, &[], kind);
            case(TransformDiagonal::new(inner), x_of(g, &[n, n], -2.0, 2.0))
        }
        "FillScaleTriL" => {
            let n = g.int(1, 4);
            let diag: Arc<dyn Bijector> = if g.coin() { Arc::new(Softplus) } else { Arc::new(Exp) };
            let shift = g.f(1e-5, 1e-2);
            case(FillScaleTriL::new(diag, shift), x_of(g, &[n * (n + 1) / 2], -2.0, 2.0))
        }
        "Pad" => {
            let (before, after) = (g.int(0, 2), g.int(0, 2));
            let axis = if g.coin() { -1 } else { -2 };
            let event: Vec<i64> = (0..-axis).map(|_| g.int(1, 4)).collect();
            let b = Pad::new(before, after).with_axis(axis).with_constant(g.f(-2.0, 2.0));
            case(b, x_of(g, &event, -3.0, 3.0))
        }
        "ConcatConstant" => {
            let axis = if g.coin() { -1 } else { -2 };
            let event: Vec<i64> = (0..-axis).map(|_| g.int(1, 4)).collect();
            let rows = g.int(1, 3);
            let cshape = if axis == -1 { vec![rows] } else { vec![rows, event[1]] };
            let constant = g.uniform(&cshape, -2.0, 2.0, kind);
            let position = if g.coin() { Position::Before } else { Position::After };
            case(ConcatConstant::new(constant, axis, position)?, x_of(g, &event, -3.0, 3.0))
        }
        "SoftmaxCentered" => {
            let n = g.int(1, 4);
            case(SoftmaxCentered, x_of(g, &[n], -3.0, 3.0))
        }
        "CholeskyOuterProduct" => {
            let n = g.int(1, 4);
            let l = g.tril(&batch, n, false, kind);
            // TFP's closed form: n log 2 + Σ_i (n - i) log L_ii (i from 0).
            let diag = l.diagonal(0, -2, -1).to_kind(Kind::Double).log();
            let weights = Tensor::arange_start_step(n, 0, -1, (Kind::Double, Device::Cpu));
            let fldj = (diag * weights).sum_dim_intlist(-1, false, Kind::Double) + n as f64 * 2f64.ln();
            BijCase { b: Arc::new(CholeskyOuterProduct), x: l, closed_form: Some(fldj) }
        }
        "ScaleMatvecTriL" => {
            let n = g.int(1, 4);
            let lb = g.variant(&batch);
            let l = g.tril(&lb, n, true, kind);
            case(ScaleMatvecTriL::new(l)?, x_of(g, &[n], -3.0, 3.0))
        }
        "Reshape" => {
            let (a, b) = (g.int(1, 3), g.int(1, 3));
            let (ein, eout) = match g.int(0, 3) {
                0 => (vec![a, b], vec![a * b]),
                1 => (vec![a * b], vec![b, a]),
                2 => (vec![a, b], vec![b, a]),
                _ => (vec![a], vec![a, 1]),
            };
            let x = x_of(g, &ein, -3.0, 3.0);
            case(Reshape::new(ein, eout)?, x)
        }
        "Invert" => {
            // Invert(B) with an input in B's range.
            match g.int(0, 3) {
                0 => case(Invert::new(Arc::new(Exp)), x_of(g, &[], 0.2, 5.0)),
                1 => case(Invert::new(Arc::new(Tanh)), x_of(g, &[], -0.95, 0.95)),
                2 => {
                    let n = g.int(1, 4);
                    let l = g.tril(&[], n, true, kind);
                    case(Invert::new(Arc::new(ScaleMatvecTriL::new(l)?)), x_of(g, &[n], -3.0, 3.0))
                }
                _ => {
                    let n = g.int(1, 4);
                    let y = SoftmaxCentered.forward(&x_of(g, &[n], -2.0, 2.0))?;
                    case(Invert::new(Arc::new(SoftmaxCentered)), y)
                }
            }
        }
        "Chain(FillScaleTriL, ConcatConstant)" => {
            // The seed's first-fixed scale_tril: K - 1 free rows after a fixed one.
            let n = g.int(1, 3);
            let m = n * (n + 1) / 2;
            let rows = g.int(1, 3);
            let constant = g.uniform(&[1, m], -1.0, 1.0, kind);
            let chain = Chain::new(vec![
                Arc::new(FillScaleTriL::default()),
                Arc::new(ConcatConstant::new(constant, -2, Position::Before)?),
            ]);
            case(chain, x_of(g, &[rows, m], -2.0, 2.0))
        }
        "MaskedAutoregressiveFlow" | "Invert(MaskedAutoregressiveFlow)" | "MaskedAutoregressiveFlow(spline)"
        | "RealNVP" | "RealNVP(spline)" => flow_case(g, which, &batch, kind)?,
        "RationalQuadraticSpline" => {
            // K bins over a range starting at range_min, heights rescaled to the widths' total
            // (TFP's spline is continuous at the top only then, and a round trip needs it)
            let k = g.int(1, 5);
            let p_batch = g.variant(&batch);
            let w = g.uniform(&cat(&[&p_batch, &[k]]), 0.2, 1.5, kind);
            let h = g.uniform(&cat(&[&p_batch, &[k]]), 0.2, 1.5, kind);
            let h = &h / h.sum_dim_intlist(-1, true, kind) * w.sum_dim_intlist(-1, true, kind);
            let slopes = g.uniform(&cat(&[&p_batch, &[k - 1]]), 0.3, 3.0, kind);
            let rm_shape = g.variant(&batch);
            let range_min = g.uniform(&rm_shape, -3.0, -1.0, kind);
            case(RationalQuadraticSpline::new(w, h, slopes, range_min)?, x_of(g, &[], -4.0, 4.0))
        }
        "Permute" => {
            let d = g.int(1, 5);
            let mut perm: Vec<i64> = (0..d).collect();
            for i in (1..d as usize).rev() {
                perm.swap(i, g.int(0, i as i64) as usize);
            }
            case(Permute::new(perm)?, x_of(g, &[d], -3.0, 3.0))
        }
        other => bail!("unknown bijector case {other}"),
    })
}

fn check_bijector_case(c: &BijCase, kind: Kind, full_checks: &mut usize) -> Result<()> {
    let (b, x) = (c.b.as_ref(), &c.x);
    let (atol, rtol) = if kind == Kind::Double { (1e-9, 1e-9) } else { (1e-4, 1e-4) };
    let xs = x.size();
    let k_in = b.forward_min_event_ndims();
    ensure!(xs.len() >= k_in, "input rank below the event rank");
    let batch = xs[..xs.len() - k_in].to_vec();
    let y = b.forward(x)?;
    ensure!(y.kind() == kind, "forward changed the dtype to {:?}", y.kind());
    ensure!(all_finite(&y), "forward is not finite");
    let ys = y.size();
    ensure!(b.forward_event_shape(&xs)? == ys, "forward_event_shape({xs:?}) != forward's shape {ys:?}");
    ensure!(b.inverse_event_shape(&ys)? == xs, "inverse_event_shape({ys:?}) != {xs:?}");
    let back = b.inverse(&y)?;
    testing::close("inverse(forward(x))", &back, x, atol, rtol)?;
    let fldj = b.forward_log_det_jacobian(x)?;
    ensure!(
        bcast(&fldj.size(), &batch) == batch,
        "forward log-det of shape {:?} does not broadcast to the batch shape {batch:?}",
        fldj.size()
    );
    ensure!(all_finite(&fldj), "forward log-det is not finite");
    let fldj = fldj.broadcast_to(batch.as_slice());
    let ildj = b.inverse_log_det_jacobian(&y)?;
    let ildj = ildj.f_broadcast_to(batch.as_slice()).context("inverse log-det does not broadcast to the batch")?;
    testing::close("inverse log-det at the image vs -forward log-det", &ildj, &(-&fldj), atol, rtol)?;
    let (y2, l2) = b.forward_and_log_det(x)?;
    testing::close("forward_and_log_det value", &y2, &y, atol, rtol)?;
    testing::close("forward_and_log_det log-det", &l2.broadcast_to(batch.as_slice()), &fldj, atol, rtol)?;
    let (x2, l3) = b.inverse_and_log_det(&y)?;
    testing::close("inverse_and_log_det value", &x2, x, atol, rtol)?;
    testing::close("inverse_and_log_det log-det", &l3.broadcast_to(batch.as_slice()), &ildj, atol, rtol)?;
    match &c.closed_form {
        Some(reference) => testing::close("log-det vs closed form", &fldj, reference, atol, rtol)?,
        None if kind == Kind::Double => {
            testing::check_bijector(b, x, 1e-8, 1e-8)?;
            *full_checks += 1;
        }
        None => {}
    }
    Ok(())
}

#[test]
fn bijectors_on_random_shapes_and_parameters() {
    let start = Instant::now();
    // the flows' network weights come from libtorch's generator
    let _rng = common::seeded(4141);
    let mut failures = vec![];
    let mut full_checks = 0;
    for (i, which) in BIJECTORS.iter().enumerate() {
        let mut g = Gen::new(1000 + i as u64);
        for n in 0..CASES {
            let kind = g.kind();
            let result = bijector_case(&mut g, which, kind).and_then(|c| {
                check_bijector_case(&c, kind, &mut full_checks).with_context(|| format!("x shape {:?}", c.x.size()))
            });
            if let Err(e) = result {
                failures.push(format!("{which} case {n} ({kind:?}): {e:#}"));
            }
        }
    }
    println!(
        "{} bijectors x {CASES} cases in {:.1} s ({full_checks} float64 cases through check_bijector)",
        BIJECTORS.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Distributions
// ---------------------------------------------------------------------------------------------

/// A distribution with the batch and event shapes it must have.
struct DistCase {
    d: Box<dyn Distribution>,
    batch: Vec<i64>,
    event: Vec<i64>,
}

const DISTRIBUTIONS: [&str; 40] = [
    "Binomial",
    "NegativeBinomial",
    "Exponential",
    "HalfNormal",
    "Cauchy",
    "HalfCauchy",
    "Gumbel",
    "Chi2",
    "Weibull",
    "Pareto",
    "Poisson",
    "Geometric",
    "Normal",
    "Laplace",
    "StudentT",
    "LogNormal",
    "Uniform",
    "Gamma",
    "Beta",
    "Bernoulli",
    "Categorical",
    "OneHotCategorical",
    "Dirichlet",
    "Independent",
    "MultivariateNormalDiag",
    "MultivariateNormalTriL",
    "MultivariateNormal(covariance)",
    "MultivariateNormal(precision)",
    "MixtureSameFamily",
    "Mixture",
    "TransformedDistribution",
    "BatchBroadcast",
    "expand",
    "InverseGamma",
    "Kumaraswamy",
    "FisherSnedecor",
    "GeneralizedPareto",
    "VonMises",
    "ContinuousBernoulli",
    "RelaxedBernoulli",
];

/// Two parameter shapes that broadcast to a batch shape (one of them, at random, the full one).
fn two_shapes(g: &mut Gen, batch: &[i64]) -> (Vec<i64>, Vec<i64>) {
    let a = g.variant(batch);
    let b = if g.coin() { batch.to_vec() } else { g.variant(batch) };
    if g.coin() {
        (a, b)
    } else {
        (b, a)
    }
}

/// A scalar-event family on batch shape `b` with random broadcasting between its parameters.
fn scalar_family(g: &mut Gen, which: &str, b: &[i64], kind: Kind) -> Result<DistCase> {
    let (s1, s2) = two_shapes(g, b);
    let batch = bcast(&s1, &s2);
    let d: Box<dyn Distribution> = match which {
        "Normal" => Box::new(Normal::new(g.uniform(&s1, -3.0, 3.0, kind), g.uniform(&s2, 0.1, 3.0, kind))?),
        "Laplace" => Box::new(Laplace::new(g.uniform(&s1, -3.0, 3.0, kind), g.uniform(&s2, 0.1, 3.0, kind))?),
        "LogNormal" => Box::new(LogNormal::new(g.uniform(&s1, -2.0, 2.0, kind), g.uniform(&s2, 0.1, 2.0, kind))?),
        "StudentT" => {
            let s3 = g.variant(b);
            let batch3 = bcast(&batch, &s3);
            let d = StudentT::new(
                g.uniform(&s3, 1.0, 10.0, kind),
                g.uniform(&s1, -3.0, 3.0, kind),
                g.uniform(&s2, 0.1, 3.0, kind),
            )?;
            return Ok(DistCase { d: Box::new(d), batch: batch3, event: vec![] });
        }
        "Uniform" => {
            let low = g.uniform(&s1, -3.0, 3.0, kind);
            let width = g.uniform(&s2, 0.1, 3.0, kind);
            Box::new(Uniform::new(low.shallow_clone(), &low + width)?)
        }
        "Gamma" => Box::new(Gamma::new(g.uniform(&s1, 0.5, 5.0, kind), g.uniform(&s2, 0.5, 3.0, kind))?),
        "Beta" => Box::new(Beta::new(g.uniform(&s1, 0.5, 5.0, kind), g.uniform(&s2, 0.5, 5.0, kind))?),
        "Cauchy" => Box::new(Cauchy::new(g.uniform(&s1, -3.0, 3.0, kind), g.uniform(&s2, 0.1, 3.0, kind))?),
        "Gumbel" => Box::new(Gumbel::new(g.uniform(&s1, -3.0, 3.0, kind), g.uniform(&s2, 0.1, 3.0, kind))?),
        "Weibull" => Box::new(Weibull::new(g.uniform(&s1, 0.1, 3.0, kind), g.uniform(&s2, 0.5, 5.0, kind))?),
        "Pareto" => Box::new(Pareto::new(g.uniform(&s1, 0.1, 3.0, kind), g.uniform(&s2, 0.5, 5.0, kind))?),
        "Binomial" => {
            let n = g.uniform(&s1, 0.0, 30.0, kind).round();
            if g.coin() {
                Box::new(Binomial::from_probs(n, g.uniform(&s2, 0.05, 0.95, kind))?)
            } else {
                Box::new(Binomial::from_logits(n, g.uniform(&s2, -3.0, 3.0, kind))?)
            }
        }
        "NegativeBinomial" => {
            let r = g.uniform(&s1, 0.1, 20.0, kind);
            if g.coin() {
                Box::new(NegativeBinomial::from_probs(r, g.uniform(&s2, 0.05, 0.9, kind))?)
            } else {
                Box::new(NegativeBinomial::from_logits(r, g.uniform(&s2, -3.0, 2.0, kind))?)
            }
        }
        "InverseGamma" => Box::new(InverseGamma::new(g.uniform(&s1, 0.5, 5.0, kind), g.uniform(&s2, 0.5, 3.0, kind))?),
        // concentration0 >= 1: a float32 draw (1 - (1-u)^(1/b))^(1/a) does not round to 1, where
        // log_prob is infinite.
        "Kumaraswamy" => Box::new(Kumaraswamy::new(g.uniform(&s1, 0.5, 5.0, kind), g.uniform(&s2, 1.0, 5.0, kind))?),
        "FisherSnedecor" => {
            Box::new(FisherSnedecor::new(g.uniform(&s1, 0.5, 10.0, kind), g.uniform(&s2, 0.5, 10.0, kind))?)
        }
        "GeneralizedPareto" => {
            let s3 = g.variant(b);
            let batch3 = bcast(&batch, &s3);
            let d = GeneralizedPareto::new(
                g.uniform(&s1, -3.0, 3.0, kind),
                g.uniform(&s2, 0.1, 3.0, kind),
                g.uniform(&s3, -0.5, 0.5, kind),
            )?;
            return Ok(DistCase { d: Box::new(d), batch: batch3, event: vec![] });
        }
        "VonMises" => Box::new(VonMises::new(g.uniform(&s1, -3.0, 3.0, kind), g.uniform(&s2, 0.01, 50.0, kind))?),
        "RelaxedBernoulli" if g.coin() => {
            Box::new(RelaxedBernoulli::from_logits(g.uniform(&s1, 0.05, 3.0, kind), g.uniform(&s2, -3.0, 3.0, kind))?)
        }
        "RelaxedBernoulli" => {
            Box::new(RelaxedBernoulli::from_probs(g.uniform(&s1, 0.05, 3.0, kind), g.uniform(&s2, 0.05, 0.95, kind))?)
        }
        // One-parameter families: the batch shape is the parameter's.
        one => {
            let v = |g: &mut Gen, lo, hi| g.uniform(b, lo, hi, kind);
            let d: Box<dyn Distribution> = match one {
                "Exponential" => Box::new(Exponential::new(v(g, 0.1, 3.0))?),
                "HalfNormal" => Box::new(HalfNormal::new(v(g, 0.1, 3.0))?),
                "HalfCauchy" => Box::new(HalfCauchy::new(v(g, 0.1, 3.0))?),
                "Chi2" => Box::new(Chi2::new(v(g, 0.5, 10.0))?),
                "Poisson" => Box::new(Poisson::new(v(g, 0.1, 20.0))?),
                "Geometric" if g.coin() => Box::new(Geometric::from_probs(v(g, 0.05, 0.95))?),
                "Geometric" => Box::new(Geometric::from_logits(v(g, -3.0, 3.0))?),
                "ContinuousBernoulli" if g.coin() => Box::new(ContinuousBernoulli::from_probs(v(g, 0.0, 1.0))?),
                "ContinuousBernoulli" => Box::new(ContinuousBernoulli::from_logits(v(g, -30.0, 30.0))?),
                other => bail!("not a scalar family: {other}"),
            };
            return Ok(DistCase { d, batch: b.to_vec(), event: vec![] });
        }
    };
    Ok(DistCase { d, batch, event: vec![] })
}

/// A simple component family on `batch + [K]` for the mixtures: Normal, Independent(Normal) or
/// MultivariateNormalTriL (events `[]`, `[d]`, `[d]`).
fn component(g: &mut Gen, batch: &[i64], kind: Kind, d: i64, which: i64) -> Result<(Box<dyn Distribution>, Vec<i64>)> {
    Ok(match which {
        0 => (Box::new(Normal::new(g.uniform(batch, -3.0, 3.0, kind), g.uniform(batch, 0.3, 2.0, kind))?), vec![]),
        1 => {
            let s = cat(&[batch, &[d]]);
            let n = Normal::new(g.uniform(&s, -3.0, 3.0, kind), g.uniform(&s, 0.3, 2.0, kind))?;
            (Box::new(Independent::new(n, 1)?), vec![d])
        }
        _ => {
            let loc = g.uniform(&cat(&[batch, &[d]]), -3.0, 3.0, kind);
            (Box::new(MultivariateNormalTriL::new(loc, g.tril(batch, d, false, kind))?), vec![d])
        }
    })
}

fn distribution_case(g: &mut Gen, which: &str, kind: Kind) -> Result<DistCase> {
    let b = g.shape(3, 4);
    Ok(match which {
        "Normal" | "Laplace" | "StudentT" | "LogNormal" | "Uniform" | "Gamma" | "Beta" | "Exponential" | "HalfNormal"
        | "Cauchy" | "HalfCauchy" | "Gumbel" | "Chi2" | "Weibull" | "Pareto" | "Poisson" | "Geometric" | "Binomial"
        | "NegativeBinomial" | "InverseGamma" | "Kumaraswamy" | "FisherSnedecor" | "GeneralizedPareto" | "VonMises"
        | "ContinuousBernoulli" | "RelaxedBernoulli" => {
            scalar_family(g, which, &b, kind)?
        }
        "Bernoulli" => {
            let d: Box<dyn Distribution> = if g.coin() {
                Box::new(Bernoulli::from_logits(g.uniform(&b, -3.0, 3.0, kind))?)
            } else {
                Box::new(Bernoulli::from_probs(g.uniform(&b, 0.05, 0.95, kind))?)
            };
            DistCase { d, batch: b, event: vec![] }
        }
        "Categorical" | "OneHotCategorical" => {
            let k = g.int(1, 5);
            let logits = g.uniform(&cat(&[&b, &[k]]), -3.0, 3.0, kind);
            if which == "Categorical" {
                DistCase { d: Box::new(Categorical::new(logits)?), batch: b, event: vec![] }
            } else {
                DistCase { d: Box::new(OneHotCategorical::new(logits)?), batch: b, event: vec![k] }
            }
        }
        "Dirichlet" => {
            let k = g.int(2, 5);
            let c = g.uniform(&cat(&[&b, &[k]]), 1.0, 5.0, kind);
            DistCase { d: Box::new(Dirichlet::new(c)?), batch: b, event: vec![k] }
        }
        "Independent" => {
            // Reinterpret r of the batch dimensions of a Normal.
            let r = g.int(0, b.len() as i64) as usize;
            let (s1, s2) = two_shapes(g, &b);
            let full = bcast(&s1, &s2);
            let n = Normal::new(g.uniform(&s1, -3.0, 3.0, kind), g.uniform(&s2, 0.1, 3.0, kind))?;
            let split = full.len() - r.min(full.len());
            let r = full.len() - split;
            DistCase {
                d: Box::new(Independent::new(n, r)?),
                batch: full[..split].to_vec(),
                event: full[split..].to_vec(),
            }
        }
        "MultivariateNormalDiag" => {
            let d = g.int(1, 4);
            let (s1, s2) = two_shapes(g, &b);
            let dist = MultivariateNormalDiag::new(
                g.uniform(&cat(&[&s1, &[d]]), -3.0, 3.0, kind),
                g.uniform(&cat(&[&s2, &[d]]), 0.1, 3.0, kind),
            )?;
            DistCase { d: Box::new(dist), batch: bcast(&s1, &s2), event: vec![d] }
        }
        "MultivariateNormalTriL" | "MultivariateNormal(covariance)" | "MultivariateNormal(precision)" => {
            let d = g.int(1, 4);
            let (s1, s2) = two_shapes(g, &b);
            let loc = g.uniform(&cat(&[&s1, &[d]]), -3.0, 3.0, kind);
            let l = g.tril(&s2, d, false, kind);
            let dist: Box<dyn Distribution> = match which {
                "MultivariateNormalTriL" => Box::new(MultivariateNormalTriL::new(loc, l)?),
                _ => {
                    let m = l.matmul(&l.transpose(-1, -2)) + Tensor::eye(d, (kind, Device::Cpu)) * 0.1;
                    if which.contains("covariance") {
                        Box::new(MultivariateNormal::from_covariance(loc, m)?)
                    } else {
                        Box::new(MultivariateNormal::from_precision(loc, m)?)
                    }
                }
            };
            DistCase { d: dist, batch: bcast(&s1, &s2), event: vec![d] }
        }
        "MixtureSameFamily" => {
            let k = g.int(1, 4);
            let d = g.int(1, 3);
            let which_component = g.int(0, 2);
            let (comp, event) = component(g, &cat(&[&b, &[k]]), kind, d, which_component)?;
            let mix = Categorical::new(g.uniform(&cat(&[&b, &[k]]), -2.0, 2.0, kind))?;
            DistCase { d: Box::new(MixtureSameFamily::from_box(mix, comp)?), batch: b, event }
        }
        "Mixture" => {
            let k = g.int(1, 4);
            let mut comps: Vec<Box<dyn Distribution>> = vec![];
            for _ in 0..k {
                let (s1, s2) = (b.clone(), b.clone());
                comps.push(match g.int(0, 2) {
                    0 => Box::new(Normal::new(g.uniform(&s1, -3.0, 3.0, kind), g.uniform(&s2, 0.3, 2.0, kind))?),
                    1 => Box::new(Laplace::new(g.uniform(&s1, -3.0, 3.0, kind), g.uniform(&s2, 0.3, 2.0, kind))?),
                    _ => Box::new(StudentT::new(
                        g.uniform(&s1, 2.0, 8.0, kind),
                        g.uniform(&s1, -3.0, 3.0, kind),
                        g.uniform(&s2, 0.3, 2.0, kind),
                    )?),
                });
            }
            let mix = Categorical::new(g.uniform(&cat(&[&b, &[k]]), -2.0, 2.0, kind))?;
            DistCase { d: Box::new(Mixture::new(mix, comps)?), batch: b, event: vec![] }
        }
        "TransformedDistribution" => {
            if g.coin() {
                // LogNormal by hand, or a shifted and scaled Normal.
                let base = Normal::new(g.uniform(&b, -1.0, 1.0, kind), g.uniform(&b, 0.2, 1.5, kind))?;
                let bij: Arc<dyn Bijector> = match g.int(0, 2) {
                    0 => Arc::new(Exp),
                    1 => Arc::new(Chain::new(vec![Arc::new(Shift::scalar(1.0)), Arc::new(Scale::scalar(-2.0))])),
                    _ => Arc::new(Sigmoid::new()),
                };
                DistCase { d: Box::new(TransformedDistribution::new(Box::new(base), bij)?), batch: b, event: vec![] }
            } else {
                // A vector event through a lower-triangular matvec and SoftmaxCentered onto the simplex.
                let d = g.int(1, 3);
                let base = MultivariateNormalDiag::new(
                    g.uniform(&cat(&[&b, &[d]]), -1.0, 1.0, kind),
                    g.uniform(&cat(&[&b, &[d]]), 0.2, 1.0, kind),
                )?;
                let l = g.tril(&[], d, true, kind);
                let (bij, event): (Arc<dyn Bijector>, Vec<i64>) = if g.coin() {
                    (Arc::new(ScaleMatvecTriL::new(l)?), vec![d])
                } else {
                    (Arc::new(SoftmaxCentered), vec![d + 1])
                };
                DistCase { d: Box::new(TransformedDistribution::new(Box::new(base), bij)?), batch: b, event }
            }
        }
        "BatchBroadcast" | "expand" => {
            let base_shape = g.variant(&b);
            let base = Normal::new(g.uniform(&base_shape, -3.0, 3.0, kind), g.uniform(&base_shape, 0.1, 3.0, kind))?;
            if which == "expand" {
                DistCase { d: Box::new(expand(Box::new(base), &b)?), batch: b, event: vec![] }
            } else {
                let with = g.variant(&b);
                let batch = bcast(&base_shape, &with);
                DistCase { d: Box::new(BatchBroadcast::new(base, &with)?), batch, event: vec![] }
            }
        }
        other => bail!("unknown distribution case {other}"),
    })
}

/// How many of the optional checks ran.
#[derive(Default, Debug)]
struct Counts {
    cases: usize,
    rsample: usize,
    moments: usize,
    entropy: usize,
}

fn check_distribution_case(c: &DistCase, g: &mut Gen, counts: &mut Counts) -> Result<()> {
    counts.cases += 1;
    let d = c.d.as_ref();
    ensure!(d.batch_shape() == c.batch, "batch shape {:?}, expected {:?}", d.batch_shape(), c.batch);
    ensure!(d.event_shape() == c.event, "event shape {:?}, expected {:?}", d.event_shape(), c.event);
    let s = g.shape(2, 3);
    let full = cat(&[&s, &c.batch, &c.event]);
    let sb = cat(&[&s, &c.batch]);
    let be = cat(&[&c.batch, &c.event]);
    let x = d.sample(&s)?;
    ensure!(x.size() == full, "sample({s:?}) has shape {:?}, expected {full:?}", x.size());
    ensure!(!x.requires_grad(), "sample is detached");
    if d.has_rsample() {
        let r = d.rsample(&s)?;
        ensure!(r.size() == full, "rsample({s:?}) has shape {:?}, expected {full:?}", r.size());
        counts.rsample += 1;
    }
    let lp = d.log_prob(&x)?;
    ensure!(lp.size() == sb, "log_prob of a sample has shape {:?}, expected {sb:?}", lp.size());
    if !all_finite(&lp) {
        bail!("log_prob of its own draws is not finite: {:?}", common::to_vec(&lp));
    }
    // One event (the first draw of the first batch member) broadcasts against the batch.
    let n_event: i64 = c.event.iter().product();
    let one = x.reshape([-1, n_event]).get(0).reshape(c.event.as_slice());
    let lp1 = d.log_prob(&one)?;
    ensure!(lp1.size() == c.batch, "log_prob of one event has shape {:?}, expected {:?}", lp1.size(), c.batch);
    for (what, value) in [("mean", d.mean()), ("variance", d.variance()), ("stddev", d.stddev())] {
        if let Ok(v) = value {
            ensure!(v.size() == be, "{what} has shape {:?}, expected {be:?}", v.size());
            counts.moments += 1;
        }
    }
    if let Ok(h) = d.entropy() {
        ensure!(h.size() == c.batch, "entropy has shape {:?}, expected {:?}", h.size(), c.batch);
        counts.entropy += 1;
    }
    Ok(())
}

#[test]
fn distributions_on_random_shapes_and_parameters() {
    let start = Instant::now();
    let _rng = common::seeded(4242);
    let mut failures = vec![];
    let mut counts = Counts::default();
    for (i, which) in DISTRIBUTIONS.iter().enumerate() {
        let mut g = Gen::new(2000 + i as u64);
        for n in 0..CASES {
            let kind = g.kind();
            let result = distribution_case(&mut g, which, kind).and_then(|c| {
                let shapes = format!("batch {:?}, event {:?}", c.batch, c.event);
                check_distribution_case(&c, &mut g, &mut counts).with_context(|| shapes)
            });
            if let Err(e) = result {
                failures.push(format!("{which} case {n} ({kind:?}): {e:#}"));
            }
        }
    }
    println!(
        "{} families x {CASES} cases in {:.1} s; checks run: {counts:?}",
        DISTRIBUTIONS.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Junk inputs: never a panic
// ---------------------------------------------------------------------------------------------

/// A tensor that is probably wrong for whatever receives it: either random junk (rank 0–4,
/// sizes 0–5, one of six dtypes, NaN and ±inf among the values) or a near miss of `valid` (another
/// dtype, a dimension dropped or added, an empty batch, or NaN values).
fn junk(g: &mut Gen, valid: &Tensor) -> Tensor {
    let kinds = [Kind::Float, Kind::Double, Kind::Int64, Kind::Int, Kind::Bool, Kind::Half];
    let kind = kinds[g.int(0, kinds.len() as i64 - 1) as usize];
    let specials = |g: &mut Gen, t: Tensor| {
        if t.numel() > 0 && g.coin() {
            let flat = t.to_kind(Kind::Double).reshape([-1]);
            let i = g.int(0, flat.numel() as i64 - 1);
            let v = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][g.int(0, 2) as usize];
            let _ = flat.get(i).fill_(v);
            flat.reshape(t.size().as_slice()).to_kind(t.kind())
        } else {
            t
        }
    };
    match g.int(0, 4) {
        0 => {
            let r = g.int(0, 4);
            let shape: Vec<i64> = (0..r).map(|_| g.int(0, 5)).collect();
            let t = g.uniform(&shape, -3.0, 3.0, Kind::Double);
            specials(g, t).to_kind(kind)
        }
        1 => valid.to_kind(kind),
        2 if valid.dim() > 0 => valid.select(-1, 0),
        3 => valid.unsqueeze(-1).repeat([1i64].repeat(valid.dim() + 1).as_slice()),
        4 if valid.dim() > 0 => valid.narrow(0, 0, 0),
        _ => {
            let t = valid.to_kind(Kind::Double);
            specials(g, t).to_kind(valid.kind())
        }
    }
}

/// Calls `f`, counting an `Ok`, an `Err` or a panic (the panic's message is kept).
fn outcome(counts: &mut [usize; 3], panics: &mut Vec<String>, what: &str, f: impl FnOnce() -> Result<()>) {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(())) => counts[0] += 1,
        Ok(Err(_)) => counts[1] += 1,
        Err(p) => {
            counts[2] += 1;
            let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
            panics.push(format!("{what}: {}", msg.unwrap_or_default()));
        }
    }
}

#[test]
fn junk_inputs_give_errors_never_panics() {
    let _rng = common::seeded(77);
    let mut counts = [0usize; 3]; // ok, error, panic
    let mut panics = vec![];
    for (i, which) in BIJECTORS.iter().enumerate() {
        let mut g = Gen::new(3000 + i as u64);
        for n in 0..CASES / 5 {
            let kind = g.kind();
            let Ok(c) = bijector_case(&mut g, which, kind) else { continue };
            let y = c.b.forward(&c.x).unwrap_or_else(|_| c.x.shallow_clone());
            for _ in 0..4 {
                let (jx, jy) = (junk(&mut g, &c.x), junk(&mut g, &y));
                let e = g.int(0, 4) as usize;
                let w =
                    format!("{which} case {n}: x {:?} {:?}, y {:?} {:?}", jx.size(), jx.kind(), jy.size(), jy.kind());
                let b = &c.b;
                outcome(&mut counts, &mut panics, &format!("{w} forward"), || b.forward(&jx).map(drop));
                outcome(&mut counts, &mut panics, &format!("{w} inverse"), || b.inverse(&jy).map(drop));
                outcome(&mut counts, &mut panics, &format!("{w} fldj"), || b.forward_log_det_jacobian(&jx).map(drop));
                outcome(&mut counts, &mut panics, &format!("{w} ildj"), || b.inverse_log_det_jacobian(&jy).map(drop));
                outcome(&mut counts, &mut panics, &format!("{w} forward_and_log_det"), || {
                    b.forward_and_log_det(&jx).map(drop)
                });
                outcome(&mut counts, &mut panics, &format!("{w} fldj_reduced({e})"), || {
                    b.forward_log_det_jacobian_reduced(&jx, e).map(drop)
                });
                outcome(&mut counts, &mut panics, &format!("{w} ildj_reduced({e})"), || {
                    b.inverse_log_det_jacobian_reduced(&jy, e).map(drop)
                });
            }
        }
    }
    for (i, which) in DISTRIBUTIONS.iter().enumerate() {
        let mut g = Gen::new(4000 + i as u64);
        for n in 0..CASES / 5 {
            let kind = g.kind();
            let Ok(c) = distribution_case(&mut g, which, kind) else { continue };
            let d = c.d.as_ref();
            let Ok(x) = d.sample(&[2]) else { continue };
            for _ in 0..4 {
                let jx = junk(&mut g, &x);
                let w = format!("{which} case {n}: x {:?} {:?}", jx.size(), jx.kind());
                outcome(&mut counts, &mut panics, &format!("{w} log_prob"), || d.log_prob(&jx).map(drop));
                outcome(&mut counts, &mut panics, &format!("{w} cdf"), || d.cdf(&jx).map(drop));
                outcome(&mut counts, &mut panics, &format!("{w} log_cdf"), || d.log_cdf(&jx).map(drop));
                let s: Vec<i64> = (0..g.int(0, 3)).map(|_| g.int(-2, 3)).collect();
                outcome(&mut counts, &mut panics, &format!("{which} case {n}: sample({s:?})"), || {
                    d.sample(&s).map(drop)
                });
                outcome(&mut counts, &mut panics, &format!("{which} case {n}: rsample({s:?})"), || {
                    d.rsample(&s).map(drop)
                });
            }
        }
    }
    println!(
        "junk inputs: {} calls, {} Ok, {} errors, {} panics",
        counts.iter().sum::<usize>(),
        counts[0],
        counts[1],
        counts[2]
    );
    assert!(panics.is_empty(), "{} panics:\n{}", panics.len(), panics.join("\n"));
}

/// A constructor of a family or bijector from junk parameters, then calls on what it accepted.
fn junk_constructed(g: &mut Gen, which: i64) -> (String, Box<dyn FnOnce() -> Result<()>>) {
    let vec3 = Tensor::ones([3], (Kind::Float, Device::Cpu));
    let mat = Tensor::eye(3, (Kind::Float, Device::Cpu)).expand([2, 3, 3], false);
    let p = |g: &mut Gen, valid: &Tensor| junk(g, valid);
    let (a, b, c) = (p(g, &vec3), p(g, &vec3), p(g, &mat));
    let x = junk(g, &Tensor::ones([4, 3], (Kind::Float, Device::Cpu)));
    let s: Vec<i64> = (0..g.int(0, 2)).map(|_| g.int(-1, 3)).collect();
    let f = g.f(-3.0, 3.0);
    let what = format!(
        "constructor {which}: params {:?}/{:?}, {:?}/{:?}, {:?}/{:?}; x {:?}/{:?}; s {s:?}",
        a.size(),
        a.kind(),
        b.size(),
        b.kind(),
        c.size(),
        c.kind(),
        x.size(),
        x.kind()
    );
    fn use_dist(d: Result<impl Distribution + 'static>, x: Tensor, s: Vec<i64>) -> Result<()> {
        let d = d?;
        let _ = d.log_prob(&x);
        let _ = d.sample(&s);
        let _ = d.rsample(&s);
        let _ = d.mean();
        let _ = d.variance();
        let _ = d.entropy();
        let _ = tch_distributions::kl::kl_divergence(&d, &d);
        Ok(())
    }
    fn use_bij(b: Result<impl Bijector + 'static>, x: Tensor) -> Result<()> {
        let b = b?;
        let _ = b.forward(&x);
        let _ = b.inverse(&x);
        let _ = b.forward_log_det_jacobian(&x);
        let _ = b.inverse_log_det_jacobian(&x);
        Ok(())
    }
    let run: Box<dyn FnOnce() -> Result<()>> = match which {
        0 => Box::new(move || use_dist(Normal::new(a, b), x, s)),
        1 => Box::new(move || use_dist(Laplace::new(a, b), x, s)),
        2 => Box::new(move || use_dist(StudentT::new(a, b, c), x, s)),
        3 => Box::new(move || use_dist(Uniform::new(a, b), x, s)),
        4 => Box::new(move || use_dist(Gamma::new(a, b), x, s)),
        5 => Box::new(move || use_dist(Beta::new(a, b), x, s)),
        6 => Box::new(move || use_dist(Bernoulli::from_logits(a), x, s)),
        7 => Box::new(move || use_dist(Categorical::new(a), x, s)),
        8 => Box::new(move || use_dist(OneHotCategorical::new(a), x, s)),
        9 => Box::new(move || use_dist(Dirichlet::new(a), x, s)),
        10 => Box::new(move || use_dist(MultivariateNormalDiag::new(a, b), x, s)),
        11 => Box::new(move || use_dist(MultivariateNormalTriL::new(a, c), x, s)),
        12 => Box::new(move || use_dist(MultivariateNormal::from_covariance(a, c), x, s)),
        13 => Box::new(move || use_dist(MultivariateNormal::from_precision(a, c), x, s)),
        14 => Box::new(move || use_dist(LogNormal::new(a, b), x, s)),
        15 => Box::new(move || {
            let n = s.first().copied().unwrap_or(0).max(0) as usize;
            use_dist(Normal::new(a, b).and_then(|d| Independent::new(d, n)), x, s)
        }),
        16 => Box::new(move || {
            use_dist(Categorical::new(a).and_then(|m| MixtureSameFamily::new(m, Normal::new(b, c)?)), x, s)
        }),
        17 => Box::new(move || use_bij(Ok(Shift::new(a)), x)),
        18 => Box::new(move || use_bij(Ok(Scale::new(a)), x)),
        19 => Box::new(move || use_bij(ScaleMatvecTriL::new(c), x)),
        20 => Box::new(move || use_bij(Power::new(f), x)),
        21 => Box::new(move || use_bij(Reshape::new(s.clone(), s.iter().rev().copied().collect()), x)),
        22 => Box::new(move || use_bij(ConcatConstant::new(a, s.first().copied().unwrap_or(-1), Position::Before), x)),
        23 => Box::new(move || use_bij(Ok(Pad::new(f as i64, 1)), x)),
        24 => Box::new(move || use_dist(Exponential::new(a), x, s)),
        25 => Box::new(move || use_dist(HalfNormal::new(a), x, s)),
        26 => Box::new(move || use_dist(Cauchy::new(a, b), x, s)),
        27 => Box::new(move || use_dist(HalfCauchy::new(a), x, s)),
        28 => Box::new(move || use_dist(Gumbel::new(a, b), x, s)),
        29 => Box::new(move || use_dist(Chi2::new(a), x, s)),
        30 => Box::new(move || use_dist(Weibull::new(a, b), x, s)),
        31 => Box::new(move || use_dist(Pareto::new(a, b), x, s)),
        32 => Box::new(move || use_dist(Poisson::new(a), x, s)),
        33 => Box::new(move || use_dist(Binomial::from_probs(a, b), x, s)),
        34 => Box::new(move || use_dist(NegativeBinomial::from_logits(a, b), x, s)),
        35 => Box::new(move || use_dist(Geometric::from_probs(a), x, s)),
        36 => Box::new(move || use_dist(InverseGamma::new(a, b), x, s)),
        37 => Box::new(move || use_dist(Kumaraswamy::new(a, b), x, s)),
        38 => Box::new(move || use_dist(FisherSnedecor::new(a, b), x, s)),
        39 => Box::new(move || use_dist(GeneralizedPareto::new(a, b, c), x, s)),
        40 => Box::new(move || use_dist(VonMises::new(a, b), x, s)),
        41 => Box::new(move || use_dist(ContinuousBernoulli::from_probs(a), x, s)),
        _ => Box::new(move || use_dist(RelaxedBernoulli::from_logits(a, b), x, s)),
    };
    (what, run)
}

#[test]
fn junk_parameters_give_errors_never_panics() {
    let _rng = common::seeded(78);
    let mut g = Gen::new(5000);
    let mut counts = [0usize; 3];
    let mut panics = vec![];
    for _ in 0..1000 {
        let which = g.int(0, 42);
        let (what, run) = junk_constructed(&mut g, which);
        outcome(&mut counts, &mut panics, &what, run);
    }
    println!(
        "junk parameters: {} constructions, {} accepted, {} errors, {} panics",
        counts.iter().sum::<usize>(),
        counts[0],
        counts[1],
        counts[2]
    );
    assert!(panics.is_empty(), "{} panics:\n{}", panics.len(), panics.join("\n"));
}
