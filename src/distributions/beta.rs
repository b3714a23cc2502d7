//! The Beta distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::{eps, standard_gamma, tiny};
use super::{sample_and_batch, Distribution};
use anyhow::Result;
use tch::Tensor;

declare_family! {
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
    /// * support [`Support::UnitInterval`](super::Support::UnitInterval);
    ///   `default_event_space_bijector` is `Sigmoid`.
    Beta, support: Constraint::UnitInterval,
    new(
        /// `a`, the concentration of `x` (torch's `concentration1`).
        concentration1: Constraint::Positive,
        /// `b`, the concentration of `1 - x` (torch's `concentration0`).
        concentration0: Constraint::Positive,
    )
}

impl Beta {
    fn params(&self, op: &str) -> Result<(Tensor, Tensor)> {
        let [a, b] = self.core.values(op)?;
        Ok((a, b))
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = sample_and_batch(op, sample_shape, self.core.batch_shape())?;
        let (a, b) = self.params(op)?;
        let ga = standard_gamma(&a.expand(shape.as_slice(), false));
        let gb = standard_gamma(&b.expand(shape.as_slice(), false));
        let kind = self.dtype();
        Ok((&ga / (&ga + gb)).clamp(tiny(kind), 1.0 - eps(kind)))
    }
}

fn lbeta(a: &Tensor, b: &Tensor) -> Tensor {
    (a.lgamma() + b.lgamma()) - (a + b).lgamma()
}

impl Distribution for Beta {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Beta.log_prob";
        self.core.check_x(op, x)?;
        let (a, b) = self.params(op)?;
        Ok((&a - 1.0).special_xlogy(x) + (&b - 1.0).special_xlog1py(&(-x)) - lbeta(&a, &b))
    }

    fn mean(&self) -> Result<Tensor> {
        let (a, b) = self.params("Beta.mean")?;
        Ok((&a / (&a + b)).broadcast_to(self.core.batch_shape()))
    }

    fn variance(&self) -> Result<Tensor> {
        let (a, b) = self.params("Beta.variance")?;
        let t = &a + &b;
        Ok((a * b / (t.square() * (t + 1.0))).broadcast_to(self.core.batch_shape()))
    }

    /// `(a-1)/(a+b-2)` for `a, b > 1`; `0` for `a <= 1 < b`; `1` for `b <= 1 < a`; NaN else.
    fn mode(&self) -> Result<Tensor> {
        let (a, b) = self.params("Beta.mode")?;
        let (a, b) = (a.broadcast_to(self.core.batch_shape()), b.broadcast_to(self.core.batch_shape()));
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
        // Summed in torch's (Dirichlet's) order: the terms cancel, and a different order differs
        // from torch's float64 value by a few roundings of the largest term.
        let h = lbeta(&a, &b) - (-&t + 2.0) * t.digamma() - ((&a - 1.0) * a.digamma() + (&b - 1.0) * b.digamma());
        Ok(self.core.bcast(h))
    }
}
