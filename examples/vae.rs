//! A small variational autoencoder on generated data: a Normal posterior `q(z | x)` computed by an
//! encoder network, reparameterized samples (`rsample`), the closed-form KL to the prior, and a
//! Normal likelihood with a learned scale (a `TransformedVariable`).
//!
//! Data: 4000 points in 8-D made from a 2-D latent through a fixed nonlinear map plus noise.
//! Prints the negative ELBO per point as it falls. Run with `cargo run --example vae`.

use anyhow::Result;
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use tch_distributions::bijectors::Softplus;
use tch_distributions::distributions::{Distribution, Independent, Normal};
use tch_distributions::kl::kl_divergence;
use tch_distributions::TransformedVariable;

const LATENT: i64 = 2;
const DATA: i64 = 8;
const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

/// `x = tanh(z A) B + 0.1 ε`, `z ~ N(0, I)`.
fn make_data(n: i64) -> Tensor {
    let a = Tensor::randn([LATENT, 16], F32);
    let b = Tensor::randn([16, DATA], F32) * 0.5;
    let z = Tensor::randn([n, LATENT], F32);
    z.matmul(&a).tanh().matmul(&b) + Tensor::randn([n, DATA], F32) * 0.1
}

fn mlp(p: nn::Path, sizes: &[i64]) -> nn::Sequential {
    let mut net = nn::seq();
    for (i, w) in sizes.windows(2).enumerate() {
        net = net.add(nn::linear(&p / format!("layer{i}"), w[0], w[1], Default::default()));
        if i + 2 < sizes.len() {
            net = net.add_fn(|x| x.relu());
        }
    }
    net
}

fn main() -> Result<()> {
    tch::manual_seed(0);
    let data = make_data(4000);
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let encoder = mlp(&root / "encoder", &[DATA, 64, 64, 2 * LATENT]);
    let decoder = mlp(&root / "decoder", &[LATENT, 64, 64, DATA]);
    // The likelihood's scale: positive through Softplus, learned with the networks.
    let noise = TransformedVariable::new(&root, "noise_scale", &Tensor::ones([DATA], F32), Softplus)?;
    let prior = Independent::new(Normal::new(Tensor::zeros([LATENT], F32), Tensor::ones([LATENT], F32))?, 1)?;
    let mut opt = nn::Adam::default().build(&vs, 3e-3)?;

    let steps = 1500;
    let batch = 256;
    println!("VAE: {DATA}-D data from a {LATENT}-D latent; negative ELBO per point (lower is better)");
    for step in 0..=steps {
        let idx = Tensor::randint(data.size()[0], [batch], (Kind::Int64, Device::Cpu));
        let x = data.index_select(0, &idx);
        let h = encoder.forward(&x);
        let (mu, raw_sigma) = (h.narrow(1, 0, LATENT), h.narrow(1, LATENT, LATENT));
        let posterior = Independent::new(Normal::new(mu, raw_sigma.softplus() + 1e-4)?, 1)?;
        let z = posterior.rsample(&[])?; // [batch, LATENT], differentiable
        let likelihood = Independent::new(Normal::new(decoder.forward(&z), noise.value()?)?, 1)?;
        let kl = kl_divergence(&posterior, &prior)?;
        let loss = (&kl - likelihood.log_prob(&x)?).mean(Kind::Float);
        if step % 150 == 0 {
            let kl = kl.mean(Kind::Float).double_value(&[]);
            println!("  step {step:5}  negative ELBO {:.4}  (KL {kl:.4})", loss.double_value(&[]));
        }
        opt.backward_step(&loss);
    }
    let scale = noise.value()?.mean(Kind::Float).double_value(&[]);
    println!("learned likelihood scale (mean over dimensions): {scale:.4} (the data's noise is 0.1)");
    Ok(())
}
