//! The von Mises distribution on the circle.

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::tiny;
use super::Distribution;
use crate::bijectors::{Bijector, Sigmoid};
use anyhow::{bail, Result};
use std::f64::consts::PI;
use std::sync::Arc;
use tch::{Kind, Tensor};

/// `log(2π)`.
const LOG_TWO_PI: f64 = 1.837_877_066_409_345_5;

/// The most rounds of the rejection sampler before it gives up (each round accepts a draw with
/// probability at least `1/1.52`, so a finite concentration never comes near it).
const MAX_ROUNDS: usize = 1000;

declare_family! {
    /// `VonMises(loc, concentration)` (`μ`, `κ`): density `exp(κ cos(x - μ)) / (2π I0(κ))` of an
    /// angle `x` (radians, `2π`-periodic: any real value is accepted, as in torch).
    ///
    /// `batch_shape` is the broadcast of the shapes of `loc` and `concentration`; `event_shape`
    /// is `[]`.
    ///
    /// * `log_prob(x) = κ (cos(x - μ) - 1) - log(2π) - log(i0e(κ))` (TFP's form, with
    ///   libtorch's exponentially scaled `special_i0e`: accurate for any `κ`, where torch's
    ///   polynomial log-Bessel approximation has a relative error of about 1e-7); the gradient in
    ///   `κ`, `cos(x - μ) - I1(κ)/I0(κ)`, comes from libtorch's `i0e` autograd formula.
    /// * `sample`: torch's rejection sampler (Best and Fisher 1979, wrapped-Cauchy proposal),
    ///   in float64 whatever the dtype (as torch: float32 proposals hang for small `κ`), on the
    ///   parameters' device, then wrapped to `[-π, π)`. The loop reads one boolean on the host per
    ///   round ("all accepted?"); about 1 to 1.5 rounds are expected.
    /// * `rsample`: the same draws with TFP's implicit reparameterization gradient
    ///   `dz/dκ = -(∂F(z; κ)/∂κ) / p(z; κ)` of the standardized draw `z`, `F` the cdf below
    ///   (differentiated by autograd); `d/dμ = 1`.
    /// * mean and mode `μ` (circular), variance `1 - I1(κ)/I0(κ)` (circular, torch's and TFP's),
    ///   entropy `κ (1 - I1(κ)/I0(κ)) + log(2π i0e(κ))` (TFP's; torch has none).
    /// * `cdf(x) = F(x - μ; κ)`, TFP's `von_mises_cdf` (Hill 1977, 8 digits): a 20-term series
    ///   for `κ < 10.5`, a corrected normal approximation above; `F` counts whole periods
    ///   (`F(x + 2π) = F(x) + 1`, `cdf(μ) = 1/2`).
    /// * support the reals (torch's `constraints.real`); `default_event_space_bijector` is
    ///   TFP's `Sigmoid(low = -π, high = π)`, one period (the identity onto the reals would make
    ///   the pulled-back density improper).
    VonMises, support: Constraint::Real,
    new(
        /// The circular mean `μ` (radians).
        loc: Constraint::Real,
        /// The concentration `κ`.
        concentration: Constraint::Positive,
    )
}

/// `log(i0e(κ)) = log I0(κ) - κ`.
fn log_i0e(k: &Tensor) -> Tensor {
    k.special_i0e().log()
}

/// `I1(κ) / I0(κ)`, from the scaled Bessel functions.
fn bessel_ratio(k: &Tensor) -> Tensor {
    k.special_i1e() / k.special_i0e()
}

/// The density of `VonMises(0, κ)` at `z`.
fn standard_prob(z: &Tensor, k: &Tensor) -> Tensor {
    (k * (z.cos() - 1.0)).exp() / (k.special_i0e() * (2.0 * PI))
}

/// TFP's `von_mises_cdf`: `∫_{-π}^{z} p(t; κ) dt` for `VonMises(0, κ)`, whole periods counted;
/// differentiable in `κ` by autograd.
pub(crate) fn von_mises_cdf(z: &Tensor, k: &Tensor) -> Tensor {
    let periods = (z / (2.0 * PI)).round();
    let x = z - &periods * (2.0 * PI);
    let use_series = k.lt(10.5);
    // Each branch sees a safe concentration where the other is used (no NaN gradients).
    let ks = k.where_self(&use_series, &k.ones_like());
    let kn = k.where_self(&use_series.logical_not(), &k.full_like(10.5));
    // Series (Hill's Table I, D = 8: 20 terms below 10.5).
    let mut rn = x.zeros_like();
    let mut vn = x.zeros_like();
    for n in (1..=20).rev() {
        let n = n as f64;
        rn = (ks.reciprocal() * (2.0 * n) + &rn).reciprocal();
        vn = &rn * ((&x * n).sin() / n + &vn);
    }
    let series = (&x / (2.0 * PI) + 0.5 + vn / PI).clamp(0.0, 1.0);
    // Normal approximation with Hill's correction.
    let zz = (&x * 0.5).sin() * (2.0 / PI).sqrt() / kn.special_i0e();
    let z2 = zz.square();
    let c = &kn * 24.0;
    let denom = (&c - &z2 * 2.0 - 16.0) / 3.0 - (z2.square() + &z2 * 1.75 + 83.5) / (&c - &z2 - 53.0);
    let xi = &zz - &z2 * &zz / denom.square();
    let normal = xi.special_ndtr();
    series.where_self(&use_series, &normal) + periods
}

