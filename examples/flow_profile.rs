//! Where a flow's training step and sampling spend their time: the forward pass
//! (`-mean(log_prob)`), the backward pass, the Adam update (`tch::nn::Adam`, and the flat
//! `adam::Adam` of `training::fit`), and `sample`, each timed on its own
//! in wall time and in the process's CPU time (from `/proc/self/stat`, Linux; robust to other
//! processes sharing the machine when run with one thread).
//!
//! Usage: `cargo run --release --example flow_profile -- [threads] [flow] [d] [batch] [reps]`
//! (defaults `1 nsf 2 256 200`; `flow` one of maf, iaf, realnvp, nsf).

use anyhow::Result;
use std::time::Instant;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use tch_distributions::adam::Adam;
use tch_distributions::{flow_models, spec};

/// User + system CPU seconds of this process so far (`/proc/self/stat`, 100 ticks per second).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // fields after the parenthesised command name; utime and stime are fields 14 and 15
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(f64::NAN);
    (ticks(11) + ticks(12)) / 100.0
}

/// Wall and CPU milliseconds per call of `f`, over `reps` calls after 5 warm-up calls.
fn measure(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<(f64, f64)> {
    for _ in 0..5 {
        f()?;
    }
    let (t, c) = (Instant::now(), cpu_seconds());
    for _ in 0..reps {
        f()?;
    }
    Ok((t.elapsed().as_secs_f64() * 1e3 / reps as f64, (cpu_seconds() - c) * 1e3 / reps as f64))
}

fn main() -> Result<()> {
    let a: Vec<String> = std::env::args().collect();
    let threads: i32 = a.get(1).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let name = a.get(2).map(String::as_str).unwrap_or("nsf");
    let d: i64 = a.get(3).map(|s| s.parse()).transpose()?.unwrap_or(2);
    let n: i64 = a.get(4).map(|s| s.parse()).transpose()?.unwrap_or(256);
    let reps: usize = a.get(5).map(|s| s.parse()).transpose()?.unwrap_or(200);
    tch_distributions::allocator::keep_freed_memory();
    tch::set_num_threads(threads);
    tch::manual_seed(0);
    let json = flow_models::spec(name, d, &flow_models::FlowOptions::default())?;
    let vs = nn::VarStore::new(Device::Cpu);
    let flow = spec::build_distribution(&vs.root(), &json, Kind::Float)?;
    let x = Tensor::randn([n, d], (Kind::Float, Device::Cpu));
    let mut opt = nn::Adam::default().build(&vs, 1e-3)?;
    let loss = || -> Result<Tensor> { Ok(-flow.log_prob(&x)?.mean(Kind::Float)) };
    println!("{name} d={d} batch={n}, {threads} thread(s), {reps} reps: ms per call, wall / CPU");
    let show = |what: &str, (w, c): (f64, f64)| println!("{what:<34} {w:9.3} / {c:9.3}");
    show("forward (loss with graph)", measure(reps, || loss().map(drop))?);
    show("forward (no_grad)", measure(reps, || tch::no_grad(loss).map(drop))?);
    show(
        "forward + backward",
        measure(reps, || {
            opt.zero_grad();
            loss()?.backward();
            Ok(())
        })?,
    );
    show(
        "train step, tch::nn::Adam",
        measure(reps, || {
            opt.backward_step(&loss()?);
            Ok(())
        })?,
    );
    // training::fit's autograd step: gradients by run_backward, the flat Adam
    let vars = vs.trainable_variables();
    let mut adam = Adam::new(&vars, 1e-3)?;
    let grads = Tensor::f_run_backward(&[&loss()?], &vars, false, false)?;
    show("flat Adam update alone", measure(reps, || adam.step(&grads))?);
    show(
        "train step, flat Adam",
        measure(reps, || {
            let g = Tensor::f_run_backward(&[&loss()?], &vars, false, false)?;
            adam.step(&g)
        })?,
    );
    let sample_reps = (reps / 10).max(3);
    show("sample 10000", measure(sample_reps, || flow.sample(&[10_000]).map(drop))?);
    Ok(())
}
