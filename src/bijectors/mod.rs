//! Bijectors: invertible, differentiable maps with log-det-Jacobians (TFP semantics).
//!
//! A [`Bijector`] maps `x` to `y = f(x)`. It acts on the rightmost `forward_min_event_ndims`
//! dimensions of `x` as one event; leading dimensions are batch dimensions. Its
//! [`Bijector::forward_log_det_jacobian`] is `log|det df/dx|` over that event, so its shape is the
//! batch shape of `x`. [`Bijector::forward_log_det_jacobian_reduced`] also sums over extra
//! event dimensions, as TFP's `forward_log_det_jacobian(x, event_ndims)` does.
//!
//! A bijector defines [`Bijector::forward`], [`Bijector::inverse`] and
//! [`Bijector::forward_log_det_jacobian`]; everything else has a default, which a bijector
//! overrides where it saves work or is more accurate. The trait is object safe: chains hold
//! `Arc<dyn Bijector>`, and users implement their own bijectors with it.

mod abs;
mod affine;
mod batch_normalization;
mod biject_to;
mod cat;
mod chain;
mod cholesky_outer_product;
mod concat;
mod cumsum;
mod correlation_cholesky;
mod cumulative_distribution;
mod elementwise;
mod embedding;
mod exp;
mod expm1;
mod fill_scale_tril;
pub(crate) mod fill_triangular;
mod flow_transform;
mod generalized_pareto;
mod identity;
mod independent_transform;
mod invert;
mod log1p;
mod lower_cholesky;
mod masked_autoregressive_flow;
mod normal_cdf;
mod ordered;
mod pad;
mod param;
mod permute;
mod positive_definite;
mod power;
mod rational_quadratic_spline;
mod real_nvp;
mod reciprocal;
mod reshape;
mod scale;
mod scale_matvec_tril;
mod shift;
mod sigmoid;
mod sinh_arcsinh;
mod softmax;
mod softmax_centered;
mod softplus;
mod split;
mod stack;
mod stick_breaking;
mod tanh;
pub mod testing;
mod transform_diagonal;

pub use abs::Abs;
pub use affine::Affine;
pub use batch_normalization::BatchNormalization;
pub use biject_to::{biject_to, transform_to};
pub use cat::Cat;
pub use chain::{chain_min_event_ndims, event_ndims_after, Chain};
pub use cholesky_outer_product::CholeskyOuterProduct;
pub use concat::{ConcatConstant, Position};
pub use correlation_cholesky::CorrelationCholesky;
pub use cumsum::Cumsum;
pub use cumulative_distribution::CumulativeDistribution;
pub use exp::Exp;
pub use expm1::Expm1;
pub use fill_scale_tril::FillScaleTriL;
pub use fill_triangular::{triangular_rows, FillTriangular};
pub use flow_transform::{transform_from_json, AffineTransform, ElementwiseTransform, SplineTransform};
pub use generalized_pareto::GeneralizedParetoTransform;
pub use identity::Identity;
pub use independent_transform::IndependentTransform;
pub use invert::Invert;
pub use log1p::Log1p;
pub use lower_cholesky::LowerCholesky;
pub use masked_autoregressive_flow::MaskedAutoregressiveFlow;
pub use normal_cdf::NormalCdf;
pub use ordered::Ordered;
pub use pad::Pad;
pub use permute::Permute;
pub use positive_definite::PositiveDefinite;
pub use power::{Power, Square};
pub use rational_quadratic_spline::{
    rqs_forward, rqs_inverse, RationalQuadraticSpline, SplineParams, DEFAULT_MIN_BIN_HEIGHT, DEFAULT_MIN_BIN_WIDTH,
    DEFAULT_MIN_SLOPE,
};
pub use real_nvp::RealNvp;
pub use reciprocal::Reciprocal;
pub use reshape::Reshape;
pub use scale::Scale;
pub use scale_matvec_tril::ScaleMatvecTriL;
pub use shift::Shift;
pub use sigmoid::Sigmoid;
pub use sinh_arcsinh::SinhArcsinh;
pub use softmax::Softmax;
pub use softmax_centered::SoftmaxCentered;
pub use softplus::Softplus;
pub use split::Split;
pub use stack::Stack;
pub use stick_breaking::StickBreaking;
pub use tanh::Tanh;
pub use transform_diagonal::TransformDiagonal;

