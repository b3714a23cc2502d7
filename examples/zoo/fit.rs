//! The zoo's data, the reference each fit is held to, and the fitting loop.
//! Shared by `examples/zoo/main.rs` and `tests/zoo.rs`.

use anyhow::{ensure, Context, Result};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use tch_distributions::bijectors::{Bijector, FillScaleTriL, Softplus};
use tch_distributions::distributions::{
    Categorical, Distribution, Independent, MixtureSameFamily, MultivariateNormalTriL, Normal,
};

const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

/// The generating distribution: three correlated Gaussians in 4-D, weights 0.5, 0.3, 0.2. The
/// first is `N(0, I)`, so that the seed's "first component fixed" models can represent it.
pub struct Truth {
    pub weights: Tensor,
    pub locs: Tensor,
    pub trils: Tensor,
}

impl Truth {
    pub fn new() -> Self {
        let locs =
            Tensor::from_slice(&[0.0f32, 0.0, 0.0, 0.0, 4.0, 4.0, 0.0, -3.0, -4.0, 3.0, 5.0, 2.0]).reshape([3, 4]);
        #[rustfmt::skip]
        let trils = Tensor::from_slice(&[
            1.0f32, 0.0, 0.0, 0.0,   0.0, 1.0, 0.0, 0.0,   0.0, 0.0, 1.0, 0.0,   0.0, 0.0, 0.0, 1.0,
            1.5, 0.0, 0.0, 0.0,      0.8, 1.0, 0.0, 0.0,   -0.5, 0.3, 0.7, 0.0,  0.2, -0.4, 0.5, 1.2,
            0.8, 0.0, 0.0, 0.0,      -0.6, 1.2, 0.0, 0.0,  0.4, 0.5, 1.0, 0.0,   0.0, 0.3, -0.2, 0.6,
        ])
        .reshape([3, 4, 4]);
        Truth { weights: Tensor::from_slice(&[0.5f32, 0.3, 0.2]), locs, trils }
    }

    /// The true mixture.
    pub fn distribution(&self) -> Result<MixtureSameFamily> {
        MixtureSameFamily::new(
            Categorical::new(self.weights.log())?,
            MultivariateNormalTriL::new(self.locs.copy(), self.trils.copy())?,
        )
    }

    /// Mean and covariance of the mixture.
    fn moments(&self) -> (Tensor, Tensor) {
        let w = self.weights.unsqueeze(-1);
        let mean = (&w * &self.locs).sum_dim_intlist(0, false, Kind::Float);
        let covs = self.trils.matmul(&self.trils.transpose(-1, -2));
        let outer = self.locs.unsqueeze(-1).matmul(&self.locs.unsqueeze(-2));
        let second = (w.unsqueeze(-1) * (covs + outer)).sum_dim_intlist(0, false, Kind::Float);
        let cov = second - mean.unsqueeze(-1).matmul(&mean.unsqueeze(-2));
        (mean, cov)
    }

    /// The member of a zoo model's family that the truth projects to, against which a fit is
    /// judged: the moment-matched Gaussian for the single Gaussians, the true weights and
    /// locations with spherical scales `sqrt(trace(Σ_k)/4)` for the spherical mixtures, and the
    /// truth itself for the full-covariance mixtures (which can represent it).
    pub fn reference(&self, model: &str) -> Result<Box<dyn Distribution>> {
        let (mean, cov) = self.moments();
        let d = cov.size()[0] as f64;
        Ok(match model {
            "learnable_mvn_scaled_identity" => {
                let s = (cov.trace() / d).sqrt().reshape([1]);
                Box::new(Independent::new(Normal::new(mean, s)?, 1)?)
            }
            "learnable_mvn_diag" => Box::new(Independent::new(Normal::new(mean, cov.diagonal(0, 0, 1).sqrt())?, 1)?),
            "learnable_mix_mvn_scaled_identity" | "learnable_mix_mvndiag_first_fixed" => {
                let covs = self.trils.matmul(&self.trils.transpose(-1, -2));
                let s = (covs.diagonal(0, -2, -1).sum_dim_intlist(-1, true, Kind::Float) / d).sqrt();
                Box::new(MixtureSameFamily::new(
                    Categorical::new(self.weights.log())?,
                    Independent::new(Normal::new(self.locs.copy(), s)?, 1)?,
                )?)
            }
            _ => Box::new(self.distribution()?),
        })
    }
}

/// Draws `n` points from the truth (after `tch::manual_seed(seed)`).
pub fn data(truth: &Truth, n: i64, seed: i64) -> Result<Tensor> {
    tch::manual_seed(seed);
    truth.distribution()?.sample(&[n])
}

/// Mean negative log-likelihood of `x`.
pub fn nll(d: &dyn Distribution, x: &Tensor) -> Result<f64> {
    Ok(-d.log_prob(x)?.mean(Kind::Float).double_value(&[]))
}

