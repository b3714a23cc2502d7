//! Integration tests for `Normal` and `Independent`.
//!
//! References: the normal log density in Rust f64 scalar math, sums of those for
//! `Independent`, sample moments against their standard errors, and exact error messages.

mod common;

use common::{seeded, to_vec};
use tch::nn;
use tch::{Device, Kind, Tensor};
use tch_distributions::bijectors::Softplus;
use tch_distributions::distributions::{Distribution, Independent, Normal};
use tch_distributions::{Parameter, TransformedVariable};

/// log N(x; m, s) in f64 scalars.
fn normal_lp(x: f64, m: f64, s: f64) -> f64 {
    let z = (x - m) / s;
    -0.5 * z * z - s.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

fn cst(t: &Tensor) -> Parameter {
    Parameter::constant(t).unwrap()
}

/// `|got - want| <= atol + rtol·|want|` elementwise, with a readable failure.
fn assert_close(what: &str, got: &[f64], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= atol + rtol * w.abs(), "{what}[{i}]: got {g:e}, want {w:e}");
    }
}

// Normal.log_prob on random loc/scale/x of equal shape, against the f64 closed form.
// float64: 1e-12 relative. float32: 1e-5 relative plus 1e-6 absolute, because the result is a
// sum of O(1) terms that can cancel to near 0, where float32 rounding (~1e-7 absolute) is
// not small relative to the result.
#[test]
fn normal_log_prob_closed_form() {
    let _g = seeded(20);
    let opts = (Kind::Double, Device::Cpu);
    let loc = Tensor::randn([3, 4], opts) * 2.0;
    let scale = Tensor::rand([3, 4], opts) * 2.0 + 0.1;
    let x = Tensor::randn([3, 4], opts) * 3.0;
    for (kind, atol, rtol) in [(Kind::Double, 0.0, 1e-12), (Kind::Float, 1e-6, 1e-5)] {
        // evaluate the reference at the inputs as rounded to `kind`
        let (loc, scale, x) = (loc.to_kind(kind), scale.to_kind(kind), x.to_kind(kind));
        let (l, s, xs) = (to_vec(&loc), to_vec(&scale), to_vec(&x));
        let want_k: Vec<f64> = (0..12).map(|i| normal_lp(xs[i], l[i], s[i])).collect();
        let d = Normal::new(cst(&loc), cst(&scale)).unwrap();
        assert_eq!(d.batch_shape(), vec![3, 4]);
        assert_eq!(d.event_shape(), Vec::<i64>::new());
        assert_eq!(d.dtype(), kind);
        let lp = d.log_prob(&x).unwrap();
        assert_eq!(lp.size(), vec![3, 4]);
        assert_eq!(lp.kind(), kind);
        assert_close(&format!("log_prob {kind:?}"), &to_vec(&lp), &want_k, atol, rtol);
        // prob = exp(log_prob): an absolute error e in log_prob is a relative error ≈ e in
        // prob, plus one rounding of exp.
        let p = to_vec(&d.prob(&x).unwrap());
        for (got, lp) in p.iter().zip(&want_k) {
            let tol = (atol + rtol * lp.abs()) * 1.01 + 4.0 * f32::EPSILON as f64;
            assert!((got - lp.exp()).abs() <= tol * lp.exp(), "prob {got:e} vs exp({lp})");
        }
    }
}

