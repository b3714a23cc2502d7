//! The zoo's data, the reference each fit is held to, and the fitting loop.
//! Shared by `examples/zoo/main.rs` and `tests/zoo.rs`.

use anyhow::{ensure, Result};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};
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
