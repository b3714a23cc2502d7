//! Pathwise gradients of mixture draws: implicit reparameterization through the mixture's
//! conditional cdfs (the distributional transform), for `MixtureSameFamily::rsample`.
//!
//! For a draw `x` (held fixed) of a mixture with `d` event elements, the distributional transform
//! `u_i = F(x_i | x_<i; θ)` maps `x` to independent uniforms. Holding `u` fixed,
//! `dx/dθ = -J⁻¹ ∂F/∂θ` with `J = ∂F/∂x` lower triangular (its diagonal the conditional
//! densities): the implicit reparameterization gradient (Figurnov, Mohamed and Mnih 2018; TFP's
//! `MixtureSameFamily(reparameterize=True)`). It is realised without a custom autograd function
//! as `x - J⁻¹ (F(x; θ) - stop_gradient(F(x; θ)))` with `J` computed (by autograd, one pass per
//! event element) and detached: the value is `x`, the gradient `-J⁻¹ ∂F/∂θ`.
//!
//! The conditional cdf of event element `i` is `Σ_k w_ki G_ki` with `w_k· = softmax_k(log π_k +
//! Σ_{j<i} c_kj)`, where component `k`'s conditional log density and cdf of element `j` given the
//! earlier ones are `c_kj` and `G_kj`:
//! * scalar components: `c = log_prob(x)`, `G = cdf(x)` (`d = 1`);
//! * `Independent` of a scalar family over one dimension: the same per element;
//! * the Gaussian families with a triangular factor `L` (MultivariateNormalTriL, MultivariateNormal,
//!   MultivariateNormalDiag, LowRankMultivariateNormal through its `scale_tril`): with
//!   `z = L⁻¹(x - μ)`, `c_kj = log φ(z_kj) - log L_kjj` and `G_kj = Φ(z_kj)`: the conditional of
//!   element `j` is `N(μ_j + Σ_{l<j} L_jl z_l, L_jj²)`. TFP refuses these components
//!   (tensorflow/probability#1548) and torch has no mixture rsample (pytorch#39178).

use super::{
    Distribution, Independent, LowRankMultivariateNormal, MixtureSameFamily, MultivariateNormal,
    MultivariateNormalDiag, MultivariateNormalTriL,
};
use anyhow::{anyhow, bail, Result};
use tch::{Kind, Tensor};

/// `log φ(z) = -z²/2 - log(2π)/2`.
fn log_phi(z: &Tensor) -> Tensor {
    -z.square() * 0.5 - super::HALF_LOG_TWO_PI
}

/// `Φ(z)`, accurate in the left tail (`erfc`).
fn ndtr(z: &Tensor) -> Tensor {
    (-z / std::f64::consts::SQRT_2).erfc() * 0.5
}

/// The mean and lower-triangular scale of a Gaussian component family, if it is one.
fn gaussian(d: &dyn Distribution) -> Option<Result<(Tensor, Tensor)>> {
    let any = d.as_any();
    if let Some(m) = any.downcast_ref::<MultivariateNormalTriL>() {
        return Some(m.scale_tril().and_then(|l| Ok((m.loc().value()?, l))));
    }
    if let Some(m) = any.downcast_ref::<MultivariateNormal>() {
        return Some(m.scale_tril().and_then(|l| Ok((m.loc().value()?, l))));
    }
    if let Some(m) = any.downcast_ref::<MultivariateNormalDiag>() {
        return Some((|| Ok((m.loc().value()?, m.scale_diag().value()?.abs().diag_embed(0, -2, -1))))());
    }
    if let Some(m) = any.downcast_ref::<LowRankMultivariateNormal>() {
        return Some(m.scale_tril().and_then(|l| Ok((m.mean()?, l))));
    }
    None
}

