//! `training::fit`: maximum-likelihood fits against closed-form MLEs, mini-batch
//! reproducibility, early stopping that restores the best parameters, divergence that stops with
//! an error naming the step (parameters restored and finite), and bad inputs.

mod common;

use anyhow::Result;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::bijectors::{Bijector, FillScaleTriL, Softplus};
use tch_distributions::distributions::{Distribution, Independent, MultivariateNormal, MultivariateNormalTriL, Normal};
use tch_distributions::training::{fit, FitOptions, FitReport, Progress};
use tch_distributions::{Parameter, TransformedVariable};

const F64: (Kind, Device) = (Kind::Double, Device::Cpu);
const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

/// `Normal(loc, softplus(raw))` with trainable `loc` and `scale` under `vs.root()`.
fn learnable_normal(vs: &nn::VarStore, kind: Kind, loc: f64, scale: f64) -> Normal {
    let p = vs.root();
    Normal::new(
        Parameter::variable(&p, "loc", &Tensor::from_slice(&[loc]).to_kind(kind)).unwrap(),
        TransformedVariable::new(&p, "scale", &Tensor::from_slice(&[scale]).to_kind(kind), Softplus).unwrap(),
    )
    .unwrap()
}

/// `n` draws of `N(loc, scale²)`, float64, shape `[n, 1]`, from a seeded generator.
fn normal_data(n: i64, loc: f64, scale: f64, seed: i64) -> Tensor {
    let _rng = common::seeded(seed);
    Tensor::randn([n, 1], F64) * scale + loc
}

fn scalar(t: &Tensor) -> f64 {
    t.detach().to_kind(Kind::Double).reshape([-1]).double_value(&[0])
}

fn quiet(_: &Progress) {}

/// The mean negative log-likelihood of `x` under `d`, computed here.
fn nll(d: &dyn Distribution, x: &Tensor) -> f64 {
    tch::no_grad(|| -d.log_prob(x).unwrap().mean(Kind::Double).double_value(&[]))
}

#[test]
fn normal_fit_reaches_the_closed_form_mle() -> Result<()> {
    let x = normal_data(2000, 3.0, 2.0, 11);
    let vs = nn::VarStore::new(Device::Cpu);
    let d = learnable_normal(&vs, Kind::Double, 0.0, 1.0);
    let opts = FitOptions { steps: 3000, lr: 0.05, eval_every: 100, patience: None, ..Default::default() };
    let report = fit(&vs, &d, &x, None, &opts, quiet)?;
    // Closed-form MLE: the sample mean and the biased sample standard deviation.
    let mean = x.mean(Kind::Double).double_value(&[]);
    let sd = (&x - mean).square().mean(Kind::Double).sqrt().double_value(&[]);
    let nll_mle = 0.5 * (2.0 * std::f64::consts::PI * sd * sd).ln() + 0.5;
    let (loc, scale) = (scalar(&d.mean()?), scalar(&d.stddev()?));
    println!("loc {loc} vs {mean}, scale {scale} vs {sd}, loss {} vs {nll_mle}", report.final_loss);
    // 1e-3 is ~40x below the sampling error of the estimates (2/sqrt(2000) = 0.045), so this
    // checks convergence to the MLE, not closeness to the truth.
    assert!((loc - mean).abs() < 1e-3, "loc {loc}, MLE {mean}");
    assert!((scale - sd).abs() < 1e-3, "scale {scale}, MLE {sd}");
    assert!(report.final_loss >= nll_mle - 1e-12, "below the minimum: {} < {nll_mle}", report.final_loss);
    assert!(report.final_loss - nll_mle < 1e-6, "loss {} vs minimum {nll_mle}", report.final_loss);
    assert!((report.final_loss - nll(&d, &x)).abs() < 1e-12);
    assert_eq!(report.steps_run, 3000);
    assert!(!report.stopped_early);
    Ok(())
}

