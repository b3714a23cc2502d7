//! The multivariate Student's t distribution parameterised by a lower-triangular scale.

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::standard_gamma;
use super::Distribution;
use crate::linalg::{lower_matvec, mahalanobis_sq};
use anyhow::Result;
use tch::{Kind, Tensor};

const HALF_LOG_PI: f64 = 0.572_364_942_924_700_1;

declare_family! {
    /// `MultivariateStudentT(df, loc, scale_tril)` (`ν`, `μ`, `L`; TFP's
    /// `MultivariateStudentTLinearOperator` with a lower-triangular scale, Pyro's
    /// `MultivariateStudentT`): `x = μ + L z / √(χ²_ν/ν)`, `z ~ N(0, I_d)`.
    ///
    /// `df` has shape `[...]`, `loc` `[..., d]`, `scale_tril` `[..., d, d]` (only its lower
    /// triangle is read); `batch_shape` is the broadcast of their leading shapes, `event_shape`
    /// is `[d]`.
    ///
    /// * `log_prob(x) = -(ν+d)/2 · log1p(|L⁻¹(x - μ)|²/ν) + lgamma((ν+d)/2) - lgamma(ν/2)
    ///   - d/2 · log(νπ) - Σ log|L_ii|` (one batched triangular solve);
    /// * `sample`/`rsample`: `μ + L z · (2g/ν)^-½`, `g ~ Gamma(ν/2, 1)` (libtorch's
    ///   reparameterized `_standard_gamma`): gradients flow to `ν`, `μ` and `L`;
    /// * mean `μ` where `ν > 1`, NaN elsewhere; covariance `ν/(ν-2) L Lᵀ` where `ν > 2`, `inf`
    ///   where `1 < ν <= 2`, NaN where `ν <= 1` (TFP and Pyro), variance its diagonal; mode `μ`;
    ///   entropy `Σ log|L_ii| + d/2 · log(νπ) + lgamma(ν/2) - lgamma((ν+d)/2)
    ///   + (ν+d)/2 · (ψ((ν+d)/2) - ψ(ν/2))`.
    /// * support real vectors; `make_trainable` learns `df` through `Softplus` and `scale_tril`
    ///   through `FillScaleTriL`.
    MultivariateStudentT, support: Constraint::RealVector; event_ndims: 1,
    new(
        /// The degrees of freedom `ν`, `[...]`.
        df: Constraint::Positive,
        /// The location `μ`, `[..., d]`.
        loc[1]: Constraint::RealVector,
        /// The scale as given (`[..., d, d]`, its upper triangle ignored).
        scale_tril[2] as scale_tril_parameter: Constraint::LowerTriangular,
    )
}

impl MultivariateStudentT {
    /// `μ + L z (2g/ν)^-½`, of shape `sample_shape + batch_shape + [d]`.
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [df, loc, l] = self.core.values(op)?;
        let z = Tensor::randn(shape.as_slice(), (self.dtype(), self.device()));
        let batch = &shape[..shape.len() - 1];
        let g = standard_gamma(&(&df * 0.5).expand(batch, false));
        let y = z * (g * 2.0 / df).rsqrt().unsqueeze(-1);
        Ok(lower_matvec(&l.tril(0), &y) + loc)
    }

    /// The lower-triangular scale `L` (upper triangle zeroed), with gradient.
    pub fn scale_tril(&self) -> Result<Tensor> {
        Ok(self.core.param(2).value()?.tril(0))
    }

    /// `(ν, μ, L)` for the method `method` (`L` as given: the upper triangle is not zeroed).
    fn values(&self, method: &str) -> Result<(Tensor, Tensor, Tensor)> {
        let [df, loc, l] = self.core.values(&self.core.op(method))?;
        Ok((df, loc, l))
    }

    /// The event size `d`.
    fn d(&self) -> f64 {
        self.core.event_shape()[0] as f64
    }

    /// `Σ log|L_ii| + d/2 log(νπ) + lgamma(ν/2) - lgamma((ν+d)/2)`: the log normaliser.
    fn log_normalizer(&self, df: &Tensor, l: &Tensor) -> Tensor {
        let d = self.d();
        let log_det = l.diagonal(0, -2, -1).abs().log().sum_dim_intlist(-1, false, None::<Kind>);
        log_det + (df.log() * 0.5 + HALF_LOG_PI) * d + (df * 0.5).lgamma() - ((df + d) * 0.5).lgamma()
    }

    /// `ν/(ν-2) t` where `ν > 2`, `inf` where `1 < ν <= 2`, NaN where `ν <= 1`; `df` has
    /// shape `[...]`, `t` `[..., k]` (`k = d`) or `[..., d, d]` (`matrix`).
    fn second_moment(df: &Tensor, t: Tensor, matrix: bool) -> Tensor {
        let mut df = df.unsqueeze(-1);
        if matrix {
            df = df.unsqueeze(-1);
        }
        let scaled = t * (&df / (&df - 2.0));
        let scaled = scaled.where_self(&df.gt(2.0), &scaled.full_like(f64::INFINITY));
        scaled.where_self(&df.gt(1.0), &scaled.full_like(f64::NAN))
    }
}

impl Distribution for MultivariateStudentT {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("MultivariateStudentT.log_prob", x)?;
        let (df, loc, l) = self.values("log_prob")?;
        let maha = mahalanobis_sq(&l, x, &loc);
        let kernel = (&maha / &df).log1p() * ((&df + self.d()) * -0.5);
        Ok(kernel - self.log_normalizer(&df, &l))
    }

    /// `μ` where `ν > 1`, NaN elsewhere.
    fn mean(&self) -> Result<Tensor> {
        let (df, loc, _) = self.values("mean")?;
        let loc = self.core.bcast(loc);
        let ok = self.core.bcast(df.gt(1.0).unsqueeze(-1));
        Ok(loc.where_self(&ok, &loc.full_like(f64::NAN)))
    }

    /// The diagonal of the covariance.
    fn variance(&self) -> Result<Tensor> {
        let (df, _, l) = self.values("variance")?;
        let rows = l.tril(0).square().sum_dim_intlist(-1, false, None::<Kind>);
        Ok(self.core.bcast(Self::second_moment(&df, rows, false)))
    }

    fn mode(&self) -> Result<Tensor> {
        let (_, loc, _) = self.values("mode")?;
        Ok(self.core.bcast(loc))
    }

    fn entropy(&self) -> Result<Tensor> {
        let (df, _, l) = self.values("entropy")?;
        let half = &df * 0.5;
        let half_nd = (&df + self.d()) * 0.5;
        let h = self.log_normalizer(&df, &l) + &half_nd * (half_nd.digamma() - half.digamma());
        Ok(h.broadcast_to(self.core.batch_shape()))
    }

    /// `ν/(ν-2) L Lᵀ` (with the `inf`/NaN cases of the variance), shape
    /// `batch_shape + [d, d]`.
    fn covariance(&self) -> Result<Tensor> {
        let (df, _, l) = self.values("covariance")?;
        let l = l.tril(0);
        let mut shape = self.core.batch_shape().to_vec();
        shape.extend([self.core.event_shape()[0]; 2]);
        let cov = Self::second_moment(&df, l.matmul(&l.transpose(-1, -2)), true);
        Ok(cov.broadcast_to(shape.as_slice()))
    }
}
