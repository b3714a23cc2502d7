//! Closed-form KL divergences between the multivariate Gaussian families.

use super::KlFamily;
use crate::distributions::{
    Distribution, LowRankMultivariateNormal, LowRankParts, MultivariateNormal, MultivariateNormalDiag,
    MultivariateNormalTriL,
};
use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// Any of the Gaussian families (a triangular factor or a low-rank-plus-diagonal covariance), as
/// one side of a rule.
pub(super) struct Gaussian;

impl KlFamily for Gaussian {
    const NAMES: &'static [&'static str] =
        &["MultivariateNormalTriL", "MultivariateNormalDiag", "MultivariateNormal", "LowRankMultivariateNormal"];
    type View<'a> = &'a dyn Distribution;
    fn view(d: &dyn Distribution) -> Option<&dyn Distribution> {
        let any = d.as_any();
        (any.is::<MultivariateNormalTriL>()
            || any.is::<MultivariateNormal>()
            || any.is::<MultivariateNormalDiag>()
            || any.is::<LowRankMultivariateNormal>())
        .then_some(d)
    }
}

/// How a Gaussian's covariance `Σ` enters the KL: a factor `B` with `Σ = B Bᵀ` (for `p`), the
/// quadratic form `tr(Mᵀ Σ⁻¹ M)` (for `q`) and `log|Σ|/2`.
enum Covariance {
    /// `Σ = L Lᵀ`, `L` lower-triangular.
    Tril(Tensor),
    /// `Σ = W Wᵀ + diag(D)`, through the capacitance (Woodbury).
    LowRank(LowRankParts),
}

impl Covariance {
    /// The mean and covariance of a Gaussian family: `scale_tril` for MultivariateNormalTriL
    /// and MultivariateNormal, `diag_embed(scale_diag)` for MultivariateNormalDiag, the low-rank
    /// parts for LowRankMultivariateNormal.
    fn of(d: &dyn Distribution) -> Result<(Tensor, Covariance)> {
        let any = d.as_any();
        let cov = if let Some(d) = any.downcast_ref::<MultivariateNormalTriL>() {
            Covariance::Tril(d.scale_tril()?)
        } else if let Some(d) = any.downcast_ref::<MultivariateNormal>() {
            Covariance::Tril(d.scale_tril()?)
        } else if let Some(d) = any.downcast_ref::<MultivariateNormalDiag>() {
            Covariance::Tril(d.scale_diag().value()?.diag_embed(0, -2, -1))
        } else if let Some(d) = any.downcast_ref::<LowRankMultivariateNormal>() {
            Covariance::LowRank(d.parts("kl_divergence")?)
        } else {
            bail!("kl_divergence: {} is not a Gaussian family", d.type_name())
        };
        Ok((d.mean()?, cov))
    }

    /// `log|Σ| / 2`.
    fn half_log_det(&self) -> Tensor {
        match self {
            Covariance::Tril(l) => l.diagonal(0, -2, -1).abs().log().sum_dim_intlist(-1, false, None::<Kind>),
            Covariance::LowRank(p) => p.half_log_det(),
        }
    }

    /// A factor `B` (`[..., d, k]`) with `Σ = B Bᵀ`: `L`, or `[W, diag(√D)]`.
    fn factor(&self) -> Result<Tensor> {
        Ok(match self {
            Covariance::Tril(l) => l.shallow_clone(),
            Covariance::LowRank(p) => {
                let (w, root) = (&p.w, p.diag.sqrt().diag_embed(0, -2, -1));
                let batch = crate::shape::broadcast_shapes(
                    "kl_divergence",
                    &w.size()[..w.dim() - 2],
                    &root.size()[..root.dim() - 2],
                )?;
                let expand = |t: &Tensor| {
                    let mut shape = batch.clone();
                    shape.extend_from_slice(&t.size()[t.dim() - 2..]);
                    t.broadcast_to(shape.as_slice())
                };
                Tensor::cat(&[expand(w), expand(&root)], -1)
            }
        })
    }

    /// `tr(Mᵀ Σ⁻¹ M)` for `M` of shape `[..., d, k]`: `|L⁻¹ M|²_F`, or (Woodbury)
    /// `|D^-½ M|²_F - |L_C⁻¹ Wᵀ D⁻¹ M|²_F`.
    fn inverse_quadratic(&self, m: &Tensor) -> Tensor {
        let frobenius = |t: Tensor| t.square().sum_dim_intlist([-2, -1].as_slice(), false, None::<Kind>);
        match self {
            Covariance::Tril(l) => frobenius(Tensor::linalg_solve_triangular(l, m, false, true, false)),
            Covariance::LowRank(p) => {
                let whole = frobenius(m / p.diag.sqrt().unsqueeze(-1));
                let low = Tensor::linalg_solve_triangular(&p.cap_tril, &p.wt_dinv.matmul(m), false, true, false);
                whole - frobenius(low)
            }
        }
    }
}

/// `log|Σq|/2 - log|Σp|/2 + (tr(Σq⁻¹ Σp) + (μq - μp)ᵀ Σq⁻¹ (μq - μp) - d) / 2` for every ordered
/// pair of the Gaussian families, with `tr(Σq⁻¹ Σp) = tr(Bpᵀ Σq⁻¹ Bp)` for a factor `Bp` of
/// `Σp` ([`Covariance`]): triangular solves, and the capacitance for a low-rank `q` (never a
/// `d × d` inverse).
pub(super) fn gaussian_gaussian(p: &dyn Distribution, q: &dyn Distribution) -> Result<Tensor> {
    let d = p.event_shape()[0];
    let ((mp, cp), (mq, cq)) = (Covariance::of(p)?, Covariance::of(q)?);
    let trace = cq.inverse_quadratic(&cp.factor()?);
    let maha = cq.inverse_quadratic(&(mq - mp).unsqueeze(-1));
    Ok(cq.half_log_det() - cp.half_log_det() + (trace + maha - d as f64) * 0.5)
}

/// `Σ_i [log|sq_i/sp_i| + ((sp_i/sq_i)² + ((μp_i - μq_i)/sq_i)² - 1) / 2]`: the triangular form
/// with diagonal factors, elementwise.
pub(super) fn diag_diag(p: &MultivariateNormalDiag, q: &MultivariateNormalDiag) -> Result<Tensor> {
    let (mp, sp) = (p.loc().value()?, p.scale_diag().value()?);
    let (mq, sq) = (q.loc().value()?, q.scale_diag().value()?);
    let ratio = (&sp / &sq).square();
    let diff = ((mp - mq) / &sq).square();
    let terms = (ratio.shallow_clone() + diff - 1.0 - ratio.log()) * 0.5;
    Ok(terms.sum_dim_intlist(-1, false, None::<Kind>))
}