#[test]
fn mvn_tril_fit_reaches_the_closed_form_mle() -> Result<()> {
    let device = Device::cuda_if_available();
    if !device.is_cuda() {
        println!("mvn_tril_fit_reaches_the_closed_form_mle: CPU only");
    }
    let opts64 = (Kind::Double, device);
    #[rustfmt::skip]
    let l = Tensor::from_slice(&[1.5f64, 0.0, 0.0, -0.8, 0.7, 0.0, 0.3, 0.4, 0.5]).reshape([3, 3]).to_device(device);
    let x = {
        let _rng = common::seeded(12);
        let z = Tensor::randn([3000, 3], opts64);
        z.matmul(&l.tr()) + Tensor::from_slice(&[1.0f64, -2.0, 0.5]).to_device(device)
    };
    let vs = nn::VarStore::new(device);
    let p = vs.root();
    let d = MultivariateNormalTriL::new(
        Parameter::variable(&p, "loc", &Tensor::zeros([3], opts64))?,
        TransformedVariable::new(&p, "scale_tril", &Tensor::eye(3, opts64), FillScaleTriL::default())?,
    )?;
    let opts = FitOptions { steps: 3000, lr: 0.05, eval_every: 500, patience: None, ..Default::default() };
    let report = fit(&vs, &d, &x, None, &opts, quiet)?;
    // Closed form: sample mean, biased sample covariance, NLL = (d log 2π + log det Σ̂ + d) / 2.
    let mean = x.mean_dim(0, false, Kind::Double);
    let centred = &x - &mean;
    let cov = centred.tr().matmul(&centred) / 3000.0;
    let nll_mle = 0.5 * (3.0 * (2.0 * std::f64::consts::PI).ln() + cov.logdet().double_value(&[]) + 3.0);
    let mean_err = (d.mean()? - &mean).abs().max().double_value(&[]);
    let cov_err = (d.covariance()? - &cov).abs().max().double_value(&[]);
    println!("mean error {mean_err:e}, covariance error {cov_err:e}, loss {} vs {nll_mle}", report.final_loss);
    // Sampling errors are ~0.03 (mean) and ~0.05 (covariance); 2e-3 checks the optimum.
    assert!(mean_err < 2e-3, "mean error {mean_err}");
    assert!(cov_err < 2e-3, "covariance error {cov_err}");
    assert!(report.final_loss >= nll_mle - 1e-12 && report.final_loss - nll_mle < 1e-5);
    Ok(())
}

/// The fitted `(loc, scale)` of a mini-batch fit with shuffling seed `seed`.
fn minibatch_fit(x: &Tensor, seed: u64) -> Result<(f64, f64, usize)> {
    let vs = nn::VarStore::new(Device::Cpu);
    let d = learnable_normal(&vs, Kind::Double, 0.0, 1.0);
    let opts = FitOptions {
        steps: 2000,
        lr: 0.02,
        batch_size: Some(100),
        eval_every: 250,
        patience: None,
        min_delta: 0.0,
        seed,
        closed_form: true,
    };
    let mut reports = 0;
    let report = fit(&vs, &d, x, None, &opts, |_| reports += 1)?;
    assert_eq!(report.trace.len(), reports);
    assert!((report.final_loss - nll(&d, x)).abs() < 1e-12, "final_loss is the full-data loss");
    Ok((scalar(&d.mean()?), scalar(&d.stddev()?), reports))
}

#[test]
fn minibatch_fits_are_reproducible_and_near_the_mle() -> Result<()> {
    let x = normal_data(2000, -1.0, 0.5, 13);
    let a = minibatch_fit(&x, 3)?;
    let b = minibatch_fit(&x, 3)?;
    let c = minibatch_fit(&x, 4)?;
    assert_eq!(a, b, "same seed, same fit");
    assert_ne!((a.0, a.1), (c.0, c.1), "another seed shuffles differently");
    assert_eq!(a.2, 2000 / 250 + 1);
    let mean = x.mean(Kind::Double).double_value(&[]);
    let sd = (&x - mean).square().mean(Kind::Double).sqrt().double_value(&[]);
    // Mini-batch noise at lr 0.02: a looser 0.02 (the sampling error is 0.011 / 0.008).
    assert!((a.0 - mean).abs() < 0.02 && (a.1 - sd).abs() < 0.02, "{a:?} vs ({mean}, {sd})");
    Ok(())
}

