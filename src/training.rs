//! Fitting a distribution by maximum likelihood: Adam on the mean negative log-likelihood, with
//! mini-batches, held-out evaluation, early stopping and a guard against NaN.
//!
//! [`fit`] minimises `L(θ) = -mean(log_prob(x))` over the trainable variables of a `VarStore`.
//! After one check of the data (shapes, dtype, finiteness), the loop reads values on the host
//! only at evaluation steps (every `eval_every` steps and at the last one): the training losses
//! of the steps since the previous evaluation (kept on the device until then), whether every
//! parameter is finite, and the held-out loss. A loss that
//! turns NaN between two evaluations is therefore still reported with the exact step.
//!
//! ```no_run
//! use tch::{nn, Device, Kind, Tensor};
//! use tch_distributions::bijectors::Softplus;
//! use tch_distributions::distributions::{Independent, Normal};
//! use tch_distributions::training::{fit, FitOptions};
//! use tch_distributions::{Parameter, TransformedVariable};
//!
//! # fn main() -> anyhow::Result<()> {
//! let vs = nn::VarStore::new(Device::Cpu);
//! let p = vs.root();
//! let opts = (Kind::Float, Device::Cpu);
//! let d = Independent::new(
//!     Normal::new(
//!         Parameter::variable(&p, "loc", &Tensor::zeros([4], opts))?,
//!         TransformedVariable::new(&p, "scale", &Tensor::ones([4], opts), Softplus)?,
//!     )?,
//!     1,
//! )?;
//! let (train, valid) = (Tensor::randn([900, 4], opts), Tensor::randn([100, 4], opts));
//! let report = fit(&vs, &d, &train, Some(&valid), &FitOptions::default(), |p| {
//!     println!("step {}: loss {:.4}, held-out {:?}", p.step, p.loss, p.valid_loss)
//! })?;
//! println!("best held-out loss {:?} at step {}", report.best_valid_loss, report.best_step);
//! # Ok(())
//! # }
//! ```

use crate::adam::Adam;
use crate::distributions::Distribution;
use crate::mixture_nll::MixtureNll;
use crate::shape::{check_value_shape, fmt_shape};
use anyhow::{anyhow, bail, Result};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::time::Instant;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

const OP: &str = "training::fit";

/// Options of [`fit`].
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// Maximum number of Adam steps (default 1000).
    pub steps: usize,
    /// Adam's learning rate (default 1e-2).
    pub lr: f64,
    /// `None`: every step uses all of `train` (default); `Some(b)`: random mini-batches of `b`
    /// points, a fresh permutation of the points every epoch (the last batch of an epoch may be
    /// smaller).
    pub batch_size: Option<i64>,
    /// Steps between held-out evaluations and progress reports (default 50).
    pub eval_every: usize,
    /// Early stopping: stop after this many evaluations without a held-out improvement (default
    /// `Some(10)`). With `valid` given and a patience, the best evaluated parameters are restored
    /// at the end, whether the run stopped early or not. Ignored without `valid`.
    pub patience: Option<usize>,
    /// Early stopping: a held-out loss counts as an improvement only when it is below the best
    /// so far by more than this (default 0.0; in the loss's units, nats per point).
    pub min_delta: f64,
    /// Seed of the mini-batch shuffling (default 0); the global libtorch seed is not touched.
    pub seed: u64,
    /// Use the closed-form loss and gradient of [`crate::mixture_nll`] with the flat
    /// [`crate::adam::Adam`] when the model is one it covers (default `true`; the same Adam
    /// steps as the autograd path up to rounding, 2-3x faster on the seed's mixtures);
    /// `false` always uses `log_prob` and autograd (with the flat Adam, or `tch::nn::Adam` when
    /// the variables' dtypes or devices differ; the same update up to rounding).
    pub closed_form: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            steps: 1000,
            lr: 1e-2,
            batch_size: None,
            eval_every: 50,
            patience: Some(10),
            min_delta: 0.0,
            seed: 0,
            closed_form: true,
        }
    }
}

/// One progress report (every `eval_every` steps and at the end).
#[derive(Debug, Clone)]
pub struct Progress {
    /// Adam steps taken before this report.
    pub step: usize,
    /// The training loss at `step` (mean negative log-likelihood of that step's batch: all of
    /// `train` for full-batch fitting).
    pub loss: f64,
    /// The mean negative log-likelihood of `valid` at `step`, when `valid` is given.
    pub valid_loss: Option<f64>,
    /// Training points processed (forward and backward) per second since the previous report
    /// (0 at step 0).
    pub points_per_s: f64,
}