use crate::shape::{check_float, check_min_rank, fmt_shape};
use anyhow::{bail, Result};
use tch::Tensor;

/// An invertible map `y = f(x)` with its log-det-Jacobian.
pub trait Bijector {
    /// The bijector's name, as TFP prints it (`"softplus"`, `"exp"`, ...).
    fn name(&self) -> String;

    /// The number of rightmost dimensions of `x` that form one event of the forward map.
    fn forward_min_event_ndims(&self) -> usize;

    /// The number of rightmost dimensions of `y` that form one event of the inverse map.
    fn inverse_min_event_ndims(&self) -> usize {
        self.forward_min_event_ndims()
    }

    /// `y = f(x)`.
    fn forward(&self, x: &Tensor) -> Result<Tensor>;

    /// `x = f⁻¹(y)`.
    fn inverse(&self, y: &Tensor) -> Result<Tensor>;

    /// `log|det J_f(x)|` over the bijector's `forward_min_event_ndims` rightmost dimensions of
    /// `x`. Its shape is the rest of `x`'s shape, or broadcasts to it (a constant Jacobian may
    /// return a scalar).
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor>;

    /// `log|det J_f⁻¹(y)|` over `inverse_min_event_ndims` dimensions; defaults to
    /// `-forward_log_det_jacobian(inverse(y))`.
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        Ok(-self.forward_log_det_jacobian(&self.inverse(y)?)?)
    }

    /// `(f(x), log|det J_f(x)|)` together; override when both share work.
    fn forward_and_log_det(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((self.forward(x)?, self.forward_log_det_jacobian(x)?))
    }

    /// `(f⁻¹(y), log|det J_f⁻¹(y)|)` together; override when both share work.
    fn inverse_and_log_det(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((self.inverse(y)?, self.inverse_log_det_jacobian(y)?))
    }

    /// The event shape of `y` for an `x` event of shape `input` (identity by default). `input`
    /// may carry leading batch dimensions; only its last `forward_min_event_ndims` change.
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        Ok(input.to_vec())
    }

    /// The event shape of `x` for a `y` event of shape `output` (identity by default).
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        Ok(output.to_vec())
    }

    /// Whether the log-det-Jacobian is the same for every `x` (TFP's `is_constant_jacobian`).
    fn is_constant_jacobian(&self) -> bool {
        false
    }

    /// The concrete bijector as `Any`, for the library's closed forms to recognise its own
    /// bijectors behind an `Arc<dyn Bijector>` ([`crate::mixture_nll`]); `None` (the default)
    /// keeps a bijector on the general path.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }

    /// The trainable variables of the bijector's parameters (a learnable `Shift`, a flow's
    /// networks), with their full `VarStore` names; composites (`Chain`, `Invert`, ...) report
    /// their members'. The default is none, so a user bijector without variables needs nothing.
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        vec![]
    }

    /// `forward_log_det_jacobian` summed over `event_ndims` rightmost dimensions of `x`
    /// (TFP's `forward_log_det_jacobian(x, event_ndims)`), `event_ndims >= forward_min_event_ndims`.
    fn forward_log_det_jacobian_reduced(&self, x: &Tensor, event_ndims: usize) -> Result<Tensor> {
        let op = format!("{}.forward_log_det_jacobian", self.name());
        let min = self.forward_min_event_ndims();
        check_event_ndims(&op, x, event_ndims, min)?;
        reduce_log_det(&op, &self.forward_log_det_jacobian(x)?, &x.size(), min, event_ndims)
    }

    /// `inverse_log_det_jacobian` summed over `event_ndims` rightmost dimensions of `y`.
    fn inverse_log_det_jacobian_reduced(&self, y: &Tensor, event_ndims: usize) -> Result<Tensor> {
        let op = format!("{}.inverse_log_det_jacobian", self.name());
        let min = self.inverse_min_event_ndims();
        check_event_ndims(&op, y, event_ndims, min)?;
        reduce_log_det(&op, &self.inverse_log_det_jacobian(y)?, &y.size(), min, event_ndims)
    }
}

/// The variables of several lists in order, each name once (a bijector shared by two members of
/// a chain, or a variable behind two parameters, is listed once). For composite bijectors and
/// distributions.
pub fn unique_variables(lists: impl IntoIterator<Item = Vec<(String, Tensor)>>) -> Vec<(String, Tensor)> {
    let mut seen = std::collections::HashSet::new();
    lists.into_iter().flatten().filter(|(name, _)| seen.insert(name.clone())).collect()
}

