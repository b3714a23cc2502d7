//! A mixture variational posterior trained by `rsample`: a mixture of two full-covariance
//! Gaussians `q` is fitted to a bimodal two-dimensional target `p` (itself such a mixture, so the
//! optimum is `q = p`) by maximising the ELBO `E_q[log p(z) - log q(z)] = -KL(q || p)` with
//! pathwise gradients through `MixtureSameFamily::rsample` (implicit reparameterization; TFP
//! refuses Gaussian components there and torch has no mixture rsample). Run with
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

#[allow(dead_code)]
fn main() -> Result<()> {
    let (q, kl) = fit(2000, 512, 0.05)?;
    let z = q.sample(&[200_000])?;
    let exact = (q.log_prob(&z)? - target()?.log_prob(&z)?).mean(Kind::Double).double_value(&[]);
    println!("KL(q || p): last step's estimate {kl:.5}, from 200000 draws {exact:.5}");
    let v = |t: Tensor| Vec::<f64>::try_from(t.reshape([-1])).expect("f64 values");
    println!("q weights {:.4?} (target [0.3, 0.7])", v(q.mixture().probs()?));
    println!("q means {:.4?} (target [-2, 1, 2, -1])", v(q.components().mean()?));
    Ok(())
}
