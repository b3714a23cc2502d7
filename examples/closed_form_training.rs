//! A training loop with the closed-form gradient (`mixture_nll::MixtureNll`) and the flat
//! `adam::Adam`, beside the same loop with `log_prob`, autograd and `tch::nn::Adam`: the seed's
//! `learnable_mix_mvntril` (K = 3, d = 2) fitted to 2,000 points of a known three-component
//! mixture. Prints both runs' losses and times, and the fitted mixture weights.
//!
//! Usage: `cargo run --release --example closed_form_training`.

use anyhow::Result;
use std::time::Instant;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use tch_distributions::adam::Adam;
use tch_distributions::distributions::Distribution;
use tch_distributions::mixture_nll::MixtureNll;
use tch_distributions::{allocator, seed_models, spec};

const STEPS: usize = 2000;

/// 2,000 points: weights 0.5 / 0.3 / 0.2 around (-3, 0), (0, 3), (3, 0), unit covariance.
fn data() -> Tensor {
    tch::manual_seed(7);
    let centres = Tensor::from_slice(&[-3.0f32, 0.0, 0.0, 3.0, 3.0, 0.0]).view([3, 2]);
    let pick = Tensor::from_slice(&[0.5f32, 0.3, 0.2]).multinomial(2000, true);
    centres.index_select(0, &pick) + Tensor::randn([2000, 2], (Kind::Float, Device::Cpu))
}

/// The model, built from the seed's JSON description and started by k-means.
fn model(vs: &nn::VarStore, x: &Tensor) -> Result<Box<dyn Distribution>> {
    let name = "learnable_mix_mvntril";
    let dist = spec::build_distribution(&vs.root(), &seed_models::spec(name, 3, 2)?, Kind::Float)?;
    seed_models::init_from_data(name, dist.as_ref(), x)?;
    Ok(dist)
}

fn main() -> Result<()> {
    allocator::keep_freed_memory();
    let x = data();

    let vs = nn::VarStore::new(Device::Cpu);
    let dist = model(&vs, &x)?;
    let nll = MixtureNll::new(dist.as_ref())?;
    let vars: Vec<Tensor> = nll.variables().iter().map(|(_, t)| t.shallow_clone()).collect();
    let mut adam = Adam::new(&vars, 1e-2)?;
    let start = Instant::now();
    let mut loss = Tensor::zeros([], (Kind::Float, Device::Cpu));
    for _ in 0..STEPS {
        let (l, grads) = nll.loss_and_grads(&x)?;
        adam.step(&grads)?;
        loss = l;
    }
    let fast = start.elapsed().as_secs_f64();
    println!(
        "closed form + flat Adam:        loss {:.5} after {STEPS} steps, {:.1} ms",
        loss.double_value(&[]),
        fast * 1e3
    );

    let vs2 = nn::VarStore::new(Device::Cpu);
    let dist2 = model(&vs2, &x)?;
    let mut opt = nn::Adam::default().build(&vs2, 1e-2)?;
    let start = Instant::now();
    for _ in 0..STEPS {
        loss = -dist2.log_prob(&x)?.mean(Kind::Float);
        opt.backward_step(&loss);
    }
    let slow = start.elapsed().as_secs_f64();
    println!(
        "log_prob + autograd + nn::Adam: loss {:.5} after {STEPS} steps, {:.1} ms",
        loss.double_value(&[]),
        slow * 1e3
    );
    println!("speed-up {:.1}x", slow / fast);

    let weights = |vs: &nn::VarStore| -> Result<Vec<f32>> {
        let logits = &vs.variables()["logits"];
        Ok(Vec::<f32>::try_from(logits.softmax(-1, Kind::Float))?)
    };
    println!("fitted weights (closed form): {:?}", weights(&vs)?);
    println!("fitted weights (autograd):    {:?}", weights(&vs2)?);
    Ok(())
}
