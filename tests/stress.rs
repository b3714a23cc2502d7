//! Numerics under stress.
//!
//! * Training: 10,000 full-batch Adam steps (`training::fit`) of each of the seed's six models
//!   (`K = 3`, `d = 4`, the seed's initial values) on 500 points of a 4-D Gaussian mixture of
//!   which 2% are outliers at |x| ~ 1e3, at learning rates 1e-3, 1e-2 and 0.1: every run must end
//!   with finite parameters and loss, or stop with an error naming the step (parameters left
//!   finite); never a silent NaN. Prints the table of outcomes.
//! * Tails: `log_prob` at ±1e3, ±1e6, ±1e15, ±1e30 (and ±1e-15, ±1e-30: LogNormal's left tail)
//!   for Normal, Laplace, StudentT, LogNormal, Independent, MultivariateNormalDiag,
//!   MultivariateNormalTriL, MixtureSameFamily and Mixture, in float32 and float64, against
//!   closed forms evaluated here in float64. Tolerance `atol + rtol·|truth|`: float32
//!   `1e-4 + 1e-5·|truth|`, float64 `1e-9 + 1e-12·|truth|`. Where the truth is below float32's
//!   range (`< -3.4e38`), float32 must give `-inf` or a value below `-1e38`, never NaN.

#![allow(clippy::arc_with_non_send_sync)]

mod common;

use serde_json::Value;
use std::f64::consts::PI;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::distributions::{
    Categorical, Distribution, Independent, Laplace, LogNormal, Mixture, MixtureSameFamily, MultivariateNormalDiag,
    MultivariateNormalTriL, Normal, StudentT,
};
use tch_distributions::training::{fit, FitOptions};
use tch_distributions::{seed_models, spec};

// ---------------------------------------------------------------------------------------------
// Training under outliers and large learning rates.
// ---------------------------------------------------------------------------------------------

const POINTS: i64 = 500;
const OUTLIERS: i64 = 10; // 2%
const STEPS: usize = 10_000;
const LRS: [f64; 3] = [1e-3, 1e-2, 0.1];

/// 490 points of a mixture of three 4-D Gaussians and 10 outliers whose coordinates are
/// `±(0.5 + U(0, 1))·1e3`, shuffled; float32, flattened row-major.
fn stress_data() -> Vec<f32> {
    let _rng = common::seeded(2024);
    let f32c = (Kind::Float, Device::Cpu);
    let centres =
        Tensor::from_slice(&[0.0f32, 0.0, 0.0, 0.0, 4.0, 4.0, 0.0, -3.0, -4.0, 3.0, 5.0, 2.0]).reshape([3, 4]);
    let n = POINTS - OUTLIERS;
    let which = Tensor::randint(3, [n], (Kind::Int64, Device::Cpu));
    let inliers = centres.index_select(0, &which) + Tensor::randn([n, 4], f32c);
    let signs = Tensor::randint(2, [OUTLIERS, 4], f32c) * 2.0 - 1.0;
    let outliers = signs * (Tensor::rand([OUTLIERS, 4], f32c) + 0.5) * 1e3;
    let all = Tensor::cat(&[inliers, outliers], 0);
    let perm = Tensor::randperm(POINTS, (Kind::Int64, Device::Cpu));
    Vec::<f32>::try_from(all.index_select(0, &perm).reshape([-1])).unwrap()
}

/// The outcome of one run, for the table.
struct Outcome {
    model: &'static str,
    lr: f64,
    seconds: f64,
    /// `Ok(final loss)` or `Err(message)`.
    result: Result<f64, String>,
    /// Every variable finite after the run (whatever its result).
    params_finite: bool,
}

/// Builds `spec` on its own VarStore, fits it to `data` and checks what it left.
fn run_one(model: &'static str, spec_json: &Value, lr: f64, data: &[f32]) -> Outcome {
    let start = Instant::now();
    let x = Tensor::from_slice(data).reshape([POINTS, 4]);
    let vs = nn::VarStore::new(Device::Cpu);
    let dist = spec::build_distribution(&vs.root(), spec_json, Kind::Float).expect("the seed model builds");
    let opts = FitOptions { steps: STEPS, lr, eval_every: 500, patience: None, ..Default::default() };
    let result = fit(&vs, dist.as_ref(), &x, None, &opts, |_| {}).map(|r| r.final_loss).map_err(|e| e.to_string());
    let params_finite = vs.variables().values().all(|t| t.isfinite().all().int64_value(&[]) != 0);
    Outcome { model, lr, seconds: start.elapsed().as_secs_f64(), result, params_finite }
}