impl VonMises {
    /// Standardized draws `z` in `[-π, π]` (float64, no gradient) of `sample_shape +
    /// batch_shape` for the concentration `k`.
    fn standard_draws(&self, op: &str, sample_shape: &[i64], k: &Tensor) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let device = self.device();
        let k64 = k.detach().to_kind(Kind::Double).expand(shape.as_slice(), false);
        // torch's proposal parameter r, its Taylor form below 1e-5.
        let tau = (k64.square() * 4.0 + 1.0).sqrt() + 1.0;
        let rho = (&tau - (&tau * 2.0).sqrt()) / (&k64 * 2.0);
        let exact = (rho.square() + 1.0) / (&rho * 2.0);
        let r = exact.where_self(&k64.ge(1e-5), &(k64.reciprocal() + &k64));
        let mut x = Tensor::zeros(shape.as_slice(), (Kind::Double, device));
        let mut done = Tensor::zeros(shape.as_slice(), (Kind::Bool, device));
        let mut u_shape = vec![3];
        u_shape.extend_from_slice(&shape);
        for round in 0.. {
            // The sampler's one host read per round: whether every draw has been accepted.
            if done.all().int64_value(&[]) != 0 {
                break;
            }
            if round == MAX_ROUNDS {
                bail!(
                    "{op}: the rejection sampler accepted no draw for some elements in {MAX_ROUNDS} rounds \
                     (concentration NaN or infinite?)"
                );
            }
            let u = Tensor::rand(u_shape.as_slice(), (Kind::Double, device));
            let (u1, u2, u3) = (u.get(0), u.get(1), u.get(2));
            let z = (u1 * PI).cos();
            let f = (&r * &z + 1.0) / (&r + &z);
            let c = &k64 * (&r - &f);
            let accept = (&c * (-&c + 2.0) - &u2).gt(0.0).logical_or(&((&c / &u2).log() - &c + 1.0).ge(0.0));
            // As torch: a later acceptance replaces an earlier one (both are draws of the target).
            x = ((u3 - 0.5).sign() * f.acos()).where_self(&accept, &x);
            done = done.logical_or(&accept);
        }
        Ok(x)
    }

    /// `(z + μ + π) mod 2π - π` in float64, as the parameters' dtype.
    fn wrap(&self, z: &Tensor, loc: &Tensor) -> Tensor {
        ((z + loc.detach().to_kind(Kind::Double) + PI).remainder(2.0 * PI) - PI).to_kind(self.dtype())
    }
}

impl Distribution for VonMises {
    family_methods!();

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "VonMises.log_prob";
        self.core.check_x(op, x)?;
        let [loc, k] = self.core.values(op)?;
        Ok(&k * ((x - loc).cos() - 1.0) - LOG_TWO_PI - log_i0e(&k))
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        let op = "VonMises.sample";
        let [loc, k] = self.core.values(op)?;
        let z = tch::no_grad(|| self.standard_draws(op, sample_shape, &k))?;
        Ok(self.wrap(&z, &loc))
    }

    /// The draws of `sample` (same values), with gradient `1` to `loc` and TFP's implicit
    /// gradient to `concentration`.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        let op = "VonMises.rsample";
        let [loc, k] = self.core.values(op)?;
        let z64 = tch::no_grad(|| self.standard_draws(op, sample_shape, &k))?;
        let y = self.wrap(&z64, &loc);
        let z = z64.to_kind(self.dtype());
        let cdf = von_mises_cdf(&z, &k);
        let p = standard_prob(&z, &k.detach()).clamp_min(tiny(self.dtype()));
        // Value 0, gradient -(∂F/∂κ)/p: a custom backward written as a surrogate.
        let implicit = (cdf.detach() - cdf) / p;
        Ok(y + (&loc - loc.detach()) + implicit)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    /// `μ` (the circular mean).
    fn mean(&self) -> Result<Tensor> {
        let [loc, _] = self.core.values("VonMises.mean")?;
        Ok(self.core.bcast(loc))
    }

    /// `μ`.
    fn mode(&self) -> Result<Tensor> {
        let [loc, _] = self.core.values("VonMises.mode")?;
        Ok(self.core.bcast(loc))
    }

    /// `1 - I1(κ)/I0(κ)` (the circular variance).
    fn variance(&self) -> Result<Tensor> {
        let [_, k] = self.core.values("VonMises.variance")?;
        Ok(self.core.bcast(-bessel_ratio(&k) + 1.0))
    }

    /// `κ (1 - I1(κ)/I0(κ)) + log(2π) + log(i0e(κ))`.
    fn entropy(&self) -> Result<Tensor> {
        let [_, k] = self.core.values("VonMises.entropy")?;
        Ok(self.core.bcast(&k * (-bessel_ratio(&k) + 1.0) + log_i0e(&k) + LOG_TWO_PI))
    }

    /// TFP's `von_mises_cdf(x - μ, κ)`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "VonMises.cdf";
        self.core.check_x(op, x)?;
        let [loc, k] = self.core.values(op)?;
        Ok(von_mises_cdf(&(x - loc), &k))
    }

    fn support(&self) -> super::Support {
        self.core.support()
    }

    /// TFP's `Sigmoid(low = -π, high = π)`.
    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        let _ = self.core.values_vec("VonMises.default_event_space_bijector")?;
        Ok(Arc::new(Sigmoid::with_scalar_bounds(-PI, PI)?))
    }
}