/// What [`fit`] did.
#[derive(Debug, Clone)]
pub struct FitReport {
    /// Adam steps taken.
    pub steps_run: usize,
    /// The mean negative log-likelihood of all of `train` under the parameters `fit` leaves in
    /// the `VarStore` (the restored best ones after early stopping).
    pub final_loss: f64,
    /// The lowest held-out loss seen, when `valid` is given.
    pub best_valid_loss: Option<f64>,
    /// The step of `best_valid_loss` (`steps_run` without `valid`).
    pub best_step: usize,
    /// Whether the run stopped for lack of held-out improvement before `steps`.
    pub stopped_early: bool,
    /// Every progress report, in order.
    pub trace: Vec<Progress>,
    /// Whether the steps used the closed-form gradient ([`FitOptions::closed_form`] and a model
    /// that [`MixtureNll`] covers) rather than autograd.
    pub closed_form: bool,
    /// Whether the update was the flat [`Adam`] (always with the closed form; with autograd
    /// unless the variables mix dtypes or devices) rather than `tch::nn::Adam`.
    pub flat_adam: bool,
}

/// Minimises the mean negative log_prob of `train` (`[N, ...event]`, or more generally
/// `[N, ...]` accepted by `dist.log_prob`; the loss is the mean over every element of
/// `log_prob(train)`) over the trainable variables of `vs` with Adam; evaluates `valid` every
/// `eval_every` steps (early stopping, best parameters restored). A non-finite loss or parameter
/// stops with an error naming the step (never silent NaN); the parameters are then restored to
/// the last finite evaluation.
///
/// Errors, all naming `training::fit`: bad options (`lr` not finite and positive, `eval_every`
/// or `batch_size` or `patience` of 0), data that does not fit the distribution (event shape,
/// dtype, device), no points, non-finite data, a `VarStore` without the distribution's variables,
/// a loss that depends on no trainable variable, and divergence.
pub fn fit(
    vs: &nn::VarStore,
    dist: &dyn Distribution,
    train: &Tensor,
    valid: Option<&Tensor>,
    opts: &FitOptions,
    mut on_progress: impl FnMut(&Progress),
) -> Result<FitReport> {
    check_options(opts)?;
    let n = check_data("train", train, dist)?;
    if let Some(v) = valid {
        check_data("valid", v, dist)?;
    }
    let vars = trainable(vs, dist)?;
    let tensors: Vec<Tensor> = vars.iter().map(|(_, t)| t.shallow_clone()).collect();
    let mut stepper = Stepper::new(vs, dist, &tensors, opts)?;
    let mut batches = Batches::new(n, opts.batch_size, opts.seed, train.device());
    let early_stopping = valid.is_some() && opts.patience.is_some();

    // Detached losses of the steps since the last evaluation, read in one go at the next one.
    let mut pending: Vec<Tensor> = Vec::with_capacity(opts.eval_every.min(4096));
    let mut last_good = (0usize, snapshot(&tensors));
    let mut best: Option<(f64, usize, Vec<Tensor>)> = None;
    let mut evals_since_best = 0usize;
    let mut trace = vec![];
    let mut timer = Instant::now();
    let mut points_since = 0i64;
    let mut step = 0usize;
    let mut stopped_early = false;
    let mut last_loss = f64::NAN;
    loop {
        let batch = batches.next(train);
        let loss = match stepper.loss(dist, &batch) {
            Ok(loss) => loss,
            Err(e) => {
                restore(&tensors, &last_good.1)?;
                bail!(
                    "{OP}: log_prob failed at step {step} ({e:#}); the parameters were restored to step {}",
                    last_good.0
                );
            }
        };
        // (The closed form is only chosen with trainable variables behind the loss.)
        if step == 0 && matches!(stepper, Stepper::Autograd(_) | Stepper::AutogradFlat { .. }) && !loss.requires_grad()
        {
            bail!("{OP}: the loss does not depend on any trainable variable of the VarStore");
        }
        pending.push(loss.detach());
        if step.is_multiple_of(opts.eval_every) || step == opts.steps {
            let losses = to_host(&Tensor::stack(&pending, 0))?;
            pending.clear();
            let first = step + 1 - losses.len();
            if let Some(i) = losses.iter().position(|v| !v.is_finite()) {
                restore(&tensors, &last_good.1)?;
                bail!(
                    "{OP}: the loss became {} at step {} ({}); the parameters were restored to step {}, the last evaluation with a finite loss",
                    losses[i],
                    first + i,
                    setting(opts, n),
                    last_good.0
                );
            }
            if let Some(name) = first_nonfinite(&vars)? {
                restore(&tensors, &last_good.1)?;
                bail!(
                    "{OP}: the parameter {name:?} became non-finite by step {step} ({}); the parameters were restored to step {}, the last evaluation with finite values",
                    setting(opts, n),
                    last_good.0
                );
            }
            last_loss = losses[losses.len() - 1];
            let seconds = timer.elapsed().as_secs_f64();
            let points_per_s = if points_since > 0 && seconds > 0.0 { points_since as f64 / seconds } else { 0.0 };
            let valid_loss = match valid {
                Some(v) => Some(held_out(dist, v)?),
                None => None,
            };
            last_good = (step, snapshot(&tensors));
            if let Some(vl) = valid_loss {
                if vl.is_finite() && best.as_ref().is_none_or(|b| vl < b.0 - opts.min_delta) {
                    let copy = last_good.1.iter().map(Tensor::shallow_clone).collect();
                    best = Some((vl, step, copy));
                    evals_since_best = 0;
                } else {
                    evals_since_best += 1;
                }
            }
            let progress = Progress { step, loss: last_loss, valid_loss, points_per_s };
            on_progress(&progress);
            trace.push(progress);
            if early_stopping && opts.patience.is_some_and(|p| evals_since_best >= p) && step < opts.steps {
                stopped_early = true;
                break;
            }
            timer = Instant::now();
            points_since = 0;
        }
        if step == opts.steps {
            break;
        }
        if let Err(e) = stepper.step(&loss) {
            restore(&tensors, &last_good.1)?;
            bail!("{OP}: backward failed at step {step} ({e:#}); the parameters were restored to step {}", last_good.0);
        }
        points_since += batch.size()[0];
        step += 1;
    }

    let mut restored = false;
    if early_stopping {
        if let Some((_, best_step, params)) = &best {
            if *best_step != step {
                restore(&tensors, params)?;
                restored = true;
            }
        }
    }
    let final_loss =
        if restored || opts.batch_size.is_some_and(|b| b < n) { held_out(dist, train)? } else { last_loss };
    Ok(FitReport {
        steps_run: step,
        final_loss,
        best_valid_loss: best.as_ref().map(|b| b.0),
        best_step: best.as_ref().map_or(step, |b| b.1),
        stopped_early,
        trace,
        closed_form: matches!(stepper, Stepper::ClosedForm { .. }),
        flat_adam: !matches!(stepper, Stepper::Autograd(_)),
    })
}