/// Starts the free components of a mixture from k-means clusters of `x` (10 Lloyd iterations
/// from a farthest-point start; `fixed` centres stay where they are): locations at the centres,
/// scales from the clusters' spread (`scale` through Softplus, or `scale_tril` through
/// FillScaleTriL, as the zoo's models have them). With the seed's start (identical or random
/// locations, scale 10) gradient descent tends to let one component take every point.
pub fn init_components(d: &dyn Distribution, x: &Tensor, fixed: &Tensor) -> Result<()> {
    let vars = d.trainable_variables();
    let var = |name: &str| vars.iter().find(|(n, _)| n == name).map(|(_, t)| t.shallow_clone());
    let loc = var("loc").context("init_components: the model has no `loc` variable")?;
    let free = loc.size()[0];
    let n_fixed = fixed.size()[0];
    let k = n_fixed + free;
    let dist_to = |c: &Tensor| (x.unsqueeze(1) - c.unsqueeze(0)).square().sum_dim_intlist(-1, false, Kind::Float);
    // Farthest-point start from the data point nearest the mean (or from the fixed centres).
    let mut centres: Vec<Tensor> = (0..n_fixed).map(|i| fixed.get(i)).collect();
    if centres.is_empty() {
        let nearest =
            (x - x.mean_dim(0, true, Kind::Float)).square().sum_dim_intlist(-1, false, Kind::Float).argmin(0, false);
        centres.push(x.get(nearest.int64_value(&[])));
    }
    while (centres.len() as i64) < k {
        let far = dist_to(&Tensor::stack(&centres, 0)).min_dim(1, false).0.argmax(0, false);
        centres.push(x.get(far.int64_value(&[])));
    }
    let mut c = Tensor::stack(&centres, 0);
    let mut onehot = Tensor::zeros([1], F32);
    for _ in 0..10 {
        onehot = dist_to(&c).argmin(1, false).one_hot(k).to_kind(Kind::Float); // [N, K]
        let counts = onehot.sum_dim_intlist(0, false, Kind::Float).clamp_min(1.0).unsqueeze(-1);
        let means = onehot.transpose(0, 1).matmul(x) / counts;
        c = Tensor::cat(&[c.narrow(0, 0, n_fixed), means.narrow(0, n_fixed, free)], 0);
    }
    // Cluster covariances [K, d, d] (with a small ridge), for the free components.
    let counts = onehot.sum_dim_intlist(0, false, Kind::Float).clamp_min(2.0);
    let centred = x.unsqueeze(0) - c.unsqueeze(1); // [K, N, d]
    let weighted = &centred * onehot.transpose(0, 1).unsqueeze(-1);
    let eye = Tensor::eye(x.size()[1], F32);
    let covs = weighted.transpose(1, 2).matmul(&centred) / counts.reshape([k, 1, 1]) + eye * 1e-3;
    let covs = covs.narrow(0, n_fixed, free);
    tch::no_grad(|| -> Result<()> {
        loc.shallow_clone().copy_(&c.narrow(0, n_fixed, free));
        if let Some(raw) = var("scale") {
            let d = x.size()[1] as f64;
            let s = (covs.diagonal(0, -2, -1).sum_dim_intlist(-1, true, Kind::Float) / d).sqrt(); // [free, 1]
            raw.shallow_clone().copy_(&Softplus.inverse(&s.broadcast_to(raw.size().as_slice()))?);
        }
        if let Some(raw) = var("scale_tril") {
            raw.shallow_clone().copy_(&FillScaleTriL::default().inverse(&covs.linalg_cholesky(false))?);
        }
        Ok(())
    })
}

/// Fits `d` by minimising the mean negative log-likelihood of `x` with full-batch Adam;
/// returns the losses at steps 0, steps/10, ..., steps.
pub fn fit(vs: &nn::VarStore, d: &dyn Distribution, x: &Tensor, steps: usize, lr: f64) -> Result<Vec<(usize, f64)>> {
    let mut opt = nn::Adam::default().build(vs, lr)?;
    let mut trace = vec![];
    for step in 0..=steps {
        let loss = -d.log_prob(x)?.mean(Kind::Float);
        if step % (steps / 10).max(1) == 0 || step == steps {
            let v = loss.double_value(&[]);
            ensure!(v.is_finite(), "fit: the loss became {v} at step {step}");
            trace.push((step, v));
        }
        if step < steps {
            opt.backward_step(&loss);
        }
    }
    Ok(trace)
}

/// The largest deviation of a model's fixed parts from their fixed values (0 where it has
/// none): the first logit (0), and for `learnable_mix_mvntril_fixed_first` the first location
/// (zeros) and the first covariance (the identity).
pub fn fixed_part_deviation(name: &str, d: &MixtureSameFamily) -> Result<Vec<(&'static str, f64)>> {
    let mut out = vec![];
    if name.ends_with("first_fixed") || name.ends_with("fixed_first") {
        out.push(("first logit - 0", d.mixture().logits()?.get(0).abs().double_value(&[])));
    }
    if name == "learnable_mix_mvntril_fixed_first" {
        let c = d.components();
        out.push(("first loc - zeros", c.mean()?.get(0).abs().max().double_value(&[])));
        let eye = Tensor::eye(c.event_shape()[0], F32);
        out.push(("first covariance - eye", (c.covariance()?.get(0) - eye).abs().max().double_value(&[])));
    }
    Ok(out)
}