#[test]
fn min_delta_counts_only_improvements_larger_than_it() -> Result<()> {
    // From a start far from the data the held-out loss falls at every evaluation; with min_delta
    // above the whole fall from the first evaluation no later one counts as an improvement, so
    // the run stops after `patience` evaluations and restores step 0. With min_delta 0 the same
    // run keeps improving past that point.
    let train = normal_data(500, 0.0, 1.0, 16);
    let valid = normal_data(500, 0.0, 1.0, 17);
    let run = |min_delta: f64| -> Result<(FitReport, f64)> {
        let vs = nn::VarStore::new(Device::Cpu);
        let d = learnable_normal(&vs, Kind::Double, 2.0, 3.0);
        let opts =
            FitOptions { steps: 200, lr: 0.02, eval_every: 10, patience: Some(2), min_delta, ..Default::default() };
        let report = fit(&vs, &d, &train, Some(&valid), &opts, quiet)?;
        let after = nll(&d, &valid);
        Ok((report, after))
    };
    let (strict, after) = run(1e6)?;
    assert!(strict.stopped_early && strict.best_step == 0 && strict.steps_run == 20, "{strict:?}");
    assert_eq!(Some(after), strict.trace[0].valid_loss, "the step-0 parameters are restored");
    let (plain, _) = run(0.0)?;
    assert!(plain.best_step > 20, "{:?}", plain.best_step);
    let bad = run(-1.0).unwrap_err().to_string();
    assert!(bad.contains("training::fit") && bad.contains("min_delta"), "{bad}");
    Ok(())
}

#[test]
fn early_stopping_restores_the_best_parameters() -> Result<()> {
    // 12 training points against 4000 held-out ones from the same N(0, 1), starting away from
    // both: the held-out loss falls at first, then rises as the fit overfits the 12 points, and
    // patience stops it.
    let train = normal_data(12, 0.0, 1.0, 14);
    let valid = normal_data(4000, 0.0, 1.0, 15);
    let vs = nn::VarStore::new(Device::Cpu);
    let d = learnable_normal(&vs, Kind::Double, 2.0, 3.0);
    let opts = FitOptions { steps: 5000, lr: 0.02, eval_every: 10, patience: Some(3), ..Default::default() };
    let report = fit(&vs, &d, &train, Some(&valid), &opts, quiet)?;
    let best = report.best_valid_loss.expect("a held-out loss");
    let last = report.trace.last().and_then(|p| p.valid_loss).expect("a held-out loss");
    println!("stopped at {} (best step {}), best held-out {best}, last {last}", report.steps_run, report.best_step);
    assert!(report.stopped_early && report.steps_run < 5000);
    assert!(report.best_step > 0, "the held-out loss improved first");
    assert_eq!(report.steps_run, report.best_step + 3 * 10, "three evaluations without improvement");
    assert!(last > best, "the held-out loss rose after the best step");
    let at_best = report.trace.iter().find(|p| p.step == report.best_step).and_then(|p| p.valid_loss);
    assert_eq!(at_best, Some(best));
    // The parameters left in the VarStore are the best ones: the held-out loss computed here
    // equals the best one reported.
    let after = nll(&d, &valid);
    assert!((after - best).abs() < 1e-12, "held-out loss after fit {after}, best {best}");
    assert!((report.final_loss - nll(&d, &train)).abs() < 1e-12);
    Ok(())
}

#[test]
fn without_patience_the_last_parameters_stay() -> Result<()> {
    let train = normal_data(12, 0.0, 1.0, 14);
    let valid = normal_data(1000, 0.0, 1.0, 15);
    let vs = nn::VarStore::new(Device::Cpu);
    let d = learnable_normal(&vs, Kind::Double, 0.0, 1.0);
    let opts = FitOptions { steps: 300, lr: 0.02, eval_every: 10, patience: None, ..Default::default() };
    let report = fit(&vs, &d, &train, Some(&valid), &opts, quiet)?;
    assert!(!report.stopped_early && report.steps_run == 300);
    let last = report.trace.last().and_then(|p| p.valid_loss).unwrap();
    assert!((nll(&d, &valid) - last).abs() < 1e-12);
    assert!(report.best_valid_loss.unwrap() <= last);
    Ok(())
}

