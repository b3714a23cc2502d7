//! Benchmark workloads of issue 5, run by `scripts/bench.sh` beside the same workloads in
//! PyTorch (`scripts/bench_torch.py`). Prints one JSON object per line:
//! `{"workload": .., "size": .., "median_s": .., "min_s": .., "max_s": .., "reps": ..}`.
//!
//! The model is the seed's heaviest: `MixtureSameFamily(Categorical(K), MultivariateNormalTriL)`
//! with `scale_tril = FillScaleTriL(raw)` recomputed from the raw variables at every call.
//!
//! * W1 `log_prob` of N points (with the graph a loss needs, and under `no_grad`); W2 one training step (negative mean log_prob, backward, Adam);
//!   W3 sampling N points (and its standard normals alone, the floor); W4 1000 Adam steps on N = 64, (K, d) = (3, 4); W5 FillScaleTriL
//!   forward + log-det on 1e5 raw vectors with d = 32; MM: a [n, n] matmul, for the machine's
//!   flop rate.
//!
//! Usage: `cargo run --release --example bench -- [threads] [quick|large|memory] [default-malloc]`
//! (`large`: only the K = 16, d = 32 sizes with N = 1e4 and 1e5, then W4, W5 and MM).

use anyhow::Result;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use tch_distributions::adam::Adam;
use tch_distributions::bijectors::{Bijector, FillScaleTriL};
use tch_distributions::distributions::{Categorical, Distribution, MixtureSameFamily, MultivariateNormalTriL};
use tch_distributions::mixture_nll::MixtureNll;
use tch_distributions::{Parameter, TransformedVariable};

#[path = "common/timing.rs"]
mod timing;
use timing::time;

const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

/// The mixture with trainable logits, locations and raw scale_tril, in `vs`.
fn model(vs: &nn::VarStore, k: i64, d: i64) -> Result<MixtureSameFamily> {
    let p = vs.root();
    tch::manual_seed(0);
    let tril = Tensor::eye(d, F32).expand([k, d, d], false) * 2.0;
    MixtureSameFamily::new(
        Categorical::new(Parameter::variable(&p, "logits", &Tensor::zeros([k], F32))?)?,
        MultivariateNormalTriL::new(
            Parameter::variable(&p, "loc", &Tensor::randn([k, d], F32))?,
            TransformedVariable::new(&p, "scale_tril", &tril, FillScaleTriL::default())?,
        )?,
    )
}

/// The process's peak resident memory (VmHWM) in bytes, from /proc (Linux).
fn peak_rss() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? * 1024.0)
}