/// The event shape `[..., K]` of a map from `R^{K-1}` onto the `K`-simplex for an input of
/// shape `[..., K-1]` (`forward`), or back (`!forward`, `K >= 1`); `name` is the bijector's.
pub(crate) fn simplex_event_shape(name: &str, shape: &[i64], forward: bool) -> Result<Vec<i64>> {
    match (shape.split_last(), forward) {
        (Some((&n, lead)), true) => Ok([lead, &[n + 1]].concat()),
        (Some((&k, lead)), false) if k >= 1 => Ok([lead, &[k - 1]].concat()),
        (_, true) => anyhow::bail!("{name}.forward_event_shape: expected a shape with at least 1 dimension, got []"),
        (_, false) => {
            anyhow::bail!("{name}.inverse_event_shape: expected a shape [..., K] with K >= 1, got {shape:?}")
        }
    }
}

/// Checks an input of a bijector method on matrices: a float batch of square matrices
/// `[..., n, n]`; returns `n`.
pub(crate) fn check_square(op: &str, what: &str, t: &Tensor) -> Result<i64> {
    check_input(op, what, t, 2)?;
    let s = t.size();
    let (r, c) = (s[s.len() - 2], s[s.len() - 1]);
    if r != c {
        anyhow::bail!(
            "{op}: expected {what} of square matrices [..., n, n], got shape {}",
            crate::shape::fmt_shape(&s)
        );
    }
    Ok(r)
}

/// Checks an input of a bijector method: a float tensor with at least `min_ndims` dimensions.
pub fn check_input(op: &str, what: &str, t: &Tensor, min_ndims: usize) -> Result<()> {
    check_float(op, what, t)?;
    check_min_rank(op, what, t, min_ndims)
}

/// Checks an input of a bijector on vectors of size `n` (a flow layer, a permutation): float,
/// at least one dimension, the last of size `n`, and, given `like` (the layer's weights), its
/// dtype and device.
pub(crate) fn check_vector(op: &str, what: &str, t: &Tensor, n: i64, like: Option<&Tensor>) -> Result<()> {
    check_input(op, what, t, 1)?;
    let s = t.size();
    if s[s.len() - 1] != n {
        bail!("{op}: expected {what} of shape [..., {n}] (the bijector's event size), got {}", fmt_shape(&s));
    }
    if let Some(w) = like {
        crate::shape::check_tensor(op, what, t, w.kind(), w.device())?;
    }
    Ok(())
}

/// The event-shape map of a bijector on vectors of size `n`: the identity on `[..., n]`.
pub(crate) fn vector_event_shape(op: &str, shape: &[i64], n: i64) -> Result<Vec<i64>> {
    if shape.last() != Some(&n) {
        bail!("{op}: expected an event shape [..., {n}], got {}", fmt_shape(shape));
    }
    Ok(shape.to_vec())
}

fn check_event_ndims(op: &str, t: &Tensor, event_ndims: usize, min: usize) -> Result<()> {
    if event_ndims < min {
        bail!("{op}: event_ndims must be at least the bijector's min event ndims {min}, got {event_ndims}");
    }
    check_input(op, "input", t, event_ndims)
}

/// Sums a log-det computed over `min` event dimensions of an input of shape `input_shape` over
/// `event_ndims` dimensions. A log-det of lower rank (a constant Jacobian) is broadcast to the
/// input's batch shape first; one of a larger broadcast shape (a bijector whose parameter
/// broadcasts the output, e.g. `Shift` by a `[3]` tensor on a scalar) keeps that shape, as in TFP.
pub fn reduce_log_det(op: &str, ldj: &Tensor, input_shape: &[i64], min: usize, event_ndims: usize) -> Result<Tensor> {
    let full = &input_shape[..input_shape.len() - min];
    let ldj = if ldj.size() == full {
        ldj.shallow_clone()
    } else {
        let target = crate::shape::broadcast_shapes(op, &ldj.size(), full).map_err(|_| {
            anyhow::anyhow!(
                "{op}: log-det of shape {} does not broadcast with the batch shape {}",
                fmt_shape(&ldj.size()),
                fmt_shape(full)
            )
        })?;
        ldj.broadcast_to(target.as_slice())
    };
    Ok(crate::shape::sum_last(&ldj, event_ndims - min))
}
