//! The generalized-Pareto support bijector.

use super::param::Param;
use super::Bijector;
use crate::Parameter;
use anyhow::Result;
use tch::Tensor;

/// Maps the reals onto the support of a generalized Pareto distribution, elementwise, as TFP's
/// `GeneralizedPareto` bijector (here `GeneralizedParetoTransform`, beside the distribution):
/// `y = μ + softplus(x)` (onto `(μ, ∞)`) where the concentration `ξ >= 0`, and
/// `y = μ + |σ/ξ| sigmoid(x)` (onto `(μ, μ + |σ/ξ|)`) where `ξ < 0`, chosen per
/// element. `loc`, `scale` and `concentration` broadcast against the input and may be
/// constants, trainable variables or transformed variables.
///
/// * inverse: `x = u + log(-expm1(-u))` (softplus⁻¹) or `log u - log(|σ/ξ| - u)`, `u = y - μ`.
/// * `log|dy/dx| = log σ(x)` or `log|σ/ξ| + log σ(x) + log σ(-x)` (`σ(·)` the sigmoid), by
///   `log_sigmoid`; `log|dx/dy|` is minus it at the inverse.
#[derive(Debug)]
pub struct GeneralizedParetoTransform {
    loc: Param,
    scale: Param,
    concentration: Param,
}

/// The parameters as tensors like the input: `μ`, the width `|σ/ξ|` (1 where unused) and
/// whether the bounded branch applies.
struct Parts {
    loc: Tensor,
    width: Tensor,
    bounded: Tensor,
}

impl GeneralizedParetoTransform {
    /// With tensors or parameters for the location, the (positive) scale and the concentration.
    pub fn new(loc: impl Into<Parameter>, scale: impl Into<Parameter>, concentration: impl Into<Parameter>) -> Self {
        Self { loc: Param::value(loc), scale: Param::value(scale), concentration: Param::value(concentration) }
    }

    fn parts(&self, op: &str, what: &str, t: &Tensor) -> Result<Parts> {
        let (_, loc) = self.loc.check(op, what, "loc", t)?;
        let (_, scale) = self.scale.check(op, what, "scale", t)?;
        let (_, xi) = self.concentration.check(op, what, "concentration", t)?;
        let ratio = scale.tensor(t) / xi.tensor(t);
        let bounded = ratio.lt(0.0).logical_and(&ratio.isfinite());
        let width = ratio.abs().where_self(&bounded, &ratio.ones_like());
        Ok(Parts { loc: loc.tensor(t), width, bounded })
    }

    fn log_det(p: &Parts, x: &Tensor) -> Tensor {
        let unbounded = x.log_sigmoid();
        let bounded = p.width.log() + &unbounded + (-x).log_sigmoid();
        bounded.where_self(&p.bounded, &unbounded)
    }

    fn inverse_of(p: &Parts, y: &Tensor) -> Tensor {
        let u = y - &p.loc;
        let unbounded = &u + (-&u).expm1().neg().log();
        let bounded = u.log() - (&p.width - &u).log();
        bounded.where_self(&p.bounded, &unbounded)
    }
}

impl Bijector for GeneralizedParetoTransform {
    fn name(&self) -> String {
        "generalized_pareto".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let p = self.parts("generalized_pareto.forward", "x", x)?;
        let bounded = &p.width * x.sigmoid();
        Ok(&p.loc + bounded.where_self(&p.bounded, &x.softplus()))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let p = self.parts("generalized_pareto.inverse", "y", y)?;
        Ok(Self::inverse_of(&p, y))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let p = self.parts("generalized_pareto.forward_log_det_jacobian", "x", x)?;
        Ok(Self::log_det(&p, x))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        let p = self.parts("generalized_pareto.inverse_log_det_jacobian", "y", y)?;
        Ok(-Self::log_det(&p, &Self::inverse_of(&p, y)))
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        super::unique_variables([
            self.loc.trainable_variables(),
            self.scale.trainable_variables(),
            self.concentration.trainable_variables(),
        ])
    }
}