/// Peak memory of one W1 log_prob at N = 1e6, (K, d) = (3, 4), against the size of the
/// `[N, K, d]` float32 intermediate.
fn memory() -> Result<()> {
    let vs = nn::VarStore::new(Device::Cpu);
    let m = model(&vs, 3, 4)?;
    let x = Tensor::randn([1_000_000, 4], F32);
    let _ = m.log_prob(&Tensor::randn([10, 4], F32))?; // warm up libtorch's kernels
    let intermediate = 1e6 * 3.0 * 4.0 * 4.0;
    for grad in [false, true] {
        // no_grad first: the peak only grows, so each line reports its own increase.
        let before = peak_rss().unwrap_or(f64::NAN);
        let lp = if grad { m.log_prob(&x)? } else { tch::no_grad(|| m.log_prob(&x))? };
        let after = peak_rss().unwrap_or(f64::NAN);
        println!(
            "{{\"impl\": \"rust\", \"workload\": \"W1 peak memory ({})\", \"size\": \"K=3 d=4 N=1000000\", \"peak_increase_mb\": {:.1}, \"intermediate_mb\": {:.1}, \"ratio\": {:.2}}}",
            if grad { "graph for backward kept" } else { "no_grad" },
            (after - before) / 1e6,
            intermediate / 1e6,
            (after - before) / intermediate
        );
        drop(lp);
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "memory") {
        return memory();
    }
    // The setting recommended for CPU training (src/allocator.rs); `default-malloc` leaves
    // glibc's defaults, for comparison.
    if !args.iter().any(|a| a == "default-malloc") {
        eprintln!("allocator::keep_freed_memory applied: {}", tch_distributions::allocator::keep_freed_memory());
    }
    let threads: i32 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(2);
    let quick = args.iter().any(|a| a == "quick");
    let large = args.iter().any(|a| a == "large");
    tch::set_num_threads(threads);
    let sizes: Vec<(i64, i64, i64)> = if quick {
        vec![(3, 4, 100), (3, 4, 10_000), (16, 32, 100)]
    } else if large {
        vec![(16, 32, 10_000), (16, 32, 100_000)]
    } else {
        vec![(3, 4, 100), (3, 4, 10_000), (3, 4, 1_000_000), (16, 32, 100), (16, 32, 10_000), (16, 32, 100_000)]
    };
    for &(k, d, n) in &sizes {
        let size = format!("K={k} d={d} N={n}");
        let vs = nn::VarStore::new(Device::Cpu);
        let m = model(&vs, k, d)?;
        let x = Tensor::randn([n, d], F32);
        time("W1 log_prob", &size, 50, || {
            let _ = m.log_prob(&x)?;
            Ok(())
        })?;
        // Evaluation: no graph recorded (JAX's jitted log_prob never records one).
        time("W1 log_prob (no_grad)", &size, 50, || {
            let _ = tch::no_grad(|| m.log_prob(&x))?;
            Ok(())
        })?;
        let mut opt = nn::Adam::default().build(&vs, 1e-3)?;
        time("W2 train step (autograd)", &size, 50, || {
            let loss = -m.log_prob(&x)?.mean(Kind::Float);
            opt.backward_step(&loss);
            Ok(())
        })?;
        {
            let nll = MixtureNll::new(&m)?;
            let vars: Vec<Tensor> = nll.variables().iter().map(|(_, t)| t.shallow_clone()).collect();
            let mut adam = Adam::new(&vars, 1e-3)?;
            time("W2 train step", &size, 50, || {
                let _ = nll.step(&x, &mut adam)?;
                Ok(())
            })?;
        }
        time("W3 sample", &size, 50, || {
            let _ = m.sample(&[n])?;
            Ok(())
        })?;
        // The floor of W3: its standard normals alone (issue 14's target is within 3x of it).
        time("W3 normals alone", &size, 50, || {
            let _ = Tensor::randn([n, d], F32);
            Ok(())
        })?;
    }
    {
        let vs = nn::VarStore::new(Device::Cpu);
        let m = model(&vs, 3, 4)?;
        let x = Tensor::randn([64, 4], F32);
        let mut opt = nn::Adam::default().build(&vs, 1e-3)?;
        time("W4 1000 Adam steps (autograd)", "K=3 d=4 N=64", 5, || {
            for _ in 0..1000 {
                let loss = -m.log_prob(&x)?.mean(Kind::Float);
                opt.backward_step(&loss);
            }
            Ok(())
        })?;
        let nll = MixtureNll::new(&m)?;
        let vars: Vec<Tensor> = nll.variables().iter().map(|(_, t)| t.shallow_clone()).collect();
        let mut adam = Adam::new(&vars, 1e-3)?;
        time("W4 1000 Adam steps", "K=3 d=4 N=64", 5, || {
            for _ in 0..1000 {
                let _ = nll.step(&x, &mut adam)?;
            }
            Ok(())
        })?;
    }
    {
        let b = FillScaleTriL::default();
        let raw = Tensor::randn([100_000, 32 * 33 / 2], F32);
        time("W5 FillScaleTriL fwd+logdet", "B=1e5 d=32", 20, || {
            let _ = b.forward_and_log_det(&raw)?;
            Ok(())
        })?;
    }
    for n in [512i64, 1024] {
        let a = Tensor::randn([n, n], F32);
        time("MM matmul", &format!("n={n}"), 50, || {
            let _ = a.matmul(&a);
            Ok(())
        })?;
    }
    Ok(())
}