#[test]
fn progress_is_reported_every_eval_every_steps_and_at_the_end() -> Result<()> {
    let x = normal_data(500, 1.0, 1.0, 16).to_kind(Kind::Float);
    let vs = nn::VarStore::new(Device::Cpu);
    let d = learnable_normal(&vs, Kind::Float, 0.0, 1.0);
    let opts = FitOptions { steps: 120, lr: 0.01, eval_every: 50, patience: None, ..Default::default() };
    let mut seen = vec![];
    let report = fit(&vs, &d, &x, None, &opts, |p| seen.push(p.clone()))?;
    let steps: Vec<usize> = seen.iter().map(|p| p.step).collect();
    assert_eq!(steps, vec![0, 50, 100, 120]);
    assert_eq!(seen[0].points_per_s, 0.0);
    assert!(seen[1..].iter().all(|p| p.points_per_s > 0.0 && p.points_per_s.is_finite()));
    assert!(seen.windows(2).all(|w| w[1].loss < w[0].loss), "the loss decreases: {seen:?}");
    assert_eq!(seen.last().unwrap().loss, report.final_loss);
    assert!((report.final_loss - nll(&d, &x)).abs() < 1e-6);
    Ok(())
}

/// A Normal whose scale is an unconstrained variable (no Softplus): a large step makes it
/// negative and `log(scale)` NaN.
fn unconstrained_normal(vs: &nn::VarStore) -> Normal {
    let p = vs.root();
    Normal::new(
        Parameter::variable(&p, "loc", &Tensor::zeros([1], F32)).unwrap(),
        Parameter::variable(&p, "scale", &Tensor::ones([1], F32)).unwrap(),
    )
    .unwrap()
}

#[test]
fn a_nan_loss_names_its_step_and_restores_the_last_finite_parameters() {
    // Data of spread 0.1 pull the scale down; Adam's first step moves it by lr = 5, to -4.
    let x = (normal_data(200, 0.0, 0.1, 17)).to_kind(Kind::Float);
    let vs = nn::VarStore::new(Device::Cpu);
    let d = unconstrained_normal(&vs);
    let opts = FitOptions { steps: 500, lr: 5.0, eval_every: 50, patience: None, ..Default::default() };
    let mut reports = 0;
    let err = fit(&vs, &d, &x, None, &opts, |_| reports += 1).unwrap_err().to_string();
    println!("{err}");
    // Found at the evaluation at step 50, but named at the step where it happened.
    assert!(err.starts_with("training::fit: the loss became NaN at step 1 "), "{err}");
    assert!(err.contains("restored to step 0"), "{err}");
    assert_eq!(reports, 1, "only the step-0 report");
    for (name, t) in vs.variables() {
        let v = common::to_vec(&t);
        assert!(v.iter().all(|x| x.is_finite()), "{name} = {v:?}");
    }
    assert_eq!(common::to_vec(&d.mean().unwrap()), vec![0.0]);
    assert_eq!(common::to_vec(&d.stddev().unwrap()), vec![1.0]);
}

/// A user bijector whose value is always finite but whose gradient is NaN (through
/// `sqrt(0 · y)`): the loss stays finite while Adam turns the raw variable into NaN.
struct NanGradient;

impl Bijector for NanGradient {
    fn name(&self) -> String {
        "NanGradient".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = x.nan_to_num(1.0, 1.0, 1.0);
        Ok(&y + (&y * 0.0).sqrt() * 0.0)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        Ok(y.shallow_clone())
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.zeros_like())
    }
}

#[test]
fn a_nan_parameter_under_a_finite_loss_is_caught_at_the_next_evaluation() {
    let x = normal_data(100, 0.0, 1.0, 18).to_kind(Kind::Float);
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    let d = Normal::new(
        Parameter::variable(&p, "loc", &Tensor::zeros([1], F32)).unwrap(),
        TransformedVariable::new(&p, "scale", &Tensor::ones([1], F32), NanGradient).unwrap(),
    )
    .unwrap();
    let opts = FitOptions { steps: 100, lr: 0.01, eval_every: 20, patience: None, ..Default::default() };
    let err = fit(&vs, &d, &x, None, &opts, quiet).unwrap_err().to_string();
    println!("{err}");
    assert!(err.starts_with("training::fit: the parameter \"scale\" became non-finite by step 20"), "{err}");
    assert!(err.contains("restored to step 0"), "{err}");
    for (name, t) in vs.variables() {
        assert!(common::to_vec(&t).iter().all(|x| x.is_finite()), "{name}");
    }
}

