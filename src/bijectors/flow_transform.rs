//! The elementwise maps that flows build from a conditioner network's outputs (TFP's
//! `bijector_fn` / `shift_and_log_scale_fn`): affine, and the rational-quadratic spline.

use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::sync::Arc;
use tch::Tensor;

use super::rational_quadratic_spline::{
    rqs_bin_major, DEFAULT_MIN_BIN_HEIGHT, DEFAULT_MIN_BIN_WIDTH, DEFAULT_MIN_SLOPE,
};
use crate::shape::fmt_shape;

/// An elementwise bijection of `x [..., n]` whose parameters are `params [..., n, P]`, one set
/// per element (from a MADE or a coupling conditioner). A flow calls it with the parameters its
/// network computed; users implement it for their own maps (TFP's `bijector_fn`).
pub trait ElementwiseTransform {
    /// The map's name inside the flow's (`"affine"`, `"spline"`).
    fn name(&self) -> String;
    /// `P`, the number of parameters per element.
    fn params_per_element(&self) -> i64;
    /// `(y, log|dy/dx|)` elementwise, both of `x`'s shape.
    fn forward_and_log_det(&self, x: &Tensor, params: &Tensor) -> Result<(Tensor, Tensor)>;
    /// `y` alone (what a flow's sampling passes need); by default the first part of
    /// [`ElementwiseTransform::forward_and_log_det`]. Implement it when the log-det costs extra.
    fn forward(&self, x: &Tensor, params: &Tensor) -> Result<Tensor> {
        Ok(self.forward_and_log_det(x, params)?.0)
    }
    /// A performance hint (default `false`): `true` asks the flow for `params` stored
    /// parameter-major (the same `[..., n, P]` tensor, a view whose storage has the parameter
    /// dimension outermost), the layout in which reductions over one element's parameters are
    /// fast on the CPU. The values are the same either way.
    fn prefers_param_major(&self) -> bool {
        false
    }
    /// `(x, log|dx/dy|)` elementwise, both of `y`'s shape.
    fn inverse_and_log_det(&self, y: &Tensor, params: &Tensor) -> Result<(Tensor, Tensor)>;
    /// The map as JSON (for `saved`), or `None` for a user map that has no description.
    fn to_json(&self) -> Option<Value> {
        None
    }
}

/// `y = x · exp(s) + t` with `(t, s_raw) = params[..., 0], params[..., 1]` (TFP's
/// `shift_and_log_scale_fn` order: shift first) and the log-scale softly clipped,
/// `s = B tanh(s_raw / B)`, so that no layer scales by more than `e^B` however training moves
/// the network (TFP's bijector has no clip and its old template clipped hard to [-5, 3]; a hard
/// clip stops gradients). Default `B = 5`; the clip is the identity near 0, so a network whose
/// last layer starts at zero makes the identity map.
#[derive(Debug, Clone, Copy)]
pub struct AffineTransform {
    /// `B`, the bound of the log-scale (`f64::INFINITY`: no clip).
    pub log_scale_bound: f64,
}

impl Default for AffineTransform {
    fn default() -> Self {
        AffineTransform { log_scale_bound: 5.0 }
    }
}

impl AffineTransform {
    /// `(t, ±s)`: the shift and the clipped log-scale, negated when `!positive` (the inverse
    /// needs `-s`; the sign goes into the clip's factor instead of an extra negation).
    fn shift_and_log_scale(&self, op: &str, x: &Tensor, params: &Tensor, positive: bool) -> Result<(Tensor, Tensor)> {
        check_params(op, x, params, 2)?;
        let raw = params.select(-1, 1);
        let sign = if positive { 1.0 } else { -1.0 };
        let s = if self.log_scale_bound.is_finite() {
            (raw / self.log_scale_bound).tanh() * (sign * self.log_scale_bound)
        } else if positive {
            raw
        } else {
            -raw
        };
        Ok((params.select(-1, 0), s))
    }
}

