//! The multivariate Normal distribution parameterised by a lower-triangular scale.

use super::family::{declare_family, family_methods, Constraint};
use super::{Distribution, HALF_LOG_TWO_PI};
use anyhow::Result;
use tch::{Kind, Tensor};

declare_family! {
    /// `MultivariateNormalTriL(loc, scale_tril)`: `x = loc + L z` with `z ~ N(0, I)`, covariance
    /// `L Lᵀ`.
    ///
    /// `loc` has shape `[..., d]`, `scale_tril` `[..., d, d]` (only its lower triangle is read);
    /// `batch_shape` is the broadcast of their leading shapes, `event_shape` is `[d]`.
    /// `log_prob(x) = -|L⁻¹(x - loc)|²/2 - Σ log|L_ii| - d log(2π)/2`, with one batched triangular
    /// solve (never an explicit inverse); `sample` is the reparameterised `loc + L z`. With
    /// validation on, the diagonal of `L` must have no zero or NaN entry and values no NaN;
    /// `make_trainable` learns `scale_tril` through `FillScaleTriL` (TFP's).
    MultivariateNormalTriL, support: Constraint::RealVector; event_ndims: 1,
    new(
        /// The location, `[..., d]`.
        loc[1]: Constraint::RealVector,
        /// The scale as given (`[..., d, d]`, its upper triangle ignored).
        scale_tril[2] as scale_tril_parameter: Constraint::LowerTriangular,
    )
}

impl MultivariateNormalTriL {
    /// `loc + L z`, `z ~ N(0, I)`, of shape `sample_shape + batch_shape + [d]`.
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [loc, l] = self.core.values(op)?;
        let z = Tensor::randn(shape.as_slice(), (self.dtype(), self.device()));
        Ok(crate::linalg::lower_matvec(&l.tril(0), &z) + loc)
    }

    /// The lower-triangular scale `L` (upper triangle zeroed), with gradient.
    pub fn scale_tril(&self) -> Result<Tensor> {
        Ok(self.core.param(1).value()?.tril(0))
    }

    /// `(loc, L)` for the method `method` (`L` as given: the upper triangle is not zeroed).
    fn values(&self, method: &str) -> Result<(Tensor, Tensor)> {
        let [loc, l] = self.core.values(&self.core.op(method))?;
        Ok((loc, l))
    }

    /// `Σ_i log|L_ii|`.
    fn log_det(l: &Tensor) -> Tensor {
        l.diagonal(0, -2, -1).abs().log().sum_dim_intlist(-1, false, None::<Kind>)
    }

    /// The event size `d`.
    fn d(&self) -> f64 {
        self.core.event_shape()[0] as f64
    }
}

impl Distribution for MultivariateNormalTriL {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("MultivariateNormalTriL.log_prob", x)?;
        // The solve and the diagonal read only the lower triangle: no `tril` copy needed here.
        let (loc, l) = self.values("log_prob")?;
        let maha = crate::linalg::mahalanobis_sq(&l, x, &loc);
        // Two passes over the [..., batch] result: the constants fold into the [batch] log-det.
        Ok(maha * -0.5 - (Self::log_det(&l) + HALF_LOG_TWO_PI * self.d()))
    }

    fn mean(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.values("mean")?.0))
    }

    /// The diagonal of `L Lᵀ`: the squared norms of the rows of `L`.
    fn variance(&self) -> Result<Tensor> {
        let l = self.values("variance")?.1.tril(0);
        Ok(self.core.bcast(l.square().sum_dim_intlist(-1, false, None::<Kind>)))
    }

    fn mode(&self) -> Result<Tensor> {
        self.mean()
    }

    /// `Σ log|L_ii| + d (1 + log 2π) / 2`.
    fn entropy(&self) -> Result<Tensor> {
        let l = self.values("entropy")?.1;
        Ok((Self::log_det(&l) + self.d() * (0.5 + HALF_LOG_TWO_PI)).broadcast_to(self.core.batch_shape()))
    }

    /// The covariance `L Lᵀ`, shape `batch_shape + [d, d]`.
    fn covariance(&self) -> Result<Tensor> {
        let l = self.values("covariance")?.1.tril(0);
        let mut shape = self.core.batch_shape().to_vec();
        shape.extend([self.core.event_shape()[0]; 2]);
        Ok(l.matmul(&l.transpose(-1, -2)).broadcast_to(shape.as_slice()))
    }
}
