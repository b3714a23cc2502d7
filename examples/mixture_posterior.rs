//! A mixture variational posterior trained by `rsample`: a mixture of two full-covariance
//! Gaussians `q` is fitted to a bimodal two-dimensional target `p` (itself such a mixture, so the
//! optimum is `q = p`) by maximising the ELBO `E_q[log p(z) - log q(z)] = -KL(q || p)` with
//! pathwise gradients through `MixtureSameFamily::rsample` (implicit reparameterization; TFP
//! refuses Gaussian components there and torch has no mixture rsample); then a VAE whose
//! encoder puts out a mixture posterior, trained the same way ([`mixture_vae`]). Run with
//! `cargo run --release --example mixture_posterior`.

use anyhow::Result;
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};
use tch_distributions::bijectors::FillScaleTriL;
use tch_distributions::distributions::{Categorical, Distribution, MixtureSameFamily, MultivariateNormalTriL};
use tch_distributions::{Parameter, TransformedVariable};

const F64: (Kind, Device) = (Kind::Double, Device::Cpu);

/// The target: weights 0.3 / 0.7, means (-2, 1) and (2, -1), correlated covariances.
pub fn target() -> Result<MixtureSameFamily> {
    let loc = Tensor::from_slice(&[-2.0f64, 1.0, 2.0, -1.0]).reshape([2, 2]);
    let tril = Tensor::from_slice(&[0.8f64, 0.0, 0.5, 0.6, 0.5, 0.0, -0.4, 1.0]).reshape([2, 2, 2]);
    Ok(MixtureSameFamily::new(
        Categorical::new(Tensor::from_slice(&[0.3f64, 0.7]).log())?,
        MultivariateNormalTriL::new(loc, tril)?,
    )?)
}

/// The fitted posterior and the final KL(q || p) estimate: `steps` Adam steps at rate `lr`
/// with `draws` draws per step, from means at (-1, 0) and (1, 0), unit scales, equal weights.
pub fn fit(steps: usize, draws: i64, lr: f64) -> Result<(MixtureSameFamily, f64)> {
    let p = target()?;
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let loc = Parameter::variable(&root, "loc", &Tensor::from_slice(&[-1.0f64, 0.0, 1.0, 0.0]).reshape([2, 2]))?;
    let eye = Tensor::eye(2, F64).expand([2, 2, 2], false).contiguous();
    let tril = TransformedVariable::new(&root, "scale_tril", &eye, FillScaleTriL::default())?;
    let logits = Parameter::variable(&root, "logits", &Tensor::zeros([2], F64))?;
    let q = MixtureSameFamily::new(Categorical::new(logits)?, MultivariateNormalTriL::new(loc, tril)?)?;
    let mut opt = nn::Adam::default().build(&vs, lr)?;
    let mut kl = f64::NAN;
    for k in 0..steps {
        opt.set_lr(lr * 0.05f64.powf(k as f64 / steps as f64));
        let z = q.rsample(&[draws])?;
        let loss = (q.log_prob(&z)? - p.log_prob(&z)?).mean(Kind::Double); // KL(q || p) estimate
        opt.backward_step(&loss);
        kl = loss.double_value(&[]);
    }
    Ok((q, kl))
}

/// A small VAE whose posterior `q(z | x)` is a mixture of `K = 3` diagonal normals, all of its
/// parameters (weights, means, scales) put out by the encoder: `x` is 6-D, made from a 2-D
/// latent that is itself bimodal; the ELBO `E_q[log p(x | z) + log p(z) - log q(z | x)]` is
/// estimated with one `rsample` per point (the KL of a mixture has no closed form). Returns the
/// negative ELBO per point at the first and at the last of `steps` Adam steps (batches of 256).
pub fn mixture_vae(steps: usize) -> Result<(f64, f64)> {
    use tch::nn::Module;
    use tch_distributions::distributions::{Independent, Normal};
    let (latent, data_dim, k) = (2i64, 6i64, 3i64);
    let f32s = (Kind::Float, Device::Cpu);
    let n = 2000;
    let side = (Tensor::randint(2, [n, 1], (Kind::Int64, Device::Cpu)).to_kind(Kind::Float) * 2.0 - 1.0) * 2.0;
    let z_true = Tensor::randn([n, latent], f32s) * 0.5 + side;
    let a = Tensor::randn([latent, data_dim], f32s);
    let data = z_true.matmul(&a).tanh() + Tensor::randn([n, data_dim], f32s) * 0.05;
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let encoder = nn::seq()
        .add(nn::linear(&root / "enc0", data_dim, 64, Default::default()))
        .add_fn(|x| x.relu())
        .add(nn::linear(&root / "enc1", 64, k + 2 * k * latent, Default::default()));
    let decoder = nn::seq()
        .add(nn::linear(&root / "dec0", latent, 64, Default::default()))
        .add_fn(|x| x.relu())
        .add(nn::linear(&root / "dec1", 64, data_dim, Default::default()));
    let prior = Independent::new(Normal::new(Tensor::zeros([latent], f32s), Tensor::ones([latent], f32s))?, 1)?;
    let mut opt = nn::Adam::default().build(&vs, 3e-3)?;
    let (mut first, mut last) = (f64::NAN, f64::NAN);
    for step in 0..steps {
        let idx = Tensor::randint(n, [256], (Kind::Int64, Device::Cpu));
        let x = data.index_select(0, &idx);
        let h = encoder.forward(&x);
        let logits = h.narrow(1, 0, k);
        let mu = h.narrow(1, k, k * latent).reshape([-1, k, latent]);
        let sigma = h.narrow(1, k + k * latent, k * latent).reshape([-1, k, latent]).softplus() + 1e-3;
        let q = MixtureSameFamily::new(Categorical::new(logits)?, Independent::new(Normal::new(mu, sigma)?, 1)?)?;
        let z = q.rsample(&[])?; // [256, latent], pathwise gradients to every encoder output
        let likelihood = Independent::new(Normal::new(decoder.forward(&z), Tensor::full([data_dim], 0.05, f32s))?, 1)?;
        let elbo = likelihood.log_prob(&x)? + prior.log_prob(&z)? - q.log_prob(&z)?;
        let loss = -elbo.mean(Kind::Float) / data_dim as f64;
        let value = loss.double_value(&[]);
        if step == 0 {
            first = value;
        }
        last = value;
        opt.backward_step(&loss);
    }
    Ok((first, last))
}

#[allow(dead_code)]
fn main() -> Result<()> {
    let (q, kl) = fit(2000, 512, 0.05)?;
    let z = q.sample(&[200_000])?;
    let exact = (q.log_prob(&z)? - target()?.log_prob(&z)?).mean(Kind::Double).double_value(&[]);
    println!("KL(q || p): last step's estimate {kl:.5}, from 200000 draws {exact:.5}");
    let v = |t: Tensor| Vec::<f64>::try_from(t.reshape([-1])).expect("f64 values");
    println!("q weights {:.4?} (target [0.3, 0.7])", v(q.mixture().probs()?));
    println!("q means {:.4?} (target [-2, 1, 2, -1])", v(q.components().mean()?));
    tch::manual_seed(0);
    let (first, last) = mixture_vae(1500)?;
    println!("VAE with a 3-component mixture posterior: negative ELBO per dimension {first:.4} -> {last:.4}");
    Ok(())
}
