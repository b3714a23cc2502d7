//! Families declared through a `FamilySpec`: `make_trainable` (TFP's) builds learnable
//! distributions whose fits by `training::fit` recover the parameters the data were drawn with;
//! its JSON form; its errors; and the declarations themselves.

mod common;

use anyhow::Result;
use serde_json::json;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::distributions::{
    family, make_trainable, Beta, Constraint, Distribution, Gamma, Laplace, LogNormal, Normal, Uniform, FAMILIES,
};
use tch_distributions::spec::build_distribution;
use tch_distributions::training::{fit, FitOptions};

fn t(v: &[f64]) -> Tensor {
    Tensor::from_slice(v)
}

fn err<T>(r: Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => format!("{e:#}"),
    }
}

/// `n` draws of `truth` (seeded), then a fit of `make_trainable(family)` to them; returns the
/// fitted distribution.
fn fit_family(family: &str, truth: &dyn Distribution, n: i64, seed: i64) -> Result<Box<dyn Distribution>> {
    let x = {
        let _g = common::seeded(seed);
        truth.sample(&[n])?
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let d = {
        let _g = common::seeded(seed + 1);
        make_trainable(family, &vs.root(), &truth.batch_shape(), &[], Kind::Double)?
    };
    let opts = FitOptions { steps: 1200, lr: 0.05, eval_every: 100, patience: None, ..Default::default() };
    let report = fit(&vs, d.as_ref(), &x, None, &opts, |_| {})?;
    println!("{family}: final loss {} after {} steps", report.final_loss, report.steps_run);
    Ok(d)
}

/// `|fitted - truth| <= rel * truth` elementwise.
fn assert_close(what: &str, fitted: &Tensor, truth: &[f64], rel: f64) {
    let f = common::to_vec(fitted);
    println!("{what}: fitted {f:?}, truth {truth:?}");
    for (a, b) in f.iter().zip(truth) {
        assert!((a - b).abs() <= rel * b.abs(), "{what}: fitted {f:?}, truth {truth:?} (rel {rel})");
    }
}

// With n = 20000 points the MLEs' standard errors are about 1% of the parameters here (Gamma's
// concentration: sqrt(α / (n (α ψ'(α) - 1))) = 0.029 at α = 3, 1.0%; Beta's: ~1.5%; Laplace's
// scale b/sqrt(n), 0.7%): a 5% tolerance is 3 to 7 standard errors, and fails if the fit has not
// converged or the parameters are mapped wrongly.
#[test]
fn make_trainable_fits_gamma_beta_laplace() -> Result<()> {
    let gamma = Gamma::new(t(&[3.0, 0.7]), t(&[2.0, 1.5]))?;
    let d = fit_family("Gamma", &gamma, 20000, 1)?;
    let g = d.as_any().downcast_ref::<Gamma>().expect("a Gamma");
    assert_close("Gamma concentration", &g.concentration().value()?, &[3.0, 0.7], 0.05);
    assert_close("Gamma rate", &g.rate().value()?, &[2.0, 1.5], 0.05);

    let beta = Beta::new(t(&[2.0]), t(&[5.0]))?;
    let d = fit_family("Beta", &beta, 20000, 3)?;
    let b = d.as_any().downcast_ref::<Beta>().expect("a Beta");
    assert_close("Beta concentration1", &b.concentration1().value()?, &[2.0], 0.05);
    assert_close("Beta concentration0", &b.concentration0().value()?, &[5.0], 0.05);

    let laplace = Laplace::new(t(&[1.0, -2.0]), t(&[0.5, 2.0]))?;
    let d = fit_family("Laplace", &laplace, 20000, 5)?;
    let l = d.as_any().downcast_ref::<Laplace>().expect("a Laplace");
    // loc: an absolute 0.05 (the median's standard error is b/sqrt(n) <= 0.014).
    let loc = common::to_vec(&l.loc().value()?);
    assert!((loc[0] - 1.0).abs() < 0.05 && (loc[1] + 2.0).abs() < 0.05, "Laplace loc {loc:?}");
    assert_close("Laplace scale", &l.scale().value()?, &[0.5, 2.0], 0.05);
    Ok(())
}

#[test]
fn make_trainable_builds_transformed_variables() -> Result<()> {
    let vs = nn::VarStore::new(Device::Cpu);
    let d = make_trainable("Gamma", &(vs.root() / "g"), &[3, 2], &[], Kind::Float)?;
    assert_eq!(d.type_name(), "Gamma");
    assert_eq!(d.batch_shape(), vec![3, 2]);
    assert_eq!(d.dtype(), Kind::Float);
    let names: Vec<String> = d.trainable_variables().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["g.concentration", "g.rate"]);
    // Softplus of raw values in [-2, 2): positive, below softplus(2) = 2.127.
    let g = d.as_any().downcast_ref::<Gamma>().unwrap();
    let c = common::to_vec(&g.concentration().value()?);
    assert!(c.iter().all(|&v| v > 0.0 && v < 2.13), "{c:?}");
    // Normal: loc through Identity (raw in [-2, 2)), scale through Softplus.
    let d = make_trainable("Normal", &(vs.root() / "n"), &[1000], &[], Kind::Double)?;
    let n = d.as_any().downcast_ref::<Normal>().unwrap();
    let loc = common::to_vec(&n.loc().value()?);
    assert!(loc.iter().all(|&v| (-2.0..2.0).contains(&v)), "loc in [-2, 2)");
    assert!(loc.iter().any(|&v| v < 0.0), "Identity keeps negative raw values");
    Ok(())
}

#[test]
fn make_trainable_errors() {
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    let e = err(make_trainable("Gama", &p, &[], &[], Kind::Float));
    assert!(e.contains("make_trainable: unknown family \"Gama\"") && e.contains("Gamma"), "{e}");
    let e = err(make_trainable("Uniform", &p, &[], &[], Kind::Float));
    assert!(e.contains("Uniform's parameter \"high\" (low < high) has no default constraining bijector"), "{e}");
    let e = err(make_trainable("Normal", &p, &[], &[2], Kind::Float));
    assert!(e.contains("Normal has events of rank 0, got event_shape [2]"), "{e}");
    let e = err(make_trainable("Normal", &p, &[-1], &[], Kind::Float));
    assert!(e.contains("non-negative sizes"), "{e}");
    let e = err(make_trainable("Normal", &p, &[], &[], Kind::Int64));
    assert!(e.contains("float32 or float64, got int64"), "{e}");
    // Names taken: a second Normal under the same path.
    make_trainable("Normal", &(&p / "a"), &[], &[], Kind::Float).unwrap();
    let e = err(make_trainable("Normal", &(&p / "a"), &[], &[], Kind::Float));
    assert!(e.contains("already holds a variable named \"a.loc\""), "{e}");
}

#[test]
fn json_trainable_form() -> Result<()> {
    let vs = nn::VarStore::new(Device::Cpu);
    let v = json!({"type": "Beta", "trainable": true, "batch_shape": [3], "name": "b", "validate_args": true});
    let d = build_distribution(&(vs.root() / "beta"), &v, Kind::Double)?;
    assert_eq!(d.to_string(), "Beta(\"b\", batch_shape=[3], event_shape=[], dtype=float64)");
    let names: Vec<String> = d.trainable_variables().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["beta.concentration1", "beta.concentration0"]);
    // validate_args is on: a value outside [0, 1] is an error.
    let e = err(d.log_prob(&Tensor::from_slice(&[0.5f64, 0.5, 1.5])));
    assert!(e.contains("Beta.log_prob: expected a value in [0, 1]"), "{e}");
    let e = err(build_distribution(&vs.root(), &json!({"type": "Gamma", "trainable": true, "batch_shape": 3}), Kind::Float));
    assert!(e.contains("\"batch_shape\" must be a list of sizes"), "{e}");
    let e = err(build_distribution(&vs.root(), &json!({"type": "Foo", "trainable": true}), Kind::Float));
    assert!(e.contains("make_trainable: unknown family \"Foo\""), "{e}");
    // Vector families take an event shape.
    let e = err(build_distribution(&vs.root(), &json!({"type": "Dirichlet", "trainable": true}), Kind::Float));
    assert!(e.contains("make_trainable: Dirichlet has events of rank 1, got event_shape []"), "{e}");
    let v = json!({"type": "Dirichlet", "trainable": true, "batch_shape": [2], "event_shape": [4]});
    let d = build_distribution(&(vs.root() / "dir"), &v, Kind::Double)?;
    assert_eq!((d.batch_shape(), d.event_shape()), (vec![2], vec![4]));
    Ok(())
}