/// One training step's gradient and update: autograd with the flat [`Adam`] (one update of a
/// few operations for all variables: for a flow of 4 MADEs, 24 variables, `tch::nn::Adam`'s
/// per-variable update cost about a third of a small-batch step), autograd with `tch::nn::Adam`
/// (variables of mixed dtypes or devices, which one flat buffer cannot hold), or the closed form
/// with the flat [`Adam`].
enum Stepper<'a> {
    Autograd(nn::Optimizer),
    AutogradFlat { adam: Adam, vars: Vec<Tensor> },
    ClosedForm { nll: Box<MixtureNll<'a>>, adam: Adam, grads: Vec<Tensor> },
}

impl<'a> Stepper<'a> {
    /// The closed form when asked for and the model is covered with every variable behind it
    /// trainable; autograd otherwise, over `vars` (the VarStore's trainable variables).
    fn new(vs: &nn::VarStore, dist: &'a dyn Distribution, vars: &[Tensor], opts: &FitOptions) -> Result<Self> {
        if opts.closed_form {
            if let Ok(nll) = MixtureNll::new(dist) {
                let vars: Vec<Tensor> = nll.variables().iter().map(|(_, t)| t.shallow_clone()).collect();
                if !vars.is_empty() && vars.iter().all(Tensor::requires_grad) {
                    let adam = Adam::new(&vars, opts.lr)?;
                    return Ok(Stepper::ClosedForm { nll: Box::new(nll), adam, grads: vec![] });
                }
            }
        }
        if let Ok(adam) = Adam::new(vars, opts.lr) {
            return Ok(Stepper::AutogradFlat { adam, vars: vars.iter().map(Tensor::shallow_clone).collect() });
        }
        let opt = nn::Adam::default().build(vs, opts.lr).map_err(|e| anyhow!("{OP}: cannot build Adam: {e}"))?;
        Ok(Stepper::Autograd(opt))
    }

