//! `log p(x)` of a Gaussian mixture as one autograd node ([`crate::host_function`]) whose
//! forward and backward are the host loop (or, for triangular scales with `d > 8`, the wide
//! loops): `MixtureSameFamily::log_prob` with a graph, for the event sizes the loops take on the
//! CPU (and the loops alone when no graph is needed). The node's
//! inputs are the points `[N, d]` and, for each parameter, the raw variable when its bijector
//! has a closed form in the loop (`FillScaleTriL` with a `Softplus` or `Exp` diagonal, `Softplus`,
//! `Exp`: [`Through`]), else the parameter's value with its own graph (other bijectors, a
//! network's output). One node then replaces the mixture's and the bijectors' thirty-odd.
//!
//! Its backward is the module's closed form with each point weighted by the output's gradient
//! (`host::weighted`, `wide::weighted`), plus `∂/∂x_n = -Σ_k w_nk L_k⁻ᵀ z_nk`. Asked for a graph of the gradients
//! (second derivatives), it records the same density in libtorch operations and differentiates
//! that instead ([`graph_log_prob`]).

use super::host::{self, Positive, Through, Weights};
use super::{closed_form, wide_loops, HostInputs, Parts, HOST_MAX_D, WIDE_FROM_WORK};
use crate::bijectors::{Bijector, Exp, FillScaleTriL, Softplus};
use crate::distributions::{Distribution, HALF_LOG_TWO_PI};
use crate::host_function::{self, HostFunction};
use crate::Parameter;
use anyhow::{anyhow, Result};
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// `model.log_prob(x)` by the host loop, for a model [`super::MixtureNll`] recognises (its
/// parameters may also be tensors with a graph of their own) that does not validate, on the CPU
/// in float32 or float64, for event sizes up to 8 (and larger ones with triangular scales, by
/// the wide loops): one autograd node when the result needs a graph, else the loop alone (or
/// the wide loop, as [`super::WIDE_FROM_WORK`] says); `None` otherwise. `x` is
/// `[..., d]`, already checked; the result is `[...]`.
pub(super) fn log_prob(model: &dyn Distribution, x: &Tensor) -> Result<Option<Tensor>> {
    let Ok(parts) = Parts::of(model) else { return Ok(None) };
    let (k, d) = (parts.k as usize, parts.d as usize);
    let shape = x.size();
    let n = shape[..shape.len() - 1].iter().product::<i64>() as usize;
    // The host loop for small event sizes; the wide loops for triangular scales with larger
    // event sizes (and, without a graph, for many points: below).
    let (host, wide_only) = (d <= HOST_MAX_D, wide_loops(parts.diagonal, d));
    if parts.validates
        || parts.device != Device::Cpu
        || !matches!(parts.kind, Kind::Float | Kind::Double)
        || n == 0
        || !(host || wide_only)
    {
        return Ok(None);
    }
    let (logits, a) = match parts.logits {
        Some(p) => input(p, d)?,
        None => (Tensor::zeros([1], (parts.kind, parts.device)), Through::Value),
    };
    let ((loc, b), (scale, c)) = (input(parts.loc, d)?, input(parts.scale, d)?);
    let shapes = [vec![k as i64], parts.loc.shape(), parts.scale.shape()];
    // (each libtorch call costs about a microsecond at these sizes: none is made twice)
    let x = if shape.len() == 2 { x.shallow_clone() } else { x.reshape([n as i64, d as i64]) };
    let inputs = [logits, loc, scale, x];
    let graph = crate::host::grad_enabled() && inputs.iter().any(|t| t.requires_grad());
    // With a graph, the wide loops only where the host loop cannot go (the host loop's
    // backward in f64 is the one measured faster for small event sizes).
    let many = !parts.diagonal && crate::host::has_fma() && n * k * d * (d + 1) > WIDE_FROM_WORK;
    let wide = wide_only || (many && !graph);
    let node = MixtureLogProb { diagonal: parts.diagonal, wide, k, d, through: [a, b, c], shapes };
    let lp = if graph { host_function::apply(node, &inputs.each_ref())? } else { node.forward(&inputs)? };
    Ok(Some(lp.reshape(&shape[..shape.len() - 1])))
}

/// The tensor the node takes for a parameter, and how the parameter's value comes from it: the
/// raw variable of a bijector with a closed form, else the value itself (with its graph).
fn input(p: &Parameter, d: usize) -> Result<(Tensor, Through)> {
    Ok(match p {
        Parameter::Constant(t) | Parameter::Variable { tensor: t, .. } => (t.shallow_clone(), Through::Value),
        Parameter::Transformed(v) => match closed_form(v.bijector().as_ref(), d) {
            Some(through) => (v.raw().shallow_clone(), through),
            None => (v.value()?, Through::Value),
        },
    })
}

/// The node: inputs logits, loc, scale (each read [`Through`] its own way; values of `shapes`)
/// and the points `[N, d]` (one float kind, on the CPU); output `[N]`. Forward and backward
/// run the wide loops (`wide.rs`, triangular scales, the points in their own precision) when
/// `wide`, else the host loop.
struct MixtureLogProb {
    diagonal: bool,
    wide: bool,
    k: usize,
    d: usize,
    through: [Through; 3],
    shapes: [Vec<i64>; 3],
}

/// The inputs as read (`raw`), and the parameters and points as the host loop takes them.
struct Read {
    raw: [Vec<f64>; 3],
    host: HostInputs,
}

impl MixtureLogProb {
    const OP: &'static str = "MixtureSameFamily.log_prob (host node)";