impl ElementwiseTransform for AffineTransform {
    fn name(&self) -> String {
        "affine".into()
    }
    fn params_per_element(&self) -> i64 {
        2
    }
    fn forward_and_log_det(&self, x: &Tensor, params: &Tensor) -> Result<(Tensor, Tensor)> {
        let (t, s) = self.shift_and_log_scale("affine.forward", x, params, true)?;
        Ok((t.addcmul(x, &s.exp()), s))
    }
    fn inverse_and_log_det(&self, y: &Tensor, params: &Tensor) -> Result<(Tensor, Tensor)> {
        let (t, neg_s) = self.shift_and_log_scale("affine.inverse", y, params, false)?;
        Ok(((y - t) * neg_s.exp(), neg_s))
    }
    fn to_json(&self) -> Option<Value> {
        Some(json!({"type": "affine", "log_scale_bound": self.log_scale_bound}))
    }
}

/// The rational-quadratic spline of neural spline flows (Durkan et al. 2019) with
/// `params [..., n, 3K - 1]` = unnormalised widths (K), heights (K) and interior slopes (K - 1),
/// through [`SplineParams::from_unconstrained`](super::SplineParams::from_unconstrained) (softmax widths and heights with minimums,
/// softplus slopes with a minimum, boundary slopes exactly 1) on `[-bound, bound]`, the
/// identity outside (nflows' linear tails). The raw slopes are offset by
/// `log(e^(1 - min_slope) - 1)` so that a zero output is a slope of exactly 1 (zuko's `exp`
/// parametrisation has the same property; nflows' has not): a network whose last layer starts
/// at zero gives equal bins and unit slopes, the identity.
#[derive(Debug, Clone, Copy)]
pub struct SplineTransform {
    /// `K`, the number of bins.
    pub bins: i64,
    /// The half-width `B` of the interval `[-B, B]` the spline acts on.
    pub bound: f64,
}

impl SplineTransform {
    /// The spline at `v [..., n]` with the raw `params [..., n, 3K - 1]` (forward or inverse).
    ///
    /// The constrained parameters are made as
    /// [`SplineParams::from_unconstrained`](super::SplineParams::from_unconstrained) makes them
    /// (one softmax over widths and heights together, as their minimums are equal), in the
    /// spline's bin-major layout: the parameter dimension moves to the front and the batch
    /// dimensions are taken in the order of their strides, so that parameters stored
    /// parameter-major (what [`MaskedAutoregressiveFlow`](super::MaskedAutoregressiveFlow)'s
    /// network gives a transform that [prefers it](ElementwiseTransform::prefers_param_major))
    /// need no copy; others are copied once. The results come back in `v`'s layout.
    fn run(
        &self,
        op: &str,
        v: &Tensor,
        params: &Tensor,
        forward: bool,
        with_ldj: bool,
    ) -> Result<(Tensor, Option<Tensor>)> {
        check_params(op, v, params, 3 * self.bins - 1)?;
        let k = self.bins;
        if DEFAULT_MIN_BIN_WIDTH * k as f64 > 1.0 {
            bail!("{op}: {k} bins of the minimum width {DEFAULT_MIN_BIN_WIDTH} (of the interval) do not fit in it");
        }
        debug_assert_eq!(DEFAULT_MIN_BIN_WIDTH, DEFAULT_MIN_BIN_HEIGHT);
        // [P, batch..] with the batch dimensions by decreasing stride (stable)
        let pm = params.movedim(-1, 0);
        let strides = pm.stride();
        let mut order: Vec<i64> = (0..v.dim() as i64).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(strides[i as usize + 1]));
        let mut perm = vec![0i64];
        perm.extend(order.iter().map(|&i| i + 1));
        let pm = pm.permute(perm.as_slice());
        let pm = if pm.is_contiguous() { pm } else { pm.contiguous() };
        let vp = v.permute(order.as_slice());
        let rest = vp.size();
        let m_total: i64 = rest.iter().product();
        let parts = pm.split_with_sizes([2 * k, k - 1], 0);
        let sm = parts[0].reshape([2, k, m_total]).softmax(1, None::<tch::Kind>);
        // widths (and heights) 2B (m + (1 - mK) softmax): the knots -B + [0, cumsum] are
        // -B + 2Bm j + 2B(1 - mK) (L softmax)_j with L strictly lower triangular, one batched
        // matrix product for both axes (no cumulative sum, no padding)
        let (m, b) = (DEFAULT_MIN_BIN_WIDTH, self.bound);
        let opts = (sm.kind(), sm.device());
        let tri = Tensor::ones([k + 1, k], opts).tril(-1).expand([2, k + 1, k], false);
        let offsets =
            (Tensor::arange(k + 1, opts) * (2.0 * b * m) - b).unsqueeze(-1).expand([2, k + 1, m_total], false);
        let mut knot_shape = vec![2, k + 1];
        knot_shape.extend(&rest);
        let knots = offsets.baddbmm(&tri, &sm, 1.0, 2.0 * b * (1.0 - m * k as f64)).reshape(knot_shape.as_slice());
        // raw slope 0 -> slope exactly 1 (min + softplus(offset) = 1): a zero network output is
        // the identity map
        let offset = ((1.0 - DEFAULT_MIN_SLOPE).exp() - 1.0).ln();
        let slopes = (&parts[1] + offset).softplus() + DEFAULT_MIN_SLOPE;
        let (out, ldj) = rqs_bin_major(&vp, &knots, &slopes, forward, with_ldj);
        // back to v's dimension order
        let mut inverse = vec![0i64; order.len()];
        for (pos, &i) in order.iter().enumerate() {
            inverse[i as usize] = pos as i64;
        }
        let back = |t: Tensor| t.permute(inverse.as_slice());
        Ok((back(out), ldj.map(back)))
    }
}

