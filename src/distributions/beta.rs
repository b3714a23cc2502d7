//! The Beta distribution.

use super::univariate_common::{
    check_params, check_scalar_value, eps, require, require_positive, standard_gamma, tiny, trainable,
};
use super::{display_as_describe, sample_and_batch, Distribution, Support};
use crate::bijectors::{Bijector, Sigmoid};
use crate::Parameter;
use anyhow::Result;
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// `Beta(concentration1, concentration0)` (`a`, `b`): density `x^(a-1) (1-x)^(b-1) / B(a, b)`
/// on `0 < x < 1`, `B(a, b) = Γ(a)Γ(b)/Γ(a+b)`.
///
/// `batch_shape` is the broadcast of the shapes of the two concentrations; `event_shape` is `[]`.
///
/// * `log_prob(x) = xlogy(a - 1, x) + xlog1py(b - 1, -x) - lbeta(a, b)`, with
///   `lbeta(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b)`. Values outside `[0, 1]` give NaN
///   (torch without validation; `with_validate_args(true)` makes them an error).
/// * `sample`/`rsample`: `x = g_a / (g_a + g_b)` with `g_a ~ Gamma(a, 1)`, `g_b ~ Gamma(b, 1)`
///   (libtorch's `_standard_gamma`, reparameterized), clamped to `[tiny, 1 - eps]` of the
///   dtype (as torch's Dirichlet sampler) so that `log_prob` of a draw is finite.
/// * mean `a/(a+b)`, variance `ab / ((a+b)² (a+b+1))`,
///   entropy `lbeta(a, b) - (a-1)ψ(a) - (b-1)ψ(b) + (a+b-2)ψ(a+b)`.
/// * mode: `(a-1)/(a+b-2)` where `a > 1` and `b > 1`; `0` where `a <= 1 < b`; `1` where
///   `b <= 1 < a`; NaN where both are `<= 1` (uniform or bimodal: no single mode).
/// * support [`Support::UnitInterval`]; `default_event_space_bijector` is [`Sigmoid`].
pub struct Beta {
    concentration1: Parameter,
    concentration0: Parameter,
    name: String,
    batch_shape: Vec<i64>,
    validate_args: bool,
}

impl Beta {
    /// Builds `Beta(concentration1, concentration0)`. Errors when the parameters are not float,
    /// differ in dtype or device, or their shapes do not broadcast.
    pub fn new(concentration1: impl Into<Parameter>, concentration0: impl Into<Parameter>) -> Result<Self> {
        let (concentration1, concentration0) = (concentration1.into(), concentration0.into());
        let batch_shape =
            check_params("Beta::new", &[("concentration1", &concentration1), ("concentration0", &concentration0)])?;
        Ok(Self { concentration1, concentration0, name: "Beta".into(), batch_shape, validate_args: false })
    }

    /// Sets the name printed by `Display`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// When on, methods check on the host (a device synchronisation) that both concentrations
    /// are `> 0` and values lie in `[0, 1]`. Off by default.
    pub fn with_validate_args(mut self, on: bool) -> Self {
        self.validate_args = on;
        self
    }

    /// `a`, the concentration of `x` (torch's `concentration1`).
    pub fn concentration1(&self) -> &Parameter {
        &self.concentration1
    }

    /// `b`, the concentration of `1 - x` (torch's `concentration0`).
    pub fn concentration0(&self) -> &Parameter {
        &self.concentration0
    }

    fn params(&self, op: &str) -> Result<(Tensor, Tensor)> {
        let (a, b) = (self.concentration1.value()?, self.concentration0.value()?);
        if self.validate_args {
            require_positive(op, "concentration1", &a)?;
            require_positive(op, "concentration0", &b)?;
        }
        Ok((a, b))
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = sample_and_batch(op, sample_shape, &self.batch_shape)?;
        let (a, b) = self.params(op)?;
        let ga = standard_gamma(&a.expand(shape.as_slice(), false));
        let gb = standard_gamma(&b.expand(shape.as_slice(), false));
        let kind = self.dtype();
        Ok((&ga / (&ga + gb)).clamp(tiny(kind), 1.0 - eps(kind)))
    }
}

