//! Fit quality of the built-in flows on the toy densities, beside zuko (run by
//! `scripts/flow_quality.sh`, which also runs `scripts/flow_quality_zuko.py` on the same data
//! and prints the table).
//!
//! For each set of `toy_densities::NAMES` (the five 2-D sets and the 8-D `maf_toy8`): 10000
//! training and 5000 held-out points drawn once with a fixed seed, standardised with the
//! training mean and standard deviation (NSF's spline acts on `[-4, 4]`), written as float32
//! `.npy` files (`<set>_train.npy`, `<set>_test.npy`) with `<set>_meta.json` (the log-Jacobian
//! `sum(log std)` of the standardisation and the true held-out NLL where the density is known),
//! so that the zuko script fits the very same points. Then MAF, RealNVP and NSF
//! (`flow_models::spec`, `FlowOptions::default()`: 4 layers, hidden `[64, 64]`, ReLU, 8 bins)
//! are fitted in float32 with `training::fit` (Adam, lr 1e-3, batch 256, a fixed number of
//! steps, no early stopping), and the held-out NLL per point in the original units
//! (`NLL of the standardised points + sum(log std)`) is printed as JSON lines.
//!
//! Usage: `cargo run --release --example flow_quality -- <data dir> [steps] [threads] [set]`
//! (defaults: steps 2000, threads 1, all sets; steps 0 writes the data only);
//! `FLOW_QUALITY_SEED` sets the seed of the initial weights and of the batch order (default 0).
//! The networks' start: `FLOW_QUALITY_INIT` = `glorot_uniform` | `torch_linear`
//! ([`FlowOptions::init`](tch_distributions::flow_models::FlowOptions), default the library's)
//! and `FLOW_QUALITY_ZERO_LAST` = `1` | `0` (`zero_init_last`, default `1`: a new flow is its
//! base).

use anyhow::{Context, Result};
use std::time::Instant;
use tch::{nn, Device, Kind};
use tch_distributions::networks::Init;
use tch_distributions::training::{fit, FitOptions};
use tch_distributions::{flow_models, spec, toy_densities};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).context("usage: flow_quality <data dir> [steps] [threads]")?);
    let steps: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let threads: i32 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1);
    tch::set_num_threads(threads);
    tch_distributions::allocator::keep_freed_memory();
    std::fs::create_dir_all(&dir)?;
    let only: Option<&String> = args.get(4);
    // the seed of the initial weights and of the mini-batch order (default 0)
    let seed: u64 = std::env::var("FLOW_QUALITY_SEED").ok().map(|s| s.parse()).transpose()?.unwrap_or(0);
    let mut options = flow_models::FlowOptions::default();
    if let Ok(init) = std::env::var("FLOW_QUALITY_INIT") {
        options.init = Init::parse(&init)?;
    }
    if let Ok(z) = std::env::var("FLOW_QUALITY_ZERO_LAST") {
        options.zero_init_last = z != "0";
    }
    eprintln!("flow_quality: init {}, zero_init_last {}", options.init.name(), options.zero_init_last);
    for (i, set) in toy_densities::NAMES.iter().enumerate() {
        if only.is_some_and(|o| o != set) {
            continue;
        }
        tch::manual_seed(1000 + i as i64);
        let train = toy_densities::sample(set, 10_000)?;
        let test = toy_densities::sample(set, 5_000)?;
        let mean = train.mean_dim(0, true, Kind::Double);
        let std = train.std_dim([0i64].as_slice(), false, true);
        let log_jac = std.log().sum(Kind::Double).double_value(&[]);
        let true_nll = toy_densities::log_prob(set, &test).map(|lp| -lp.mean(Kind::Double).double_value(&[]));
        let z_train = ((&train - &mean) / &std).to_kind(Kind::Float);
        let z_test = ((&test - &mean) / &std).to_kind(Kind::Float);
        z_train.write_npy(dir.join(format!("{set}_train.npy")))?;
        z_test.write_npy(dir.join(format!("{set}_test.npy")))?;
        let meta =
            serde_json::json!({"set": set, "dim": train.size()[1], "log_jacobian": log_jac, "true_nll": true_nll});
        std::fs::write(dir.join(format!("{set}_meta.json")), meta.to_string())?;
        let d = train.size()[1];
        if steps == 0 {
            continue;
        }
        for name in ["maf", "realnvp", "nsf"] {
            tch::manual_seed(seed as i64);
            let json = flow_models::spec(name, d, &options)?;
            let vs = nn::VarStore::new(Device::Cpu);
            let flow = spec::build_distribution(&vs.root(), &json, Kind::Float)?;
            let opts = FitOptions {
                steps,
                lr: 1e-3,
                batch_size: Some(256),
                eval_every: steps,
                patience: None,
                seed,
                ..Default::default()
            };
            let start = Instant::now();
            fit(&vs, flow.as_ref(), &z_train, None, &opts, |_| {})?;
            let seconds = start.elapsed().as_secs_f64();
            let nll = tch::no_grad(|| -> Result<f64> {
                Ok(-flow.log_prob(&z_test)?.to_kind(Kind::Double).mean(Kind::Double).double_value(&[]))
            })? + log_jac;
            println!(
                "{}",
                serde_json::json!({"impl": "rust", "set": set, "flow": name, "nll": nll, "true_nll": true_nll,
                                   "steps": steps, "seconds": seconds})
            );
        }
    }
    Ok(())
}
