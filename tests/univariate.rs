//! Integration tests for the univariate families (Uniform, Bernoulli, Gamma, Beta, StudentT,
//! Laplace, LogNormal), TransformedDistribution and the Sigmoid bijector.
//!
//! References are closed forms in Rust f64 scalar math, with Gamma-function values taken at
//! integers and half-integers (`Γ(n) = (n-1)!`, `Γ(1/2) = √π`) and digamma at integers
//! (`ψ(n) = -γ + H(n-1)`), so no reference uses libtorch's special functions.
//!
//! Statistical checks are z-tests with threshold 5 on means whose standard errors come from the
//! samples themselves (N = 40000). Under the null each fails with probability ≈ 5.7e-7; with the
//! ~60 such checks below, a false failure of the file is ≈ 4e-5 (and the seeds are fixed, so a
//! run is reproducible).

mod common;

use common::{seeded, to_vec};
use std::f64::consts::{LN_2, PI};
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::bijectors::testing::check_bijector;
use tch_distributions::bijectors::{Bijector, Exp, FillTriangular, Identity, Sigmoid};
use tch_distributions::distributions::{
    Bernoulli, Beta, Distribution, Gamma, Independent, Laplace, LogNormal, Normal, StudentT, Support,
    TransformedDistribution, Uniform,
};
use tch_distributions::Parameter;

const N: i64 = 40_000;
const EULER: f64 = 0.577_215_664_901_532_9;
const Z: f64 = 5.0;

fn f64s(v: &[f64]) -> Tensor {
    Tensor::from_slice(v)
}

fn cst(v: &[f64]) -> Parameter {
    Parameter::constant(&f64s(v)).unwrap()
}

fn cst32(v: &[f64]) -> Parameter {
    Parameter::constant(&f64s(v).to_kind(Kind::Float)).unwrap()
}

/// `|got - want| <= atol + rtol·|want|` elementwise (infinities must match exactly).
fn assert_close(what: &str, got: &[f64], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if w.is_infinite() || w.is_nan() {
            assert!(g == w || (g.is_nan() && w.is_nan()), "{what}[{i}]: got {g:e}, want {w:e}");
            continue;
        }
        assert!((g - w).abs() <= atol + rtol * w.abs(), "{what}[{i}]: got {g:e}, want {w:e}");
    }
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// z-test of the mean of `v` against `want`.
fn z_mean(what: &str, v: &[f64], want: f64) {
    let (m, se) = mean_se(v);
    // The 1e-9 term covers the rounding of summing N values (a zero-variance sample).
    assert!((m - want).abs() <= Z * se + 1e-9 * (1.0 + want.abs()), "{what}: sample mean {m} vs {want} (se {se})");
}

/// z-tests of the sample mean and variance (SE of the variance from the sample's 4th moment).
fn moments(what: &str, v: &[f64], mean: f64, var: f64) {
    z_mean(&format!("{what} mean"), v, mean);
    let sq: Vec<f64> = v.iter().map(|x| (x - mean).powi(2)).collect();
    z_mean(&format!("{what} variance"), &sq, var);
}

/// `-E[log p]` by Monte Carlo against the closed-form entropy.
fn mc_entropy(what: &str, d: &dyn Distribution, want: f64) {
    let x = d.sample(&[N]).unwrap();
    let lp: Vec<f64> = to_vec(&d.log_prob(&x).unwrap()).iter().map(|l| -l).collect();
    z_mean(&format!("{what} MC entropy"), &lp, want);
    assert_close(&format!("{what} entropy"), &to_vec(&d.entropy().unwrap()), &[want], 1e-12, 1e-12);
}

/// Per-sample gradients of `g(rsample)` with respect to one scalar-valued parameter: the
/// parameter is a `[N]` variable (one copy per draw), so the gradient of the sum is the vector
/// of per-draw derivatives, whose mean is z-tested against `want`.
fn rsample_grad<D: Distribution>(
    what: &str,
    build: impl Fn(Parameter) -> D,
    value: f64,
    g: impl Fn(&Tensor) -> Tensor,
    want: f64,
) {
    let vs = nn::VarStore::new(Device::Cpu);
    let p = Parameter::variable(&vs.root(), "p", &Tensor::full([N], value, (Kind::Double, Device::Cpu))).unwrap();
    let d = build(p);
    let x = d.rsample(&[]).unwrap();
    assert_eq!(x.size(), vec![N]);
    g(&x).sum(Kind::Double).backward();
    let grad = to_vec(&d.trainable_variables()[0].1.grad());
    z_mean(what, &grad, want);
}