fn lbeta(a: &Tensor, b: &Tensor) -> Tensor {
    a.lgamma() + b.lgamma() - (a + b).lgamma()
}

impl Distribution for Beta {
    fn name(&self) -> &str {
        &self.name
    }
    fn type_name(&self) -> &'static str {
        "Beta"
    }
    fn batch_shape(&self) -> Vec<i64> {
        self.batch_shape.clone()
    }
    fn event_shape(&self) -> Vec<i64> {
        vec![]
    }
    fn dtype(&self) -> Kind {
        self.concentration1.kind()
    }
    fn device(&self) -> Device {
        self.concentration1.device()
    }

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Beta.log_prob";
        check_scalar_value(op, x, self.dtype(), self.device(), &self.batch_shape)?;
        if self.validate_args {
            require(op, "value", x, &x.ge(0.0).logical_and(&x.le(1.0)), "a value in [0, 1]")?;
        }
        let (a, b) = self.params(op)?;
        Ok((&a - 1.0).special_xlogy(x) + (&b - 1.0).special_xlog1py(&(-x)) - lbeta(&a, &b))
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        tch::no_grad(|| self.draw("Beta.sample", sample_shape))
    }

    /// `g_a / (g_a + g_b)` with reparameterized standard gamma draws.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        self.draw("Beta.rsample", sample_shape)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn mean(&self) -> Result<Tensor> {
        let (a, b) = self.params("Beta.mean")?;
        Ok((&a / (&a + b)).broadcast_to(self.batch_shape.as_slice()))
    }

    fn variance(&self) -> Result<Tensor> {
        let (a, b) = self.params("Beta.variance")?;
        let t = &a + &b;
        Ok((a * b / (t.square() * (t + 1.0))).broadcast_to(self.batch_shape.as_slice()))
    }

    /// `(a-1)/(a+b-2)` for `a, b > 1`; `0` for `a <= 1 < b`; `1` for `b <= 1 < a`; NaN else.
    fn mode(&self) -> Result<Tensor> {
        let (a, b) = self.params("Beta.mode")?;
        let (a, b) = (a.broadcast_to(self.batch_shape.as_slice()), b.broadcast_to(self.batch_shape.as_slice()));
        let (a_gt, b_gt) = (a.gt(1.0), b.gt(1.0));
        let both = a_gt.logical_and(&b_gt);
        // Keep the denominator of the unused branch away from 0 so its masked gradient is 0.
        let denom = (&a + &b - 2.0).where_scalarother(&both, 1.0);
        let interior = (&a - 1.0) / denom;
        let edge = a_gt.to_kind(a.kind()).where_scalarother(&a_gt.logical_xor(&b_gt), f64::NAN);
        // tch's `a.where_self(cond, b)` is `where(cond, a, b)`.
        Ok(interior.where_self(&both, &edge))
    }

    /// `lbeta(a, b) - (a-1)ψ(a) - (b-1)ψ(b) + (a+b-2)ψ(a+b)`.
    fn entropy(&self) -> Result<Tensor> {
        let (a, b) = self.params("Beta.entropy")?;
        let t = &a + &b;
        let h = lbeta(&a, &b) - (&a - 1.0) * a.digamma() - (&b - 1.0) * b.digamma() + (&t - 2.0) * t.digamma();
        Ok(h.broadcast_to(self.batch_shape.as_slice()))
    }

    fn support(&self) -> Support {
        Support::UnitInterval
    }

    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        Ok(Arc::new(Sigmoid::new()))
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        trainable(&[&self.concentration1, &self.concentration0])
    }
}

display_as_describe!(Beta);