#[test]
fn a_failing_log_prob_mid_run_restores_the_parameters() {
    // A covariance that is a plain variable, checked by validate_args: Adam's first step
    // (lr 5, data of spread 0.1) takes its diagonal to -4, and log_prob refuses it.
    let x = (normal_data(400, 0.0, 0.1, 19).reshape([200, 2])).to_kind(Kind::Float);
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    let d = MultivariateNormal::from_covariance(
        Parameter::variable(&p, "loc", &Tensor::zeros([2], F32)).unwrap(),
        Parameter::variable(&p, "covariance", &Tensor::eye(2, F32)).unwrap(),
    )
    .unwrap()
    .with_validate_args(true);
    let opts = FitOptions { steps: 100, lr: 5.0, eval_every: 50, patience: None, ..Default::default() };
    let err = fit(&vs, &d, &x, None, &opts, quiet).unwrap_err().to_string();
    println!("{err}");
    assert!(err.starts_with("training::fit: log_prob failed at step 1 (MultivariateNormal.log_prob"), "{err}");
    assert!(err.ends_with("the parameters were restored to step 0"), "{err}");
    assert_eq!(common::to_vec(&vs.variables()["covariance"]), vec![1.0, 0.0, 0.0, 1.0]);
    assert_eq!(common::to_vec(&vs.variables()["loc"]), vec![0.0, 0.0]);
}

#[test]
fn data_with_nan_is_rejected_before_training() {
    let x = Tensor::from_slice(&[0.5f32, f32::NAN, 1.0, f32::INFINITY]).reshape([4, 1]);
    let vs = nn::VarStore::new(Device::Cpu);
    let d = learnable_normal(&vs, Kind::Float, 0.0, 1.0);
    let err = fit(&vs, &d, &x, None, &FitOptions::default(), quiet).unwrap_err().to_string();
    assert!(err.contains("training::fit: train holds 2 non-finite value(s)"), "{err}");
    let valid = Tensor::from_slice(&[f32::NAN]).reshape([1, 1]);
    let err = fit(&vs, &d, &x.nan_to_num(0.0, 0.0, 0.0), Some(&valid), &FitOptions::default(), quiet)
        .unwrap_err()
        .to_string();
    assert!(err.contains("training::fit: valid holds 1 non-finite value(s)"), "{err}");
}

#[test]
fn bad_inputs_are_errors_naming_training_fit() {
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    let d = Independent::new(
        Normal::new(
            Parameter::variable(&p, "loc", &Tensor::zeros([4], F32)).unwrap(),
            TransformedVariable::new(&p, "scale", &Tensor::ones([4], F32), Softplus).unwrap(),
        )
        .unwrap(),
        1,
    )
    .unwrap();
    let good = Tensor::zeros([10, 4], F32);
    let ok = FitOptions { steps: 5, ..Default::default() };
    let other_vs = nn::VarStore::new(Device::Cpu);
    let _ = Parameter::variable(&other_vs.root(), "w", &Tensor::zeros([1], F32)).unwrap();
    let empty_vs = nn::VarStore::new(Device::Cpu);
    let constant = Normal::new(Tensor::zeros([1], F32), Tensor::ones([1], F32)).unwrap();
    type Case<'a> = (&'static str, &'static str, Box<dyn Fn() -> Result<()> + 'a>);
    let run = |x: Tensor, valid: Option<Tensor>, o: FitOptions| fit(&vs, &d, &x, valid.as_ref(), &o, quiet).map(drop);
    let cases: Vec<Case> = vec![
        ("wrong event size", "event shape [4]", Box::new(|| run(Tensor::zeros([10, 3], F32), None, ok.clone()))),
        (
            "integer data",
            "int64",
            Box::new(|| run(Tensor::zeros([10, 4], (Kind::Int64, Device::Cpu)), None, ok.clone())),
        ),
        ("float64 data", "float64", Box::new(|| run(Tensor::zeros([10, 4], F64), None, ok.clone()))),
        ("empty data", "no points", Box::new(|| run(Tensor::zeros([0, 4], F32), None, ok.clone()))),
        ("one event, no N", "shape [N, ...]", Box::new(|| run(Tensor::zeros([4], F32), None, ok.clone()))),
        ("valid of wrong size", "valid", Box::new(|| run(good.copy(), Some(Tensor::zeros([5, 2], F32)), ok.clone()))),
        (
            "empty valid",
            "valid holds no points",
            Box::new(|| run(good.copy(), Some(Tensor::zeros([0, 4], F32)), ok.clone())),
        ),
        ("lr 0", "learning rate", Box::new(|| run(good.copy(), None, FitOptions { lr: 0.0, ..ok.clone() }))),
        ("lr NaN", "learning rate", Box::new(|| run(good.copy(), None, FitOptions { lr: f64::NAN, ..ok.clone() }))),
        ("eval_every 0", "eval_every", Box::new(|| run(good.copy(), None, FitOptions { eval_every: 0, ..ok.clone() }))),
        (
            "batch_size 0",
            "batch_size",
            Box::new(|| run(good.copy(), None, FitOptions { batch_size: Some(0), ..ok.clone() })),
        ),
        ("patience 0", "patience", Box::new(|| run(good.copy(), None, FitOptions { patience: Some(0), ..ok.clone() }))),
        (
            "the distribution's variables in another VarStore",
            "not in the VarStore",
            Box::new(|| fit(&other_vs, &d, &good, None, &ok, quiet).map(drop)),
        ),
        (
            "an empty VarStore",
            "no trainable variable",
            Box::new(|| fit(&empty_vs, &constant, &Tensor::zeros([3, 1], F32), None, &ok, quiet).map(drop)),
        ),
        (
            "a loss without trainable variables",
            "does not depend on any trainable variable",
            Box::new(|| fit(&other_vs, &constant, &Tensor::zeros([3, 1], F32), None, &ok, quiet).map(drop)),
        ),
    ];
    let before: Vec<f64> = d.trainable_variables().iter().flat_map(|(_, t)| common::to_vec(t)).collect();
    for (what, needle, case) in &cases {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(case));
        let err = match result {
            Ok(Err(e)) => e.to_string(),
            Ok(Ok(())) => panic!("{what}: expected an error, got Ok"),
            Err(_) => panic!("{what}: panicked"),
        };
        assert!(err.starts_with("training::fit: "), "{what}: {err}");
        assert!(err.contains(needle), "{what}: expected {needle:?} in {err}");
    }
    let after: Vec<f64> = d.trainable_variables().iter().flat_map(|(_, t)| common::to_vec(t)).collect();
    assert_eq!(before, after, "no error case changed a parameter");
}

