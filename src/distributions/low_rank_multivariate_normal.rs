//! The multivariate Normal distribution with a low-rank-plus-diagonal covariance.

use super::family::{declare_family, family_methods, Constraint};
use super::{Distribution, HALF_LOG_TWO_PI};
use crate::linalg::{matvec, solve_lower_vec};
use anyhow::Result;
use tch::{Kind, Tensor};

declare_family! {
    /// `LowRankMultivariateNormal(loc, cov_factor, cov_diag)` (torch's): the multivariate normal
    /// with covariance `Σ = W Wᵀ + diag(D)`, `W = cov_factor` of rank `r`, `D = cov_diag > 0`.
    ///
    /// `loc` has shape `[..., d]`, `cov_factor` `[..., d, r]`, `cov_diag` `[..., d]`;
    /// `batch_shape` is the broadcast of their leading shapes, `event_shape` is `[d]`. Every
    /// method goes through the `r × r` capacitance `C = I + Wᵀ D⁻¹ W = L_C L_Cᵀ` (one batched
    /// Cholesky factorisation per call), never through `Σ` or its inverse (torch's forms):
    ///
    /// * `log_prob(x) = -(δᵀD⁻¹δ - |L_C⁻¹ Wᵀ D⁻¹ δ|²)/2 - log|Σ|/2 - d log(2π)/2`, `δ = x - loc`
    ///   (Woodbury), with `log|Σ| = 2 Σ log L_C,ii + Σ log D_i` (the matrix determinant lemma);
    /// * `sample`/`rsample`: `loc + W ε_r + √D ε_d`, `ε_r ~ N(0, I_r)`, `ε_d ~ N(0, I_d)`;
    /// * mean and mode `loc`, variance `Σ_j W_ij² + D_i`, entropy `d (1 + log 2π)/2 + log|Σ|/2`;
    ///   `covariance` is `W Wᵀ + diag(D)`, [`LowRankMultivariateNormal::precision_matrix`] and
    ///   [`LowRankMultivariateNormal::scale_tril`] torch's forms.
    ///
    /// A `cov_diag` that is not positive gives NaN (an error with validation on). `make_trainable`
    /// does not take it (the rank `r` is not part of `event_shape`); a trainable one is built from
    /// parameters (`TransformedVariable` with `Softplus` for `cov_diag`).
    LowRankMultivariateNormal, support: Constraint::RealVector; event_ndims: 1,
    new(
        /// The location, `[..., d]`.
        loc[1]: Constraint::RealVector,
        /// The factor `W`, `[..., d, r]`.
        cov_factor[2; 1]: Constraint::Real,
        /// The diagonal `D`, `[..., d]`.
        cov_diag[1]: Constraint::Positive,
    )
}

/// The values a low-rank normal's methods share: `loc`, `W`, `D`, `Wᵀ D⁻¹` (`[..., r, d]`) and
/// the capacitance's Cholesky factor `L_C` (`[..., r, r]`, NaN where `C` is not positive
/// definite).
pub(crate) struct LowRankParts {
    pub(crate) loc: Tensor,
    pub(crate) w: Tensor,
    pub(crate) diag: Tensor,
    pub(crate) wt_dinv: Tensor,
    pub(crate) cap_tril: Tensor,
}

impl LowRankParts {
    /// `log|Σ| / 2 = Σ log L_C,ii + Σ log D_i / 2`.
    pub(crate) fn half_log_det(&self) -> Tensor {
        let sum = |t: Tensor| t.sum_dim_intlist(-1, false, None::<Kind>);
        sum(self.cap_tril.diagonal(0, -2, -1).log()) + sum(self.diag.log()) * 0.5
    }
}

impl LowRankMultivariateNormal {
    /// The shared values for the method `method`.
    pub(crate) fn parts(&self, method: &str) -> Result<LowRankParts> {
        let [loc, w, diag] = self.core.values(&self.core.op(method))?;
        let wt_dinv = w.transpose(-1, -2) / diag.unsqueeze(-2);
        let r = w.size()[w.dim() - 1];
        let cap = wt_dinv.matmul(&w) + Tensor::eye(r, (w.kind(), w.device()));
        let (l, info) = cap.linalg_cholesky_ex(false, false);
        let ok = info.eq(0).unsqueeze(-1).unsqueeze(-1);
        let cap_tril = l.where_self(&ok, &l.full_like(f64::NAN));
        Ok(LowRankParts { loc, w, diag, wt_dinv, cap_tril })
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [loc, w, diag] = self.core.values(op)?;
        let mut shape_r = shape.clone();
        *shape_r.last_mut().expect("event dimension") = w.size()[w.dim() - 1];
        let options = (self.dtype(), self.device());
        let eps_r = Tensor::randn(shape_r.as_slice(), options);
        let eps_d = Tensor::randn(shape.as_slice(), options);
        Ok(loc + matvec(&w, &eps_r) + diag.sqrt() * eps_d)
    }

