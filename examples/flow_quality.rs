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
//! Two experiments on the initialisation: `FLOW_QUALITY_RANDOM_LAST=1` starts the networks'
//! last layers Glorot-random instead of zero (the flow no longer starts at the identity);
//! `FLOW_QUALITY_TORCH_INIT=1` re-draws every weight and bias as torch's `nn.Linear` does
//! (`U(±1/sqrt(fan_in))`, biases included; zuko's init), instead of TFP's Glorot-uniform weights
//! with zero biases and zero last layers.

use anyhow::{Context, Result};
use std::time::Instant;
use tch::{nn, Device, Kind};
use tch_distributions::training::{fit, FitOptions};
use tch_distributions::{flow_models, spec, toy_densities};

/// Sets `"zero_init_last": false` in every network of a flow description (an experiment:
/// `FLOW_QUALITY_RANDOM_LAST=1`).
fn random_last_layers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            if let Some(n) = o.get_mut("network") {
                n["zero_init_last"] = serde_json::json!(false);
            }
            for (_, x) in o.iter_mut() {
                random_last_layers(x);
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(random_last_layers),
        _ => {}
    }
}

/// Re-initialises every `weight [out, in]` and its `bias` as torch's `nn.Linear` does,
/// `U(-1/sqrt(in), 1/sqrt(in))` (an experiment: `FLOW_QUALITY_TORCH_INIT=1`).
fn torch_init(vs: &nn::VarStore) {
    let vars = vs.variables();
    tch::no_grad(|| {
        for (name, w) in &vars {
            if let Some(prefix) = name.strip_suffix(".weight") {
                let fan_in = w.size()[1].max(1) as f64;
                let limit = 1.0 / fan_in.sqrt();
                let mut w = w.shallow_clone();
                let _ = w.copy_(&(w.rand_like() * (2.0 * limit) - limit));
                if let Some(b) = vars.get(&format!("{prefix}.bias")) {
                    let mut b = b.shallow_clone();
                    let _ = b.copy_(&(b.rand_like() * (2.0 * limit) - limit));
                }
            }
        }
    });
}

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
            let mut json = flow_models::spec(name, d, &flow_models::FlowOptions::default())?;
            if std::env::var("FLOW_QUALITY_RANDOM_LAST").is_ok_and(|v| v == "1") {
                random_last_layers(&mut json);
            }
            let vs = nn::VarStore::new(Device::Cpu);
            let flow = spec::build_distribution(&vs.root(), &json, Kind::Float)?;
            if std::env::var("FLOW_QUALITY_TORCH_INIT").is_ok_and(|v| v == "1") {
                torch_init(&vs);
            }
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