impl ElementwiseTransform for SplineTransform {
    fn name(&self) -> String {
        "spline".into()
    }
    fn params_per_element(&self) -> i64 {
        3 * self.bins - 1
    }
    fn prefers_param_major(&self) -> bool {
        true
    }
    fn forward_and_log_det(&self, x: &Tensor, params: &Tensor) -> Result<(Tensor, Tensor)> {
        let (y, ldj) = self.run("spline.forward", x, params, true, true)?;
        Ok((y, ldj.expect("asked for the log-det")))
    }
    fn forward(&self, x: &Tensor, params: &Tensor) -> Result<Tensor> {
        Ok(self.run("spline.forward", x, params, true, false)?.0)
    }
    fn inverse_and_log_det(&self, y: &Tensor, params: &Tensor) -> Result<(Tensor, Tensor)> {
        let (x, ldj) = self.run("spline.inverse", y, params, false, true)?;
        Ok((x, ldj.expect("the inverse always gives its log-det")))
    }
    fn to_json(&self) -> Option<Value> {
        Some(json!({"type": "spline", "bins": self.bins, "bound": self.bound}))
    }
}

/// Checks that `params` is `x`'s shape plus a last dimension of `p`.
fn check_params(op: &str, x: &Tensor, params: &Tensor, p: i64) -> Result<()> {
    let mut want = x.size();
    want.push(p);
    if params.size() != want {
        bail!(
            "{op}: expected the conditioner's parameters of shape {} for an input of shape {}, got {}",
            fmt_shape(&want),
            fmt_shape(&x.size()),
            fmt_shape(&params.size())
        );
    }
    Ok(())
}

/// An elementwise transform from JSON: `"affine"`, `{"type": "affine", "log_scale_bound": 5}`,
/// or `{"type": "spline", "bins": 8, "bound": 3}`.
pub fn transform_from_json(v: &Value) -> Result<Arc<dyn ElementwiseTransform>> {
    let (ty, obj) = match v {
        Value::String(s) => (s.as_str(), serde_json::Map::new()),
        Value::Object(o) => (o.get("type").and_then(Value::as_str).unwrap_or(""), o.clone()),
        _ => bail!("spec: a flow's \"transform\" must be \"affine\", \"spline\" or an object with \"type\", got {v}"),
    };
    let num = |key: &str, default: f64| -> Result<f64> {
        match obj.get(key) {
            None => Ok(default),
            Some(x) => {
                x.as_f64().ok_or_else(|| anyhow::anyhow!("spec: {ty} transform: {key:?} must be a number, got {x}"))
            }
        }
    };
    Ok(match ty {
        "affine" => Arc::new(AffineTransform { log_scale_bound: num("log_scale_bound", 5.0)? }),
        "spline" => {
            let bins = num("bins", 8.0)?;
            let bound = num("bound", 3.0)?;
            if bins < 1.0 || bins.fract() != 0.0 || !(bound > 0.0 && bound.is_finite()) {
                bail!("spec: spline transform: expected a whole \"bins\" >= 1 and a finite \"bound\" > 0, got {bins} and {bound}");
            }
            Arc::new(SplineTransform { bins: bins as i64, bound })
        }
        other => bail!("spec: unknown flow transform {other:?} (known: affine, spline)"),
    })
}