// Batch broadcasting: loc [3,1] with scale [4] gives batch [3,4]; x [2,3,4] -> [2,3,4],
// x [5,1,4] -> [5,3,4], x [4] -> [3,4]; x [2,4] does not broadcast -> Err.
#[test]
fn normal_broadcasting() {
    let _g = seeded(21);
    let opts = (Kind::Double, Device::Cpu);
    let loc = Tensor::randn([3, 1], opts);
    let scale = Tensor::rand([4], opts) + 0.5;
    let (l, s) = (to_vec(&loc), to_vec(&scale));
    let d = Normal::new(cst(&loc), cst(&scale)).unwrap();
    assert_eq!(d.batch_shape(), vec![3, 4]);
    assert_eq!(d.mean().unwrap().size(), vec![3, 4]);

    let x = Tensor::randn([2, 3, 4], opts);
    let lp = d.log_prob(&x).unwrap();
    assert_eq!(lp.size(), vec![2, 3, 4]);
    let xs = to_vec(&x);
    let want: Vec<f64> = (0..24).map(|k| normal_lp(xs[k], l[(k / 4) % 3], s[k % 4])).collect();
    assert_close("x [2,3,4]", &to_vec(&lp), &want, 0.0, 1e-12);

    let x = Tensor::randn([5, 1, 4], opts);
    let lp = d.log_prob(&x).unwrap();
    assert_eq!(lp.size(), vec![5, 3, 4]);
    let xs = to_vec(&x);
    let want: Vec<f64> = (0..60).map(|k| normal_lp(xs[(k / 12) * 4 + k % 4], l[(k / 4) % 3], s[k % 4])).collect();
    assert_close("x [5,1,4]", &to_vec(&lp), &want, 0.0, 1e-12);

    let x = Tensor::randn([4], opts);
    let lp = d.log_prob(&x).unwrap();
    assert_eq!(lp.size(), vec![3, 4]);
    let xs = to_vec(&x);
    let want: Vec<f64> = (0..12).map(|k| normal_lp(xs[k % 4], l[k / 4], s[k % 4])).collect();
    assert_close("x [4]", &to_vec(&lp), &want, 0.0, 1e-12);

    let err = d.log_prob(&Tensor::zeros([2, 4], opts)).unwrap_err().to_string();
    assert!(err.contains("Normal.log_prob") && err.contains("does not broadcast"), "{err}");
}

// d log_prob / d loc = (x - loc)/scale², by autograd, against the closed form.
#[test]
fn normal_log_prob_gradient() {
    let vs = nn::VarStore::new(Device::Cpu);
    let loc = Parameter::variable(&vs.root(), "loc", &Tensor::from_slice(&[0.5f64, -1.0])).unwrap();
    let scale = cst(&Tensor::from_slice(&[2.0f64, 0.25]));
    let d = Normal::new(loc, scale).unwrap();
    let x = Tensor::from_slice(&[1.5f64, 0.0]);
    d.log_prob(&x).unwrap().sum(Kind::Double).backward();
    let g = to_vec(&d.trainable_variables()[0].1.grad());
    assert_close("grad loc", &g, &[(1.5 - 0.5) / 4.0, (0.0 + 1.0) / 0.0625], 0.0, 1e-14);
}

/// Independent(Normal(loc [4] variable, scale [1] softplus variable), 1), float32.
fn mvn(vs: &nn::VarStore) -> Independent {
    let path = vs.root() / "mvn";
    let loc = Parameter::variable(&path, "loc", &Tensor::from_slice(&[0.0f32, 1.0, -1.0, 2.0])).unwrap();
    let scale = TransformedVariable::new(&path, "scale", &Tensor::from_slice(&[1.5f32]), Softplus).unwrap();
    Independent::new(Normal::new(loc, scale).unwrap(), 1).unwrap()
}

// Shapes and Display of Independent; log_prob [10,4] -> [10] equals the sum over the event of
// Normal log_probs (and the f64 closed form, float32 tolerance as above, summed over 4 terms).
#[test]
fn independent_normal() {
    let _g = seeded(22);
    let vs = nn::VarStore::new(Device::Cpu);
    let d = mvn(&vs);
    assert_eq!(d.batch_shape(), Vec::<i64>::new());
    assert_eq!(d.event_shape(), vec![4]);
    assert_eq!(d.reinterpreted_batch_ndims(), 1);
    assert_eq!(d.to_string(), "Independent(\"IndependentNormal\", batch_shape=[], event_shape=[4], dtype=float32)");
    let d = d.with_name("learnable_mvn_scaled_identity");
    assert_eq!(
        d.to_string(),
        "Independent(\"learnable_mvn_scaled_identity\", batch_shape=[], event_shape=[4], dtype=float32)"
    );
    assert_eq!(d.base().to_string(), "Normal(\"Normal\", batch_shape=[4], event_shape=[], dtype=float32)");

    let x = Tensor::randn([10, 4], (Kind::Float, Device::Cpu)) * 2.0;
    let lp = d.log_prob(&x).unwrap();
    assert_eq!(lp.size(), vec![10]);
    let base = d.base().log_prob(&x).unwrap();
    assert_eq!(base.size(), vec![10, 4]);
    let sums: Vec<f64> = to_vec(&base).chunks(4).map(|c| c.iter().sum()).collect();
    assert_close("sum of base", &to_vec(&lp), &sums, 1e-5, 1e-6);
    let xs = to_vec(&x);
    let locs = [0.0, 1.0, -1.0, 2.0];
    let want: Vec<f64> = (0..10).map(|r| (0..4).map(|c| normal_lp(xs[r * 4 + c], locs[c], 1.5)).sum()).collect();
    assert_close("closed form", &to_vec(&lp), &want, 4e-6, 1e-5);

    // mean: batch + event
    assert_eq!(d.mean().unwrap().size(), vec![4]);
    assert_eq!(to_vec(&d.mean().unwrap()), locs.to_vec());
}