    /// The inputs as read, with the points (`points`) or without them (the wide loop reads
    /// them in their own precision).
    fn read(&self, inputs: &[Tensor], points: bool) -> Result<Read> {
        let raw = [Self::values(inputs, 0)?, Self::values(inputs, 1)?, Self::values(inputs, 2)?];
        // the diagonal components' loc and scale broadcast to [K, d]
        let value =
            |i: usize| self.through[i].laid_out(raw[i].clone(), &self.shapes[i], self.broadcasts(i), self.k, self.d);
        let x = if points { Self::values(inputs, 3)? } else { Vec::new() };
        let host = HostInputs {
            logits: value(0),
            loc: value(1),
            scale: value(2),
            x,
            diagonal: self.diagonal,
            k: self.k,
            d: self.d,
        };
        Ok(Read { raw, host })
    }

    /// Whether parameter `i` (logits, loc, scale) broadcasts to `[K, d]` in the loop's layout.
    fn broadcasts(&self, i: usize) -> bool {
        self.diagonal && i > 0
    }

    /// Input `i`'s elements as `f64`.
    fn values(inputs: &[Tensor], i: usize) -> Result<Vec<f64>> {
        let t = &inputs[i];
        crate::host::read(t).or_else(|| crate::host::read(&t.contiguous())).ok_or_else(|| {
            anyhow!("{}: expected float CPU input {i}, got {:?} on {:?}", Self::OP, t.kind(), t.device())
        })
    }

    /// The error of the wide loops on a CPU without FMA (chosen only where it has them).
    fn no_fma(&self) -> anyhow::Error {
        anyhow!("{}: the wide loop needs a CPU with AVX2 and FMA", Self::OP)
    }

    /// The parameter `i`'s value from its input with libtorch operations (with a graph).
    fn graph_value(&self, i: usize, t: &Tensor) -> Result<Tensor> {
        let positive = |p: &Positive| -> Arc<dyn Bijector> {
            match p {
                Positive::Softplus => Arc::new(Softplus),
                Positive::Exp => Arc::new(Exp),
            }
        };
        let v = match &self.through[i] {
            Through::Value => t.shallow_clone(),
            Through::Positive(p) => positive(p).forward(t)?,
            Through::ScaleTriL { diag, shift, .. } => FillScaleTriL::new(positive(diag), *shift).forward(t)?,
        };
        let (k, d) = (self.k as i64, self.d as i64);
        Ok(if self.broadcasts(i) { v.expand([k, d], false) } else { v })
    }
}

impl HostFunction for MixtureLogProb {
    fn forward(&self, inputs: &[Tensor]) -> Result<Tensor> {
        let r = self.read(inputs, !self.wide)?;
        let lp = if self.wide {
            super::wide::log_prob_of(&r.host.params(), &inputs[3]).ok_or_else(|| self.no_fma())?
        } else {
            host::log_prob(&r.host.params(), &r.host.x)
        };
        Ok(crate::host::tensor(&lp, &[lp.len() as i64], inputs[3].kind()))
    }

    fn backward(&self, inputs: &[Tensor], grad: &Tensor, needs: &[bool]) -> Result<Vec<Option<Tensor>>> {
        if crate::host::grad_enabled() {
            let v = |i: usize| self.graph_value(i, &inputs[i]);
            let out = graph_log_prob(&v(0)?, &v(1)?, &v(2)?, &inputs[3], self.diagonal);
            return host_function::vjp_by_autograd(&out, inputs, grad, needs);
        }
        let r = self.read(inputs, !self.wide)?;
        let g = crate::host::read(&grad.contiguous())
            .ok_or_else(|| anyhow!("{}: expected a float CPU gradient, got {:?}", Self::OP, grad.kind()))?;
        let (params, g) = (r.host.params(), Weights::Each(&g));
        let grads = if self.wide {
            super::wide::weighted_of(&params, &inputs[3], g, needs[3]).ok_or_else(|| self.no_fma())?
        } else {
            host::weighted(&params, &r.host.x, g, needs[3])
        };
        let kind = inputs[3].kind();
        let mut out = vec![];
        for (i, g) in [grads.logits, grads.loc, grads.scale].iter().enumerate() {
            out.push(needs[i].then(|| {
                let mut raw_grad = Vec::with_capacity(r.raw[i].len());
                self.through[i].pull_back_laid_out(
                    g,
                    &r.raw[i],
                    &self.shapes[i],
                    self.broadcasts(i),
                    self.d,
                    &mut raw_grad,
                );
                crate::host::tensor(&raw_grad, &inputs[i].size(), kind)
            }));
        }
        out.push(needs[3].then(|| crate::host::tensor(&grads.x, &inputs[3].size(), kind)));
        Ok(out)
    }
}

/// The node's density in libtorch operations, with a graph: `logsumexp_k(log_softmax(a)_k -
/// Σ_i log|L_k,ii| - d log(2π)/2 - |L_k⁻¹(x - μ_k)|²/2)`, for the gradients of gradients.
fn graph_log_prob(logits: &Tensor, loc: &Tensor, scale: &Tensor, x: &Tensor, diagonal: bool) -> Tensor {
    let d = x.size()[1];
    let diff = x.unsqueeze(1) - loc; // [N, K, d]
    let (z, log_det) = if diagonal {
        (diff / scale, scale.log().sum_dim_intlist(-1, false, None::<Kind>))
    } else {
        let z = scale.linalg_solve_triangular(&diff.unsqueeze(-1), false, true, false).squeeze_dim(-1);
        (z, scale.diagonal(0, -2, -1).abs().log().sum_dim_intlist(-1, false, None::<Kind>))
    };
    let quadratic = z.square().sum_dim_intlist(-1, false, None::<Kind>) * 0.5;
    (logits.log_softmax(-1, None::<Kind>) - log_det - HALF_LOG_TWO_PI * d as f64 - quadratic).logsumexp(-1, false)
}