#[test]
fn seed_models_train_on_outliers_without_silent_nan() {
    let start = Instant::now();
    let data = Arc::new(stress_data());
    // The specs draw the random initial locations from libtorch's generator: under the lock.
    let specs: Vec<(&'static str, Value)> = {
        let _rng = common::seeded(7);
        seed_models::NAMES.iter().map(|&name| (name, seed_models::spec(name, 3, 4).unwrap())).collect()
    };
    let jobs: Vec<(&'static str, Value, f64)> =
        specs.iter().flat_map(|(name, s)| LRS.iter().map(move |&lr| (*name, s.clone(), lr))).collect();
    let total = jobs.len();
    // Distributions are not `Send`: each worker builds its own from the JSON description.
    let queue = Arc::new(Mutex::new(jobs));
    let (tx, rx) = mpsc::channel();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let (queue, tx, data) = (queue.clone(), tx.clone(), data.clone());
            std::thread::spawn(move || loop {
                let job = queue.lock().unwrap().pop();
                let Some((model, spec_json, lr)) = job else { break };
                tx.send(run_one(model, &spec_json, lr, &data)).unwrap();
            })
        })
        .collect();
    drop(tx);
    let mut outcomes: Vec<Outcome> = rx.iter().collect();
    for h in handles {
        h.join().expect("a worker panicked");
    }
    assert_eq!(outcomes.len(), total);
    outcomes.sort_by(|a, b| (a.model, a.lr).partial_cmp(&(b.model, b.lr)).unwrap());

    println!("{STEPS} full-batch Adam steps on {POINTS} points ({OUTLIERS} outliers at |x| ~ 1e3), float32:");
    println!("| model | lr | outcome | final loss | s |");
    println!("|---|---|---|---|---|");
    let mut problems = vec![];
    let (mut finite, mut errors) = (0, 0);
    for o in &outcomes {
        let (outcome, loss) = match &o.result {
            Ok(l) => ("finite".to_string(), format!("{l:.4}")),
            Err(e) => {
                let at = e.split(" at step ").nth(1).or_else(|| e.split(" by step ").nth(1));
                let step = at.and_then(|s| s.split_whitespace().next()).unwrap_or("?");
                (format!("error at step {step}"), "-".to_string())
            }
        };
        println!("| {} | {} | {outcome} | {loss} | {:.1} |", o.model, o.lr, o.seconds);
        match &o.result {
            Ok(l) if l.is_finite() && o.params_finite => finite += 1,
            Ok(l) => problems
                .push(format!("{} lr {}: Ok with loss {l}, parameters finite: {}", o.model, o.lr, o.params_finite)),
            Err(e) => {
                errors += 1;
                let names_step =
                    e.starts_with("training::fit: ") && (e.contains(" at step ") || e.contains(" by step "));
                if !names_step || !o.params_finite {
                    problems.push(format!("{} lr {}: {e} (parameters finite: {})", o.model, o.lr, o.params_finite));
                }
            }
        }
    }
    println!(
        "{finite} finite, {errors} stopped with an error; {:.1} s with {workers} worker threads",
        start.elapsed().as_secs_f64()
    );
    for e in outcomes.iter().filter_map(|o| o.result.as_ref().err()) {
        println!("  {e}");
    }
    assert!(problems.is_empty(), "runs that ended badly:\n{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// log_prob far in the tails.
// ---------------------------------------------------------------------------------------------

const HALF_LOG_2PI: f64 = 0.918_938_533_204_672_8;

fn normal_lp(x: f64, mu: f64, s: f64) -> f64 {
    let z = (x - mu) / s;
    -0.5 * z * z - s.ln() - HALF_LOG_2PI
}

fn laplace_lp(x: f64, mu: f64, b: f64) -> f64 {
    -(x - mu).abs() / b - (2.0 * b).ln()
}

/// Student's t with `df = 3`: `lgamma(2) = 0`, `lgamma(3/2) = log(√π / 2)`.
fn student_t3_lp(x: f64, mu: f64, s: f64) -> f64 {
    let nu = 3.0;
    let y = (x - mu) / s;
    let log_norm = 0.0 - (PI.sqrt() / 2.0).ln() - 0.5 * (nu * PI).ln() - s.ln();
    // log(1 + y²/ν) without overflowing y² in float64 for |y| up to ~1e150.
    log_norm - (nu + 1.0) / 2.0 * (y * y / nu).ln_1p()
}

fn log_normal_lp(x: f64, mu: f64, s: f64) -> f64 {
    normal_lp(x.ln(), mu, s) - x.ln()
}

fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + v.iter().map(|a| (a - m).exp()).sum::<f64>().ln()
}

fn log_softmax(logits: &[f64]) -> Vec<f64> {
    let z = log_sum_exp(logits);
    logits.iter().map(|l| l - z).collect()
}