// The declarations: names match the accessors' JSON fields, each family's spec is found by
// name, and the constraints give the documented bijectors and messages.
#[test]
fn declarations() -> Result<()> {
    let names: Vec<&str> = FAMILIES.iter().map(|e| e.spec.type_name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(names, sorted, "FAMILIES in alphabetical order, each once");
    for known in [
        "Bernoulli", "Beta", "Binomial", "Cauchy", "Chi2", "Exponential", "Gamma", "Geometric", "Gumbel", "HalfCauchy",
        "HalfNormal", "Laplace", "LogNormal", "NegativeBinomial", "Normal", "Pareto", "Poisson", "StudentT", "Uniform",
        "Weibull", "Dirichlet", "MultivariateNormalDiag", "MultivariateNormalTriL", "InverseGamma", "Kumaraswamy",
        "FisherSnedecor", "GeneralizedPareto", "VonMises", "ContinuousBernoulli", "RelaxedBernoulli", "Logistic",
        "GeneralizedNormal", "TruncatedNormal", "LowRankMultivariateNormal", "MultivariateStudentT",
    ] {
        assert!(names.contains(&known), "{known} missing from FAMILIES");
    }
    // Every entry builds its family from constants named as declared, via JSON.
    for e in FAMILIES {
        // batch [1]; events [2] and [2, 2] for the vector families' parameters
        let value = |n: usize| match n {
            0 => json!([0.5]),
            1 => json!([[0.5, 0.5]]),
            _ => json!([[[0.5, 0.0], [0.5, 0.5]]]),
        };
        let fields: serde_json::Map<String, serde_json::Value> =
            e.spec.params.iter().map(|p| (p.name.to_string(), value(p.event_ndims))).collect();
        let mut v = serde_json::Value::Object(fields);
        v["type"] = json!(e.spec.type_name);
        let vs = nn::VarStore::new(Device::Cpu);
        let d = build_distribution(&vs.root(), &v, Kind::Double)?;
        assert_eq!(d.type_name(), e.spec.type_name);
        assert_eq!(d.batch_shape(), vec![1]);
    }
    assert_eq!(family("Uniform").unwrap().spec, &Uniform::SPEC);
    assert_eq!(Constraint::Positive.default_bijector().unwrap().name(), "softplus");
    assert_eq!(Constraint::UnitInterval.expectation("probs"), "0 <= probs <= 1");
    assert_eq!(Constraint::NonNegative.expectation("value"), "a value >= 0");
    // A family built from the registry by JSON equals one built directly.
    let vs = nn::VarStore::new(Device::Cpu);
    let j = build_distribution(&vs.root(), &json!({"type": "Gamma", "concentration": [2.0], "rate": [3.0]}), Kind::Double)?;
    let direct = Gamma::new(t(&[2.0]), t(&[3.0]))?;
    let x = Tensor::from_slice(&[0.1f64, 0.7, 2.0]).reshape([3, 1]);
    let diff = (j.log_prob(&x)? - direct.log_prob(&x)?).abs().max().double_value(&[]);
    assert_eq!(diff, 0.0);
    // A parameter's alternative (logits for probs) by its own name in JSON.
    let j = build_distribution(
        &vs.root(),
        &json!({"type": "Binomial", "total_count": [7.0], "logits": [-0.4]}),
        Kind::Double,
    )?;
    let direct = tch_distributions::distributions::Binomial::from_logits(t(&[7.0]), t(&[-0.4]))?;
    let k = Tensor::from_slice(&[0.0f64, 3.0, 7.0]).reshape([3, 1]);
    assert_eq!((j.log_prob(&k)? - direct.log_prob(&k)?).abs().max().double_value(&[]), 0.0);
    let e = err(build_distribution(&vs.root(), &json!({"type": "Geometric", "probs": [0.2], "logits": [0.1]}), Kind::Double));
    assert!(e.contains("needs exactly one of \"probs\" and \"logits\""), "{e}");
    Ok(())
}

// ------------------------------------------------------------------------------------------
// icdf: closed-form quantiles against independently written formulas and cdf round trips.

/// Probabilities from 1e-6 to 1 - 1e-6 (float64).
fn probs() -> Tensor {
    Tensor::from_slice(&[1e-6, 0.001, 0.02, 0.25, 0.5, 0.6, 0.9, 0.975, 0.999999])
}

fn max_abs(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn icdf_closed_forms() -> Result<()> {
    // Φ⁻¹(0.975) = 1.959963984540054 (tables); Normal(1, 2).icdf(0.975) = 1 + 2 · that.
    let z975 = 1.959963984540054;
    let normal = Normal::new(t(&[1.0]), t(&[2.0]))?;
    let q = normal.icdf(&t(&[0.975, 0.5, 0.025]))?;
    assert!(max_abs(&q, &t(&[1.0 + 2.0 * z975, 1.0, 1.0 - 2.0 * z975])) < 1e-12, "{q}");
    let log_normal = LogNormal::new(t(&[1.0]), t(&[2.0]))?;
    let q = log_normal.icdf(&t(&[0.975]))?;
    let want = (1.0f64 + 2.0 * z975).exp();
    assert!((q.double_value(&[0]) - want).abs() < 1e-12 * want, "{q} vs {want}");
    // Laplace: μ + b ln(2p) below the median, μ - b ln(2(1 - p)) above.
    let (mu, b) = (-0.5, 1.5);
    let laplace = Laplace::new(t(&[mu]), t(&[b]))?;
    let p = probs();
    let pv = common::to_vec(&p);
    let want: Vec<f64> =
        pv.iter().map(|&p| if p < 0.5 { mu + b * (2.0 * p).ln() } else { mu - b * (2.0 * (1.0 - p)).ln() }).collect();
    let got = laplace.icdf(&p)?;
    assert!(max_abs(&got, &t(&want)) < 1e-9, "{got}");
    // Uniform(-1, 3): -1 + 4p.
    let uniform = Uniform::new(t(&[-1.0]), t(&[3.0]))?;
    assert!(max_abs(&uniform.icdf(&p)?, &(&p * 4.0 - 1.0)) < 1e-15);
    // cdf(icdf(p)) = p for the four families (float64; 1e-12 absolute).
    for d in [&normal as &dyn Distribution, &log_normal, &laplace, &uniform] {
        let back = d.cdf(&d.icdf(&p)?)?;
        assert!(max_abs(&back, &p) < 1e-12, "{}: cdf(icdf(p)) {back}", d.type_name());
    }
    Ok(())
}

#[test]
fn icdf_shapes_gradients_and_errors() -> Result<()> {
    // Batch [2], probabilities [3, 2] broadcast; d icdf / d scale = √2 erfinv(2p - 1) (autograd).
    let scale = t(&[1.0, 3.0]).set_requires_grad(true);
    let normal = Normal::new(t(&[0.0, 1.0]), scale.shallow_clone())?;
    let p = Tensor::from_slice(&[0.1, 0.2, 0.3, 0.4, 0.6, 0.9]).reshape([3, 2]);
    let q = normal.icdf(&p)?;
    assert_eq!(q.size(), vec![3, 2]);
    let g = Tensor::run_backward(&[q.sum(Kind::Double)], &[&scale], false, false).remove(0);
    let z = (&p * 2.0 - 1.0).erfinv() * std::f64::consts::SQRT_2;
    assert!(max_abs(&g, &z.sum_dim_intlist(0, false, Kind::Double)) < 1e-12, "{g}");
    // Families without a closed form: an error naming the family.
    let e = err(Gamma::new(t(&[1.0]), t(&[1.0]))?.icdf(&t(&[0.5])));
    assert!(e.contains("Gamma.icdf: not implemented for Gamma"), "{e}");
    // Bad input: dtype, shape, and (validation on) probabilities outside [0, 1].
    let e = err(normal.icdf(&Tensor::from_slice(&[0.5f32, 0.5])));
    assert!(e.contains("Normal.icdf") && e.contains("float32"), "{e}");
    assert!(err(normal.icdf(&t(&[0.5, 0.5, 0.5]))).contains("Normal.icdf"));
    let checked = Laplace::new(t(&[0.0]), t(&[1.0]))?.with_validate_args(true);
    let e = err(checked.icdf(&t(&[1.5])));
    assert!(e.contains("Laplace.icdf: expected a probability in [0, 1], got probability with minimum 1.5"), "{e}");
    Ok(())
}

// ------------------------------------------------------------------------------------------
// The scalar families added with the declarations: densities integrated numerically (Simpson's
// rule, float64) against their own cdf, mean, variance and entropy, so that log_prob, the
// moments, the entropy and the cdf are checked against each other by an independent quadrature;
// discrete families by direct sums. Parity with torch is in scripts/parity.py.

/// Simpson's rule on `[a, b]` with `n` (even) intervals of `f` evaluated on the whole grid.
fn simpson(a: f64, b: f64, n: i64, f: impl Fn(&Tensor) -> Tensor) -> f64 {
    let x = Tensor::linspace(a, b, n + 1, F64);
    let w: Vec<f64> = (0..=n).map(|i| if i == 0 || i == n { 1.0 } else if i % 2 == 1 { 4.0 } else { 2.0 }).collect();
    (f(&x) * t(&w)).sum(Kind::Double).double_value(&[]) * (b - a) / (3.0 * n as f64)
}

const F64: (Kind, Device) = (Kind::Double, Device::Cpu);

fn scalar(t: &Tensor) -> f64 {
    t.double_value(&[])
}

/// Checks `d` (batch `[]`) on `[a, b]`: the mass against `cdf(b) - cdf(a)` (or `mass` when
/// given: for Chi2, which has no cdf); with `moments`, the mean, variance and entropy against
/// the quadrature (for densities whose mass outside `[a, b]` is negligible).
fn check_density(d: &dyn Distribution, a: f64, b: f64, mass: Option<f64>, moments: bool, tol: f64) -> Result<()> {
    let n = 400_000;
    let pdf = |x: &Tensor| d.log_prob(x).unwrap().exp();
    let m = simpson(a, b, n, pdf);
    let want = match mass {
        Some(m) => m,
        None => scalar(&d.cdf(&t(&[b]))?.reshape([])) - scalar(&d.cdf(&t(&[a]))?.reshape([])),
    };
    assert!((m - want).abs() < tol, "{}: mass {m} vs {want}", d.type_name());
    if moments {
        let mean = simpson(a, b, n, |x| pdf(x) * x);
        let var = simpson(a, b, n, |x| pdf(x) * (x - mean).square());
        let h = simpson(a, b, n, |x| -(d.log_prob(x).unwrap().exp() * d.log_prob(x).unwrap()).nan_to_num(0.0, None, None));
        for (what, got, want) in [
            ("mean", scalar(&d.mean()?), mean),
            ("variance", scalar(&d.variance()?), var),
            ("entropy", scalar(&d.entropy()?), h),
        ] {
            assert!((got - want).abs() < tol * want.abs().max(1.0), "{}: {what} {got} vs quadrature {want}", d.type_name());
        }
    }
    Ok(())
}

#[test]
fn new_continuous_families_against_quadrature() -> Result<()> {
    use tch_distributions::distributions::{Cauchy, Chi2, Exponential, Gumbel, HalfCauchy, HalfNormal, Pareto, Weibull};
    let s = |v: f64| Tensor::from(v).to_kind(Kind::Double);
    check_density(&Exponential::new(s(1.5))?, 0.0, 40.0, None, true, 1e-8)?;
    check_density(&HalfNormal::new(s(0.7))?, 0.0, 12.0, None, true, 1e-8)?;
    check_density(&Gumbel::new(s(-1.0), s(2.0))?, -12.0, 80.0, None, true, 1e-8)?;
    // (the tails beyond ±80 hold e^(-53) of the mass at scale 1.5)
    check_density(&tch_distributions::distributions::Logistic::new(s(0.5), s(1.5))?, -80.0, 80.0, None, true, 1e-8)?;
    // GeneralizedNormal from heavy tails to nearly flat (power 6), the whole line for its mass
    // and moments (|z| up to 120 at power 1.3 holds all but e^(-500)); the cdf against the mass
    // on sub-intervals in either tail, and at power 0.7 away from the cusp at the location
    // (which Simpson's rule does not resolve)
    use tch_distributions::distributions::GeneralizedNormal;
    check_density(&GeneralizedNormal::new(s(-0.5), s(0.5), s(1.3))?, -60.0, 60.0, Some(1.0), true, 1e-7)?;
    check_density(&GeneralizedNormal::new(s(-0.5), s(0.5), s(0.7))?, 0.5, 300.0, None, false, 1e-9)?;
    check_density(&GeneralizedNormal::new(s(1.0), s(2.0), s(6.0))?, -5.0, 7.0, Some(1.0), true, 1e-8)?;
    check_density(&GeneralizedNormal::new(s(1.0), s(2.0), s(1.5))?, -9.0, -2.0, None, false, 1e-9)?;
    check_density(&GeneralizedNormal::new(s(1.0), s(2.0), s(1.5))?, 2.0, 9.0, None, false, 1e-9)?;
    check_density(&Chi2::new(s(5.0))?, 0.0, 120.0, Some(1.0), true, 1e-6)?;
    // Gamma's and Chi2's cdf (regularized incomplete gamma) against the mass on [0.5, b].
    check_density(&Chi2::new(s(5.0))?, 0.5, 20.0, None, false, 1e-8)?;
    check_density(&tch_distributions::distributions::Gamma::new(s(2.5), s(1.5))?, 0.3, 6.0, None, false, 1e-9)?;
    check_density(&Weibull::new(s(2.0), s(1.7))?, 0.0, 30.0, None, true, 1e-6)?;
    // Pareto(1.5, 6): a tail x^-7; the mean and variance beyond 2000 are < 1e-14.
    check_density(&Pareto::new(s(1.5), s(6.0))?, 1.5, 2000.0, None, true, 1e-6)?;
    // Heavy tails: the mass on an interval against the cdf, no moments.
    check_density(&Cauchy::new(s(0.5), s(2.0))?, -30.0, 50.0, None, false, 1e-8)?;
    check_density(&HalfCauchy::new(s(2.0))?, 0.0, 60.0, None, false, 1e-8)?;
    // Their entropies in closed form (log(4πγ), log(2πγ)), medians through icdf.
    let c = Cauchy::new(s(0.5), s(2.0))?;
    assert!((scalar(&c.entropy()?) - (4.0 * std::f64::consts::PI * 2.0).ln()).abs() < 1e-14);
    assert!((scalar(&c.icdf(&s(0.5))?) - 0.5).abs() < 1e-14);
    let hc = HalfCauchy::new(s(2.0))?;
    assert!((scalar(&hc.icdf(&s(0.5))?) - 2.0).abs() < 1e-14, "the median of HalfCauchy(γ) is γ");
    assert!(scalar(&hc.mean()?).is_infinite());
    // cdf(icdf(p)) = p where both exist.
    let p = probs();
    for d in [
        &Exponential::new(s(1.5))? as &dyn Distribution,
        &HalfNormal::new(s(0.7))?,
        &Gumbel::new(s(-1.0), s(2.0))?,
        &Weibull::new(s(2.0), s(1.7))?,
        &Pareto::new(s(1.5), s(6.0))?,
        &c,
        &hc,
    ] {
        let back = d.cdf(&d.icdf(&p)?)?;
        assert!(max_abs(&back, &p) < 1e-12, "{}: cdf(icdf(p)) {back}", d.type_name());
    }
    Ok(())
}

#[test]
fn new_discrete_families_against_sums() -> Result<()> {
    use tch_distributions::distributions::{Geometric, Poisson};
    let s = |v: f64| Tensor::from(v).to_kind(Kind::Double);
    let k = Tensor::arange(400, F64);
    let sums = |d: &dyn Distribution| -> Result<(f64, f64, f64)> {
        let pk = d.log_prob(&k)?.exp();
        let total = scalar(&pk.sum(Kind::Double));
        let mean = scalar(&(&pk * &k).sum(Kind::Double));
        let var = scalar(&(&pk * (&k - mean).square()).sum(Kind::Double));
        Ok((total, mean, var))
    };
    let poisson = Poisson::new(s(3.5))?;
    let (total, mean, var) = sums(&poisson)?;
    assert!((total - 1.0).abs() < 1e-12 && (mean - 3.5).abs() < 1e-12 && (var - 3.5).abs() < 1e-11, "{total} {mean} {var}");
    assert_eq!(scalar(&poisson.mode()?), 3.0);
    assert!(err(poisson.entropy()).contains("Poisson.entropy: not implemented for Poisson"));
    for d in [Geometric::from_probs(s(0.3))?, Geometric::from_logits(s((0.3f64 / 0.7).ln()))?] {
        let (total, mean, var) = sums(&d)?;
        let pk = d.log_prob(&k)?.exp();
        let h = -scalar(&(&pk * pk.log()).sum(Kind::Double));
        assert!((total - 1.0).abs() < 1e-12, "{total}");
        assert!((scalar(&d.mean()?) - mean).abs() < 1e-11 && (mean - 0.7 / 0.3).abs() < 1e-11, "{mean}");
        assert!((scalar(&d.variance()?) - var).abs() < 1e-10, "{var}");
        assert!((scalar(&d.entropy()?) - h).abs() < 1e-12, "{h}");
    }
    // Sampling on the parameters' device: integer values, the right mean (z-test, 5 sigma).
    let _g = common::seeded(7);
    let n = 20000.0f64;
    for (d, mean, var) in [
        (Box::new(Poisson::new(s(3.5))?) as Box<dyn Distribution>, 3.5f64, 3.5f64),
        (Box::new(Geometric::from_probs(s(0.3))?), 0.7 / 0.3, 0.7 / 0.09),
    ] {
        let x = d.sample(&[n as i64])?;
        assert_eq!(x.kind(), Kind::Double);
        assert_eq!(scalar(&(&x - x.floor()).abs().max()), 0.0, "{}: integer draws", d.type_name());
        let z = (scalar(&x.mean(Kind::Double)) - mean) / (var / n).sqrt();
        assert!(z.abs() < 5.0, "{}: sample mean z = {z}", d.type_name());
    }
    // Validation: values must be non-negative integers.
    let checked = Poisson::new(s(1.0))?.with_validate_args(true);
    let e = err(checked.log_prob(&s(1.5)));
    assert!(e.contains("Poisson.log_prob: expected a value that is a non-negative integer"), "{e}");
    Ok(())
}

#[test]
fn binomial_and_negative_binomial_against_sums() -> Result<()> {
    use tch_distributions::distributions::{Binomial, NegativeBinomial};
    let s = |v: f64| Tensor::from(v).to_kind(Kind::Double);
    let k = Tensor::arange(3000, F64);
    // (total mass, mean, variance, argmax) of the mass function over k = 0..3000.
    let sums = |d: &dyn Distribution| -> Result<(f64, f64, f64, f64)> {
        let lp = d.log_prob(&k)?;
        let pk = lp.exp().nan_to_num(0.0, None, None);
        let total = scalar(&pk.sum(Kind::Double));
        let mean = scalar(&(&pk * &k).sum(Kind::Double));
        let var = scalar(&(&pk * (&k - mean).square()).sum(Kind::Double));
        Ok((total, mean, var, scalar(&lp.nan_to_num(f64::NEG_INFINITY, None, None).argmax(0, false).to_kind(Kind::Double))))
    };
    let (n, p) = (40.0f64, 0.3f64);
    let logit = (p / (1.0 - p)).ln();
    for d in [Binomial::from_probs(s(n), s(p))?, Binomial::from_logits(s(n), s(logit))?] {
        let d = d.with_validate_args(true);
        let kk = Tensor::arange_start(0, 41, F64);
        let pk = d.log_prob(&kk)?.exp();
        let total = scalar(&pk.sum(Kind::Double));
        let mean = scalar(&(&pk * &kk).sum(Kind::Double));
        let var = scalar(&(&pk * (&kk - mean).square()).sum(Kind::Double));
        assert!((total - 1.0).abs() < 1e-13, "{total}");
        assert!((mean - n * p).abs() < 1e-11 && (scalar(&d.mean()?) - n * p).abs() < 1e-12, "{mean}");
        assert!((var - n * p * (1.0 - p)).abs() < 1e-10 && (scalar(&d.variance()?) - var).abs() < 1e-10, "{var}");
        assert_eq!(scalar(&d.mode()?), scalar(&pk.argmax(0, false).to_kind(Kind::Double)));
        // Values must be integers in [0, total_count].
        let e = err(d.log_prob(&s(41.0)));
        assert!(e.contains("Binomial.log_prob: expected a value that is an integer in [0, total_count]"), "{e}");
    }
    let e = err(Binomial::from_probs(s(2.5), s(0.3))?.with_validate_args(true).mean());
    assert!(e.contains("Binomial.mean: expected total_count that is a non-negative integer"), "{e}");
    // p = 0 and p = 1 are exact point masses (0 · log 0 = 0).
    let edge = Binomial::from_probs(t(&[5.0, 5.0]), t(&[0.0, 1.0]))?;
    let lp = edge.log_prob(&t(&[0.0, 5.0]))?;
    assert!(scalar(&lp.abs().max()) < 1e-15, "{lp}");
    for (r, p) in [(2.5f64, 0.35f64), (0.7, 0.9), (30.0, 0.05)] {
        let l = (p / (1.0 - p)).ln();
        for d in [NegativeBinomial::from_probs(s(r), s(p))?, NegativeBinomial::from_logits(s(r), s(l))?] {
            let (total, mean, var, argmax) = sums(&d)?;
            let (m, v) = (r * p / (1.0 - p), r * p / (1.0 - p) / (1.0 - p));
            assert!((total - 1.0).abs() < 1e-10, "NB({r}, {p}): total {total}");
            assert!((mean - m).abs() < 1e-8 * m.max(1.0) && (scalar(&d.mean()?) - m).abs() < 1e-12 * m.max(1.0), "{mean} {m}");
            assert!((var - v).abs() < 1e-7 * v.max(1.0) && (scalar(&d.variance()?) - v).abs() < 1e-10 * v.max(1.0), "{var} {v}");
            assert_eq!(scalar(&d.mode()?), argmax, "NB({r}, {p}) mode");
        }
    }
    // r = 0: the point mass at 0 (torch's convention).
    let zero = NegativeBinomial::from_probs(s(0.0), s(0.5))?;
    assert_eq!(scalar(&zero.log_prob(&s(0.0))?), 0.0);
    // Sampling on the parameters' device: integers, in range, the right means (z-tests, 5 sigma).
    let _g = common::seeded(11);
    let draws = 20000.0f64;
    for (d, mean, var) in [
        (Box::new(Binomial::from_probs(s(n), s(p))?) as Box<dyn Distribution>, n * p, n * p * (1.0 - p)),
        (Box::new(Binomial::from_logits(s(1e6), s(logit))?), 1e6 * p, 1e6 * p * (1.0 - p)),
        (Box::new(NegativeBinomial::from_probs(s(2.5), s(0.4))?), 2.5 * 0.4 / 0.6, 2.5 * 0.4 / 0.36),
    ] {
        let x = d.sample(&[draws as i64])?;
        assert_eq!(scalar(&(&x - x.floor()).abs().max()), 0.0, "{}: integer draws", d.type_name());
        assert!(scalar(&x.min()) >= 0.0);
        let z = (scalar(&x.mean(Kind::Double)) - mean) / (var / draws).sqrt();
        assert!(z.abs() < 5.0, "{}: sample mean z = {z}", d.type_name());
    }
    Ok(())
}

/// Counts of a million in float32: the log binomial coefficient through `lbeta` stays within
/// float32 rounding of the float64 value (`lgamma` differences lose about a nat there), and
/// log_prob within the rounding of its two terms of size `n`, which cancel (as in torch and TFP).
#[test]
fn binomial_large_counts_in_float32() -> Result<()> {
    use tch_distributions::distributions::Binomial;
    use tch_distributions::special::log_binomial_coefficient;
    let (n, p) = (1e6f64, 0.3f64);
    let k = Tensor::from_slice(&[0.0, 1.0, 1000.0, 299_000.0, 300_000.0, 301_500.0, 999_999.0, 1e6]);
    let nt = Tensor::from(n).to_kind(Kind::Double);
    let coefficient = (&nt + 1.0).lgamma() - (&k + 1.0).lgamma() - (-&k + n + 1.0).lgamma();
    let f32_ = |v: f64| Tensor::from(v).to_kind(Kind::Float);
    let c32 = log_binomial_coefficient(&f32_(n), &k.to_kind(Kind::Float)).to_kind(Kind::Double);
    let rel = ((&c32 - &coefficient).abs() / (coefficient.abs() + 1.0)).max();
    assert!(scalar(&rel) < 1e-6, "float32 log C(n, k) {c32} vs float64 {coefficient}");
    let terms = &k * p.ln() + (-&k + n) * (1.0 - p).ln();
    let exact = &coefficient + &terms;
    let lp = Binomial::from_probs(f32_(n), f32_(p))?.log_prob(&k.to_kind(Kind::Float))?.to_kind(Kind::Double);
    let tol = (coefficient.abs() + terms.abs()) * (4.0 * f32::EPSILON as f64) + 1e-6;
    println!("float32 log_prob {lp}\nfloat64 closed form {exact}");
    assert_eq!(scalar(&(&lp - &exact).abs().gt_tensor(&tol).sum(Kind::Int64).to_kind(Kind::Double)), 0.0, "{lp} vs {exact}");
    Ok(())
}

/// `lbeta` against `lgamma` in float64 (accurate there up to `1e-16 · |lgamma(a + b)|`), its
/// gradient against `digamma(a) - digamma(a + b)`, and float32 at large arguments against float64.
#[test]
fn lbeta_against_lgamma() -> Result<()> {
    use tch_distributions::special::lbeta;
    let _g = common::seeded(3);
    let a = (Tensor::rand([2000], F64) * (7.0 * std::f64::consts::LN_10) - 3.0 * std::f64::consts::LN_10).exp().requires_grad_(true);
    let b = (Tensor::rand([2000], F64) * (7.0 * std::f64::consts::LN_10) - 3.0 * std::f64::consts::LN_10).exp();
    let got = lbeta(&a, &b);
    let want = a.lgamma() + b.lgamma() - (&a + &b).lgamma();
    let tol = ((&a + &b).lgamma().abs() + a.lgamma().abs() + b.lgamma().abs() + 1.0) * 1e-14;
    let bad = (&got - &want).abs().gt_tensor(&tol).sum(Kind::Int64).int64_value(&[]);
    assert_eq!(bad, 0, "lbeta vs lgamma: {bad} of 2000 beyond tolerance");
    let g = Tensor::run_backward(&[got.sum(Kind::Double)], &[&a], false, false).remove(0);
    let dg = a.digamma() - (&a + &b).digamma();
    let rel = ((&g - &dg).abs() / (dg.abs() + 1e-3)).max();
    assert!(scalar(&rel) < 1e-8, "d lbeta / da: {rel}");
    let big_a = Tensor::from_slice(&[10.0, 1e3, 3e5, 1e6, 7.5, 0.5]);
    let big_b = Tensor::from_slice(&[20.0, 2e6, 7e5, 1.5, 1e6, 1e7]);
    let exact = lbeta(&big_a, &big_b);
    let f = lbeta(&big_a.to_kind(Kind::Float), &big_b.to_kind(Kind::Float)).to_kind(Kind::Double);
    let rel = ((&f - &exact).abs() / (exact.abs() + 1.0)).max();
    assert!(scalar(&rel) < 1e-6, "float32 lbeta {f} vs float64 {exact}");
    Ok(())
}

/// TFP's `make_trainable` for the vector families: a `MultivariateNormalTriL` whose `scale_tril`
/// is a `FillScaleTriL` of a raw `[d (d + 1) / 2]` variable, fitted by `training::fit` to 20000
/// draws of a correlated Gaussian, recovers its mean and covariance (standard errors of the
/// sample moments here are below 0.02: tolerance 0.06); a Dirichlet's mean likewise.
#[test]
fn make_trainable_fits_vector_families() -> Result<()> {
    use tch_distributions::distributions::{Dirichlet, MultivariateNormalTriL};
    let l = Tensor::from_slice(&[1.0f64, 0.0, 0.8, 0.6]).reshape([2, 2]);
    let truth = MultivariateNormalTriL::new(t(&[1.0, -2.0]), l.shallow_clone())?;
    let x = {
        let _g = common::seeded(21);
        truth.sample(&[20000])?
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let d = {
        let _g = common::seeded(22);
        make_trainable("MultivariateNormalTriL", &vs.root(), &[], &[2], Kind::Double)?
    };
    let shapes: Vec<Vec<i64>> = d.trainable_variables().iter().map(|(_, v)| v.size()).collect();
    assert_eq!(shapes, vec![vec![2], vec![3]], "loc [2] and the raw triangle [3]");
    let opts = FitOptions { steps: 1500, lr: 0.05, eval_every: 100, patience: None, ..Default::default() };
    fit(&vs, d.as_ref(), &x, None, &opts, |_| {})?;
    let cov = d.covariance()?;
    let want = l.matmul(&l.tr());
    println!("fitted mean {} covariance {cov}", d.mean()?);
    assert!((d.mean()? - t(&[1.0, -2.0])).abs().max().double_value(&[]) < 0.06);
    assert!((cov - want).abs().max().double_value(&[]) < 0.06);
    let dir = Dirichlet::new(t(&[2.0, 5.0, 3.0]))?;
    let x = {
        let _g = common::seeded(23);
        dir.sample(&[20000])?
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let d = make_trainable("Dirichlet", &vs.root(), &[], &[3], Kind::Double)?;
    fit(&vs, d.as_ref(), &x, None, &opts, |_| {})?;
    assert_close("Dirichlet concentration (via its mean)", &d.mean()?, &[0.2, 0.5, 0.3], 0.02);
    Ok(())
}

// ------------------------------------------------------------------------------------------
// InverseGamma, Kumaraswamy, FisherSnedecor, GeneralizedPareto: quadrature of the density
// against the cdf, mean, variance and entropy (Simpson, float64), modes where the density's
// derivative vanishes (autograd), cdf(icdf(p)) = p, and GeneralizedPareto near concentration 0
// against its Taylor expansion and against the direct float64 formula on the host.

#[test]
fn cont1_families_against_quadrature() -> Result<()> {
    use tch_distributions::distributions::{GeneralizedPareto, InverseGamma, Kumaraswamy};
    let s = |v: f64| Tensor::from(v).to_kind(Kind::Double);
    // InverseGamma(6.5, 2): a tail x^-7.5; the variance integrand beyond 500 is < 1e-12.
    check_density(&InverseGamma::new(s(6.5), s(2.0))?, 0.0, 500.0, None, true, 1e-7)?;
    check_density(&Kumaraswamy::new(s(2.0), s(3.0))?, 0.0, 1.0, None, true, 1e-8)?;
    check_density(&Kumaraswamy::new(s(1.5), s(4.0))?, 0.0, 1.0, None, true, 1e-7)?;
    // GeneralizedPareto: a tail z^-11 (ξ = 0.1), the exponential (ξ = 0 and 1e-9) and a bounded
    // support [1, 1 + 2/0.3] (ξ = -0.3).
    for k in [0.1, 0.0, 1e-9, -0.3] {
        let upper = if k < 0.0 { 1.0 - 2.0 / k } else { 400.0 };
        check_density(&GeneralizedPareto::new(s(1.0), s(2.0), s(k))?, 1.0, upper, None, true, 1e-7)?;
    }
    // ξ = -1: uniform on [1, 3] (density 1/2, entropy log 2).
    let u = GeneralizedPareto::new(s(1.0), s(2.0), s(-1.0))?;
    let lp = u.log_prob(&t(&[1.0, 1.7, 3.0]))?;
    assert!(max_abs(&lp, &t(&[-(2f64.ln()); 3])) < 1e-15, "{lp}");
    assert!((scalar(&u.entropy()?) - 2f64.ln()).abs() < 1e-15);
    // Outside the support: -inf, cdf 0 below and 1 above.
    let g = GeneralizedPareto::new(s(1.0), s(2.0), s(-0.5))?;
    let x = t(&[0.5, 5.5, 6.0]);
    assert_eq!(common::to_vec(&g.log_prob(&x)?), vec![f64::NEG_INFINITY; 3]);
    assert_eq!(common::to_vec(&g.cdf(&x)?), vec![0.0, 1.0, 1.0]);

    // Modes: d log_prob/dx = 0 there (InverseGamma, Kumaraswamy with a, b > 1).
    for d in [
        Box::new(InverseGamma::new(s(3.0), s(2.0))?) as Box<dyn Distribution>,
        Box::new(Kumaraswamy::new(s(2.0), s(3.0))?),
        Box::new(Kumaraswamy::new(s(5.0), s(1.5))?),
    ] {
        let m = d.mode()?.detach().set_requires_grad(true);
        let g = Tensor::run_backward(&[d.log_prob(&m)?], &[&m], false, false).remove(0);
        assert!(scalar(&g).abs() < 1e-10, "{}: d log_prob/dx at the mode {g}", d.type_name());
    }
    let nan_mode = Kumaraswamy::new(t(&[0.5, 2.0]), t(&[2.0, 0.5]))?.mode()?;
    assert!(common::to_vec(&nan_mode).iter().all(|v| v.is_nan()), "{nan_mode}");

    // cdf(icdf(p)) = p.
    let p = probs();
    let round_trip: Vec<Box<dyn Distribution>> = vec![
        Box::new(Kumaraswamy::new(s(2.0), s(3.0))?),
        Box::new(Kumaraswamy::new(s(0.3), s(20.0))?),
        Box::new(GeneralizedPareto::new(s(1.0), s(2.0), s(0.3))?),
        Box::new(GeneralizedPareto::new(s(1.0), s(2.0), s(0.0))?),
        Box::new(GeneralizedPareto::new(s(1.0), s(2.0), s(-1e-9))?),
        Box::new(GeneralizedPareto::new(s(1.0), s(2.0), s(-0.4))?),
    ];
    for d in &round_trip {
        let back = d.cdf(&d.icdf(&p)?)?;
        assert!(max_abs(&back, &p) < 1e-12, "{}: cdf(icdf(p)) {back}", d.type_name());
        // In the left tail the relative error counts: log_cdf(icdf(p)) = log p.
        let lback = d.log_cdf(&d.icdf(&p)?)?;
        assert!(max_abs(&lback, &p.log()) < 1e-9, "{}: log_cdf(icdf(p)) {lback}", d.type_name());
    }
    Ok(())
}

#[test]
fn fisher_snedecor_against_quadrature() -> Result<()> {
    use tch_distributions::distributions::FisherSnedecor;
    let s = |v: f64| Tensor::from(v).to_kind(Kind::Double);
    // F(5, 12): a tail x^-7, the variance integrand beyond 3000 below 1e-13.
    let d = FisherSnedecor::new(s(5.0), s(12.0))?;
    // Two pieces: the density is x^1.5 at 0 (not smooth), so [0, 10] gets its own fine grid.
    let pdf = |x: &Tensor| d.log_prob(x).unwrap().exp();
    let quad = |f: &dyn Fn(&Tensor) -> Tensor| simpson(0.0, 10.0, 400_000, f) + simpson(10.0, 3000.0, 400_000, f);
    let mass = quad(&pdf);
    let mean = quad(&|x| pdf(x) * x);
    let var = quad(&|x| pdf(x) * (x - mean).square());
    assert!((mass - 1.0).abs() < 1e-7, "mass {mass}");
    assert!((scalar(&d.mean()?) - mean).abs() < 1e-6, "mean {mean}");
    assert!((scalar(&d.variance()?) - var).abs() < 1e-6 * var, "variance {var}");
    // The mode: d log_prob/dx = 0; NaN for df1 <= 2, NaN moments for small df2 (torch's).
    let m = d.mode()?.detach().set_requires_grad(true);
    let g = Tensor::run_backward(&[d.log_prob(&m)?], &[&m], false, false).remove(0);
    assert!(scalar(&g).abs() < 1e-10, "{g}");
    let e = FisherSnedecor::new(t(&[2.0, 5.0]), t(&[2.0, 4.0]))?;
    assert!(common::to_vec(&e.mode()?)[0].is_nan() && common::to_vec(&e.mean()?)[0].is_nan());
    assert!(common::to_vec(&e.variance()?).iter().all(|v| v.is_nan()));
    // x = 0 with df1 = 2: the density's value 1 (xlogy), not NaN.
    let d2 = FisherSnedecor::new(s(2.0), s(7.0))?;
    assert!(scalar(&d2.log_prob(&s(0.0))?).abs() < 1e-15);
    assert!(err(d.entropy()).contains("FisherSnedecor.entropy: not implemented for FisherSnedecor"));
    assert!(err(d.cdf(&s(1.0))).contains("FisherSnedecor.cdf: not implemented"));
    Ok(())
}

#[test]
fn generalized_pareto_near_zero_concentration() -> Result<()> {
    use tch_distributions::distributions::GeneralizedPareto;
    let (loc, scale) = (0.5f64, 1.5f64);
    let x = t(&[0.5, 0.9, 2.0, 6.0, 20.0, 60.0]);
    let z: Vec<f64> = common::to_vec(&x).iter().map(|v| (v - loc) / scale).collect();
    // Taylor in ξ: log_prob = -log σ - z + ξ (z²/2 - z) + O(ξ² z³); d/dξ at 0 = z²/2 - z.
    for k in [0.0, 1e-8, -1e-8, 1e-12] {
        let kt = t(&[k]).set_requires_grad(true);
        let d = GeneralizedPareto::new(t(&[loc]), t(&[scale]), kt.shallow_clone())?;
        let lp = d.log_prob(&x)?;
        let want: Vec<f64> = z.iter().map(|z| -scale.ln() - z + k * (z * z / 2.0 - z)).collect();
        let got = common::to_vec(&lp);
        for ((g, w), z) in got.iter().zip(&want).zip(&z) {
            assert!((g - w).abs() <= 1e-15 * w.abs().max(1.0) + k * k * z.powi(3), "ξ = {k}: {got:?} vs {want:?}");
        }
        let g = Tensor::run_backward(&[lp.sum(Kind::Double)], &[&kt], false, false).remove(0);
        let want_g: f64 = z.iter().map(|z| z * z / 2.0 - z).sum();
        assert!((scalar(&g.reshape([])) - want_g).abs() < 1e-6 * want_g.abs() + 1e-12, "ξ = {k}: grad {g} vs {want_g}");
    }
    // Away from 0, against the direct formula on the host (both sides of the series' switch at
    // |ξz| = 0.05).
    for k in [-0.4, -0.03, -0.004, 0.003, 0.0251, 0.04, 0.2, 1.5] {
        let d = GeneralizedPareto::new(t(&[loc]), t(&[scale]), t(&[k]))?;
        let got = common::to_vec(&d.log_prob(&x)?);
        let cdf = common::to_vec(&d.cdf(&x)?);
        for (i, z) in z.iter().enumerate() {
            if 1.0 + k * z <= 0.0 {
                continue;
            }
            let a = (k * z).ln_1p() / k;
            let want = -scale.ln() - (1.0 + k) * a;
            assert!((got[i] - want).abs() < 1e-13 * want.abs().max(1.0), "ξ = {k}, z = {z}: {} vs {want}", got[i]);
            let want_c = -(-a).exp_m1();
            assert!((cdf[i] - want_c).abs() < 1e-14 * want_c.max(1e-300) + 1e-300, "ξ = {k}: cdf {} vs {want_c}", cdf[i]);
        }
        let p = probs();
        let q = common::to_vec(&d.icdf(&p)?);
        for (pi, qi) in common::to_vec(&p).iter().zip(&q) {
            let want = loc + scale * (-k * (-pi).ln_1p()).exp_m1() / k;
            assert!((qi - want).abs() < 1e-13 * want.abs(), "ξ = {k}: icdf({pi}) {qi} vs {want}");
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// VonMises, ContinuousBernoulli and RelaxedBernoulli: densities against quadrature (mass,
// moments, entropy, cdf), their samplers against exact moments (z-tests), and the
// reparameterization gradients against finite differences and quadrature.

/// `∫_a^b f` by Simpson's rule on `n` intervals, for each of several upper limits `b` (the
/// cumulative integral at those points).
fn simpson_to(a: f64, bs: &[f64], n: i64, f: impl Fn(&Tensor) -> Tensor) -> Vec<f64> {
    bs.iter().map(|&b| simpson(a, b, n, &f)).collect()
}

#[test]
fn von_mises_against_quadrature() -> Result<()> {
    use std::f64::consts::PI;
    use tch_distributions::distributions::VonMises;
    let s = |v: f64| Tensor::from(v).to_kind(Kind::Double);
    let loc = 0.4;
    for k in [1e-4, 0.7, 5.0, 10.4, 10.6, 50.0, 1e3, 1e4] {
        let d = VonMises::new(s(loc), s(k))?;
        let (a, b) = (loc - PI, loc + PI);
        let n = 400_000;
        let pdf = |x: &Tensor| d.log_prob(x).unwrap().exp();
        let mass = simpson(a, b, n, pdf);
        assert!((mass - 1.0).abs() < 1e-10, "κ = {k}: mass {mass}");
        // Circular variance 1 - E cos(x - μ) and the entropy.
        let e_cos = simpson(a, b, n, |x| pdf(x) * (x - loc).cos());
        let h = simpson(a, b, n, |x| -(pdf(x) * d.log_prob(x).unwrap()));
        assert!((scalar(&d.variance()?) - (1.0 - e_cos)).abs() < 1e-10, "κ = {k}: variance");
        assert!((scalar(&d.entropy()?) - h).abs() < 1e-9 * h.abs().max(1.0), "κ = {k}: entropy {h}");
        assert_eq!(scalar(&d.mean()?), loc);
        assert_eq!(scalar(&d.mode()?), loc);
        // TFP's cdf (Hill's 8-digit algorithm) against the cumulative quadrature.
        let w = (1.0 / k.sqrt()).min(PI / 4.0);
        let pts = [loc - 3.0 * w, loc - w, loc - 0.1 * w, loc, loc + 0.5 * w, loc + 2.0 * w, loc + 3.0 * w];
        let want = simpson_to(a, &pts, n, pdf);
        let got = d.cdf(&t(&pts))?;
        for (i, w) in want.iter().enumerate() {
            let g = got.double_value(&[i as i64]);
            assert!((g - w).abs() < 2e-8, "κ = {k}: cdf({}) {g} vs quadrature {w}", pts[i]);
        }
        // Periodicity: the density repeats, the cdf counts periods.
        let x = t(&[0.3, -2.0]);
        assert!(max_abs(&d.log_prob(&(&x + 2.0 * PI))?, &d.log_prob(&x)?) < 1e-9 * k.max(1.0));
        assert!(max_abs(&d.cdf(&(&x + 2.0 * PI))?, &(d.cdf(&x)? + 1.0)) < 1e-12);
    }
    // d log_prob/dκ = cos(x - μ) - I1/I0 = cos(x - μ) - (1 - variance) through libtorch's i0e autograd.
    for k in [1e-3, 3.0, 1e4] {
        let kv = s(k).set_requires_grad(true);
        let d = VonMises::new(s(loc), kv.shallow_clone())?;
        let x = s(1.1);
        let g = Tensor::run_backward(&[d.log_prob(&x)?], &[&kv], false, false).remove(0);
        let want = (1.1f64 - loc).cos() - (1.0 - scalar(&d.variance()?));
        assert!((scalar(&g) - want).abs() < 1e-12, "κ = {k}: d/dκ {g} vs {want}");
    }
    Ok(())
}

#[test]
fn von_mises_samples_and_reparameterization() -> Result<()> {
    use std::f64::consts::PI;
    use tch_distributions::distributions::VonMises;
    let _g = common::seeded(11);
    let n = 20_000i64;
    for kind in [Kind::Float, Kind::Double] {
        for (loc, k) in [(0.5, 1e-4), (-3.0, 2.0), (3.0, 200.0)] {
            let d = VonMises::new(Tensor::from(loc).to_kind(kind), Tensor::from(k).to_kind(kind))?;
            let x = d.sample(&[n])?;
            assert_eq!(x.kind(), kind);
            let x64 = x.to_kind(Kind::Double);
            assert!(scalar(&x64.min()) >= -PI && scalar(&x64.max()) <= PI, "draws in [-π, π]");
            // E cos(x - μ) = I1/I0 = 1 - variance, Var cos(x - μ) from the draws (z-test, 5 sigma).
            let c = (&x64 - loc).cos();
            let want = 1.0 - scalar(&d.variance()?.to_kind(Kind::Double));
            let se = scalar(&c.std(true)) / (n as f64).sqrt();
            let z = (scalar(&c.mean(Kind::Double)) - want) / se.max(1e-12);
            assert!(z.abs() < 5.0, "κ = {k}: E cos z = {z}");
            let sn = (&x64 - loc).sin();
            let z = scalar(&sn.mean(Kind::Double)) / (scalar(&sn.std(true)) / (n as f64).sqrt()).max(1e-12);
            assert!(z.abs() < 5.0, "κ = {k}: E sin z = {z}");
        }
    }
    // rsample: the same values as sample under the same seed, and gradients.
    let s = |v: f64| Tensor::from(v).to_kind(Kind::Double);
    for k in [0.5, 4.0, 30.0] {
        let loc = 0.3;
        let d = VonMises::new(s(loc), s(k))?;
        tch::manual_seed(5);
        let a = d.sample(&[100])?;
        tch::manual_seed(5);
        let b = d.rsample(&[100])?;
        assert_eq!(max_abs(&a, &b), 0.0);
        // J(κ) = E g(x), g(x) = cos x + sin 2x. Per-draw gradients through a batch of κ's.
        let m = 200_000i64;
        let g = |x: &Tensor| x.cos() + (x * 2.0).sin();
        let kv = Tensor::full([m], k, (Kind::Double, Device::Cpu)).set_requires_grad(true);
        let lv = Tensor::full([m], loc, (Kind::Double, Device::Cpu)).set_requires_grad(true);
        tch::manual_seed(6);
        let x = VonMises::new(lv.shallow_clone(), kv.shallow_clone())?.rsample(&[])?;
        let grads = Tensor::run_backward(&[g(&x).sum(Kind::Double)], &[&kv, &lv], false, false);
        let (dk, dl) = (&grads[0], &grads[1]);
        // The exact derivatives by quadrature: ∫ g ∂p/∂κ = ∫ g (cos(x - μ) - I1/I0) p, ∫ g' p.
        let r = 1.0 - scalar(&d.variance()?);
        let pdf = |x: &Tensor| d.log_prob(x).unwrap().exp();
        let (a0, b0) = (loc - PI, loc + PI);
        let exact_k = simpson(a0, b0, 200_000, |x| g(x) * ((x - loc).cos() - r) * pdf(x));
        let exact_l = simpson(a0, b0, 200_000, |x| (-x.sin() + (x * 2.0).cos() * 2.0) * pdf(x));
        let stat = |t: &Tensor| (scalar(&t.mean(Kind::Double)), scalar(&t.std(true)) / (m as f64).sqrt());
        let (mk, sk) = stat(dk);
        let (ml, sl) = stat(dl);
        assert!((mk - exact_k).abs() < 5.0 * sk + 1e-6, "κ = {k}: rsample d/dκ {mk} ± {sk} vs {exact_k}");
        assert!((ml - exact_l).abs() < 5.0 * sl + 1e-6, "κ = {k}: rsample d/dμ {ml} ± {sl} vs {exact_l}");
        // Finite differences of the Monte-Carlo objective with common random numbers.
        let h = 1e-3 * k;
        let draws = |kk: f64| -> Result<Tensor> {
            tch::manual_seed(6);
            let full = |v: f64| Tensor::full([m], v, (Kind::Double, Device::Cpu));
            VonMises::new(full(loc), full(kk))?.sample(&[])
        };
        let fd = (g(&draws(k + h)?) - g(&draws(k - h)?)) / (2.0 * h);
        let (mf, sf) = stat(&fd);
        assert!((mf - exact_k).abs() < 5.0 * sf + 1e-4, "κ = {k}: finite differences {mf} ± {sf} vs {exact_k}");
        assert!((mf - mk).abs() < 5.0 * (sf + sk) + 1e-4, "κ = {k}: finite differences {mf} vs rsample {mk}");
    }
    Ok(())
}

#[test]
fn continuous_bernoulli_against_quadrature() -> Result<()> {
    use tch_distributions::distributions::ContinuousBernoulli;
    let s = |v: f64| Tensor::from(v).to_kind(Kind::Double);
    let mut cases: Vec<(String, ContinuousBernoulli)> = vec![];
    for l in [-40.0, -5.0, -0.3, -0.2, 0.05, 1e-9, 0.0, 0.15, 0.2, 0.5, 3.0, 60.0] {
        cases.push((format!("logits {l}"), ContinuousBernoulli::from_logits(s(l))?));
    }
    for p in [0.5, 0.5 + 1e-6, 0.5 - 1e-6, 1e-6, 1.0 - 1e-6, 0.2, 0.9] {
        cases.push((format!("probs {p}"), ContinuousBernoulli::from_probs(s(p))?));
    }
    let n = 400_000;
    for (what, d) in &cases {
        let pdf = |x: &Tensor| d.log_prob(x).unwrap().exp();
        let mass = simpson(0.0, 1.0, n, pdf);
        assert!((mass - 1.0).abs() < 1e-10, "{what}: mass {mass}");
        let mean = simpson(0.0, 1.0, n, |x| pdf(x) * x);
        let var = simpson(0.0, 1.0, n, |x| pdf(x) * (x - mean).square());
        let h = simpson(0.0, 1.0, n, |x| -(pdf(x) * d.log_prob(x).unwrap()));
        let closed = [("mean", d.mean()?, mean), ("variance", d.variance()?, var), ("entropy", d.entropy()?, h)];
        for (m, got, want) in closed {
            let tol = 1e-10 * want.abs().max(1.0);
            assert!((scalar(&got) - want).abs() < tol, "{what}: {m} {got} vs quadrature {want}");
        }
        let pts = [0.0, 0.001, 0.03, 0.3, 0.5, 0.77, 0.999, 1.0];
        let want = simpson_to(0.0, &pts, n, pdf);
        let got = d.cdf(&t(&pts))?;
        for (i, w) in want.iter().enumerate() {
            let g = got.double_value(&[i as i64]);
            assert!((g - w).abs() < 1e-10, "{what}: cdf({}) {g} vs quadrature {w}", pts[i]);
        }
        let p = probs();
        let back = d.cdf(&d.icdf(&p)?)?;
        assert!(max_abs(&back, &p) < 1e-12, "{what}: cdf(icdf(p)) {back}");
        assert_eq!(scalar(&d.cdf(&s(-0.5))?), 0.0);
        assert_eq!(scalar(&d.cdf(&s(1.5))?), 1.0);
    }
    // The Taylor region: continuous at its edge, float32 as accurate as its rounding, and the
    // gradient d log_prob/dλ = x - mean(λ) (the exponential family's identity).
    let x03 = |kind: Kind| Tensor::from(0.3).to_kind(kind);
    for (kind, edge, tol) in [(Kind::Double, 0.2, 1e-14), (Kind::Float, 1.0, 3e-7)] {
        let at = |l: f64| ContinuousBernoulli::from_logits(Tensor::from(l).to_kind(kind)).unwrap();
        for sign in [-1.0, 1.0] {
            let (i, o) = (at(sign * edge * (1.0 - 1e-7)), at(sign * edge * (1.0 + 1e-7)));
            for (m, a, b) in [
                ("mean", i.mean()?, o.mean()?),
                ("variance", i.variance()?, o.variance()?),
                ("log_prob", i.log_prob(&x03(kind))?, o.log_prob(&x03(kind))?),
            ] {
                let diff = (scalar(&a.to_kind(Kind::Double)) - scalar(&b.to_kind(Kind::Double))).abs();
                assert!(diff < tol + 1e-7 * edge, "{kind:?}: {m} jumps by {diff} at the band's edge");
            }
        }
    }
    let grid: Vec<f64> = (-40..=40).map(|i| i as f64 * 0.05).collect();
    let l64 = t(&grid);
    let d64 = ContinuousBernoulli::from_logits(l64.shallow_clone())?;
    let d32 = ContinuousBernoulli::from_logits(l64.to_kind(Kind::Float))?;
    for (m, a, b) in [
        ("mean", d32.mean()?, d64.mean()?),
        ("variance", d32.variance()?, d64.variance()?),
        ("entropy", d32.entropy()?, d64.entropy()?),
    ] {
        let e = max_abs(&a.to_kind(Kind::Double), &b);
        assert!(e < 5e-7, "float32 {m} off by {e}");
    }
    for l in [0.0, 1e-9, 0.1999, 0.2001, -3.0, 50.0] {
        let lv = s(l).set_requires_grad(true);
        let d = ContinuousBernoulli::from_logits(lv.shallow_clone())?;
        let g = Tensor::run_backward(&[d.log_prob(&s(0.3))?], &[&lv], false, false).remove(0);
        let want = 0.3 - scalar(&d.mean()?);
        assert!((scalar(&g) - want).abs() < 1e-13, "λ = {l}: d log_prob/dλ {g} vs {want}");
    }
    // rsample = icdf(u): its gradient against central differences of icdf at the same u.
    let _g = common::seeded(3);
    for l in [-4.0, 0.1, 2.5, 30.0] {
        let lv = s(l).set_requires_grad(true);
        tch::manual_seed(9);
        let x = ContinuousBernoulli::from_logits(lv.shallow_clone())?.rsample(&[50])?;
        let g = Tensor::run_backward(&[x.sum(Kind::Double)], &[&lv], false, false).remove(0);
        let fd = |l: f64| -> Result<f64> {
            tch::manual_seed(9);
            Ok(scalar(&ContinuousBernoulli::from_logits(s(l))?.sample(&[50])?.sum(Kind::Double)))
        };
        let want = (fd(l + 1e-5)? - fd(l - 1e-5)?) / 2e-5;
        assert!((scalar(&g) - want).abs() < 1e-6 * want.abs().max(1.0), "λ = {l}: {g} vs {want}");
    }
    // Samples: z-tests of the mean against the closed form.
    let nn_ = 20_000.0f64;
    for d in [ContinuousBernoulli::from_probs(s(0.5))?, ContinuousBernoulli::from_logits(s(-7.0))?] {
        let x = d.sample(&[nn_ as i64])?;
        assert!(scalar(&x.min()) >= 0.0 && scalar(&x.max()) <= 1.0);
        let z = (scalar(&x.mean(Kind::Double)) - scalar(&d.mean()?)) / (scalar(&d.variance()?) / nn_).sqrt();
        assert!(z.abs() < 5.0, "sample mean z = {z}");
    }
    let e = err(ContinuousBernoulli::from_probs(s(0.3))?.mode());
    assert!(e.contains("ContinuousBernoulli.mode: not implemented"), "{e}");
    Ok(())
}

#[test]
fn inverse_gamma_cdf_gradients() -> Result<()> {
    use tch_distributions::distributions::InverseGamma;
    let (a, b) = (2.5f64, 1.5f64);
    let x = t(&[0.2, 1.0, 4.0]);
    // d Q(α, β/x)/dβ = -(β/x)^(α-1) e^(-β/x) / (Γ(α) x) (autograd through igammac's second argument).
    let rate = t(&[b]).set_requires_grad(true);
    let d = InverseGamma::new(t(&[a]), rate.shallow_clone())?;
    let c = d.cdf(&x)?;
    let g = Tensor::run_backward(&[c.sum(Kind::Double)], &[&rate], false, false).remove(0);
    let gamma_a = 1.329_340_388_179_137; // Γ(2.5) = 3√π/4
    let want: f64 = common::to_vec(&x).iter().map(|x| -(b / x).powf(a - 1.0) * (-b / x).exp() / (gamma_a * x)).sum();
    assert!((scalar(&g.reshape([])) - want).abs() < 1e-12, "{g} vs {want}");
    // cdf(x) = P(1/x <= Gamma) = 1 - P(α, β/x): at the Gamma's own cdf, x = 1 gives Q(α, β).
    assert!((scalar(&c.get(1)) - scalar(&Tensor::from(a).special_gammaincc(&Tensor::from(b)))).abs() < 1e-15);
    // No gradient to α: libtorch's igammac has no derivative in its first argument; backward
    // returns libtorch's error (tch's f_backward) instead of a wrong gradient.
    let conc = t(&[a]).set_requires_grad(true);
    let d = InverseGamma::new(conc.shallow_clone(), t(&[b]))?;
    let e = d.cdf(&x)?.sum(Kind::Double).f_backward().expect_err("no derivative to α");
    assert!(e.to_string().contains("igammac"), "{e}");
    Ok(())
}

#[test]
fn relaxed_bernoulli_against_quadrature() -> Result<()> {
    use tch_distributions::distributions::RelaxedBernoulli;
    let s = |v: f64| Tensor::from(v).to_kind(Kind::Double);
    for tau in [0.05, 0.3, 1.0, 2.5, 5.0] {
        for l in [-1.5, 0.7] {
            let d = RelaxedBernoulli::from_logits(s(tau), s(l))?;
            let p = RelaxedBernoulli::from_probs(s(tau), s(1.0 / (1.0 + (-l).exp())))?;
            // In the logit domain y = sigmoid(x): the mass ∫ p(y(x)) y'(x) dx; the density's
            // spikes at 0 and 1 for τ < 1 become tails there.
            // (y = sigmoid(x) is spaced by eps near 1, so logit(y) loses e^x eps: the range stops
            // at x = 15, the mass beyond is that of a logistic.)
            let (a, b) = (((l - 40.0) / tau).max(-700.0), ((l + 40.0) / tau).min(15.0));
            let logistic = |x: f64| 1.0 / (1.0 + (l - tau * x).exp());
            let dens = |x: &Tensor| {
                let y = x.sigmoid();
                (d.log_prob(&y).unwrap() + y.log() + (-&y).log1p()).exp()
            };
            let pts = [-2.0, -0.5, 0.0, 0.3, 1.0, 3.0].map(|v: f64| ((l + v) / tau).min(15.0));
            let n = 400_000;
            let mass = simpson(a, b, n, dens);
            let want_mass = logistic(b) - logistic(a);
            assert!((mass - want_mass).abs() < 1e-9, "τ = {tau}, λ = {l}: mass {mass} vs {want_mass}");
            let want: Vec<f64> = simpson_to(a, &pts, n, dens).iter().map(|w| w + logistic(a)).collect();
            let ys = t(&pts).sigmoid();
            let got = d.cdf(&ys)?;
            for (i, w) in want.iter().enumerate() {
                assert!((got.double_value(&[i as i64]) - w).abs() < 1e-9, "τ = {tau}: cdf vs quadrature {w}");
            }
            if tau >= 1.0 {
                // (at lower temperatures the quantiles of u near 0 or 1 are within eps of 0 or 1)
                let u = probs();
                assert!(max_abs(&d.cdf(&d.icdf(&u)?)?, &u) < 1e-12, "τ = {tau}: cdf(icdf(u))");
            }
            // probs and logits give the same distribution.
            let y = t(&[1e-6, 0.2, 0.5, 0.93]);
            assert!(max_abs(&d.log_prob(&y)?, &p.log_prob(&y)?) < 1e-12);
            // Samples: the fraction below each quantile (binomial z-tests, 5 sigma).
            let _g = common::seeded(21);
            let m = 20_000.0f64;
            let x = d.sample(&[m as i64])?;
            for q in [0.1, 0.5, 0.8] {
                let yq = d.icdf(&s(q))?;
                if !(1e-300..1.0 - 1e-9).contains(&scalar(&yq)) {
                    continue; // a quantile within eps of 0 or 1: draws are clamped there
                }
                let frac = scalar(&x.le_tensor(&yq).to_kind(Kind::Double).mean(Kind::Double));
                let z = (frac - q) / (q * (1.0 - q) / m).sqrt();
                assert!(z.abs() < 5.0, "τ = {tau}: P(y <= q_{q}) z = {z}");
            }
        }
    }
    // Extreme logits of a point: finite (torch's log1p(exp(d)) overflows in float32).
    let d = RelaxedBernoulli::from_logits(Tensor::from(0.05f32), Tensor::from(100.0f32))?;
    assert!(d.log_prob(&Tensor::from_slice(&[1e-30f32, 0.5]))?.isfinite().all().int64_value(&[]) == 1);
    // rsample: gradients to temperature and logits against central differences.
    let tv = s(0.7).set_requires_grad(true);
    let lv = s(0.4).set_requires_grad(true);
    tch::manual_seed(4);
    let y = RelaxedBernoulli::from_logits(tv.shallow_clone(), lv.shallow_clone())?.rsample(&[40])?;
    let g = Tensor::run_backward(&[y.sum(Kind::Double)], &[&tv, &lv], false, false);
    let f = |tau: f64, l: f64| -> Result<f64> {
        tch::manual_seed(4);
        Ok(scalar(&RelaxedBernoulli::from_logits(s(tau), s(l))?.sample(&[40])?.sum(Kind::Double)))
    };
    let h = 1e-6;
    let gt = (f(0.7 + h, 0.4)? - f(0.7 - h, 0.4)?) / (2.0 * h);
    let gl = (f(0.7, 0.4 + h)? - f(0.7, 0.4 - h)?) / (2.0 * h);
    assert!((scalar(&g[0]) - gt).abs() < 1e-6 && (scalar(&g[1]) - gl).abs() < 1e-6, "{} {gt} {} {gl}", g[0], g[1]);
    let e = err(d.mean());
    assert!(e.contains("RelaxedBernoulli.mean: not implemented"), "{e}");
    Ok(())
}

/// `log_cdf` in both tails against closed forms evaluated on the host in f64 (where `log(cdf)`
/// would lose everything: `cdf` rounding to 1, or `1/2 + atan(z)/π` cancelling), relative
/// tolerance 1e-12; and `exp(log_cdf) = cdf` in the body.
#[test]
fn log_cdf_in_both_tails() -> Result<()> {
    use std::f64::consts::PI;
    use tch_distributions::distributions::{Cauchy, Exponential, HalfCauchy, HalfNormal, Pareto, Weibull};
    let s = |v: f64| Tensor::from(v).to_kind(Kind::Double);
    let check = |d: &dyn Distribution, x: f64, want: f64| {
        let got = scalar(&d.log_cdf(&s(x)).unwrap());
        assert!((got - want).abs() <= 1e-12 * want.abs(), "{}: log_cdf({x}) = {got}, want {want}", d.type_name());
    };
    let e = Exponential::new(s(1.5))?;
    check(&e, 1e-12, (-(-1.5e-12f64).exp_m1()).ln());
    check(&e, 40.0, (-(-60.0f64).exp()).ln_1p());
    let w = Weibull::new(s(2.0), s(1.7))?;
    check(&w, 1e-8, (-(-(0.5e-8f64).powf(1.7)).exp_m1()).ln());
    check(&w, 30.0, (-(-(15.0f64).powf(1.7)).exp()).ln_1p());
    let p = Pareto::new(s(1.5), s(6.0))?;
    let near = 1.5 * (1.0 + 1e-9);
    check(&p, near, (-(-6.0 * ((near - 1.5) / 1.5).ln_1p()).exp_m1()).ln());
    check(&p, 1e4, (-(1.5e-4f64).powi(6)).ln_1p());
    assert_eq!(scalar(&p.log_cdf(&s(1.0))?), f64::NEG_INFINITY);
    let h = HalfNormal::new(s(0.7))?;
    // erf(z) = 2z/√π (1 - z²/3 + ...) at z = 1e-10; erfc(z) by its asymptotic series at z = 20.
    let z = 1e-10 / (0.7 * std::f64::consts::SQRT_2);
    check(&h, 1e-10, (2.0 * z / PI.sqrt() * (1.0 - z * z / 3.0)).ln());
    let z = 20.0f64;
    let series: f64 = (0..7).map(|k| {
        let double_factorial: f64 = (1..=k).map(|j| (2 * j - 1) as f64).product();
        (-1.0f64).powi(k) * double_factorial / (2.0 * z * z).powi(k)
    }).sum();
    let erfc = (-z * z).exp() / (z * PI.sqrt()) * series;
    check(&h, z * 0.7 * std::f64::consts::SQRT_2, (-erfc).ln_1p());
    let c = Cauchy::new(s(0.5), s(2.0))?;
    let zl = (-1e8f64 - 0.5) / 2.0;
    check(&c, -1e8, ((-1.0 / zl).atan() / PI).ln());
    let zu = (1e8f64 - 0.5) / 2.0;
    check(&c, 1e8, (-(1.0 / zu).atan() / PI).ln_1p());
    assert!((scalar(&c.cdf(&s(-1e8))?) / ((-1.0 / zl).atan() / PI) - 1.0).abs() < 1e-13, "Cauchy cdf, lower tail");
    let hc = HalfCauchy::new(s(2.0))?;
    check(&hc, 1e9, (-(2.0 / PI) * (2e-9f64).atan()).ln_1p());
    check(&hc, 1e-9, ((2.0 / PI) * (0.5e-9f64).atan()).ln());
    // The body: exp(log_cdf) = cdf.
    let x = Tensor::from_slice(&[0.2f64, 0.9, 1.6, 2.5, 4.0]);
    for d in [&e as &dyn Distribution, &w, &p, &h, &c, &hc] {
        let diff = (d.log_cdf(&x)?.exp() - d.cdf(&x)?).abs().max();
        assert!(scalar(&diff) < 1e-15, "{}: exp(log_cdf) vs cdf {diff}", d.type_name());
    }
    Ok(())
}

/// `make_trainable` builds every declared family (vector families with `event_shape [3]`), as
/// docs/json.md lists them, except the two with a parameter that has no default bijector
/// (Binomial's `total_count`, Uniform's `high`), which are errors naming the parameter.
#[test]
fn make_trainable_covers_every_declared_family() -> Result<()> {
    for e in FAMILIES {
        let event: &[i64] = if e.spec.event_ndims == 1 { &[3] } else { &[] };
        let vs = nn::VarStore::new(Device::Cpu);
        let r = make_trainable(e.spec.type_name, &vs.root(), &[2], event, Kind::Double);
        match e.spec.type_name {
            "Binomial" => assert!(err(r).contains("\"total_count\""), "Binomial"),
            "Uniform" | "TruncatedNormal" => assert!(err(r).contains("\"high\""), "{}", e.spec.type_name),
            "LowRankMultivariateNormal" => assert!(err(r).contains("\"cov_factor\""), "LowRankMultivariateNormal"),
            name => {
                let d = r?;
                assert_eq!((d.batch_shape(), d.event_shape()), (vec![2], event.to_vec()), "{name}");
                assert!(!d.trainable_variables().is_empty(), "{name}");
            }
        }
    }
    Ok(())
}

/// GeneralizedNormal at power 2 is a normal of standard deviation `α/√2`, at power 1 a Laplace of
/// scale `α`: log_prob, cdf, log_cdf, moments and entropy against those families (at power 1 the
/// cdf against `e^z/2` below the location and `1 - e^(-z)/2` above: Laplace's `cdf`, torch's
/// form, cancels to 1e-8 relative at z = -18).
#[test]
fn generalized_normal_at_powers_one_and_two() -> Result<()> {
    use tch_distributions::distributions::{GeneralizedNormal, Laplace, Normal};
    let d = |v: &[f64]| Tensor::from_slice(v);
    let x = d(&[-30.0, -3.0, -0.2, 0.0, 0.7, 4.0, 25.0]);
    let (loc, scale) = (d(&[0.3]), d(&[1.7]));
    let cases: [(f64, Box<dyn Distribution>); 2] = [
        (2.0, Box::new(Normal::new(loc.copy(), &scale / 2f64.sqrt())?)),
        (1.0, Box::new(Laplace::new(loc.copy(), scale.copy())?)),
    ];
    for (power, want) in cases {
        let g = GeneralizedNormal::new(loc.copy(), scale.copy(), d(&[power]))?;
        let z = (&x - &loc) / &scale;
        let laplace_cdf = (&z.exp() * 0.5).where_self(&z.lt(0.0), &(-(-&z).exp() * 0.5 + 1.0));
        let cdf = if power == 1.0 { laplace_cdf } else { want.cdf(&x)? };
        for (what, a, b) in [
            ("log_prob", g.log_prob(&x)?, want.log_prob(&x)?),
            ("cdf", g.cdf(&x)?, cdf),
            ("log_cdf", g.log_cdf(&x)?, want.log_cdf(&x)?),
            ("mean", g.mean()?, want.mean()?),
            ("variance", g.variance()?, want.variance()?),
            ("entropy", g.entropy()?, want.entropy()?),
        ] {
            let err = ((&a - &b).abs() / (b.abs() + 1e-300)).max().double_value(&[]);
            assert!(err < 1e-12, "power {power} {what}: relative {err:e}\n{a}\n{b}");
        }
    }
    Ok(())
}

/// GeneralizedNormal's sampler: the variance of 400,000 draws against `α² Γ(3/β)/Γ(1/β)` (a
/// z-test with the draws' own fourth moment), and the pathwise gradient of `E|X|` with respect to
/// the power (through `_standard_gamma`'s implicit reparameterization) against the derivative of
/// its closed form `α Γ(2/β)/Γ(1/β)`, at heavy, Gaussian and flat powers.
#[test]
fn generalized_normal_draws_and_their_gradient() -> Result<()> {
    use tch_distributions::distributions::GeneralizedNormal;
    let _g = common::seeded(71);
    let n = 400_000;
    for power in [0.8, 2.0, 5.0] {
        let (loc, scale) = (Tensor::from_slice(&[0.4f64]), Tensor::from_slice(&[1.3f64]));
        let p = Tensor::from_slice(&[power]).set_requires_grad(true);
        let d = GeneralizedNormal::new(loc.copy(), scale.copy(), p.shallow_clone())?;
        let x = d.rsample(&[n])?;
        let dev = (&x - &loc).detach();
        let (var, m4) = (dev.square().mean(Kind::Double), dev.pow_tensor_scalar(4).mean(Kind::Double));
        let want = d.variance()?.double_value(&[0]);
        let z = (var.double_value(&[]) - want) / ((m4.double_value(&[]) - want * want) / n as f64).sqrt();
        assert!(z.abs() < 5.0, "power {power}: draws' variance z-score {z}");
        let mean_abs = (&x - &loc).abs().mean(Kind::Double);
        let grad = Tensor::run_backward(&[&mean_abs], &[&p], false, false).remove(0).double_value(&[0]);
        let q = Tensor::from_slice(&[power]).set_requires_grad(true);
        let closed = &scale * ((q.reciprocal() * 2.0).lgamma() - q.reciprocal().lgamma()).exp();
        let want_grad = Tensor::run_backward(&[&closed.sum(Kind::Double)], &[&q], false, false).remove(0).double_value(&[0]);
        let rel = (grad - want_grad).abs() / want_grad.abs();
        assert!(rel < 0.03, "power {power}: d E|X| / dβ {grad} vs closed form {want_grad}");
    }
    Ok(())
}

/// TruncatedNormal with bounds from inside the bulk to 40 standard deviations out (where Φ rounds
/// to 0 or 1), in both dtypes: draws finite and inside the bounds, `cdf(icdf(p)) = p`, the
/// density's mass 1 by quadrature (float64), and at (-1, 2) the moments and entropy by quadrature.
#[test]
fn truncated_normal_far_in_the_tails() -> Result<()> {
    use tch_distributions::distributions::TruncatedNormal;
    let _g = common::seeded(73);
    let (mu, sigma) = (0.7, 1.9);
    let inf = f64::INFINITY;
    for (a, b) in [(40.0, 41.0), (-41.0, -40.0), (8.0, inf), (-inf, -12.0), (-1.0, 2.0), (30.0, 30.01)] {
        for (kind, rtol) in [(Kind::Double, 1e-11), (Kind::Float, 2e-4)] {
            let s = |v: f64| Tensor::from_slice(&[v]).to_kind(kind);
            let (low, high) = (mu + sigma * a, mu + sigma * b);
            let d = TruncatedNormal::new(s(mu), s(sigma), s(low), s(high))?;
            let x = d.sample(&[10_000])?.to_kind(Kind::Double);
            let finite = x.isfinite().all().int64_value(&[]) == 1;
            let (lo, hi) = (x.min().double_value(&[]), x.max().double_value(&[]));
            // (the bounds as the dtype holds them: the quantiles are clamped to them)
            let (l, h) = (s(low).double_value(&[0]), s(high).double_value(&[0]));
            assert!(finite && lo >= l && hi <= h, "({a}, {b}) {kind:?}: draws in [{lo}, {hi}], bounds [{l}, {h}]");
            // to rtol of min(p, 1 - p), plus the cdf's own rounding: it is exp(log mass below -
            // log Z), whose absolute error is about eps·|log Z| (log Z is -a²/2 and less, far in
            // a tail)
            let p = Tensor::from_slice(&[1e-6, 0.01, 0.3, 0.5, 0.8, 0.999, 1.0 - 1e-6]).to_kind(kind);
            let back = d.cdf(&d.icdf(&p)?)?;
            let log_z = 1.0 + 0.5 * a.abs().min(b.abs()).powi(2) + 10.0;
            let eps = if kind == Kind::Double { f64::EPSILON } else { f32::EPSILON as f64 };
            let allowed = p.minimum(&(-&p + 1.0)) * (50.0 * rtol) + 50.0 * eps * log_z;
            let err = ((&back - &p).abs() / allowed).max().double_value(&[]);
            assert!(err < 1.0, "({a}, {b}) {kind:?}: cdf(icdf(p)) error {err:e} of the allowed\n{back}");
        }
        let s = |v: f64| Tensor::from(v).to_kind(Kind::Double);
        let d = TruncatedNormal::new(s(mu), s(sigma), s(mu + sigma * a), s(mu + sigma * b))?;
        // (an infinite bound replaced by 12 standard deviations beyond the other: the mass
        // beyond is below e^(-70) of the rest)
        let (qa, qb) = (if a.is_finite() { a } else { b - 12.0 }, if b.is_finite() { b } else { a + 12.0 });
        let (qa, qb) = (mu + sigma * qa, mu + sigma * qb);
        let moments = a == -1.0;
        check_density(&d, qa, qb, Some(1.0), moments, 1e-8)?;
    }
    Ok(())
}
