//! Closed-form KL divergences between the multivariate Gaussian families.

use super::KlFamily;
use crate::distributions::{Distribution, MultivariateNormal, MultivariateNormalDiag, MultivariateNormalTriL};
use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// Any of the Gaussian families with a lower-triangular factor, as one side of a rule.
pub(super) struct Gaussian;

impl KlFamily for Gaussian {
    const NAMES: &'static [&'static str] = &["MultivariateNormalTriL", "MultivariateNormalDiag", "MultivariateNormal"];
    type View<'a> = &'a dyn Distribution;
    fn view(d: &dyn Distribution) -> Option<&dyn Distribution> {
        let any = d.as_any();
        (any.is::<MultivariateNormalTriL>() || any.is::<MultivariateNormal>() || any.is::<MultivariateNormalDiag>())
            .then_some(d)
    }
}

/// The mean and lower-triangular scale (`Σ = L Lᵀ`) of a Gaussian family: `scale_tril` for
/// MultivariateNormalTriL and MultivariateNormal, `diag_embed(scale_diag)` for
/// MultivariateNormalDiag.
fn gaussian_factor(d: &dyn Distribution) -> Result<(Tensor, Tensor)> {
    let any = d.as_any();
    let l = if let Some(d) = any.downcast_ref::<MultivariateNormalTriL>() {
        d.scale_tril()?
    } else if let Some(d) = any.downcast_ref::<MultivariateNormal>() {
        d.scale_tril()?
    } else if let Some(d) = any.downcast_ref::<MultivariateNormalDiag>() {
        d.scale_diag().value()?.diag_embed(0, -2, -1)
    } else {
        bail!("kl_divergence: {} is not a Gaussian family with a triangular factor", d.type_name())
    };
    Ok((d.mean()?, l))
}

/// `Σ log|diag Lq| - Σ log|diag Lp| + (|Lq⁻¹ Lp|²_F + |Lq⁻¹ (μq - μp)|² - d) / 2`, with
/// triangular solves (`(μ, L)` from [`gaussian_factor`]).
pub(super) fn tril_tril(p: &dyn Distribution, q: &dyn Distribution) -> Result<Tensor> {
    let d = p.event_shape()[0];
    let ((mp, lp), (mq, lq)) = (gaussian_factor(p)?, gaussian_factor(q)?);
    let log_det = |l: &Tensor| l.diagonal(0, -2, -1).abs().log().sum_dim_intlist(-1, false, None::<Kind>);
    let m = Tensor::linalg_solve_triangular(&lq, &lp, false, true, false);
    let trace = m.square().sum_dim_intlist([-2, -1].as_slice(), false, None::<Kind>);
    let diff = (mq - mp).unsqueeze(-1);
    let maha = Tensor::linalg_solve_triangular(&lq, &diff, false, true, false).square().sum_dim_intlist(
        [-2, -1].as_slice(),
        false,
        None::<Kind>,
    );
    Ok(log_det(&lq) - log_det(&lp) + (trace + maha - d as f64) * 0.5)
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
