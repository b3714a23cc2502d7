//! The Learnable Distributions Zoo (TFP's colab, `shared/seed`), ported to Rust.
//!
//! Builds the seed's six learnable distributions with the seed's names and initial values
//! (`models.rs`), prints each as the seed does, fits each by maximum likelihood with Adam to one
//! generated data set (a mixture of three correlated Gaussians in 4-D, `fit.rs`), shows that the
//! fixed parts stay fixed, compares the held-out negative log-likelihood with the truth's, saves
//! each VarStore, reloads it into a fresh one and checks the reloaded `log_prob`.
//!
//! Run with `scripts/zoo.sh` (which sets up libtorch first) or `cargo run --example zoo`.

#![allow(clippy::arc_with_non_send_sync)] // see the note in src/lib.rs

mod fit;
mod models;

use anyhow::{ensure, Result};
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::distributions::Distribution;
use tch_distributions::{checkpoint, seed_models};

const STEPS: usize = 1500;
const LR: f64 = 0.05;

/// Prints values as NumPy does (`0.`, `0.54132485`, nested rows for matrices).
fn numpy_values(t: &Tensor) -> String {
    let t = t.detach().to_kind(Kind::Float);
    if t.dim() > 1 {
        let rows: Vec<String> = (0..t.size()[0]).map(|i| numpy_values(&t.get(i))).collect();
        return format!("[{}]", rows.join(",\n    "));
    }
    let v = Vec::<f32>::try_from(t.reshape([-1])).unwrap_or_default();
    let items: Vec<String> =
        v.iter().map(|x| if x.fract() == 0.0 { format!("{x:.0}.") } else { format!("{x}") }).collect();
    format!("[{}]", items.join(", "))
}

/// The seed's two prints: the distribution, and its trainable variables.
fn show(d: &dyn Distribution) {
    println!("{d}");
    let vars: Vec<String> = d
        .trainable_variables()
        .iter()
        .map(|(name, t)| {
            let dims: Vec<String> = t.size().iter().map(|s| s.to_string()).collect();
            let shape = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
            format!("<Variable '{name}' shape={shape} dtype=float32, numpy=\n  {}>", numpy_values(t))
        })
        .collect();
    println!("({})", vars.join(", "));
}

fn main() -> Result<()> {
    let truth = fit::Truth::new();
    let train = fit::data(&truth, 4000, 1)?;
    let held_out = fit::data(&truth, 2000, 2)?;
    let true_nll = fit::nll(&truth.distribution()?, &held_out)?;
    println!("data: 4000 training and 2000 held-out points from a mixture of three correlated 4-D Gaussians");
    println!("held-out negative log-likelihood of the true distribution: {true_nll:.4}\n");
    std::fs::create_dir_all("checkpoints")?;

    for (i, (name, build)) in models::zoo().into_iter().enumerate() {
        println!("## {name}");
        let vs = nn::VarStore::new(Device::Cpu);
        tch::manual_seed(i as i64); // the random initial values (normal, Rademacher)
        let model = build(&vs.root())?;
        let d = model.dist();
        show(d);

        if let models::Model::Mixture(_) = &model {
            // k-means start (the library knows each seed model's fixed parts by its name)
            seed_models::init_from_data(name, d, &train)?;
            println!("free components start from k-means clusters of the data (locations and scales)");
        }
        println!("fitting with Adam (lr {LR}, {STEPS} full-batch steps):");
        for (step, loss) in fit::fit(&vs, d, &train, STEPS, LR)? {
            println!("  step {step:5}  negative log-likelihood {loss:.4}");
        }
        let fitted = fit::nll(d, &held_out)?;
        let reference = fit::nll(truth.reference(name)?.as_ref(), &held_out)?;
        println!(
            "  held-out NLL {fitted:.4}; the truth's {true_nll:.4}; the truth projected onto this family {reference:.4}"
        );
        if let models::Model::Mixture(m) = &model {
            for (part, dev) in fit::fixed_part_deviation(name, m)? {
                println!("  fixed part: |{part}| = {dev:.2e}");
            }
            println!("  fitted weights {}", numpy_values(&m.mixture().probs()?));
        }
        println!("  fitted mean {}", numpy_values(&d.mean()?));

        let file = format!("checkpoints/{name}.safetensors");
        checkpoint::save(&vs, &file)?;
        let mut vs2 = nn::VarStore::new(Device::Cpu);
        let reloaded = build(&vs2.root())?;
        checkpoint::load(&mut vs2, &file)?;
        let diff = (d.log_prob(&held_out)? - reloaded.dist().log_prob(&held_out)?).abs().max().double_value(&[]);
        ensure!(diff == 0.0, "{name}: reloaded log_prob differs by {diff}");
        println!("  saved to {file}; reloaded into a fresh VarStore: held-out log_prob identical\n");
    }
    Ok(())
}