// Shape, dtype and argument errors are Err values naming the operation.
#[test]
fn errors_name_the_op() {
    let vs = nn::VarStore::new(Device::Cpu);
    let d = mvn(&vs);
    let msg = d.log_prob(&Tensor::zeros([10, 3], (Kind::Float, Device::Cpu))).unwrap_err().to_string();
    assert!(msg.contains("Independent.log_prob"), "{msg}");
    assert!(msg.contains("expected event shape [4]"), "{msg}");
    assert!(d.log_prob(&Tensor::zeros([], (Kind::Float, Device::Cpu))).is_err());

    let msg = d.log_prob(&Tensor::zeros([10, 4], (Kind::Double, Device::Cpu))).unwrap_err().to_string();
    assert!(msg.contains("float32") && msg.contains("float64"), "{msg}");
    let msg = d.log_prob(&Tensor::zeros([10, 4], (Kind::Int64, Device::Cpu))).unwrap_err().to_string();
    assert!(msg.contains("float32 or float64"), "{msg}");
    let msg = d.base().log_prob(&Tensor::zeros([4], (Kind::Int64, Device::Cpu))).unwrap_err().to_string();
    assert!(msg.contains("Normal.log_prob"), "{msg}");

    let f = |s: &[i64]| cst(&Tensor::ones(s, (Kind::Float, Device::Cpu)));
    let msg = Normal::new(f(&[3]), f(&[4])).err().unwrap().to_string();
    assert!(msg.contains("Normal::new") && msg.contains("[3] and [4]"), "{msg}");
    let msg = Normal::new(f(&[3]), cst(&Tensor::ones([3], (Kind::Double, Device::Cpu)))).err().unwrap().to_string();
    assert!(msg.contains("float32") && msg.contains("float64"), "{msg}");
    // an int64 tensor converted with From<Tensor> is rejected by Normal::new
    let ints: Parameter = Tensor::from_slice(&[1i64]).into();
    assert!(Normal::new(ints, f(&[1])).is_err());

    let msg = Independent::new(Normal::new(f(&[3]), f(&[3])).unwrap(), 2).err().unwrap().to_string();
    assert!(msg.contains("Independent::new"), "{msg}");
    assert!(Independent::new(Normal::new(f(&[2, 3]), f(&[3])).unwrap(), 2).is_ok());

    let msg = d.sample(&[2, -1]).unwrap_err().to_string();
    assert!(msg.contains("Normal.sample") && msg.contains("non-negative"), "{msg}");
    assert!(d.base().sample(&[-3]).is_err());
}

// validate_args: a constant scale with -1 makes log_prob and sample fail with "scale > 0";
// without validation the call goes through.
#[test]
fn validate_args_checks_scale() {
    let loc = cst(&Tensor::zeros([2], (Kind::Float, Device::Cpu)));
    let scale = cst(&Tensor::from_slice(&[1.0f32, -1.0]));
    let d = Normal::new(loc, scale).unwrap().with_validate_args(true);
    let x = Tensor::zeros([2], (Kind::Float, Device::Cpu));
    let msg = d.log_prob(&x).unwrap_err().to_string();
    assert!(msg.contains("Normal.log_prob") && msg.contains("scale > 0"), "{msg}");
    let msg = d.sample(&[3]).unwrap_err().to_string();
    assert!(msg.contains("scale > 0"), "{msg}");
    let nan = Tensor::from_slice(&[f32::NAN, 0.0]);
    let d_ok =
        Normal::new(cst(&x), cst(&Tensor::ones([2], (Kind::Float, Device::Cpu)))).unwrap().with_validate_args(true);
    assert!(d_ok.log_prob(&nan).is_err());
    assert!(d_ok.log_prob(&x).is_ok());
    let unchecked = Normal::new(cst(&x), cst(&Tensor::from_slice(&[1.0f32, -1.0]))).unwrap();
    assert!(unchecked.log_prob(&x).is_ok());
}