    /// The event size `d`.
    fn d(&self) -> i64 {
        self.core.event_shape()[0]
    }

    /// `batch_shape + [d, d]`.
    fn matrix_shape(&self) -> Vec<i64> {
        let mut shape = self.core.batch_shape().to_vec();
        shape.extend([self.d(); 2]);
        shape
    }

    /// `Σ⁻¹ = D⁻¹ - D⁻¹ W C⁻¹ Wᵀ D⁻¹` (Woodbury, torch's form), shape `batch_shape + [d, d]`.
    pub fn precision_matrix(&self) -> Result<Tensor> {
        let p = self.parts("precision_matrix")?;
        // A = L_C⁻¹ Wᵀ D⁻¹, so D⁻¹ W C⁻¹ Wᵀ D⁻¹ = Aᵀ A.
        let a = Tensor::linalg_solve_triangular(&p.cap_tril, &p.wt_dinv, false, true, false);
        Ok((p.diag.reciprocal().diag_embed(0, -2, -1) - a.transpose(-1, -2).matmul(&a))
            .broadcast_to(self.matrix_shape()))
    }

    /// The lower-triangular `L` with `Σ = L Lᵀ`: `√D · chol(I + D^-½ W Wᵀ D^-½)` (torch's
    /// form, a `d × d` factorisation), shape `batch_shape + [d, d]`.
    pub fn scale_tril(&self) -> Result<Tensor> {
        let [_, w, diag] = self.core.values(&self.core.op("scale_tril"))?;
        let sqrt_d = diag.sqrt().unsqueeze(-1);
        let scaled = &w / &sqrt_d;
        let k = scaled.matmul(&scaled.transpose(-1, -2)) + Tensor::eye(self.d(), (w.kind(), w.device()));
        let (l, info) = k.linalg_cholesky_ex(false, false);
        let l = l.where_self(&info.eq(0).unsqueeze(-1).unsqueeze(-1), &l.full_like(f64::NAN));
        Ok((sqrt_d * l).broadcast_to(self.matrix_shape()))
    }
}

impl Distribution for LowRankMultivariateNormal {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("LowRankMultivariateNormal.log_prob", x)?;
        let p = self.parts("log_prob")?;
        let delta = x - &p.loc;
        let sum = |t: Tensor| t.sum_dim_intlist(-1, false, None::<Kind>);
        let whole = sum(delta.square() / &p.diag);
        let low_rank = sum(solve_lower_vec(&p.cap_tril, &matvec(&p.wt_dinv, &delta)).square());
        Ok((whole - low_rank) * -0.5 - (p.half_log_det() + HALF_LOG_TWO_PI * self.d() as f64))
    }

    fn mean(&self) -> Result<Tensor> {
        let [loc, _, _] = self.core.values(&self.core.op("mean"))?;
        Ok(self.core.bcast(loc))
    }

    /// `Σ_j W_ij² + D_i`.
    fn variance(&self) -> Result<Tensor> {
        let [_, w, diag] = self.core.values(&self.core.op("variance"))?;
        Ok(self.core.bcast(w.square().sum_dim_intlist(-1, false, None::<Kind>) + diag))
    }

    fn mode(&self) -> Result<Tensor> {
        self.mean()
    }

    /// `d (1 + log 2π)/2 + log|Σ|/2`.
    fn entropy(&self) -> Result<Tensor> {
        let h = self.parts("entropy")?.half_log_det() + self.d() as f64 * (0.5 + HALF_LOG_TWO_PI);
        Ok(h.broadcast_to(self.core.batch_shape()))
    }

    /// `W Wᵀ + diag(D)`, shape `batch_shape + [d, d]`.
    fn covariance(&self) -> Result<Tensor> {
        let [_, w, diag] = self.core.values(&self.core.op("covariance"))?;
        let cov = w.matmul(&w.transpose(-1, -2)) + diag.diag_embed(0, -2, -1);
        Ok(cov.broadcast_to(self.matrix_shape()))
    }
}