    /// The batch's loss (with its graph on the autograd paths; the gradients kept on the other).
    fn loss(&mut self, dist: &dyn Distribution, batch: &Tensor) -> Result<Tensor> {
        match self {
            Stepper::Autograd(_) | Stepper::AutogradFlat { .. } => mean_nll(dist, batch),
            Stepper::ClosedForm { nll, grads, .. } => {
                let (loss, g) = nll.loss_and_grads(batch)?;
                *grads = g;
                Ok(loss)
            }
        }
    }

    /// The Adam update from the last [`Stepper::loss`].
    fn step(&mut self, loss: &Tensor) -> Result<()> {
        match self {
            Stepper::Autograd(opt) => {
                opt.zero_grad();
                loss.f_backward()?;
                opt.step();
                Ok(())
            }
            Stepper::AutogradFlat { adam, vars } => {
                // the gradients directly (nothing accumulates in .grad()); a variable the loss
                // does not reach gets an undefined one: zero (its moments stay zero, so it does
                // not move, as nn::Adam skips it)
                let grads = Tensor::f_run_backward(&[loss], vars.as_slice(), false, false)?;
                let grads: Vec<Tensor> = grads
                    .into_iter()
                    .zip(vars.iter())
                    .map(|(g, v)| if g.defined() { g } else { v.zeros_like() })
                    .collect();
                adam.step(&grads)
            }
            Stepper::ClosedForm { adam, grads, .. } => adam.step(grads),
        }
    }
}

/// Checks the options that have no valid meaning.
fn check_options(opts: &FitOptions) -> Result<()> {
    if !(opts.lr.is_finite() && opts.lr > 0.0) {
        bail!("{OP}: expected a finite, positive learning rate, got {}", opts.lr);
    }
    if opts.eval_every == 0 {
        bail!("{OP}: expected eval_every >= 1, got 0");
    }
    if let Some(b) = opts.batch_size {
        if b < 1 {
            bail!("{OP}: expected batch_size >= 1 (or None for full batches), got {b}");
        }
    }
    if !(opts.min_delta >= 0.0 && opts.min_delta.is_finite()) {
        bail!("{OP}: expected a finite min_delta >= 0, got {}", opts.min_delta);
    }
    if opts.patience == Some(0) {
        bail!("{OP}: expected patience >= 1 (or None for no early stopping), got 0");
    }
    Ok(())
}

/// Checks that `x` is `[N, ...]` with `N >= 1` points the distribution accepts (event shape,
/// dtype, device) and no non-finite value; returns `N`.
fn check_data(what: &str, x: &Tensor, dist: &dyn Distribution) -> Result<i64> {
    let event = dist.event_shape();
    let size = x.size();
    if size.len() < event.len() + 1 {
        bail!(
            "{OP}: expected {what} of shape [N, ...] with the event shape {} last, got shape {}",
            fmt_shape(&event),
            fmt_shape(&size)
        );
    }
    if size[0] == 0 {
        bail!("{OP}: {what} holds no points (shape {})", fmt_shape(&size));
    }
    check_value_shape(&format!("{OP}: {what}"), x, &dist.batch_shape(), &event)?;
    // Dtype and device, by the distribution's own checks, on one point.
    tch::no_grad(|| dist.log_prob(&x.narrow(0, 0, 1)))
        .map(drop)
        .map_err(|e| anyhow!("{OP}: {what} of shape {} does not fit {dist}: {e:#}", fmt_shape(&size)))?;
    if x.is_floating_point() {
        let bad = x.isfinite().logical_not().sum(Kind::Int64).int64_value(&[]);
        if bad > 0 {
            bail!("{OP}: {what} holds {bad} non-finite value(s) (NaN or infinite); remove or impute them first");
        }
    }
    Ok(size[0])
}