// Sampling: reproducible under manual_seed, shape sample + batch + event, detached from the
// parameters even when they are trainable.
#[test]
fn sampling_shapes_and_reproducibility() {
    let _g = seeded(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let d = mvn(&vs);
    tch::manual_seed(0);
    let a = d.sample(&[3, 2]).unwrap();
    tch::manual_seed(0);
    let b = d.sample(&[3, 2]).unwrap();
    assert_eq!(a.size(), vec![3, 2, 4]);
    assert_eq!(to_vec(&a), to_vec(&b));
    let c = d.sample(&[3, 2]).unwrap();
    assert_ne!(to_vec(&a), to_vec(&c));
    assert!(!a.requires_grad());
    assert_eq!(a.kind(), Kind::Float);
    assert_eq!(d.sample(&[]).unwrap().size(), vec![4]);
    assert_eq!(d.sample(&[0]).unwrap().size(), vec![0, 4]);

    let n = Normal::new(
        cst(&Tensor::zeros([3, 1], (Kind::Double, Device::Cpu))),
        cst(&Tensor::ones([4], (Kind::Double, Device::Cpu))),
    )
    .unwrap();
    assert_eq!(n.sample(&[2, 5]).unwrap().size(), vec![2, 5, 3, 4]);
    let ind = Independent::new(n, 2).unwrap();
    assert_eq!(ind.sample(&[7]).unwrap().size(), vec![7, 3, 4]);
    assert_eq!(ind.mean().unwrap().size(), vec![3, 4]);
}

// Sample moments of N = 20000 draws of Normal([1, -2], [0.5, 3]) (float64): each mean within
// 5 standard errors σ/√N, each variance within 5 standard errors σ²·√(2/(N-1)). For a
// correct sampler each check fails with probability ≈ 5.7e-7 (two-sided 5σ), and with the
// fixed seed the outcome is deterministic anyway.
#[test]
fn sample_moments() {
    let _g = seeded(1234);
    let d = Normal::new(cst(&Tensor::from_slice(&[1.0f64, -2.0])), cst(&Tensor::from_slice(&[0.5f64, 3.0]))).unwrap();
    let n = 20000usize;
    let s = d.sample(&[n as i64]).unwrap();
    assert_eq!(s.size(), vec![n as i64, 2]);
    let v = to_vec(&s);
    for (j, (mu, sigma)) in [(1.0f64, 0.5f64), (-2.0, 3.0)].into_iter().enumerate() {
        let col: Vec<f64> = v.iter().skip(j).step_by(2).copied().collect();
        let mean = col.iter().sum::<f64>() / n as f64;
        let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
        let se_mean = sigma / (n as f64).sqrt();
        let se_var = sigma * sigma * (2.0 / (n as f64 - 1.0)).sqrt();
        assert!((mean - mu).abs() <= 5.0 * se_mean, "mean[{j}] = {mean}, want {mu} ± {}", 5.0 * se_mean);
        assert!(
            (var - sigma * sigma).abs() <= 5.0 * se_var,
            "var[{j}] = {var}, want {} ± {}",
            sigma * sigma,
            5.0 * se_var
        );
    }
}

// trainable_variables: names and raw tensors, in order loc then scale; a constant loc is left out.
#[test]
fn trainable_variables_in_order() {
    let vs = nn::VarStore::new(Device::Cpu);
    let d = mvn(&vs);
    let tv = d.trainable_variables();
    let names: Vec<&str> = tv.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["mvn.loc", "mvn.scale"]);
    let stored = vs.variables();
    for (name, t) in &tv {
        assert_eq!(t.data_ptr(), stored[name].data_ptr(), "{name}");
        assert!(t.requires_grad());
    }
    // the scale entry is the raw (unconstrained) tensor: softplus⁻¹(1.5) = log(e^1.5 - 1)
    let raw = to_vec(&tv[1].1)[0];
    assert!((raw - (1.5f64.exp() - 1.0).ln()).abs() <= 1e-6, "raw scale {raw}");

    let vs2 = nn::VarStore::new(Device::Cpu);
    let scale =
        TransformedVariable::new(&vs2.root(), "scale", &Tensor::ones([2], (Kind::Float, Device::Cpu)), Softplus)
            .unwrap();
    let n = Normal::new(cst(&Tensor::zeros([2], (Kind::Float, Device::Cpu))), scale).unwrap();
    let names: Vec<String> = n.trainable_variables().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["scale".to_string()]);
}