/// The seed's six models fitted with the closed-form gradient and flat Adam, against the same fit
/// with autograd and `tch::nn::Adam`: the same steps, the same parameters up to rounding.
#[test]
fn closed_form_fits_equal_autograd_fits() -> Result<()> {
    use tch_distributions::{seed_models, spec};
    let _rng = common::seeded(21); // held: the runs below seed libtorch's generator too
    let x = {
        let centres = Tensor::from_slice(&[-3.0, 0.0, 0.0, 3.0, 3.0, 0.0]).view([3, 2]);
        let pick = Tensor::randint(3, [300], (Kind::Int64, Device::Cpu));
        centres.index_select(0, &pick) + Tensor::randn([300, 2], F64) * 0.7
    };
    for name in seed_models::NAMES {
        for batch_size in [None, Some(64)] {
            let run = |closed_form: bool| -> Result<(FitReport, Vec<(String, Tensor)>)> {
                let vs = nn::VarStore::new(Device::Cpu);
                tch::manual_seed(5); // the random initial locations of two of the models
                let d = spec::build_distribution(&vs.root(), &seed_models::spec(name, 3, 2)?, Kind::Double)?;
                seed_models::init_from_data(name, d.as_ref(), &x)?;
                let opts =
                    FitOptions { steps: 300, lr: 0.05, batch_size, eval_every: 25, closed_form, ..Default::default() };
                let valid = x.narrow(0, 0, 50);
                let report = fit(&vs, d.as_ref(), &x, Some(&valid), &opts, quiet)?;
                let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
                vars.sort_by(|a, b| a.0.cmp(&b.0));
                Ok((report, vars))
            };
            let (fast, fast_vars) = run(true)?;
            let (slow, slow_vars) = run(false)?;
            assert!(fast.closed_form && !slow.closed_form, "{name}");
            assert_eq!((fast.steps_run, fast.best_step), (slow.steps_run, slow.best_step), "{name} {batch_size:?}");
            assert!(
                (fast.final_loss - slow.final_loss).abs() < 1e-9,
                "{name}: {} vs {}",
                fast.final_loss,
                slow.final_loss
            );
            for ((n, a), (_, b)) in fast_vars.iter().zip(&slow_vars) {
                let diff = (a - b).abs().max().double_value(&[]);
                assert!(diff < 1e-8, "{name} {batch_size:?} {n}: differs by {diff}");
            }
        }
    }
    Ok(())
}