fn err<T>(r: anyhow::Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

/// The usual bad inputs for a scalar-event family of batch shape [2] and dtype float64.
fn bad_values(d: &dyn Distribution, family: &str) {
    let e = err(d.log_prob(&Tensor::from_slice(&[0i64, 1])));
    assert!(e.contains(&format!("{family}.log_prob")) && e.contains("int64"), "{e}");
    let e = err(d.log_prob(&Tensor::from_slice(&[0.5f32, 0.5])));
    assert!(e.contains("float32"), "{e}");
    let e = err(d.log_prob(&Tensor::zeros([3], (Kind::Double, Device::Cpu))));
    assert!(e.contains("does not broadcast"), "{e}");
    let e = err(d.sample(&[-1]));
    assert!(e.contains("non-negative"), "{e}");
    if d.has_rsample() {
        assert!(err(d.rsample(&[2, -3])).contains("non-negative"));
    }
}

/// Constructor errors for a two-parameter family.
fn bad_params<D>(family: &str, new: impl Fn(Parameter, Parameter) -> anyhow::Result<D>) {
    let int = Parameter::Constant(Tensor::from_slice(&[1i64, 2]));
    let e = err(new(int, cst(&[1.0, 2.0])));
    assert!(e.contains(&format!("{family}::new")) && e.contains("float32 or float64, got int64"), "{e}");
    let e = err(new(cst(&[1.0, 2.0]), cst32(&[1.0, 2.0])));
    assert!(e.contains("float64") && e.contains("float32"), "{e}");
    let e = err(new(cst(&[1.0, 2.0]), cst(&[1.0, 2.0, 3.0])));
    assert!(e.contains("do not broadcast"), "{e}");
}

/// The default event-space bijector maps unconstrained draws into the support, where
/// `log_prob` is finite.
fn bijector_onto_support(d: &dyn Distribution, inside: impl Fn(f64) -> bool) {
    let b = d.default_event_space_bijector().unwrap();
    let mut shape = vec![500];
    shape.extend(d.batch_shape());
    let y = b.forward(&(Tensor::randn(shape.as_slice(), (d.dtype(), Device::Cpu)) * 3.0)).unwrap();
    assert!(to_vec(&y).iter().all(|v| inside(*v)), "{} bijector leaves the support", d.type_name());
    assert!(to_vec(&d.log_prob(&y).unwrap()).iter().all(|v| v.is_finite()));
}

// ------------------------------------------------------------------------------------------
// Sigmoid

// check_bijector in float64 (round trip, log-det vs autograd, inverse log-det, event shapes)
// at atol 1e-10 / rtol 1e-9, unbounded, with scalar bounds and with tensor bounds; x in
// [-8, 8] so that y stays away from the bounds by more than float64 round-off allows.
#[test]
fn sigmoid_check_bijector() {
    let _g = seeded(1);
    let x = Tensor::rand([5, 3], (Kind::Double, Device::Cpu)) * 16.0 - 8.0;
    check_bijector(&Sigmoid::new(), &x, 1e-10, 1e-9).unwrap();
    check_bijector(&Sigmoid::with_scalar_bounds(-2.0, 3.0).unwrap(), &x, 1e-10, 1e-9).unwrap();
    let b = Sigmoid::with_bounds(f64s(&[-1.0, 0.0, 10.0]), f64s(&[1.0, 0.5, 20.0])).unwrap();
    check_bijector(&b, &x, 1e-10, 1e-9).unwrap();
    let y = to_vec(&b.forward(&x).unwrap());
    let (lo, hi) = ([-1.0, 0.0, 10.0], [1.0, 0.5, 20.0]);
    for (i, v) in y.iter().enumerate() {
        assert!(*v > lo[i % 3] && *v < hi[i % 3], "{v} outside bounds {i}");
    }
    // Known values: sigmoid(0) = 1/2, log-det at 0 = log(1/4) (+ log(high - low)).
    let zero = Tensor::zeros([1], (Kind::Double, Device::Cpu));
    let s = Sigmoid::with_scalar_bounds(-2.0, 3.0).unwrap();
    assert_close("fwd(0)", &to_vec(&s.forward(&zero).unwrap()), &[0.5], 0.0, 1e-15);
    assert_close("ldj(0)", &to_vec(&s.forward_log_det_jacobian(&zero).unwrap()), &[(5.0f64 / 4.0).ln()], 0.0, 1e-15);
    assert_close("inv(0.5)", &to_vec(&s.inverse(&(zero + 0.5)).unwrap()), &[0.0], 1e-15, 0.0);
}

// float32 round trip: |inverse(forward(x)) - x| <= 2e-4 + 1e-4 |x| for x in [-6, 6] (the
// inverse amplifies the rounding of y near the bounds by 1/(y(1-y)) ≤ 400).
#[test]
fn sigmoid_float32_round_trip() {
    let _g = seeded(2);
    let x = Tensor::rand([200], (Kind::Float, Device::Cpu)) * 12.0 - 6.0;
    for b in [Sigmoid::new(), Sigmoid::with_scalar_bounds(1.0, 4.0).unwrap()] {
        let back = b.inverse(&b.forward(&x).unwrap()).unwrap();
        assert_eq!(back.kind(), Kind::Float);
        assert_close("f32 round trip", &to_vec(&back), &to_vec(&x), 2e-4, 1e-4);
    }
    let b = Sigmoid::with_bounds(f64s(&[0.0]).to_kind(Kind::Float), f64s(&[2.0]).to_kind(Kind::Float)).unwrap();
    let back = b.inverse(&b.forward(&x).unwrap()).unwrap();
    assert_close("f32 tensor bounds round trip", &to_vec(&back), &to_vec(&x), 2e-4, 1e-4);
}

#[test]
fn sigmoid_errors() {
    assert!(err(Sigmoid::with_bounds(f64s(&[1.0]), f64s(&[1.0]))).contains("low < high"));
    assert!(err(Sigmoid::with_bounds(f64s(&[0.0]), f64s(&[1.0]).to_kind(Kind::Float))).contains("float32"));
    assert!(err(Sigmoid::with_bounds(f64s(&[0.0, 0.0]), f64s(&[1.0, 1.0, 1.0]))).contains("do not broadcast"));
    assert!(err(Sigmoid::with_bounds(Tensor::from_slice(&[0i64]), f64s(&[1.0]))).contains("int64"));
    assert!(err(Sigmoid::with_scalar_bounds(2.0, 1.0)).contains("low < high"));
    assert!(err(Sigmoid::new().forward(&Tensor::from_slice(&[1i64]))).contains("sigmoid.forward"));
    let b = Sigmoid::with_bounds(f64s(&[0.0]), f64s(&[1.0])).unwrap();
    assert!(err(b.forward(&f64s(&[0.0]).to_kind(Kind::Float))).contains("float64"));
    let b = Sigmoid::with_bounds(f64s(&[0.0, 1.0]), f64s(&[1.0, 2.0])).unwrap();
    assert!(err(b.inverse(&f64s(&[0.5, 0.5, 0.5]))).contains("do not broadcast"));
}

// ------------------------------------------------------------------------------------------
// Uniform

// Closed form: -log(high - low) on [low, high), -inf outside; float64 to 1e-15 relative,
// float32 to 1e-6 relative.
#[test]
fn uniform_closed_forms() {
    for (kind, rtol) in [(Kind::Double, 1e-15), (Kind::Float, 1e-6)] {
        let d = Uniform::new(
            Parameter::constant(&f64s(&[-1.0, 0.5]).to_kind(kind)).unwrap(),
            Parameter::constant(&f64s(&[2.0, 4.0]).to_kind(kind)).unwrap(),
        )
        .unwrap();
        assert_eq!((d.batch_shape(), d.event_shape(), d.dtype()), (vec![2], vec![], kind));
        let x = f64s(&[0.0, 0.5, -1.0, 4.0, 2.0, 3.0, -2.0, 0.0]).reshape([4, 2]).to_kind(kind);
        let lp = d.log_prob(&x).unwrap();
        assert_eq!(lp.size(), vec![4, 2]);
        let (a, b) = (-(3.0f64.ln()), -(3.5f64.ln()));
        let ninf = f64::NEG_INFINITY;
        assert_close("uniform lp", &to_vec(&lp), &[a, b, a, ninf, ninf, b, ninf, ninf], 0.0, rtol);
        let cdf = d.cdf(&x).unwrap();
        assert_close("uniform cdf", &to_vec(&cdf), &[1.0 / 3.0, 0.0, 0.0, 1.0, 1.0, 2.5 / 3.5, 0.0, 0.0], 1e-7, rtol);
        assert_close("uniform mean", &to_vec(&d.mean().unwrap()), &[0.5, 2.25], 0.0, rtol);
        assert_close("uniform var", &to_vec(&d.variance().unwrap()), &[0.75, 3.5 * 3.5 / 12.0], 0.0, rtol);
        assert_close("uniform entropy", &to_vec(&d.entropy().unwrap()), &[-a, -b], 0.0, rtol);
    }
}

#[test]
fn uniform_sampling_and_gradients() {
    let _g = seeded(3);
    let d = Uniform::new(cst(&[-1.0]), cst(&[3.0])).unwrap();
    let s = d.sample(&[N]).unwrap();
    assert_eq!(s.size(), vec![N, 1]);
    let v = to_vec(&s);
    assert!(v.iter().all(|x| (-1.0..3.0).contains(x)));
    moments("uniform", &v, 1.0, 16.0 / 12.0);
    mc_entropy("uniform", &d, 4.0f64.ln());
    // d/dlow of E[low + (high - low) u] = 1 - E[u] = 1/2; d/dhigh = 1/2.
    rsample_grad("uniform d/dlow", |p| Uniform::new(p, cst(&[3.0])).unwrap(), -1.0, |x| x.shallow_clone(), 0.5);
    rsample_grad("uniform d/dhigh", |p| Uniform::new(cst(&[-1.0]), p).unwrap(), 3.0, |x| x.shallow_clone(), 0.5);
    assert_eq!(d.support(), Support::Interval);
    let b = Uniform::new(cst(&[-1.0, 10.0]), cst(&[3.0, 10.5])).unwrap();
    bijector_onto_support(&b, |v| (-1.0..10.5).contains(&v));
    assert!(err(d.mode()).contains("Uniform.mode: not implemented"));
}

#[test]
fn uniform_errors() {
    bad_params("Uniform", Uniform::new);
    let d = Uniform::new(cst(&[0.0, 1.0]), cst(&[1.0, 2.0])).unwrap();
    bad_values(&d, "Uniform");
    let d = Uniform::new(cst(&[1.0]), cst(&[0.0])).unwrap().with_validate_args(true);
    assert!(err(d.log_prob(&f64s(&[0.5]))).contains("low < high"));
    assert!(err(d.sample(&[2])).contains("low < high"));
}

// ------------------------------------------------------------------------------------------
// Bernoulli

// log p(x) = x log p + (1-x) log(1-p): float64 to 1e-14 relative, float32 to 1e-6 relative
// + 1e-7 absolute; large logits (±40) keep full relative accuracy in float64.
#[test]
fn bernoulli_closed_forms() {
    let p = [0.1f64, 0.5, 0.8];
    let logits: Vec<f64> = p.iter().map(|p| (p / (1.0 - p)).ln()).collect();
    let x = [1.0f64, 0.0, 0.0, 1.0, 1.0, 0.0];
    let want: Vec<f64> = (0..6).map(|i| if x[i] == 1.0 { p[i % 3].ln() } else { (1.0 - p[i % 3]).ln() }).collect();
    for (kind, atol, rtol) in [(Kind::Double, 0.0, 1e-14), (Kind::Float, 1e-7, 1e-6)] {
        let xs = f64s(&x).reshape([2, 3]).to_kind(kind);
        for d in [
            Bernoulli::from_probs(Parameter::constant(&f64s(&p).to_kind(kind)).unwrap()).unwrap(),
            Bernoulli::from_logits(Parameter::constant(&f64s(&logits).to_kind(kind)).unwrap()).unwrap(),
        ] {
            let lp = d.log_prob(&xs).unwrap();
            assert_eq!((lp.size(), lp.kind()), (vec![2, 3], kind));
            assert_close("bernoulli lp", &to_vec(&lp), &want, atol, rtol);
            assert_close("bernoulli mean", &to_vec(&d.mean().unwrap()), &p, atol, rtol);
            let var: Vec<f64> = p.iter().map(|p| p * (1.0 - p)).collect();
            assert_close("bernoulli var", &to_vec(&d.variance().unwrap()), &var, atol, rtol);
            assert_close("bernoulli mode", &to_vec(&d.mode().unwrap()), &[0.0, 0.0, 1.0], 0.0, 0.0);
            let h: Vec<f64> = p.iter().map(|p| -(p * p.ln() + (1.0 - p) * (1.0 - p).ln())).collect();
            assert_close("bernoulli entropy", &to_vec(&d.entropy().unwrap()), &h, atol, rtol);
            assert_close("probs", &to_vec(&d.probs().unwrap()), &p, atol, rtol);
            assert_close("logits", &to_vec(&d.logits().unwrap()), &logits, 1e-6, rtol.max(1e-14) * 10.0);
            assert_eq!(d.support(), Support::Boolean);
        }
    }
    let d = Bernoulli::from_logits(cst(&[40.0, -40.0])).unwrap();
    let lp = to_vec(&d.log_prob(&f64s(&[0.0, 0.0])).unwrap());
    let tiny = (-40.0f64).exp(); // log1p(e^-40) = e^-40 to f64 rounding
    assert_close("logit 40", &lp, &[-40.0 - tiny, -tiny], 0.0, 1e-14);
    // probs at 0 and 1 are exact.
    let d = Bernoulli::from_probs(cst(&[0.0, 1.0])).unwrap();
    assert_close("p in {0,1}", &to_vec(&d.log_prob(&f64s(&[0.0, 1.0])).unwrap()), &[0.0, 0.0], 0.0, 0.0);
    assert_close("p in {0,1} entropy", &to_vec(&d.entropy().unwrap()), &[0.0, 0.0], 0.0, 0.0);
}

#[test]
fn bernoulli_sampling_and_errors() {
    let _g = seeded(4);
    let d = Bernoulli::from_logits(cst(&[-1.0, 2.0])).unwrap();
    let s = d.sample(&[N]).unwrap();
    assert_eq!((s.size(), s.kind()), (vec![N, 2], Kind::Double));
    let v = to_vec(&s);
    assert!(v.iter().all(|x| *x == 0.0 || *x == 1.0));
    for (j, l) in [-1.0f64, 2.0].iter().enumerate() {
        let p = 1.0 / (1.0 + (-l).exp());
        let col: Vec<f64> = v.iter().skip(j).step_by(2).copied().collect();
        moments("bernoulli", &col, p, p * (1.0 - p));
    }
    assert!(!d.has_rsample());
    assert!(err(d.rsample(&[1])).contains("Bernoulli.rsample: not implemented"));
    assert!(err(d.default_event_space_bijector()).contains("not implemented"));
    bad_values(&d, "Bernoulli");
    let e = err(Bernoulli::from_probs(Parameter::Constant(Tensor::from_slice(&[1i64]))));
    assert!(e.contains("Bernoulli::from_probs: expected probs of dtype float32 or float64, got int64"), "{e}");
    // probs outside [0, 1]: an error with validation on; without it sampling neither syncs nor
    // panics (U < p: always 1 above 1).
    let d = Bernoulli::from_probs(cst(&[1.5])).unwrap();
    assert_eq!(d.sample(&[3]).unwrap().sum(Kind::Double).double_value(&[]), 3.0);
    let d = Bernoulli::from_probs(cst(&[1.5])).unwrap().with_validate_args(true);
    assert!(err(d.sample(&[3])).contains("0 <= probs <= 1"));
    let d = Bernoulli::from_probs(cst(&[0.5])).unwrap().with_validate_args(true);
    assert!(err(d.log_prob(&f64s(&[0.5]))).contains("a value of 0 or 1"));
}

// ------------------------------------------------------------------------------------------
// Gamma

/// Gamma(c, r) log density with lgamma(c) given.
fn gamma_lp(x: f64, c: f64, r: f64, lgamma_c: f64) -> f64 {
    c * r.ln() + (c - 1.0) * x.ln() - r * x - lgamma_c
}

// Integer concentration 3 (Γ(3) = 2) and half-integer 0.5 (Γ(1/2) = √π): float64 to 1e-13
// relative, float32 to 2e-6 relative + 2e-6 absolute.
#[test]
fn gamma_closed_forms() {
    let lg = [2.0f64.ln(), 0.5 * PI.ln()];
    let (c, r) = ([3.0, 0.5], [2.0, 1.5]);
    let x = [0.3, 2.5, 1.7, 0.01];
    let want: Vec<f64> = (0..4).map(|i| gamma_lp(x[i], c[i % 2], r[i % 2], lg[i % 2])).collect();
    for (kind, atol, rtol) in [(Kind::Double, 0.0, 1e-13), (Kind::Float, 2e-6, 2e-6)] {
        let p = |v: &[f64]| Parameter::constant(&f64s(v).to_kind(kind)).unwrap();
        let d = Gamma::new(p(&c), p(&r)).unwrap();
        let lp = d.log_prob(&f64s(&x).reshape([2, 2]).to_kind(kind)).unwrap();
        assert_close("gamma lp", &to_vec(&lp), &want, atol, rtol);
        assert_close("gamma mean", &to_vec(&d.mean().unwrap()), &[1.5, 1.0 / 3.0], atol, rtol);
        assert_close("gamma var", &to_vec(&d.variance().unwrap()), &[0.75, 0.5 / 2.25], atol, rtol);
        assert_close("gamma mode", &to_vec(&d.mode().unwrap()), &[1.0, 0.0], atol, rtol);
    }
    // Entropy: c - ln r + lgamma(c) + (1 - c) ψ(c), ψ(3) = 3/2 - γ; c = 1 is Exponential(r).
    let d = Gamma::new(cst(&[3.0, 1.0]), cst(&[2.0, 0.5])).unwrap();
    let h3 = 3.0 - 2.0f64.ln() + 2.0f64.ln() - 2.0 * (1.5 - EULER);
    let h1 = 1.0 - 0.5f64.ln();
    assert_close("gamma entropy", &to_vec(&d.entropy().unwrap()), &[h3, h1], 0.0, 1e-13);
}

#[test]
fn gamma_sampling_and_gradients() {
    let _g = seeded(5);
    let d = Gamma::new(cst(&[3.0]), cst(&[2.0])).unwrap();
    let v = to_vec(&d.sample(&[N]).unwrap());
    assert!(v.iter().all(|x| *x > 0.0));
    moments("gamma(3,2)", &v, 1.5, 0.75);
    let d = Gamma::new(cst(&[0.5]), cst(&[1.0])).unwrap();
    moments("gamma(0.5,1)", &to_vec(&d.sample(&[N]).unwrap()), 0.5, 0.5);
    let d = Gamma::new(cst(&[3.0]), cst(&[2.0])).unwrap();
    mc_entropy("gamma", &d, 3.0 - 2.0 * (1.5 - EULER));
    // E[X] = c/r: d/dc = 1/r, d/dr = -c/r² (implicit reparameterization through libtorch's
    // _standard_gamma).
    rsample_grad("gamma d/dc", |p| Gamma::new(p, cst(&[2.0])).unwrap(), 3.0, |x| x.shallow_clone(), 0.5);
    rsample_grad("gamma d/dc small c", |p| Gamma::new(p, cst(&[2.0])).unwrap(), 0.3, |x| x.shallow_clone(), 0.5);
    rsample_grad("gamma d/dr", |p| Gamma::new(cst(&[3.0]), p).unwrap(), 2.0, |x| x.shallow_clone(), -0.75);
    // E[X²] = c(c+1)/r²: d/dc = (2c+1)/r².
    rsample_grad("gamma d/dc E[X²]", |p| Gamma::new(p, cst(&[2.0])).unwrap(), 3.0, |x| x.square(), 7.0 / 4.0);
    assert_eq!(d.support(), Support::Positive);
    bijector_onto_support(&Gamma::new(cst(&[3.0, 0.5]), cst(&[2.0, 1.0])).unwrap(), |v| v > 0.0);
}

#[test]
fn gamma_errors() {
    bad_params("Gamma", Gamma::new);
    bad_values(&Gamma::new(cst(&[1.0, 2.0]), cst(&[1.0, 1.0])).unwrap(), "Gamma");
    let d = Gamma::new(cst(&[-1.0]), cst(&[1.0])).unwrap();
    assert!(d.log_prob(&f64s(&[1.0])).is_ok(), "no validation by default");
    let d = d.with_validate_args(true);
    let e = err(d.log_prob(&f64s(&[1.0])));
    assert!(e.contains("Gamma.log_prob: expected concentration > 0"), "{e}");
    assert!(err(d.sample(&[1])).contains("concentration > 0"));
    let d = Gamma::new(cst(&[1.0]), cst(&[1.0])).unwrap().with_validate_args(true);
    assert!(err(d.log_prob(&f64s(&[-1.0]))).contains("a value >= 0"));
}

// ------------------------------------------------------------------------------------------
// Beta

// Beta(2, 3): B = Γ(2)Γ(3)/Γ(5) = 1/12; Beta(1/2, 1/2): density 1/(π √(x(1-x))).
// float64 to 1e-13 relative, float32 to 2e-6 relative + 2e-6 absolute.
#[test]
fn beta_closed_forms() {
    let x = [0.2, 0.7, 0.9, 0.05];
    let want = [
        0.2f64.ln() + 2.0 * 0.8f64.ln() + 12.0f64.ln(),
        -(PI * (0.7f64 * 0.3).sqrt()).ln(),
        0.9f64.ln() + 2.0 * 0.1f64.ln() + 12.0f64.ln(),
        -(PI * (0.05f64 * 0.95).sqrt()).ln(),
    ];
    for (kind, atol, rtol) in [(Kind::Double, 0.0, 1e-13), (Kind::Float, 2e-6, 2e-6)] {
        let p = |v: &[f64]| Parameter::constant(&f64s(v).to_kind(kind)).unwrap();
        let d = Beta::new(p(&[2.0, 0.5]), p(&[3.0, 0.5])).unwrap();
        let lp = d.log_prob(&f64s(&x).reshape([2, 2]).to_kind(kind)).unwrap();
        assert_close("beta lp", &to_vec(&lp), &want, atol, rtol);
        assert_close("beta mean", &to_vec(&d.mean().unwrap()), &[0.4, 0.5], atol, rtol);
        assert_close("beta var", &to_vec(&d.variance().unwrap()), &[6.0 / 150.0, 0.125], atol, rtol);
    }
    // Modes: interior (a-1)/(a+b-2); 0 for a <= 1 < b; 1 for b <= 1 < a; NaN for both <= 1.
    let d = Beta::new(cst(&[2.0, 1.0, 3.0, 0.5]), cst(&[3.0, 2.0, 0.5, 0.5])).unwrap();
    assert_close("beta mode", &to_vec(&d.mode().unwrap()), &[1.0 / 3.0, 0.0, 1.0, f64::NAN], 0.0, 1e-15);
    // Entropy of Beta(2, 3): ln(1/12) - (1)ψ(2) - 2ψ(3) + 3ψ(5), ψ(n) = H(n-1) - γ.
    let psi = |h: f64| h - EULER;
    let h = -(12.0f64.ln()) - psi(1.0) - 2.0 * psi(1.5) + 3.0 * psi(25.0 / 12.0);
    let d = Beta::new(cst(&[2.0]), cst(&[3.0])).unwrap();
    assert_close("beta entropy", &to_vec(&d.entropy().unwrap()), &[h], 0.0, 1e-13);
}

#[test]
fn beta_sampling_and_gradients() {
    let _g = seeded(6);
    let d = Beta::new(cst(&[2.0]), cst(&[3.0])).unwrap();
    let v = to_vec(&d.sample(&[N]).unwrap());
    assert!(v.iter().all(|x| *x > 0.0 && *x < 1.0));
    moments("beta(2,3)", &v, 0.4, 0.04);
    let psi = |h: f64| h - EULER;
    mc_entropy("beta", &d, -(12.0f64.ln()) - psi(1.0) - 2.0 * psi(1.5) + 3.0 * psi(25.0 / 12.0));
    let d = Beta::new(cst(&[0.3]), cst(&[0.2])).unwrap();
    let v = to_vec(&d.sample(&[N]).unwrap());
    assert!(v.iter().all(|x| *x > 0.0 && *x < 1.0));
    moments("beta(0.3,0.2)", &v, 0.6, 0.24 / 1.5);
    assert!(to_vec(&d.log_prob(&d.sample(&[1000]).unwrap()).unwrap()).iter().all(|l| l.is_finite()));
    // E[X] = a/(a+b): d/da = b/(a+b)², d/db = -a/(a+b)².
    rsample_grad("beta d/da", |p| Beta::new(p, cst(&[3.0])).unwrap(), 2.0, |x| x.shallow_clone(), 3.0 / 25.0);
    rsample_grad("beta d/db", |p| Beta::new(cst(&[2.0]), p).unwrap(), 3.0, |x| x.shallow_clone(), -2.0 / 25.0);
    assert_eq!(d.support(), Support::UnitInterval);
    bijector_onto_support(&Beta::new(cst(&[2.0, 0.5]), cst(&[3.0, 0.5])).unwrap(), |v| v > 0.0 && v < 1.0);
}

#[test]
fn beta_errors() {
    bad_params("Beta", Beta::new);
    bad_values(&Beta::new(cst(&[1.0, 2.0]), cst(&[1.0, 1.0])).unwrap(), "Beta");
    let d = Beta::new(cst(&[1.0]), cst(&[0.0])).unwrap().with_validate_args(true);
    assert!(err(d.mean()).contains("concentration0 > 0"));
    let d = Beta::new(cst(&[1.0]), cst(&[1.0])).unwrap().with_validate_args(true);
    assert!(err(d.log_prob(&f64s(&[1.5]))).contains("a value in [0, 1]"));
}

// ------------------------------------------------------------------------------------------
// StudentT

// df = 1 is Cauchy: -log(πσ(1 + y²)); df = 3: 2/(π√3 σ) (1 + y²/3)^-2.
// float64 to 1e-13 relative, float32 to 2e-6 relative + 2e-6 absolute.
#[test]
fn student_t_closed_forms() {
    let (df, loc, scale) = ([1.0, 3.0], [0.5, -1.0], [2.0, 0.7]);
    let x = [1.3, -2.0, -4.0, 5.0];
    let want: Vec<f64> = (0..4)
        .map(|i| {
            let j = i % 2;
            let y = (x[i] - loc[j]) / scale[j];
            if j == 0 {
                -(PI * scale[j] * (1.0 + y * y)).ln()
            } else {
                (2.0 / (PI * 3.0f64.sqrt() * scale[j])).ln() - 2.0 * (1.0 + y * y / 3.0).ln()
            }
        })
        .collect();
    for (kind, atol, rtol) in [(Kind::Double, 0.0, 1e-13), (Kind::Float, 2e-6, 2e-6)] {
        let p = |v: &[f64]| Parameter::constant(&f64s(v).to_kind(kind)).unwrap();
        let d = StudentT::new(p(&df), p(&loc), p(&scale)).unwrap();
        let lp = d.log_prob(&f64s(&x).reshape([2, 2]).to_kind(kind)).unwrap();
        assert_close("student lp", &to_vec(&lp), &want, atol, rtol);
    }
    // Cauchy entropy ln(4πσ); mean NaN for df <= 1; variance NaN / inf / σ²ν/(ν-2).
    let d = StudentT::new(cst(&[1.0, 2.0, 5.0]), cst(&[0.5, 1.0, 2.0]), cst(&[2.0, 1.0, 3.0])).unwrap();
    assert_close("student mean", &to_vec(&d.mean().unwrap()), &[f64::NAN, 1.0, 2.0], 0.0, 0.0);
    assert_close("student var", &to_vec(&d.variance().unwrap()), &[f64::NAN, f64::INFINITY, 15.0], 0.0, 1e-15);
    assert_close("student mode", &to_vec(&d.mode().unwrap()), &[0.5, 1.0, 2.0], 0.0, 0.0);
    let h = to_vec(&d.entropy().unwrap());
    assert_close("cauchy entropy", &h[..1], &[(4.0 * PI * 2.0).ln()], 0.0, 1e-13);
}

#[test]
fn student_t_sampling_and_gradients() {
    let _g = seeded(7);
    let d = StudentT::new(cst(&[10.0]), cst(&[1.0]), cst(&[2.0])).unwrap();
    let v = to_vec(&d.sample(&[N]).unwrap());
    moments("student(10)", &v, 1.0, 4.0 * 10.0 / 8.0);
    let want_h = d.entropy().unwrap().double_value(&[0]);
    // Entropy at df = 10 by Monte Carlo (closed form checked at df = 1 above).
    let lp: Vec<f64> = to_vec(&d.log_prob(&d.sample(&[N]).unwrap()).unwrap()).iter().map(|l| -l).collect();
    z_mean("student MC entropy", &lp, want_h);
    // E[(X-μ)²] = σ²ν/(ν-2): d/dσ = 2σν/(ν-2), d/dν = -2σ²/(ν-2)².
    rsample_grad(
        "student d/dscale",
        |p| StudentT::new(cst(&[10.0]), cst(&[1.0]), p).unwrap(),
        2.0,
        |x| (x - 1.0).square(),
        2.0 * 2.0 * 10.0 / 8.0,
    );
    rsample_grad(
        "student d/ddf",
        |p| StudentT::new(p, cst(&[1.0]), cst(&[2.0])).unwrap(),
        10.0,
        |x| (x - 1.0).square(),
        -2.0 * 4.0 / 64.0,
    );
    rsample_grad(
        "student d/dloc",
        |p| StudentT::new(cst(&[10.0]), p, cst(&[2.0])).unwrap(),
        1.0,
        |x| x.shallow_clone(),
        1.0,
    );
    assert_eq!(d.support(), Support::Real);
    bijector_onto_support(&d, |v| v.is_finite());
}

#[test]
fn student_t_errors() {
    let e = err(StudentT::new(cst(&[1.0]), Parameter::Constant(Tensor::from_slice(&[1i64])), cst(&[1.0])));
    assert!(e.contains("StudentT::new: expected loc of dtype float32 or float64, got int64"), "{e}");
    assert!(err(StudentT::new(cst(&[1.0, 2.0]), cst(&[1.0]), cst(&[1.0, 2.0, 3.0]))).contains("do not broadcast"));
    assert!(err(StudentT::new(cst(&[1.0]), cst(&[1.0]), cst32(&[1.0]))).contains("float32"));
    bad_values(&StudentT::new(cst(&[1.0, 2.0]), cst(&[0.0]), cst(&[1.0])).unwrap(), "StudentT");
    let d = StudentT::new(cst(&[0.0]), cst(&[0.0]), cst(&[1.0])).unwrap().with_validate_args(true);
    assert!(err(d.log_prob(&f64s(&[0.0]))).contains("df > 0"));
}

// ------------------------------------------------------------------------------------------
// Laplace

// -log(2b) - |x - μ|/b; cdf ½e^z (z < 0), 1 - ½e^-z (z ≥ 0); log_cdf in both tails.
// float64 to 1e-14 relative, float32 to 1e-6 relative + 1e-6 absolute.
#[test]
fn laplace_closed_forms() {
    let (loc, scale) = ([0.5, -2.0], [1.5, 0.25]);
    let x = [0.0, -2.0, 3.0, -1.0];
    let z: Vec<f64> = (0..4).map(|i| (x[i] - loc[i % 2]) / scale[i % 2]).collect();
    let want: Vec<f64> = (0..4).map(|i| -(2.0 * scale[i % 2]).ln() - z[i].abs()).collect();
    let cdf: Vec<f64> = z.iter().map(|z| if *z < 0.0 { 0.5 * z.exp() } else { 1.0 - 0.5 * (-z).exp() }).collect();
    for (kind, atol, rtol) in [(Kind::Double, 0.0, 1e-14), (Kind::Float, 1e-6, 1e-6)] {
        let p = |v: &[f64]| Parameter::constant(&f64s(v).to_kind(kind)).unwrap();
        let d = Laplace::new(p(&loc), p(&scale)).unwrap();
        let xs = f64s(&x).reshape([2, 2]).to_kind(kind);
        assert_close("laplace lp", &to_vec(&d.log_prob(&xs).unwrap()), &want, atol, rtol);
        assert_close("laplace cdf", &to_vec(&d.cdf(&xs).unwrap()), &cdf, atol, rtol);
        let lc: Vec<f64> = cdf.iter().map(|c| c.ln()).collect();
        assert_close("laplace log_cdf", &to_vec(&d.log_cdf(&xs).unwrap()), &lc, atol, rtol);
        assert_close("laplace var", &to_vec(&d.variance().unwrap()), &[4.5, 0.125], atol, rtol);
        assert_close("laplace stddev", &to_vec(&d.stddev().unwrap()), &[4.5f64.sqrt(), 0.125f64.sqrt()], atol, rtol);
        let h: Vec<f64> = scale.iter().map(|b| 1.0 + (2.0 * b).ln()).collect();
        assert_close("laplace entropy", &to_vec(&d.entropy().unwrap()), &h, atol, rtol);
    }
    // Tails, float64: z = -50 gives -50 - ln 2; z = 50 gives log1p(-e^-50/2) ≈ -e^-50/2.
    let d = Laplace::new(cst(&[0.0]), cst(&[1.0])).unwrap();
    let lc = to_vec(&d.log_cdf(&f64s(&[-50.0, 50.0])).unwrap());
    assert_close("laplace log_cdf tails", &lc, &[-50.0 - LN_2, -0.5 * (-50.0f64).exp()], 0.0, 1e-14);
}

#[test]
fn laplace_sampling_and_gradients() {
    let _g = seeded(8);
    let d = Laplace::new(cst(&[1.0]), cst(&[2.0])).unwrap();
    let v = to_vec(&d.sample(&[N]).unwrap());
    assert!(v.iter().all(|x| x.is_finite()));
    moments("laplace", &v, 1.0, 8.0);
    mc_entropy("laplace", &d, 1.0 + 4.0f64.ln());
    // E|X - μ| = b: d/db = 1; E[X] = μ: d/dμ = 1.
    rsample_grad("laplace d/dscale", |p| Laplace::new(cst(&[1.0]), p).unwrap(), 2.0, |x| (x - 1.0).abs(), 1.0);
    rsample_grad("laplace d/dloc", |p| Laplace::new(p, cst(&[2.0])).unwrap(), 1.0, |x| x.shallow_clone(), 1.0);
    // float32 draws stay finite (u is kept away from ±1).
    let d32 = Laplace::new(cst32(&[0.0]), cst32(&[1.0])).unwrap();
    assert!(to_vec(&d32.sample(&[N]).unwrap()).iter().all(|x| x.is_finite()));
    bijector_onto_support(&d, |v| v.is_finite());
}

#[test]
fn laplace_errors() {
    bad_params("Laplace", Laplace::new);
    bad_values(&Laplace::new(cst(&[1.0, 2.0]), cst(&[1.0])).unwrap(), "Laplace");
    let d = Laplace::new(cst(&[1.0]), cst(&[-1.0])).unwrap().with_validate_args(true);
    assert!(err(d.rsample(&[2])).contains("scale > 0"));
}

// ------------------------------------------------------------------------------------------
// LogNormal and TransformedDistribution

fn normal_lp(x: f64, m: f64, s: f64) -> f64 {
    let z = (x - m) / s;
    -0.5 * z * z - s.ln() - 0.5 * (2.0 * PI).ln()
}

// log p(x) = log N(log x; μ, σ) - log x; float64 to 1e-13 relative, float32 to 2e-6 + 2e-6.
// cdf at exp(μ) is 1/2 and at exp(μ + 1.959963984540054 σ) is 0.975.
#[test]
fn log_normal_closed_forms() {
    let (loc, scale) = ([0.3, -1.0], [0.5, 1.2]);
    let x = [1.0f64, 0.2, 4.0, 0.05];
    let want: Vec<f64> = (0..4).map(|i| normal_lp(x[i].ln(), loc[i % 2], scale[i % 2]) - x[i].ln()).collect();
    for (kind, atol, rtol) in [(Kind::Double, 0.0, 1e-13), (Kind::Float, 2e-6, 2e-6)] {
        let p = |v: &[f64]| Parameter::constant(&f64s(v).to_kind(kind)).unwrap();
        let d = LogNormal::new(p(&loc), p(&scale)).unwrap();
        assert_eq!((d.type_name(), d.batch_shape(), d.event_shape()), ("LogNormal", vec![2], vec![]));
        let lp = d.log_prob(&f64s(&x).reshape([2, 2]).to_kind(kind)).unwrap();
        assert_close("lognormal lp", &to_vec(&lp), &want, atol, rtol);
        let mean: Vec<f64> = (0..2).map(|i| (loc[i] + scale[i] * scale[i] / 2.0).exp()).collect();
        assert_close("lognormal mean", &to_vec(&d.mean().unwrap()), &mean, atol, rtol);
        let var: Vec<f64> =
            (0..2).map(|i| ((scale[i] * scale[i]).exp() - 1.0) * (2.0 * loc[i] + scale[i] * scale[i]).exp()).collect();
        assert_close("lognormal var", &to_vec(&d.variance().unwrap()), &var, atol, rtol);
        let mode: Vec<f64> = (0..2).map(|i| (loc[i] - scale[i] * scale[i]).exp()).collect();
        assert_close("lognormal mode", &to_vec(&d.mode().unwrap()), &mode, atol, rtol);
        let h: Vec<f64> = (0..2).map(|i| loc[i] + 0.5 + 0.5 * (2.0 * PI).ln() + scale[i].ln()).collect();
        assert_close("lognormal entropy", &to_vec(&d.entropy().unwrap()), &h, atol, rtol);
        let q: Vec<f64> = (0..2).map(|i| (loc[i] + 1.959963984540054 * scale[i]).exp()).collect();
        let xs = f64s(&[loc[0].exp(), loc[1].exp(), q[0], q[1], -1.0, 0.0]).reshape([3, 2]).to_kind(kind);
        assert_close("lognormal cdf", &to_vec(&d.cdf(&xs).unwrap()), &[0.5, 0.5, 0.975, 0.975, 0.0, 0.0], 1e-6, 1e-6);
        let lc = to_vec(&d.log_cdf(&xs).unwrap());
        assert_close("lognormal log_cdf", &lc[..4], &[-LN_2, -LN_2, 0.975f64.ln(), 0.975f64.ln()], 1e-6, 1e-6);
        assert_eq!(lc[4..], [f64::NEG_INFINITY, f64::NEG_INFINITY]);
    }
}

#[test]
fn log_normal_sampling_and_gradients() {
    let _g = seeded(9);
    let d = LogNormal::new(cst(&[0.2]), cst(&[0.5])).unwrap();
    let v = to_vec(&d.sample(&[N]).unwrap());
    assert!(v.iter().all(|x| *x > 0.0));
    let m = (0.2f64 + 0.125).exp();
    moments("lognormal", &v, m, (0.25f64.exp() - 1.0) * (0.4f64 + 0.25).exp());
    mc_entropy("lognormal", &d, 0.2 + 0.5 + 0.5 * (2.0 * PI).ln() + 0.5f64.ln());
    // E[X] = exp(μ + σ²/2): d/dσ = σ E[X], d/dμ = E[X].
    rsample_grad(
        "lognormal d/dscale",
        |p| LogNormal::new(cst(&[0.2]), p).unwrap(),
        0.5,
        |x| x.shallow_clone(),
        0.5 * m,
    );
    rsample_grad("lognormal d/dloc", |p| LogNormal::new(p, cst(&[0.5])).unwrap(), 0.2, |x| x.shallow_clone(), m);
    assert_eq!(d.support(), Support::Positive);
    bijector_onto_support(&d, |v| v > 0.0);
    let e = err(LogNormal::new(Parameter::Constant(Tensor::from_slice(&[1i64])), cst(&[1.0])));
    assert!(e.contains("LogNormal::new: expected loc of dtype float32 or float64, got int64"), "{e}");
    bad_values(&LogNormal::new(cst(&[0.0, 1.0]), cst(&[1.0])).unwrap(), "LogNormal");
    let d = LogNormal::new(cst(&[0.0]), cst(&[1.0])).unwrap().with_validate_args(true);
    assert!(err(d.log_prob(&f64s(&[-1.0]))).contains("a value > 0"));
}

// Scalar-event base with a batch shape and an elementwise bijector: shapes are the base's and
// no reduction over batch dimensions happens; log_prob equals the LogNormal closed form.
#[test]
fn transformed_elementwise() {
    let _g = seeded(10);
    let (loc, scale) = ([0.3, -1.0, 0.0], [0.5, 1.2, 2.0]);
    let d = TransformedDistribution::of(Normal::new(cst(&loc), cst(&scale)).unwrap(), Exp).unwrap();
    assert_eq!((d.batch_shape(), d.event_shape()), (vec![3], vec![]));
    assert_eq!(d.type_name(), "TransformedDistribution");
    assert_eq!(d.name(), "expNormal");
    let x = Tensor::rand([2, 3], (Kind::Double, Device::Cpu)) * 3.0 + 0.01;
    let xs = to_vec(&x);
    let lp = d.log_prob(&x).unwrap();
    assert_eq!(lp.size(), vec![2, 3]);
    let want: Vec<f64> = (0..6).map(|i| normal_lp(xs[i].ln(), loc[i % 3], scale[i % 3]) - xs[i].ln()).collect();
    assert_close("transformed lp", &to_vec(&lp), &want, 0.0, 1e-13);
    let s = d.sample(&[4, 5]).unwrap();
    assert_eq!(s.size(), vec![4, 5, 3]);
    assert!(to_vec(&s).iter().all(|v| *v > 0.0));
    assert!(d.has_rsample());
    assert_eq!(d.support(), Support::Positive);
    assert!(err(d.mean()).contains("TransformedDistribution.mean: not implemented"));
    // Sigmoid on a Normal: logit-normal, log p(y) = log N(logit y) - log y - log(1 - y).
    let d = TransformedDistribution::of(Normal::new(cst(&[0.0]), cst(&[1.0])).unwrap(), Sigmoid::new()).unwrap();
    let y = [0.1, 0.5, 0.95];
    let want: Vec<f64> =
        y.iter().map(|y: &f64| normal_lp((y / (1.0 - y)).ln(), 0.0, 1.0) - y.ln() - (1.0 - y).ln()).collect();
    assert_close("logit-normal", &to_vec(&d.log_prob(&f64s(&y)).unwrap()), &want, 0.0, 1e-13);
    // A base without rsample.
    let d = TransformedDistribution::of(Bernoulli::from_probs(cst(&[0.5])).unwrap(), Identity).unwrap();
    assert!(!d.has_rsample());
    assert!(err(d.rsample(&[1])).contains("no rsample"));
    assert_eq!(d.support(), Support::Boolean);
}

// Rank-changing bijector (FillTriangular: [3] -> [2, 2]) on a vector base and on a
// scalar-event base whose last batch dimension becomes the event.
#[test]
fn transformed_rank_changing() {
    let _g = seeded(11);
    let loc = [0.1, -0.2, 0.3];
    let vec_base = Independent::new(Normal::new(cst(&loc), cst(&[1.0, 1.0, 1.0])).unwrap(), 1).unwrap();
    let scalar_base = Normal::new(cst(&loc), cst(&[1.0, 1.0, 1.0])).unwrap();
    for d in [
        TransformedDistribution::of(vec_base, FillTriangular::lower()).unwrap(),
        TransformedDistribution::of(scalar_base, FillTriangular::lower()).unwrap(),
    ] {
        assert_eq!((d.batch_shape(), d.event_shape()), (vec![], vec![2, 2]));
        let y = d.sample(&[5]).unwrap();
        assert_eq!(y.size(), vec![5, 2, 2]);
        let lp = d.log_prob(&y).unwrap();
        assert_eq!(lp.size(), vec![5]);
        let x = to_vec(&FillTriangular::lower().inverse(&y).unwrap());
        let want: Vec<f64> = (0..5).map(|s| (0..3).map(|j| normal_lp(x[3 * s + j], loc[j], 1.0)).sum()).collect();
        assert_close("fill_triangular lp", &to_vec(&lp), &want, 0.0, 1e-13);
        assert!(err(d.log_prob(&Tensor::zeros([5, 3], (Kind::Double, Device::Cpu)))).contains("event shape"));
    }
    let scalar = |v: f64| Parameter::constant(&Tensor::from(v)).unwrap();
    let e = err(TransformedDistribution::of(Normal::new(scalar(0.0), scalar(1.0)).unwrap(), FillTriangular::lower()));
    assert!(e.contains("acts on 1 event dimension"), "{e}");
}
// rsample of a transformed distribution differentiates through the bijector: for Exp of
// Normal(μ, 1), d/dμ E[exp X] = E[exp X] = exp(μ + 1/2).
#[test]
fn transformed_rsample_gradient() {
    let _g = seeded(12);
    rsample_grad(
        "transformed d/dloc",
        |p| TransformedDistribution::of(Normal::new(p, cst(&[1.0])).unwrap(), Exp).unwrap(),
        0.1,
        |x| x.shallow_clone(),
        0.6f64.exp(),
    );
}

#[test]
fn display_names() {
    let d = Gamma::new(cst(&[1.0]), cst(&[1.0])).unwrap().with_name("g");
    assert_eq!(d.to_string(), "Gamma(\"g\", batch_shape=[1], event_shape=[], dtype=float64)");
    let d = LogNormal::new(cst32(&[1.0, 2.0]), cst32(&[1.0])).unwrap();
    assert_eq!(d.to_string(), "LogNormal(\"LogNormal\", batch_shape=[2], event_shape=[], dtype=float32)");
    let vs = nn::VarStore::new(Device::Cpu);
    let c = Parameter::variable(&vs.root(), "c", &f64s(&[1.0])).unwrap();
    let r = Parameter::variable(&vs.root(), "r", &f64s(&[1.0])).unwrap();
    let names: Vec<String> = Gamma::new(c, r).unwrap().trainable_variables().into_iter().map(|v| v.0).collect();
    assert_eq!(names, vec!["c", "r"]);
}

// Invalid parameters without validation must not become libtorch exceptions (panics): as in
// torch, gamma-based draws come back (clamped at the smallest normal number, or NaN), and
// Bernoulli draws with NaN logits are an error only with validation on.
#[test]
fn invalid_parameters_do_not_panic() {
    let _g = seeded(13);
    assert!(Gamma::new(cst(&[-1.0, 0.0, f64::NAN]), cst(&[1.0])).unwrap().sample(&[3]).is_ok());
    assert!(Beta::new(cst(&[-1.0, 0.0]), cst(&[1.0])).unwrap().sample(&[3]).is_ok());
    assert!(StudentT::new(cst(&[-1.0]), cst(&[0.0]), cst(&[1.0])).unwrap().sample(&[3]).is_ok());
    assert!(Bernoulli::from_logits(cst(&[f64::NAN])).unwrap().sample(&[3]).is_ok());
    let e = err(Bernoulli::from_logits(cst(&[f64::NAN])).unwrap().with_validate_args(true).sample(&[3]));
    assert!(e.contains("logits without NaN"), "{e}");
    // Categorical draws with NaN logits: no panic either (Gumbel-max, no multinomial).
    let c = tch_distributions::distributions::Categorical::new(cst(&[f64::NAN, 0.0])).unwrap();
    assert!(c.sample(&[3]).is_ok());
}

// Autograd of log_prob against closed-form derivatives (float64, 1e-12 relative):
// Bernoulli d/dp [x log p + (1-x) log(1-p)] = x/p - (1-x)/(1-p), d/dl = x - sigmoid(l);
// Gamma d/dr = c/r - x; Laplace d/db = -1/b + |x-μ|/b²; Uniform d/dlow = 1/(high-low).
#[test]
fn log_prob_gradients() {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let var = |name: &str, v: &[f64]| Parameter::variable(&root, name, &f64s(v)).unwrap();
    let grad = |d: &dyn Distribution, x: &[f64], i: usize| {
        let vars = d.trainable_variables();
        let g = Tensor::run_backward(&[d.log_prob(&f64s(x)).unwrap().sum(Kind::Double)], &[&vars[i].1], false, false);
        to_vec(&g[0])
    };
    let d = Bernoulli::from_probs(var("p", &[0.2, 0.7])).unwrap();
    assert_close("bernoulli d/dp", &grad(&d, &[1.0, 0.0], 0), &[5.0, -1.0 / 0.3], 0.0, 1e-12);
    let d = Bernoulli::from_logits(var("l", &[0.4, -1.0])).unwrap();
    let s = |l: f64| 1.0 / (1.0 + (-l).exp());
    assert_close("bernoulli d/dl", &grad(&d, &[1.0, 0.0], 0), &[1.0 - s(0.4), -s(-1.0)], 0.0, 1e-12);
    let d = Gamma::new(cst(&[3.0, 0.5]), var("r", &[2.0, 1.5])).unwrap();
    assert_close("gamma d/dr", &grad(&d, &[0.3, 2.0], 0), &[1.5 - 0.3, 0.5 / 1.5 - 2.0], 0.0, 1e-12);
    let d = Laplace::new(cst(&[0.5]), var("b", &[2.0])).unwrap();
    assert_close("laplace d/db", &grad(&d, &[-1.5], 0), &[-0.5 + 2.0 / 4.0 + 0.0], 1e-15, 1e-12);
    let d = Uniform::new(var("lo", &[-1.0]), cst(&[3.0])).unwrap();
    assert_close("uniform d/dlow", &grad(&d, &[0.0], 0), &[0.25], 0.0, 1e-12);
}

// float32 gamma-based sampling: Gamma, Beta and StudentT draw in float32, in the support.
#[test]
fn float32_sampling() {
    let _g = seeded(14);
    let g = Gamma::new(cst32(&[0.1, 3.0]), cst32(&[1.0])).unwrap().sample(&[1000]).unwrap();
    assert_eq!((g.kind(), g.size()), (Kind::Float, vec![1000, 2]));
    assert!(to_vec(&g).iter().all(|v| *v > 0.0));
    let b = Beta::new(cst32(&[0.05]), cst32(&[0.05])).unwrap();
    let s = b.sample(&[1000]).unwrap();
    assert!(to_vec(&s).iter().all(|v| *v > 0.0 && *v < 1.0));
    assert!(to_vec(&b.log_prob(&s).unwrap()).iter().all(|v| v.is_finite()));
    let t = StudentT::new(cst32(&[3.0]), cst32(&[0.0]), cst32(&[1.0])).unwrap().rsample(&[10]).unwrap();
    assert_eq!(t.kind(), Kind::Float);
}