// Runs on CUDA when available, else on CPU (with a note): the distribution is built on the
// device, and log_prob, sample and mean come back on it with the closed-form values.
#[test]
fn device_placement() {
    let device = Device::cuda_if_available();
    if device == Device::Cpu {
        eprintln!("CUDA not available: ran on CPU only");
    }
    let _g = seeded(5);
    let vs = nn::VarStore::new(device);
    let path = vs.root() / "mvn";
    let loc = Parameter::variable(&path, "loc", &Tensor::from_slice(&[0.0f32, 1.0, -1.0])).unwrap();
    let scale = TransformedVariable::new(&path, "scale", &Tensor::from_slice(&[2.0f32]), Softplus).unwrap();
    assert_eq!(loc.device(), device);
    assert_eq!(scale.raw().device(), device);
    let d = Independent::new(Normal::new(loc, scale).unwrap(), 1).unwrap();
    assert_eq!(d.device(), device);
    let x = Tensor::from_slice(&[0.5f32, 0.5, 0.5, -2.0, 3.0, 0.0]).reshape([2, 3]).to_device(device);
    let lp = d.log_prob(&x).unwrap();
    assert_eq!(lp.device(), device);
    let xs = to_vec(&x);
    let want: Vec<f64> =
        (0..2).map(|r| (0..3).map(|c| normal_lp(xs[r * 3 + c], [0.0, 1.0, -1.0][c], 2.0)).sum()).collect();
    assert_close("log_prob on device", &to_vec(&lp.to_device(Device::Cpu)), &want, 4e-6, 1e-5);
    let s = d.sample(&[5]).unwrap();
    assert_eq!(s.device(), device);
    assert_eq!(s.size(), vec![5, 3]);
    assert_eq!(d.mean().unwrap().device(), device);
    if device != Device::Cpu {
        // a CPU value on a CUDA distribution is an error, not a crash
        assert!(d.log_prob(&x.to_device(Device::Cpu)).is_err());
    }
}

/// Categorical draws of an unbatched categorical (the inverse-cdf sampler, one uniform per
/// draw): each category's frequency over 1e6 draws within 5 binomial standard errors of its
/// probability, a category of probability 0 never drawn, int64 values in range; and a batched
/// categorical (Gumbel-max) the same, per batch row.
#[test]
fn categorical_draws_have_their_probabilities() {
    use tch_distributions::distributions::Categorical;
    let _g = common::seeded(93);
    let probs = [0.5f64, 0.0, 1e-3, 0.3, 0.199];
    let logits = Tensor::from_slice(&probs).log();
    let n = 1_000_000i64;
    let check = |draws: &Tensor, probs: &[f64]| {
        assert_eq!(draws.kind(), Kind::Int64);
        let counts = draws.bincount(None::<Tensor>, probs.len() as i64).to_kind(Kind::Double);
        let m = draws.numel() as f64;
        for (k, &p) in probs.iter().enumerate() {
            let c = counts.double_value(&[k as i64]);
            if p == 0.0 {
                assert_eq!(c, 0.0, "category {k} has probability 0");
                continue;
            }
            let z = (c - m * p) / (m * p * (1.0 - p)).sqrt();
            assert!(z.abs() < 5.0, "category {k}: {c} of {m}, p = {p}, z = {z}");
        }
    };
    let single = Categorical::new(logits.shallow_clone()).unwrap();
    let draws = single.sample(&[n]).unwrap();
    assert_eq!(draws.size(), vec![n]);
    check(&draws, &probs);
    let batched = Categorical::new(logits.unsqueeze(0).expand([2, 5], false).contiguous()).unwrap();
    let draws = batched.sample(&[n / 2]).unwrap();
    assert_eq!(draws.size(), vec![n / 2, 2]);
    check(&draws.select(1, 1), &probs);
}
