//! The Weibull distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::{log1mexp, EULER_GAMMA};
use super::Distribution;
use anyhow::Result;
use tch::Tensor;

declare_family! {
    /// `Weibull(scale, concentration)` (`λ`, `k`, torch's order): density
    /// `(k/λ) (x/λ)^(k-1) exp(-(x/λ)^k)` on `x > 0`.
    ///
    /// `batch_shape` is the broadcast of the shapes of `scale` and `concentration`; `event_shape`
    /// is `[]`.
    ///
    /// * `log_prob(x) = log k - log λ + (k - 1)(log x - log λ) - (x/λ)^k`.
    /// * `sample`/`rsample`: `λ E^(1/k)`, `E` from libtorch's `exponential_(1)` (torch's
    ///   transform of an exponential); gradients flow to both parameters.
    /// * mean `λ Γ(1 + 1/k)`, variance `λ² (Γ(1 + 2/k) - Γ(1 + 1/k)²)`, mode
    ///   `λ ((k - 1)/k)^(1/k)` (torch's form: NaN for `k < 1`), entropy
    ///   `γ (1 - 1/k) + log(λ/k) + 1`, `cdf(x) = -expm1(-(x/λ)^k)`, `icdf(p) = λ (-log1p(-p))^(1/k)`.
    /// * support `x > 0`; `default_event_space_bijector` is `Softplus`.
    Weibull, support: Constraint::Positive,
    new(
        /// The scale `λ`.
        scale: Constraint::Positive,
        /// The concentration (shape) `k`.
        concentration: Constraint::Positive,
    )
}

impl Weibull {
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [scale, k] = self.core.values(op)?;
        let e = Tensor::empty(shape.as_slice(), (self.dtype(), self.device())).exponential_(1.0);
        Ok(e.pow(&k.reciprocal()) * scale)
    }

    /// `(x / λ)^k` after checking `x`, with `(λ, k)`.
    fn power(&self, method: &str, x: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let op = self.core.op(method);
        self.core.check_x(&op, x)?;
        let [scale, k] = self.core.values(&op)?;
        Ok(((x / &scale).pow(&k), scale, k))
    }
}

impl Distribution for Weibull {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let (t, scale, k) = self.power("log_prob", x)?;
        Ok(k.log() - scale.log() + (&k - 1.0) * (x.log() - scale.log()) - t)
    }

    /// `λ Γ(1 + 1/k)`.
    fn mean(&self) -> Result<Tensor> {
        let [scale, k] = self.core.values("Weibull.mean")?;
        Ok(self.core.bcast(scale * (k.reciprocal() + 1.0).lgamma().exp()))
    }

    /// `λ² (Γ(1 + 2/k) - Γ(1 + 1/k)²)`.
    fn variance(&self) -> Result<Tensor> {
        let [scale, k] = self.core.values("Weibull.variance")?;
        let g1 = (k.reciprocal() + 1.0).lgamma();
        let g2 = (k.reciprocal() * 2.0 + 1.0).lgamma();
        Ok(self.core.bcast(scale.square() * (g2.exp() - (g1 * 2.0).exp())))
    }

    /// `λ ((k - 1)/k)^(1/k)`.
    fn mode(&self) -> Result<Tensor> {
        let [scale, k] = self.core.values("Weibull.mode")?;
        Ok(self.core.bcast(scale * ((&k - 1.0) / &k).pow(&k.reciprocal())))
    }

    /// `γ (1 - 1/k) + log(λ/k) + 1`.
    fn entropy(&self) -> Result<Tensor> {
        let [scale, k] = self.core.values("Weibull.entropy")?;
        Ok(self.core.bcast((-k.reciprocal() + 1.0) * EULER_GAMMA + (scale / k).log() + 1.0))
    }

    /// `-expm1(-(x/λ)^k)`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        Ok(-(-self.power("cdf", x)?.0).expm1())
    }

    /// `log(1 - e^(-(x/λ)^k))` through `log1mexp`: accurate in both tails.
    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        Ok(log1mexp(&(-self.power("log_cdf", x)?.0)))
    }

    /// `λ (-log1p(-p))^(1/k)`.
    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        let op = "Weibull.icdf";
        self.core.check_prob(op, p)?;
        let [scale, k] = self.core.values(op)?;
        Ok((-(-p).log1p()).pow(&k.reciprocal()) * scale)
    }
}