/// `-|L⁻¹(x - μ)|²/2 - Σ log L_ii - d log(2π)/2` by forward substitution, in float64.
fn mvn_tril_lp(x: &[f64], mu: &[f64], l: &[Vec<f64>]) -> f64 {
    let d = x.len();
    let mut z = vec![0.0; d];
    for i in 0..d {
        let s: f64 = (0..i).map(|j| l[i][j] * z[j]).sum();
        z[i] = (x[i] - mu[i] - s) / l[i][i];
    }
    // Scale before squaring so that |z|² does not overflow float64 needlessly.
    let m = z.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    let sq = if m > 0.0 { m * m * z.iter().map(|v| (v / m) * (v / m)).sum::<f64>() } else { 0.0 };
    -0.5 * sq - (0..d).map(|i| l[i][i].ln()).sum::<f64>() - d as f64 * HALF_LOG_2PI
}

/// A float64 closed-form log density of a value.
type LogDensity = Box<dyn Fn(&[f64]) -> f64>;

/// A tails case: a distribution built in a dtype, and its float64 closed form for a scalar `t`
/// (the value is `t` for scalar events, `t · direction` for vector events).
struct TailCase {
    name: &'static str,
    build: Box<dyn Fn(Kind) -> Box<dyn Distribution>>,
    /// The value at which log_prob is evaluated, for scale `t`.
    value: Box<dyn Fn(f64) -> Vec<f64>>,
    truth: LogDensity,
    /// Whether negative `t` is in the support.
    negative: bool,
}

fn t(v: &[f64], kind: Kind) -> Tensor {
    Tensor::from_slice(v).to_kind(kind)
}

fn s(v: f64, kind: Kind) -> Tensor {
    Tensor::from(v).to_kind(kind)
}

const DIRECTION: [f64; 4] = [1.0, -0.5, 0.25, 2.0];

fn tail_cases() -> Vec<TailCase> {
    let scalar = |t: f64| vec![t];
    let vector = |t: f64| DIRECTION.iter().map(|d| d * t).collect::<Vec<_>>();
    let loc4 = [0.3, -1.0, 2.0, 0.0];
    let scale4 = [2.0, 0.5, 1.0, 3.0];
    let l3 = vec![vec![2.0, 0.0, 0.0], vec![0.5, 1.0, 0.0], vec![-0.3, 0.2, 0.5]];
    let loc3 = [1.0, -2.0, 0.5];
    let mix_logits = [0.0, -0.5, 0.2];
    let mix_locs = [[3.0, 2.0], [-1.0, 0.0], [0.0, 5.0]];
    let mix_scales = [[3.0, 2.0], [0.5, 1.0], [1.0, 1.5]];
    let flat = |a: &[[f64; 2]; 3]| a.iter().flatten().cloned().collect::<Vec<_>>();
    let (ml, ms) = (flat(&mix_locs), flat(&mix_scales));
    let l3_flat: Vec<f64> = l3.iter().flatten().cloned().collect();
    let l3c = l3.clone();
    vec![
        TailCase {
            name: "Normal(0.3, 2)",
            build: Box::new(|k| Box::new(Normal::new(s(0.3, k), s(2.0, k)).unwrap())),
            value: Box::new(scalar),
            truth: Box::new(|x| normal_lp(x[0], 0.3, 2.0)),
            negative: true,
        },
        TailCase {
            name: "Laplace(0.3, 2)",
            build: Box::new(|k| Box::new(Laplace::new(s(0.3, k), s(2.0, k)).unwrap())),
            value: Box::new(scalar),
            truth: Box::new(|x| laplace_lp(x[0], 0.3, 2.0)),
            negative: true,
        },
        TailCase {
            name: "StudentT(3, 0.3, 2)",
            build: Box::new(|k| Box::new(StudentT::new(s(3.0, k), s(0.3, k), s(2.0, k)).unwrap())),
            value: Box::new(scalar),
            truth: Box::new(|x| student_t3_lp(x[0], 0.3, 2.0)),
            negative: true,
        },
        TailCase {
            name: "LogNormal(0.3, 2)",
            build: Box::new(|k| Box::new(LogNormal::new(s(0.3, k), s(2.0, k)).unwrap())),
            value: Box::new(scalar),
            truth: Box::new(|x| log_normal_lp(x[0], 0.3, 2.0)),
            negative: false,
        },
        TailCase {
            name: "Independent(Normal, 1), d=4",
            build: Box::new(move |k| {
                Box::new(Independent::new(Normal::new(t(&loc4, k), t(&scale4, k)).unwrap(), 1).unwrap())
            }),
            value: Box::new(vector),
            truth: Box::new(move |x| (0..4).map(|i| normal_lp(x[i], loc4[i], scale4[i])).sum()),
            negative: true,
        },
        TailCase {
            name: "MultivariateNormalDiag, d=4",
            build: Box::new(move |k| Box::new(MultivariateNormalDiag::new(t(&loc4, k), t(&scale4, k)).unwrap())),
            value: Box::new(vector),
            truth: Box::new(move |x| (0..4).map(|i| normal_lp(x[i], loc4[i], scale4[i])).sum()),
            negative: true,
        },
        TailCase {
            name: "MultivariateNormalTriL, d=3",
            build: Box::new(move |k| {
                Box::new(MultivariateNormalTriL::new(t(&loc3, k), t(&l3_flat, k).reshape([3, 3])).unwrap())
            }),
            value: Box::new(|t| DIRECTION[..3].iter().map(|d| d * t).collect()),
            truth: Box::new(move |x| mvn_tril_lp(x, &loc3, &l3c)),
            negative: true,
        },
        TailCase {
            name: "MixtureSameFamily(K=3, Independent(Normal), d=2)",
            build: Box::new(move |k| {
                Box::new(
                    MixtureSameFamily::new(
                        Categorical::new(t(&mix_logits, k)).unwrap(),
                        Independent::new(Normal::new(t(&ml, k).reshape([3, 2]), t(&ms, k).reshape([3, 2])).unwrap(), 1)
                            .unwrap(),
                    )
                    .unwrap(),
                )
            }),
            value: Box::new(|t| DIRECTION[..2].iter().map(|d| d * t).collect()),
            truth: Box::new(move |x| {
                let w = log_softmax(&mix_logits);
                let per: Vec<f64> = (0..3)
                    .map(|c| w[c] + (0..2).map(|i| normal_lp(x[i], mix_locs[c][i], mix_scales[c][i])).sum::<f64>())
                    .collect();
                log_sum_exp(&per)
            }),
            negative: true,
        },
        TailCase {
            name: "Mixture(Normal, Laplace, StudentT(3))",
            build: Box::new(move |k| {
                let components: Vec<Box<dyn Distribution>> = vec![
                    Box::new(Normal::new(s(0.3, k), s(2.0, k)).unwrap()),
                    Box::new(Laplace::new(s(-1.0, k), s(0.5, k)).unwrap()),
                    Box::new(StudentT::new(s(3.0, k), s(2.0, k), s(1.0, k)).unwrap()),
                ];
                Box::new(Mixture::new(Categorical::new(t(&mix_logits, k)).unwrap(), components).unwrap())
            }),
            value: Box::new(scalar),
            truth: Box::new(move |x| {
                let w = log_softmax(&mix_logits);
                log_sum_exp(&[
                    w[0] + normal_lp(x[0], 0.3, 2.0),
                    w[1] + laplace_lp(x[0], -1.0, 0.5),
                    w[2] + student_t3_lp(x[0], 2.0, 1.0),
                ])
            }),
            negative: true,
        },
    ]
}

