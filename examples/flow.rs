//! The library's built-in normalizing flows on two moons: MAF, RealNVP and a neural spline flow
//! from `flow_models` (JSON descriptions), and one MAF assembled by hand from the Rust API
//! (`AutoregressiveNetwork`, `MaskedAutoregressiveFlow`, `Permute`, `Chain`,
//! `TransformedDistribution`). Each is fitted by maximum likelihood with `training::fit`, its
//! held-out NLL printed beside a full-covariance Gaussian's, sampled, saved and reloaded.
//!
//! A flow of the user's own bijectors is in `examples/user_coupling_flow.rs`.
//!
//! Run with `cargo run --release --example flow` (a few seconds; `--steps N` to change the
//! number of Adam steps, default 1500).

#![allow(clippy::arc_with_non_send_sync)]

use anyhow::Result;
use std::sync::Arc;
use std::time::Instant;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::bijectors::{Bijector, Chain, MaskedAutoregressiveFlow, Permute};
use tch_distributions::distributions::{
    Distribution, Independent, MultivariateNormal, Normal, TransformedDistribution,
};
use tch_distributions::networks::{Activation, AutoregressiveNetwork, MadeConfig};
use tch_distributions::training::{fit, FitOptions};
use tch_distributions::{flow_models, saved, spec, toy_densities};

fn nll(d: &dyn Distribution, x: &Tensor) -> Result<f64> {
    tch::no_grad(|| Ok(-d.log_prob(x)?.mean(Kind::Double).double_value(&[])))
}

/// The same MAF as `flow_models::spec("maf", 2, ..)` with two layers, written with the Rust API.
fn hand_made_maf(vs: &nn::VarStore) -> Result<TransformedDistribution> {
    let layer = |name: &str| -> Result<Arc<dyn Bijector>> {
        let config = MadeConfig::new(2, 2, vec![64, 64]).with_activation(Activation::Relu).with_kind(Kind::Double);
        let made = AutoregressiveNetwork::new(&(vs.root() / "bijector" / name), &config)?;
        Ok(Arc::new(MaskedAutoregressiveFlow::new(made)?))
    };
    let flow = Chain::new(vec![layer("layer1")?, Arc::new(Permute::reverse(2)?), layer("layer0")?]);
    let base = Independent::new(
        Normal::new(Tensor::zeros([2], (Kind::Double, Device::Cpu)), Tensor::ones([2], (Kind::Double, Device::Cpu)))?,
        1,
    )?;
    TransformedDistribution::new(Box::new(base), Arc::new(flow))
}

fn main() -> Result<()> {
    let steps: usize =
        std::env::args().skip_while(|a| a != "--steps").nth(1).map(|s| s.parse()).transpose()?.unwrap_or(1500);
    tch::manual_seed(0);
    let train = toy_densities::two_moons(4000);
    let valid = toy_densities::two_moons(2000);
    // The reference: a Gaussian with the data's mean and covariance.
    let mean = train.mean_dim(0, false, Kind::Double);
    let centred = &train - &mean;
    let cov = centred.transpose(0, 1).matmul(&centred) / 4000.0;
    let gaussian = MultivariateNormal::from_covariance(mean, cov)?;
    println!("two moons, 4000 training points, 2000 held out; {steps} Adam steps, batch 256, lr 1e-3");
    println!("{:<22} {:>14}", "model", "held-out NLL");
    println!("{:<22} {:>14.4}", "Gaussian (moments)", nll(&gaussian, &valid)?);
    let opts =
        FitOptions { steps, lr: 1e-3, batch_size: Some(256), eval_every: 100, patience: None, ..Default::default() };
    let options = flow_models::FlowOptions { layers: 4, hidden: vec![64, 64], ..Default::default() };
    for name in ["maf", "realnvp", "nsf"] {
        let json = flow_models::spec(name, 2, &options)?;
        let vs = nn::VarStore::new(Device::Cpu);
        let flow = spec::build_distribution(&vs.root(), &json, Kind::Double)?;
        let start = Instant::now();
        fit(&vs, flow.as_ref(), &train, Some(&valid), &opts, |_| {})?;
        let seconds = start.elapsed().as_secs_f64();
        let held_out = nll(flow.as_ref(), &valid)?;
        println!("{:<22} {:>14.4}   ({} variables, {seconds:.1} s)", name, held_out, flow.trainable_variables().len());
        // save, reload: the same densities and (after the same seed) the same draws
        let dir = std::env::temp_dir().join(format!("tchd-flow-example-{name}-{}", std::process::id()));
        saved::save(&dir, &json, Kind::Double, &vs)?;
        let back = saved::load(&dir, Device::Cpu)?;
        assert!(back.distribution.log_prob(&valid)?.equal(&flow.log_prob(&valid)?));
        tch::manual_seed(1);
        let draws = flow.sample(&[5])?;
        tch::manual_seed(1);
        assert!(back.distribution.sample(&[5])?.equal(&draws));
        std::fs::remove_dir_all(&dir)?;
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let maf = hand_made_maf(&vs)?;
    fit(&vs, &maf, &train, Some(&valid), &opts, |_| {})?;
    println!("{:<22} {:>14.4}", "maf, 2 layers (Rust API)", nll(&maf, &valid)?);
    let draws = maf.sample(&[3])?;
    println!("three draws of the hand-made MAF:\n{}", draws.to_string(6)?);
    Ok(())
}
