//! Normalizing-flow workloads, run by `scripts/bench_flows.sh` (through `scripts/bench.sh`)
//! beside the same workloads in zuko on eager PyTorch (`scripts/bench_flows_zuko.py`) and, for
//! MAF, TFP on JAX with `jax.jit` (`scripts/bench_flows_tfp_jax.py`). Prints one JSON object per
//! line, as `examples/bench.rs` does.
//!
//! The flows are `flow_models::spec("maf" | "nsf", d, FlowOptions::default())`: 4 layers,
//! MADE hidden units `[64, 64]`, ReLU, 8 spline bins on `[-4, 4]`, reversing permutations
//! between layers, float32.
//!
//! * F1 train step: `-mean(log_prob(x))` of a batch `x ~ N(0, I)` `[batch, d]`, backward
//!   (`Tensor::run_backward` for the gradients), the flat `adam::Adam` step (lr 1e-3): the step
//!   of `training::fit`'s autograd path; "F1 train step (nn::Adam)" is the same with
//!   `tch::nn::Adam` (zero_grad, backward, step), as a hand-written loop would do it;
//! * F2 sample: `sample([10000])` (no graph: `TransformedDistribution::sample` runs under
//!   `no_grad`), `d` sequential passes of each MADE.
//!
//! Usage: `cargo run --release --example bench_flows -- [threads] [quick] [default-malloc]`.

use anyhow::Result;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use tch_distributions::adam::Adam;
use tch_distributions::distributions::Distribution;
use tch_distributions::{flow_models, spec};

#[path = "common/timing.rs"]
mod timing;
use timing::time;

/// The flow `name` on `d` dimensions, its variables in `vs`.
fn flow(vs: &nn::VarStore, name: &str, d: i64) -> Result<Box<dyn Distribution>> {
    tch::manual_seed(0);
    let json = flow_models::spec(name, d, &flow_models::FlowOptions::default())?;
    spec::build_distribution(&vs.root(), &json, Kind::Float)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "default-malloc") {
        eprintln!("allocator::keep_freed_memory applied: {}", tch_distributions::allocator::keep_freed_memory());
    }
    let threads: i32 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(2);
    let quick = args.iter().any(|a| a == "quick");
    tch::set_num_threads(threads);
    let batches: &[i64] = if quick { &[256] } else { &[256, 8192] };
    for name in ["maf", "nsf"] {
        for d in [2i64, 16] {
            for &n in batches {
                let vs = nn::VarStore::new(Device::Cpu);
                let f = flow(&vs, name, d)?;
                tch::manual_seed(1);
                let x = Tensor::randn([n, d], (Kind::Float, Device::Cpu));
                let size = format!("{name} d={d} batch={n}");
                {
                    let vars = vs.trainable_variables();
                    let mut adam = Adam::new(&vars, 1e-3)?;
                    time("F1 train step", &size, 50, || {
                        let loss = -f.log_prob(&x)?.mean(Kind::Float);
                        let grads = Tensor::f_run_backward(&[&loss], &vars, false, false)?;
                        adam.step(&grads)
                    })?;
                }
                let mut opt = nn::Adam::default().build(&vs, 1e-3)?;
                time("F1 train step (nn::Adam)", &size, 50, || {
                    let loss = -f.log_prob(&x)?.mean(Kind::Float);
                    opt.backward_step(&loss);
                    Ok(())
                })?;
            }
            let vs = nn::VarStore::new(Device::Cpu);
            let f = flow(&vs, name, d)?;
            time("F2 sample", &format!("{name} d={d} N=10000"), 50, || {
                let _ = f.sample(&[10_000])?;
                Ok(())
            })?;
        }
    }
    Ok(())
}
