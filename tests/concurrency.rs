//! One model evaluated and trained on four threads (the patterns of `docs/concurrency.md`):
//! every thread builds its own distribution from the JSON description and gets the parameters
//! by `VarStore::copy` from a shared store, by moved tensors, or by `saved::load` from a
//! directory. Log-densities and gradients must equal the single-threaded ones exactly, as must
//! four concurrent `training::fit` runs. Compile-time checks pin down which types cross threads.

mod common;

use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::distributions::{Distribution, MixtureSameFamily, Normal};
use tch_distributions::training::{fit, FitOptions, FitReport, Progress};
use tch_distributions::{saved, seed_models, spec, Parameter, TransformedVariable};

const THREADS: usize = 4;
const MODEL: &str = "learnable_mix_mvntril";

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}

/// `<T as NotSend<_>>::check` compiles only when `T` is not `Send`: for a `Send` type both
/// impls apply and the `_` is ambiguous (the trick behind `static_assertions`'
/// `assert_not_impl_any`). If one of the uses below stops compiling, that type became `Send`:
/// update `docs/concurrency.md`.
trait NotSend<A> {
    fn check() {}
}
impl<T: ?Sized> NotSend<()> for T {}
struct IsSend;
impl<T: ?Sized + Send> NotSend<IsSend> for T {}

/// As [`NotSend`], for `Sync`.
trait NotSync<A> {
    fn check() {}
}
impl<T: ?Sized> NotSync<()> for T {}
struct IsSync;
impl<T: ?Sized + Sync> NotSync<IsSync> for T {}

#[test]
fn which_types_cross_threads() {
    // Can be moved to another thread.
    assert_send::<Tensor>();
    assert_send::<nn::VarStore>();
    assert_send::<Value>();
    assert_send::<FitOptions>();
    assert_send::<FitReport>();
    assert_send::<Progress>();
    assert_send::<anyhow::Error>();
    // Can be shared by reference between threads.
    assert_sync::<nn::VarStore>();
    assert_sync::<Value>();
    assert_sync::<FitOptions>();
    // Neither moved nor shared: distributions and what they are made of.
    <Tensor as NotSync<_>>::check();
    <Box<dyn Distribution> as NotSend<_>>::check();
    <Box<dyn Distribution> as NotSync<_>>::check();
    <Normal as NotSend<_>>::check();
    <MixtureSameFamily as NotSend<_>>::check();
    <Parameter as NotSend<_>>::check();
    <TransformedVariable as NotSend<_>>::check();
    <saved::Saved as NotSend<_>>::check();
}

/// The seed's `learnable_mix_mvntril` (K = 3, d = 4) fitted briefly to data, so that its
/// parameters differ from the spec's initial values; with the data split into one chunk per
/// thread.
struct Fixture {
    spec: Value,
    vs: nn::VarStore,
    dist: Box<dyn Distribution>,
    chunks: Vec<Tensor>,
}

fn fixture() -> Fixture {
    let spec = seed_models::spec(MODEL, 3, 4).unwrap();
    let data = {
        let _rng = common::seeded(99);
        let centres =
            Tensor::from_slice(&[0.0f32, 0.0, 0.0, 0.0, 4.0, 4.0, 0.0, -3.0, -4.0, 3.0, 5.0, 2.0]).reshape([3, 4]);
        let which = Tensor::randint(3, [400], (Kind::Int64, Device::Cpu));
        centres.index_select(0, &which) + Tensor::randn([400, 4], (Kind::Float, Device::Cpu))
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let dist = spec::build_distribution(&vs.root(), &spec, Kind::Float).unwrap();
    seed_models::init_from_data(MODEL, dist.as_ref(), &data).unwrap();
    let opts = FitOptions { steps: 30, lr: 0.05, patience: None, ..Default::default() };
    fit(&vs, dist.as_ref(), &data, None, &opts, |_| {}).unwrap();
    let chunks = data.chunk(THREADS as i64, 0);
    Fixture { spec, vs, dist, chunks }
}

/// `log_prob(x)` and the gradient of `sum(log_prob(x))` for every variable (sorted by name).
type Evaluation = (Vec<f64>, Vec<(String, Vec<f64>)>);

/// [`Evaluation`] of `d` (whose variables are in `vs`) at `x`.
fn evaluate(vs: &nn::VarStore, d: &dyn Distribution, x: &Tensor) -> Evaluation {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, t) in &vars {
        let mut g = t.grad();
        if g.defined() {
            let _ = g.zero_();
        }
    }
    let lp = d.log_prob(x).unwrap();
    lp.sum(Kind::Float).backward();
    let grads = vars.iter().map(|(n, t)| (n.clone(), common::to_vec(&t.grad()))).collect();
    (common::to_vec(&lp), grads)
}