#[test]
fn log_prob_far_in_the_tails_is_finite_where_the_truth_is() {
    // Tiny values too: the far left tail of LogNormal (log x = -69).
    let magnitudes = [1e-30, 1e-15, 1e3, 1e6, 1e15, 1e30];
    let mut failures = vec![];
    let mut checked = 0;
    for case in tail_cases() {
        for (kind, atol, rtol) in [(Kind::Float, 1e-4, 1e-5), (Kind::Double, 1e-9, 1e-12)] {
            let d = (case.build)(kind);
            for &m in &magnitudes {
                for sign in [1.0, -1.0] {
                    if sign < 0.0 && !case.negative {
                        continue;
                    }
                    let tt = sign * m;
                    let x = (case.value)(tt);
                    let truth = (case.truth)(&x);
                    assert!(!truth.is_nan(), "{}: reference NaN at {tt:e}", case.name);
                    let shape = d.event_shape();
                    let xt = Tensor::from_slice(&x).to_kind(kind).reshape(shape.as_slice());
                    let got = d.log_prob(&xt).unwrap().to_kind(Kind::Double).double_value(&[]);
                    checked += 1;
                    let in_range = truth.abs() < f32::MAX as f64 || kind == Kind::Double;
                    let ok = if in_range {
                        (got - truth).abs() <= atol + rtol * truth.abs()
                    } else {
                        !got.is_nan() && got < -1e38
                    };
                    let line = format!(
                        "{} {} at {tt:e}: log_prob {got:e}, truth {truth:e}",
                        case.name,
                        tch_distributions::shape::kind_name(kind)
                    );
                    if !ok {
                        failures.push(line);
                    }
                }
            }
        }
    }
    println!("{checked} tail values checked, {} failures", failures.len());
    assert!(failures.is_empty(), "log_prob far in the tails:\n{}", failures.join("\n"));
}
