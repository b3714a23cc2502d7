//! Times `saved::save` and `saved::load` (median of 20 after one warm-up) of the seed's largest
//! model, `learnable_mix_mvntril`, at the seed's size (K = 3, d = 4) and a large one (K = 16,
//! d = 32), and prints the sizes of the files a save writes.
//!
//! Usage: `cargo run --release --example checkpoint_timing`. Saves go to a directory under the
//! system's temporary folder, removed at the end. A save is flushed to disk (`fsync` of the
//! files and the directory), so its time depends on the file system.

use anyhow::{ensure, Result};
use std::time::Instant;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use tch_distributions::{saved, seed_models, spec};

const REPS: usize = 20;

/// Median seconds of `REPS` calls of `f`, after one warm-up call.
fn median_s(mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?;
    let mut times = Vec::with_capacity(REPS);
    for _ in 0..REPS {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok((times[REPS / 2 - 1] + times[REPS / 2]) / 2.0)
}

fn main() -> Result<()> {
    let name = "learnable_mix_mvntril";
    let dir = std::env::temp_dir().join(format!("tchd-checkpoint-timing-{}", std::process::id()));
    println!("saved::save / saved::load of {name}, float32, median of {REPS} (after one warm-up)");
    println!(
        "{:>3} {:>3} {:>10} {:>12} {:>12} {:>16} {:>16}",
        "K", "d", "variables", "save (ms)", "load (ms)", "parameters (B)", "model.json (B)"
    );
    for (k, d) in [(3i64, 4i64), (16, 32)] {
        tch::manual_seed(0);
        let json = seed_models::spec(name, k, d)?;
        let vs = nn::VarStore::new(Device::Cpu);
        let model = spec::build_distribution(&vs.root(), &json, Kind::Float)?;
        // A few Adam steps, so that the saved values are not the initial ones.
        let data = Tensor::randn([256, d], (Kind::Float, Device::Cpu));
        let mut opt = nn::Adam::default().build(&vs, 1e-2)?;
        for _ in 0..3 {
            opt.backward_step(&-model.log_prob(&data)?.mean(Kind::Float));
        }
        let numel: i64 = vs.variables().values().map(|t| t.numel() as i64).sum();

        let save = median_s(|| saved::save(&dir, &json, Kind::Float, &vs))?;
        let load = median_s(|| saved::load(&dir, Device::Cpu).map(|_| ()))?;
        let back = saved::load(&dir, Device::Cpu)?;
        ensure!(back.distribution.log_prob(&data)?.equal(&model.log_prob(&data)?), "the loaded model differs");

        let size = |file: &str| std::fs::metadata(dir.join(file)).map(|m| m.len());
        let model_json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("model.json"))?)?;
        let parameters_file = model_json["parameters_file"].as_str().unwrap_or_default().to_string();
        println!(
            "{k:>3} {d:>3} {numel:>10} {:>12.3} {:>12.3} {:>16} {:>16}",
            save * 1e3,
            load * 1e3,
            size(&parameters_file)?,
            size("model.json")?
        );
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}