/// The single-threaded results, one per chunk.
fn reference(f: &Fixture) -> Vec<Evaluation> {
    f.chunks.iter().map(|x| evaluate(&f.vs, f.dist.as_ref(), x)).collect()
}

#[test]
fn one_model_on_four_threads_matches_the_single_threaded_log_prob() {
    let f = fixture();
    let expected = reference(&f);
    // The parameters matter: the spec's initial values give other densities.
    let fresh_vs = nn::VarStore::new(Device::Cpu);
    let fresh = spec::build_distribution(&fresh_vs.root(), &f.spec, Kind::Float).unwrap();
    assert_ne!(evaluate(&fresh_vs, fresh.as_ref(), &f.chunks[0]).0, expected[0].0);

    // 1. Scoped threads share the spec and the trained VarStore by reference (both Sync); each
    //    builds its own distribution and copies the parameters in (no thread writes the source).
    let barrier = Barrier::new(THREADS);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = f
            .chunks
            .iter()
            .map(|x| {
                let x = x.copy(); // a Tensor is Send: move a copy in
                let (spec_json, source, barrier) = (&f.spec, &f.vs, &barrier);
                s.spawn(move || {
                    let mut vs = nn::VarStore::new(Device::Cpu);
                    let d = spec::build_distribution(&vs.root(), spec_json, Kind::Float).unwrap();
                    vs.copy(source).unwrap();
                    barrier.wait();
                    let out = evaluate(&vs, d.as_ref(), &x);
                    for _ in 0..20 {
                        assert_eq!(evaluate(&vs, d.as_ref(), &x), out, "repeated evaluation differs");
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results, expected, "VarStore::copy on scoped threads");

    // 2. 'static threads get the spec and copies of the parameter tensors by move.
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = f
        .chunks
        .iter()
        .map(|x| {
            let x = x.copy();
            let spec_json = f.spec.clone();
            let params: Vec<(String, Tensor)> =
                f.vs.variables().into_iter().map(|(n, t)| (n, t.detach().copy())).collect();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let vs = nn::VarStore::new(Device::Cpu);
                let d = spec::build_distribution(&vs.root(), &spec_json, Kind::Float).unwrap();
                let vars = vs.variables();
                tch::no_grad(|| {
                    for (name, value) in &params {
                        vars[name].shallow_clone().copy_(value);
                    }
                });
                barrier.wait();
                evaluate(&vs, d.as_ref(), &x)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results, expected, "moved parameter tensors");

    // 3. Each thread loads the model saved in a directory.
    let dir = std::env::temp_dir().join(format!("tchd-concurrency-{}", std::process::id()));
    saved::save(&dir, &f.spec, Kind::Float, &f.vs).unwrap();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = f
        .chunks
        .iter()
        .map(|x| {
            let (x, dir, barrier): (Tensor, PathBuf, _) = (x.copy(), dir.clone(), barrier.clone());
            std::thread::spawn(move || {
                let loaded = saved::load(&dir, Device::Cpu).unwrap();
                barrier.wait();
                evaluate(&loaded.vs, loaded.distribution.as_ref(), &x)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(results, expected, "saved::load on each thread");
}

#[test]
fn four_concurrent_fits_equal_the_single_threaded_fit() {
    let f = fixture();
    let data = Tensor::cat(&f.chunks, 0);
    let opts = FitOptions { steps: 100, lr: 0.02, eval_every: 25, patience: None, ..Default::default() };
    // Single-threaded, from a copy of the fixture's parameters.
    let fit_copy = |source: &nn::VarStore, x: &Tensor| {
        let mut vs = nn::VarStore::new(Device::Cpu);
        let d = spec::build_distribution(&vs.root(), &f.spec, Kind::Float).unwrap();
        vs.copy(source).unwrap();
        let report = fit(&vs, d.as_ref(), x, None, &opts, |_| {}).unwrap();
        let mut vars: Vec<(String, Vec<f64>)> =
            vs.variables().into_iter().map(|(n, t)| (n, common::to_vec(&t))).collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        (report.final_loss, vars)
    };
    let expected = fit_copy(&f.vs, &data);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let x = data.copy();
                let (source, fit_copy) = (&f.vs, &fit_copy);
                s.spawn(move || fit_copy(source, &x))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &results {
        assert_eq!(r, &expected, "a concurrent fit differs from the single-threaded one");
    }
}