/// `(c, G)`, each `[..., K, d]`, for points `x` (`[..., d]`, or `[...]` for scalar components)
/// against every component.
fn conditionals(op: &str, components: &dyn Distribution, x: &Tensor) -> Result<(Tensor, Tensor)> {
    let e = components.event_shape();
    match e.len() {
        0 => {
            let xk = x.unsqueeze(-1);
            let (c, g) = (components.log_prob(&xk)?, components.cdf(&xk).map_err(|err| no_cdf(op, err))?);
            Ok((c.unsqueeze(-1), g.unsqueeze(-1)))
        }
        1 => {
            let xk = x.unsqueeze(-2); // [..., 1, d] against the K components
            if let Some(parts) = gaussian(components) {
                let (loc, l) = parts?;
                let z = crate::linalg::solve_lower_vec(&l, &(xk - loc));
                let log_diag = l.diagonal(0, -2, -1).log();
                return Ok((log_phi(&z) - log_diag, ndtr(&z)));
            }
            if let Some(ind) = components.as_any().downcast_ref::<Independent>() {
                if ind.reinterpreted_batch_ndims() == 1 && ind.base().event_shape().is_empty() {
                    let base = ind.base();
                    return Ok((base.log_prob(&xk)?, base.cdf(&xk).map_err(|err| no_cdf(op, err))?));
                }
            }
            bail!(
                "{op}: not implemented for components {} (implicit reparameterization needs scalar components with a \
                 cdf, an Independent of them over one dimension, or a Gaussian family)",
                components.type_name()
            )
        }
        _ => bail!("{op}: not implemented for events of rank {} (at most 1)", e.len()),
    }
}

fn no_cdf(op: &str, e: anyhow::Error) -> anyhow::Error {
    anyhow!("{op}: the components need a cdf for implicit reparameterization: {e}")
}

/// `F(x_i | x_<i)` for every event element, `[..., d]`.
fn conditional_cdfs(op: &str, m: &MixtureSameFamily, x: &Tensor) -> Result<Tensor> {
    let (c, g) = conditionals(op, m.components(), x)?;
    // Σ_{j<i} c_kj: the exclusive cumulative sum along the event
    let before = c.cumsum(-1, None::<Kind>) - &c;
    let log_pi = m.mixture().log_probs()?.unsqueeze(-1);
    let log_w = (log_pi + before).log_softmax(-2, None::<Kind>);
    Ok((log_w.exp() * g).sum_dim_intlist(-2, false, None::<Kind>))
}

/// Whether `components` are of a kind the implicit reparameterization handles (scalar ones
/// still need a cdf, checked when drawing).
pub(crate) fn supported(components: &dyn Distribution) -> bool {
    match components.event_shape().len() {
        0 => true,
        1 => {
            gaussian(components).is_some()
                || components
                    .as_any()
                    .downcast_ref::<Independent>()
                    .is_some_and(|i| i.reinterpreted_batch_ndims() == 1 && i.base().event_shape().is_empty())
        }
        _ => false,
    }
}

/// The reparameterized draw of `m` (see the module documentation).
pub(crate) fn rsample(m: &MixtureSameFamily, sample_shape: &[i64]) -> Result<Tensor> {
    let op = "MixtureSameFamily.rsample";
    let x = m.sample(sample_shape)?.detach();
    let scalar = m.event_shape().is_empty();
    let xv = if scalar { x.unsqueeze(-1) } else { x.shallow_clone() };
    let d = xv.size()[xv.dim() - 1];
    // J = ∂F/∂x, lower triangular, detached: one backward pass per event element (the points
    // are independent, so the gradient of the sum of F_i over the points is row i of J)
    let j = {
        let xg = xv.detach().set_requires_grad(true);
        let point = if scalar { xg.squeeze_dim(-1) } else { xg.shallow_clone() };
        let f = tch::with_grad(|| conditional_cdfs(op, m, &point))?;
        let mut rows = Vec::with_capacity(d as usize);
        for i in 0..d {
            let fi = f.select(-1, i).sum(Kind::Double);
            let g = Tensor::run_backward(&[fi], &[&xg], i + 1 < d, false);
            rows.push(g[0].detach());
        }
        Tensor::stack(&rows, -2) // [..., d (row i), d]
    };
    let f = conditional_cdfs(op, m, &x)?;
    let step = &f - f.detach();
    let delta = Tensor::linalg_solve_triangular(&j, &step.unsqueeze(-1), false, true, false).squeeze_dim(-1);
    let xr = xv - delta;
    Ok(if scalar { xr.squeeze_dim(-1) } else { xr })
}
