//! The inverse gamma distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::{standard_gamma, tiny};
use super::Distribution;
use anyhow::Result;
use tch::Tensor;

declare_family! {
    /// `InverseGamma(concentration, rate)` (`α`, `β`): the law of `1/X` for `X ~ Gamma(α, β)`
    /// (torch's `TransformedDistribution` of Gamma by `PowerTransform(-1)`; TFP's
    /// `InverseGamma(concentration, scale=β)`), density `β^α x^(-α-1) e^(-β/x) / Γ(α)` on `x > 0`.
    ///
    /// `batch_shape` is the broadcast of the shapes of `concentration` and `rate`; `event_shape` is
    /// `[]`.
    ///
    /// * `log_prob(x) = xlogy(α, β) - lgamma(α) - (α + 1) log x - β/x` (`-inf` at `x = 0`, the
    ///   density's limit; NaN below 0 as torch, an error with validation on).
    /// * `sample`/`rsample`: the reciprocal of the Gamma draw `_standard_gamma(α)/β` (clamped below
    ///   at the dtype's smallest normal number, as torch); gradients flow to both parameters
    ///   through `_standard_gamma`'s implicit reparameterization, as Gamma's `rsample`.
    /// * mean `β/(α - 1)` (`inf` for `α <= 1`), variance `β²/((α - 1)² (α - 2))` (`inf` for
    ///   `α <= 2`), as torch; mode `β/(α + 1)`; entropy `α + log β + lgamma(α) - (1 + α) ψ(α)`.
    /// * `cdf(x) = Q(α, β/x)`, the regularized upper incomplete gamma function (libtorch's
    ///   `special_gammaincc`; torch computes `1 - P(α, β/x)`, which loses the left tail). Above
    ///   `α = 20` libtorch switches to an asymptotic series whose relative error reaches `1.5e-9`
    ///   in float64 (against mpmath; SciPy's `gammaincc` is accurate to `2e-16` there), so float64
    ///   cdfs of such `α` carry that error. It has a
    ///   gradient to `β` and `x` but none to `α`: libtorch's `igammac` has no derivative in its
    ///   first argument, so a backward pass through `cdf` (or `log_cdf`) reaching a trainable `α`
    ///   fails with libtorch's "the derivative for 'igammac: input' is not implemented" (tch's
    ///   `f_backward` returns that error, `backward` panics with it). No `icdf` (no inverse
    ///   incomplete gamma in libtorch; torch has none either).
    /// * support `x > 0`; `default_event_space_bijector` is `Softplus` (TFP).
    InverseGamma, support: Constraint::Positive,
    new(
        /// The concentration (shape) `α`.
        concentration: Constraint::Positive,
        /// The rate `β` (the scale of the inverse: `1/X` with `X ~ Gamma(α, β)`).
        rate: Constraint::Positive,
    )
}

impl InverseGamma {
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [c, r] = self.core.values(op)?;
        let gamma = (standard_gamma(&c.expand(shape.as_slice(), false)) / r).clamp_min(tiny(self.core.dtype()));
        Ok(gamma.reciprocal())
    }
}

impl Distribution for InverseGamma {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "InverseGamma.log_prob";
        self.core.check_x(op, x)?;
        let [c, r] = self.core.values(op)?;
        let lp = c.special_xlogy(&r) - c.lgamma() - (&c + 1.0) * x.log() - &r / x;
        Ok(lp.where_scalarother(&x.ne(0.0), f64::NEG_INFINITY))
    }

    /// `β/(α - 1)`, `inf` for `α <= 1`.
    fn mean(&self) -> Result<Tensor> {
        let [c, r] = self.core.values("InverseGamma.mean")?;
        let m = &r / (&c - 1.0);
        Ok(self.core.bcast(m.where_scalarother(&c.gt(1.0), f64::INFINITY)))
    }

    /// `β²/((α - 1)² (α - 2))`, `inf` for `α <= 2`.
    fn variance(&self) -> Result<Tensor> {
        let [c, r] = self.core.values("InverseGamma.variance")?;
        let v = r.square() / ((&c - 1.0).square() * (&c - 2.0));
        Ok(self.core.bcast(v.where_scalarother(&c.gt(2.0), f64::INFINITY)))
    }

    /// `β/(α + 1)`.
    fn mode(&self) -> Result<Tensor> {
        let [c, r] = self.core.values("InverseGamma.mode")?;
        Ok(self.core.bcast(r / (c + 1.0)))
    }

    /// `α + log β + lgamma(α) - (1 + α) ψ(α)`.
    fn entropy(&self) -> Result<Tensor> {
        let [c, r] = self.core.values("InverseGamma.entropy")?;
        Ok(self.core.bcast(&c + r.log() + c.lgamma() - (&c + 1.0) * c.digamma()))
    }

    /// `Q(α, β/x)` (`special_gammaincc`); no gradient to `α` (see the type's documentation).
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "InverseGamma.cdf";
        self.core.check_x(op, x)?;
        let [c, r] = self.core.values(op)?;
        Ok(c.special_gammaincc(&(r / x)))
    }
}