/// The trainable variables of `vs` (by name), after checking that the distribution's variables
/// are among them.
fn trainable(vs: &nn::VarStore, dist: &dyn Distribution) -> Result<Vec<(String, Tensor)>> {
    let all = vs.variables();
    for (name, _) in dist.trainable_variables() {
        if !all.contains_key(&name) {
            bail!(
                "{OP}: the distribution's variable {name:?} is not in the VarStore (build the distribution under this VarStore's root)"
            );
        }
    }
    let mut vars: Vec<(String, Tensor)> = all.into_iter().filter(|(_, t)| t.requires_grad()).collect();
    if vars.is_empty() {
        bail!("{OP}: the VarStore holds no trainable variable");
    }
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(vars)
}

/// `-mean(log_prob(x))` in the distribution's float dtype, with gradient.
fn mean_nll(dist: &dyn Distribution, x: &Tensor) -> Result<Tensor> {
    let lp = dist.log_prob(x)?;
    Ok(-lp.mean(lp.kind()))
}

/// The mean negative log-likelihood of `x`, without gradient (a host read).
fn held_out(dist: &dyn Distribution, x: &Tensor) -> Result<f64> {
    tch::no_grad(|| mean_nll(dist, x))
        .map(|l| l.double_value(&[]))
        .map_err(|e| anyhow!("{OP}: evaluating the loss failed: {e:#}"))
}

/// The values of a 1-D tensor on the host, as `f64`.
fn to_host(t: &Tensor) -> Result<Vec<f64>> {
    Vec::<f64>::try_from(t.to_device(Device::Cpu).to_kind(Kind::Double))
        .map_err(|e| anyhow!("{OP}: reading losses failed: {e}"))
}

/// The name of the first variable holding a non-finite value (one host read for all).
fn first_nonfinite(vars: &[(String, Tensor)]) -> Result<Option<String>> {
    let flags: Vec<Tensor> = vars.iter().map(|(_, t)| t.isfinite().all()).collect();
    let ok = to_host(&Tensor::stack(&flags, 0))?;
    Ok(ok.iter().position(|&f| f == 0.0).map(|i| vars[i].0.clone()))
}

/// Copies of the variables' values.
fn snapshot(vars: &[Tensor]) -> Vec<Tensor> {
    tch::no_grad(|| vars.iter().map(|v| v.detach().copy()).collect())
}

/// Writes a snapshot back into the variables (in place, without gradient).
fn restore(vars: &[Tensor], snap: &[Tensor]) -> Result<()> {
    tch::no_grad(|| {
        for (v, s) in vars.iter().zip(snap) {
            v.shallow_clone().f_copy_(s).map_err(|e| anyhow!("{OP}: restoring parameters failed: {e}"))?;
        }
        Ok(())
    })
}

/// The run's setting, for error messages.
fn setting(opts: &FitOptions, n: i64) -> String {
    match opts.batch_size {
        Some(b) if b < n => format!("lr {}, mini-batches of {b} of {n} points", opts.lr),
        _ => format!("lr {}, full batch of {n} points", opts.lr),
    }
}

/// Mini-batches: the whole data, or slices of a fresh random permutation every epoch.
struct Batches {
    n: i64,
    size: Option<i64>,
    rng: StdRng,
    device: Device,
    perm: Tensor,
    pos: i64,
}

impl Batches {
    fn new(n: i64, size: Option<i64>, seed: u64, device: Device) -> Self {
        let size = size.filter(|&b| b < n);
        let perm = Tensor::zeros([0], (Kind::Int64, device));
        Self { n, size, rng: StdRng::seed_from_u64(seed), device, perm, pos: n }
    }

    fn next(&mut self, x: &Tensor) -> Tensor {
        let Some(b) = self.size else { return x.shallow_clone() };
        if self.pos >= self.n {
            let mut idx: Vec<i64> = (0..self.n).collect();
            idx.shuffle(&mut self.rng);
            self.perm = Tensor::from_slice(&idx).to_device(self.device);
            self.pos = 0;
        }
        let len = b.min(self.n - self.pos);
        let batch = x.index_select(0, &self.perm.narrow(0, self.pos, len));
        self.pos += len;
        batch
    }
}
