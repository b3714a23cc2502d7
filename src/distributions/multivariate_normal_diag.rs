//! The multivariate Normal distribution with a diagonal scale.

use super::family::{declare_family, family_methods, Constraint};
use super::{Distribution, HALF_LOG_TWO_PI};
use anyhow::Result;
use tch::{Kind, Tensor};

declare_family! {
    /// `MultivariateNormalDiag(loc, scale_diag)` (TFP): `x = loc + scale_diag ⊙ z` with
    /// `z ~ N(0, I)`, covariance `diag(scale_diag²)`.
    ///
    /// `loc` has shape `[..., d]` and `scale_diag` `[..., d]`; `batch_shape` is the broadcast of
    /// their leading shapes, `event_shape` is `[d]`.
    /// `log_prob(x) = -Σ_i ((x_i - loc_i) / s_i)² / 2 - Σ_i log|s_i| - d log(2π)/2` (TFP reads
    /// `|s_i|`, as for `MultivariateNormalTriL`); `entropy = Σ log|s_i| + d (1 + log 2π) / 2`.
    /// torch has no such class: it is `Independent(Normal(loc, scale_diag), 1)` there. With
    /// validation on, `scale_diag` must have no zero or NaN entry and values no NaN.
    MultivariateNormalDiag, support: Constraint::RealVector; event_ndims: 1,
    new(
        /// The location, `[..., d]`.
        loc[1]: Constraint::RealVector,
        /// The diagonal scale, `[..., d]` (`Softplus` in `make_trainable`, TFP's).
        scale_diag[1]: Constraint::NonZero,
    )
}

impl MultivariateNormalDiag {
    /// `loc + s ⊙ z`, `z ~ N(0, I)`, of shape `sample_shape + batch_shape + [d]`.
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [loc, s] = self.core.values(op)?;
        Ok(Tensor::randn(shape.as_slice(), (self.dtype(), self.device())) * s + loc)
    }

    /// `Σ_i log|s_i|`.
    fn log_det(s: &Tensor) -> Tensor {
        s.abs().log().sum_dim_intlist(-1, false, None::<Kind>)
    }

    /// The event size `d`.
    fn d(&self) -> f64 {
        self.core.event_shape()[0] as f64
    }
}

impl Distribution for MultivariateNormalDiag {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "MultivariateNormalDiag.log_prob";
        self.core.check_x(op, x)?;
        let [loc, s] = self.core.values(op)?;
        let half_maha = ((x - loc) / &s).square().sum_dim_intlist(-1, false, None::<Kind>) * 0.5;
        Ok(-half_maha - Self::log_det(&s) - HALF_LOG_TWO_PI * self.d())
    }

    fn mean(&self) -> Result<Tensor> {
        let [loc, _] = self.core.values(&self.core.op("mean"))?;
        Ok(self.core.bcast(loc))
    }

    /// `scale_diag²`, shape `batch_shape + [d]`.
    fn variance(&self) -> Result<Tensor> {
        let [_, s] = self.core.values(&self.core.op("variance"))?;
        Ok(self.core.bcast(s.square()))
    }

    /// `|scale_diag|`.
    fn stddev(&self) -> Result<Tensor> {
        let [_, s] = self.core.values(&self.core.op("stddev"))?;
        Ok(self.core.bcast(s.abs()))
    }

    fn mode(&self) -> Result<Tensor> {
        self.mean()
    }

    /// `Σ log|s_i| + d (1 + log 2π) / 2`, shape `batch_shape`.
    fn entropy(&self) -> Result<Tensor> {
        let [_, s] = self.core.values(&self.core.op("entropy"))?;
        Ok((Self::log_det(&s) + self.d() * (0.5 + HALF_LOG_TWO_PI)).broadcast_to(self.core.batch_shape()))
    }

    /// `diag(scale_diag²)`, shape `batch_shape + [d, d]`.
    fn covariance(&self) -> Result<Tensor> {
        Ok(self.variance()?.diag_embed(0, -2, -1))
    }
}
