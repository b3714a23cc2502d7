//! The Learnable Distributions Zoo (TFP's colab, `shared/seed`), ported to Rust.
//!
//! Builds the seed's learnable distributions with the seed's initial values, prints each as the
//! seed does, fits each by maximum likelihood with Adam to a generated data set, saves its
//! VarStore, reloads it into a fresh one and checks the reloaded `log_prob`.
//!
//! Run with `scripts/zoo.sh` (which sets up libtorch first) or `cargo run --release --example zoo`.

use anyhow::{ensure, Result};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use tch_distributions::bijectors::{Exp, Softplus};
use tch_distributions::distributions::{Distribution, Independent, Normal};
use tch_distributions::{checkpoint, Parameter, TransformedVariable};

const EVENT_SIZE: i64 = 4;
const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

/// The seed's `learnable_mvn_scaled_identity`: loc variable, one scale through `Exp`.
fn learnable_mvn_scaled_identity(p: &nn::Path) -> Result<Independent> {
    Ok(Independent::new(
        Normal::new(
            Parameter::variable(p, "loc", &Tensor::zeros([EVENT_SIZE], F32))?,
            TransformedVariable::new(p, "scale", &Tensor::ones([1], F32), Exp)?,
        )?,
        1,
    )?
    .with_name("learnable_mvn_scaled_identity"))
}

/// The seed's `learnable_mvndiag`: loc variable, a scale per dimension through `Softplus`.
fn learnable_mvndiag(p: &nn::Path) -> Result<Independent> {
    Ok(Independent::new(
        Normal::new(
            Parameter::variable(p, "loc", &Tensor::zeros([EVENT_SIZE], F32))?,
            TransformedVariable::new(p, "scale", &Tensor::ones([EVENT_SIZE], F32), Softplus)?,
        )?,
        1,
    )?
    .with_name("learnable_mvn_diag"))
}

/// Prints values as NumPy does (`0.`, `0.54132485`).
fn numpy_values(t: &Tensor) -> String {
    let v = Vec::<f32>::try_from(t.detach().reshape([-1])).unwrap_or_default();
    let items: Vec<String> = v
        .iter()
        .map(|x| if x.fract() == 0.0 { format!("{x:.0}.") } else { format!("{x}") })
        .collect();
    format!("[{}]", items.join(", "))
}

/// Prints the distribution and its trainable variables, as the seed's two `print` calls do.
fn show(d: &dyn Distribution) {
    println!("{d}");
    let vars: Vec<String> = d
        .trainable_variables()
        .iter()
        .map(|(name, t)| {
            let shape: Vec<String> = t.size().iter().map(|s| s.to_string()).collect();
            format!(
                "<Variable '{name}' shape=({},) dtype=float32, numpy={}>",
                shape.join(", "),
                numpy_values(t)
            )
        })
        .collect();
    println!("({})", vars.join(", "));
}

/// Fits `d` to `data` by minimising the mean negative log-likelihood with Adam; returns the
/// final loss.
fn fit(vs: &nn::VarStore, d: &dyn Distribution, data: &Tensor, steps: usize, lr: f64) -> Result<f64> {
    let mut opt = nn::Adam::default().build(vs, lr)?;
    let mut loss_value = f64::NAN;
    for step in 0..=steps {
        let loss = -d.log_prob(data)?.mean(Kind::Float);
        loss_value = loss.double_value(&[]);
        ensure!(loss_value.is_finite(), "fit: the loss became {loss_value} at step {step}");
        if step % (steps / 10) == 0 {
            println!("  step {step:4}  negative log-likelihood {loss_value:.4}");
        }
        if step < steps {
            opt.backward_step(&loss);
        }
    }
    Ok(loss_value)
}

fn main() -> Result<()> {
    tch::manual_seed(42);
    // The data: 4000 points of a Gaussian with a known mean and diagonal scale.
    let true_loc = Tensor::from_slice(&[1.0f32, -2.0, 0.5, 3.0]);
    let true_scale = Tensor::from_slice(&[0.5f32, 1.5, 1.0, 2.0]);
    let data = Tensor::randn([4000, EVENT_SIZE], F32) * &true_scale + &true_loc;
    let truth = Independent::new(Normal::new(true_loc.copy(), true_scale.copy())?, 1)?;
    let true_nll = -truth.log_prob(&data)?.mean(Kind::Float).double_value(&[]);
    println!("data: 4000 points, loc {}, scale {}", numpy_values(&true_loc), numpy_values(&true_scale));
    println!("negative log-likelihood of the data under the true distribution: {true_nll:.4}\n");

    type Builder = fn(&nn::Path) -> Result<Independent>;
    let zoo: [(&str, Builder); 2] = [
        ("learnable_mvn_scaled_identity", learnable_mvn_scaled_identity),
        ("learnable_mvn_diag", learnable_mvndiag),
    ];
    std::fs::create_dir_all("checkpoints")?;
    for (name, build) in zoo {
        println!("## {name}");
        let vs = nn::VarStore::new(Device::Cpu);
        let d = build(&vs.root())?;
        show(&d);
        println!("fitting with Adam (lr 0.05, 600 full-batch steps):");
        let nll = fit(&vs, &d, &data, 600, 0.05)?;
        let fitted_sd = d.sample(&[20000])?.std_dim(0, true, false);
        println!(
            "  fitted loc {}, fitted scale (std of 20000 samples) {}",
            numpy_values(&d.mean()?),
            numpy_values(&fitted_sd)
        );
        println!(
            "  true loc {}, true scale {} (one shared scale fits best at sqrt(mean(scale^2)) = {:.4})",
            numpy_values(&true_loc),
            numpy_values(&true_scale),
            true_scale.square().mean(Kind::Float).sqrt().double_value(&[])
        );
        println!("  final NLL {nll:.4} (true distribution: {true_nll:.4})");

        let file = format!("checkpoints/{name}.safetensors");
        checkpoint::save(&vs, &file)?;
        let mut vs2 = nn::VarStore::new(Device::Cpu);
        let reloaded = build(&vs2.root())?;
        checkpoint::load(&mut vs2, &file)?;
        let probe = data.narrow(0, 0, 8);
        let diff = (d.log_prob(&probe)? - reloaded.log_prob(&probe)?).abs().max().double_value(&[]);
        ensure!(diff == 0.0, "{name}: reloaded log_prob differs by {diff}");
        println!("  saved to {file}; reloaded into a fresh VarStore: log_prob identical (max |diff| = {diff})\n");
    }
    Ok(())
}
