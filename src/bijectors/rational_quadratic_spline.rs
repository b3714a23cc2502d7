//! The rational-quadratic spline bijector (Durkan et al. 2019, "Neural Spline Flows"): TFP's
//! `RationalQuadraticSpline` in its constrained form, the free functions [`rqs_forward`] and
//! [`rqs_inverse`] that flows call with per-element parameters, and [`SplineParams`], nflows'
//! map from unconstrained network outputs (`unconstrained_rational_quadratic_spline` with
//! `tails="linear"`).
//!
//! Notation: `K` bins with widths `w` and heights `h` (`[..., K]`, positive) and `K - 1`
//! interior knot slopes `d` (`[..., K - 1]`, positive; the slopes at both ends are exactly 1).
//! The knots are `x_0 = range_min`, `x_j = range_min + w_1 + ... + w_j` and likewise `y_j` with
//! the heights. In bin `k`, with `s = h_k / w_k` and `ξ = (x - x_k) / w_k ∈ [0, 1)`:
//!
//! * `y = y_k + h_k (s ξ² + d_k ξ(1-ξ)) / (s + (d_{k+1} + d_k - 2s) ξ(1-ξ))`;
//! * `log|dy/dx| = 2 log s + log(d_{k+1} ξ² + 2 s ξ(1-ξ) + d_k (1-ξ)²)
//!   - 2 log(s + (d_{k+1} + d_k - 2s) ξ(1-ξ))`;
//! * the inverse solves `a ξ² + b ξ + c = 0` with `δ = y - y_k`, `t = δ (d_{k+1} + d_k - 2s)`,
//!   `a = h_k (s - d_k) + t`, `b = h_k d_k - t`, `c = -s δ`, by the root
//!   `ξ = 2c / (-b - sqrt(max(b² - 4ac, 0)))` of the paper (TFP and nflows) where `b >= 0`, and
//!   by the same root written `(-b + sqrt(..)) / (2a)` where `b < 0`: there the paper's form
//!   subtracts nearly equal numbers (near the top of a bin whose next knot is much steeper than
//!   the bin), which cost float32 up to 1e-5 in `ξ` and 1e-3 in the log-det in the parity runs.
//!
//! `ξ` is clamped to `[0, 1]` (in both directions): rounding can put the computed root just
//! outside, where the log-det's numerator or denominator can turn negative (NaN) for extreme
//! parameters in float32 (nflows gives NaN there); on `[0, 1]` both are positive.
//!
//! As in TFP, `x <= x_0` or `x >= x_K` (and, for the inverse, `y <= y_0` or `y >= y_K`) is
//! mapped by the identity with log-det 0. The spline branch of such an element is evaluated at
//! the safe in-range value `x_0` (or `y_0`), so that no NaN or infinity from far inputs reaches
//! the values or the gradients through `where`. The bin is the one TFP's `searchsorted` on the left
//! knots (`side="right"`, minus one) finds, computed as the number of interior knots at or below
//! the input (no contiguous copies); the knots of both axes come from one cumulative sum and
//! each element's bin values from two gathers (the op count matters for small batches).

use super::{unique_variables, Bijector};
use crate::shape::{broadcast_shapes, check_float, fmt_shape, kind_name};
use crate::Parameter;
use anyhow::{bail, ensure, Result};
use tch::{Kind, Tensor};

/// nflows' default lower bound on a bin width, as a fraction of the interval (`1e-3`).
pub const DEFAULT_MIN_BIN_WIDTH: f64 = 1e-3;
/// nflows' default lower bound on a bin height, as a fraction of the interval (`1e-3`).
pub const DEFAULT_MIN_BIN_HEIGHT: f64 = 1e-3;
/// nflows' default lower bound on an interior knot slope (`1e-3`).
pub const DEFAULT_MIN_SLOPE: f64 = 1e-3;

/// Checks the spline parameters against each other (and, when given, against an input `v`):
/// float, one dtype and device, last dimensions `K`, `K` and `K - 1` (or `1`, broadcast, as TFP
/// allows), `K >= 1`, batch shapes that broadcast. Returns `(K, batch shape)`, the batch shape
/// including `v`'s shape when given.
fn check_params(
    op: &str,
    v: Option<(&str, &Tensor)>,
    widths: &Tensor,
    heights: &Tensor,
    slopes: &Tensor,
    range_min: &Tensor,
) -> Result<(i64, Vec<i64>)> {
    check_params_named(op, v, ["bin_widths", "bin_heights", "knot_slopes"], widths, heights, slopes, range_min)
}

/// [`check_params`] with the names the errors give the three parameters.
fn check_params_named(
    op: &str,
    v: Option<(&str, &Tensor)>,
    names: [&str; 3],
    widths: &Tensor,
    heights: &Tensor,
    slopes: &Tensor,
    range_min: &Tensor,
) -> Result<(i64, Vec<i64>)> {
    let [wn, hn, sn] = names;
    let named = [(wn, widths), (hn, heights), (sn, slopes), ("range_min", range_min)];
    let (first_name, first) = match v {
        Some(v) => v,
        None => named[0],
    };
    check_float(op, first_name, first)?;
    for (name, t) in named.iter().chain(v.iter()) {
        check_float(op, name, t)?;
        if t.kind() != first.kind() {
            bail!(
                "{op}: expected {name} of dtype {} (that of {first_name}), got {}",
                kind_name(first.kind()),
                kind_name(t.kind())
            );
        }
        if t.device() != first.device() {
            bail!("{op}: expected {name} on device {:?} (that of {first_name}), got {:?}", first.device(), t.device());
        }
    }
    for (name, t) in &named[..3] {
        if t.dim() == 0 {
            bail!("{op}: expected {name} of shape [..., {}], got a scalar", if *name == sn { "K-1" } else { "K" });
        }
    }
    let (ws, hs, ss) = (widths.size(), heights.size(), slopes.size());
    let k = ws[ws.len() - 1];
    if k < 1 {
        bail!("{op}: expected {wn} of shape [..., K] with K >= 1, got {}", fmt_shape(&ws));
    }
    if hs[hs.len() - 1] != k {
        bail!("{op}: expected {hn} of shape [..., {k}] (as {wn}), got {}", fmt_shape(&hs));
    }
    let ks = ss[ss.len() - 1];
    if !(ks == k - 1 || (ks == 1 && k > 1)) {
        bail!(
            "{op}: expected {sn} of shape [..., {}] (K - 1 interior knots for K = {k}), got {}",
            k - 1,
            fmt_shape(&ss)
        );
    }
    let mut batch = ws[..ws.len() - 1].to_vec();
    for (name, shape) in [(hn, &hs[..hs.len() - 1]), (sn, &ss[..ss.len() - 1]), ("range_min", &range_min.size()[..])] {
        batch = broadcast_shapes(op, &batch, shape).map_err(|_| {
            anyhow::anyhow!(
                "{op}: the batch shape of {name}, {}, does not broadcast with the other parameters' {}",
                fmt_shape(shape),
                fmt_shape(&batch)
            )
        })?;
    }
    if let Some((name, t)) = v {
        batch = broadcast_shapes(op, &t.size(), &batch).map_err(|_| {
            anyhow::anyhow!(
                "{op}: {name} of shape {} does not broadcast with the spline's batch shape {}",
                fmt_shape(&t.size()),
                fmt_shape(&batch)
            )
        })?;
    }
    Ok((k, batch))
}

/// The spline's forward map and `log|dy/dx|`, elementwise (TFP's `RationalQuadraticSpline`).
///
/// Shapes: `x [...]`, `widths, heights [..., K]`, `slopes [..., K-1]` (interior knots; a last
/// dimension of 1 broadcasts, as in TFP), `range_min` broadcastable to the batch (a scalar
/// tensor is fine); the batch shapes broadcast with `x`'s shape, and `y` and the log-det have
/// the broadcast shape. Outside `(range_min, range_min + sum(widths))` the map is the identity
/// with log-det 0. All inputs share one float dtype and device; parameter values are not
/// checked (positive widths, heights and slopes are the caller's duty).
pub fn rqs_forward(
    x: &Tensor,
    widths: &Tensor,
    heights: &Tensor,
    slopes: &Tensor,
    range_min: &Tensor,
) -> Result<(Tensor, Tensor)> {
    let (k, batch) = check_params("rqs_forward", Some(("x", x)), widths, heights, slopes, range_min)?;
    Ok(forward_unchecked(x, widths, heights, slopes, range_min, k, &batch))
}

/// The spline's inverse map and `log|dx/dy|`, elementwise: the inverse of [`rqs_forward`], the
/// identity with log-det 0 outside `(range_min, range_min + sum(heights))`. Shapes and checks
/// as in [`rqs_forward`], with `y` in place of `x`.
pub fn rqs_inverse(
    y: &Tensor,
    widths: &Tensor,
    heights: &Tensor,
    slopes: &Tensor,
    range_min: &Tensor,
) -> Result<(Tensor, Tensor)> {
    let (k, batch) = check_params("rqs_inverse", Some(("y", y)), widths, heights, slopes, range_min)?;
    Ok(inverse_unchecked(y, widths, heights, slopes, range_min, k, &batch))
}

/// What forward and inverse share: the out-of-range mask, the safe (clamped) input, and the
/// bin's knot values gathered for every element (all of the batch shape).
struct Bin {
    out_of_range: Tensor,
    safe: Tensor,
    x_k: Tensor,
    y_k: Tensor,
    w_k: Tensor,
    h_k: Tensor,
    d_k: Tensor,
    d_kp1: Tensor,
}

/// Finds the bin of `v [batch..]` (an `x` when `is_x`, otherwise a `y`) and gathers its knots.
///
/// Layout: bin-major. `knots [2, K + 1, batch..]` are the x knots then the y knots
/// (`range_min + [0, cumsum(sizes)]`), `kd [K + 1, batch..]` the knot slopes with the boundary
/// ones. With the bins in the first dimensions, the softmax, cumulative sums and counts over bins
/// run along an outer dimension, which libtorch's CPU kernels vectorise over the batch; over a
/// last dimension of 8 they are an order of magnitude slower (a softmax over `[.., 8]` cost more
/// than the rest of a spline layer).
///
/// The bin index is the number of interior knots `<=` the safe input (what TFP's
/// `searchsorted(side="right") - 1` gives), from detached knots: the range ends and the search
/// carry no gradient (at out-of-range elements the spline branch is discarded); one gather
/// fetches `x_k, x_{k+1}, y_k, y_{k+1}` and one `d_k, d_{k+1}`.
fn find_bin(v: &Tensor, knots: &Tensor, kd: &Tensor, k: i64, is_x: bool) -> Bin {
    let kv = knots.detach().select(0, if is_x { 0 } else { 1 });
    let lo = kv.select(0, 0);
    let hi = kv.select(0, k);
    let out_of_range = v.le_tensor(&lo).logical_or(&v.ge_tensor(&hi));
    // tch's `a.where_self(cond, b)` is `where(cond, a, b)`.
    let safe = lo.where_self(&out_of_range, v);
    // safe >= x_0 always, so the bin is the count of interior knots at or below it (in [0, K-1])
    let idx = kv.narrow(0, 1, k - 1).le_tensor(&safe.unsqueeze(0)).sum_dim_intlist(0, false, Kind::Int64);
    let pair = Tensor::stack(&[&idx, &(&idx + 1)], 0); // [2, batch..]: k, k + 1
    let mut pair_shape = vec![2i64];
    pair_shape.extend(pair.size());
    let xy = knots.gather(1, &pair.unsqueeze(0).expand(pair_shape.as_slice(), false), false).unbind(1);
    let d = kd.gather(0, &pair, false).unbind(0);
    let size = (&xy[1] - &xy[0]).unbind(0); // w_k, h_k
    let left = xy[0].unbind(0); // x_k, y_k
    let [x_k, y_k] = [&left[0], &left[1]].map(Tensor::shallow_clone);
    let [w_k, h_k] = [&size[0], &size[1]].map(Tensor::shallow_clone);
    let [d_k, d_kp1] = [&d[0], &d[1]].map(Tensor::shallow_clone);
    Bin { out_of_range, safe, x_k, y_k, w_k, h_k, d_k, d_kp1 }
}

/// `[K + 1, batch..]` slopes from the interior `slopes [K - 1, batch..]`: the boundary slopes 1
/// padded on both sides.
fn pad_slopes(slopes: &Tensor) -> Tensor {
    let mut pad = vec![0i64; 2 * (slopes.dim() - 1)];
    pad.extend([1, 1]);
    slopes.pad(pad.as_slice(), "constant", 1.0)
}

/// `±log|dy/dx|` at relative position `xi` of a bin (`+` when `positive`), given
/// `s = h_k / w_k`, `two_s = 2s`, the denominator `den = s + (d_{k+1} + d_k - 2s) ξ(1-ξ)`,
/// `xi2 = ξ²`, `omx = 1 - ξ` and `xi1 = ξ(1-ξ)`.
#[allow(clippy::too_many_arguments)]
fn log_slope(
    b: &Bin,
    s: &Tensor,
    two_s: &Tensor,
    den: &Tensor,
    xi2: &Tensor,
    omx: &Tensor,
    xi1: &Tensor,
    positive: bool,
) -> Tensor {
    // d_{k+1} ξ² + 2 s ξ(1-ξ) + d_k (1-ξ)²
    let num = (&b.d_kp1 * xi2).addcmul(two_s, xi1).addcmul(&b.d_k, &omx.square());
    if positive {
        (s.log() - den.log()) * 2.0 + num.log()
    } else {
        (den.log() - s.log()) * 2.0 - num.log()
    }
}

/// The spline's `y` (and `log|dy/dx|` when `with_ldj`) at `x [batch..]`, with the bin-major
/// parameters of [`find_bin`].
fn forward_core(x: &Tensor, knots: &Tensor, kd: &Tensor, k: i64, with_ldj: bool) -> (Tensor, Option<Tensor>) {
    let b = find_bin(x, knots, kd, k, true);
    let s = &b.h_k / &b.w_k;
    let xi = ((&b.safe - &b.x_k) / &b.w_k).clamp(0.0, 1.0);
    let omx = 1.0 - &xi;
    let xi1 = &xi * &omx;
    let xi2 = xi.square();
    let two_s = &s * 2.0;
    let den = s.addcmul(&(&b.d_kp1 + &b.d_k - &two_s), &xi1);
    let num = &b.h_k * (&s * &xi2).addcmul(&b.d_k, &xi1);
    let spline = b.y_k.addcdiv(&num, &den);
    let y = x.where_self(&b.out_of_range, &spline);
    let ldj =
        with_ldj.then(|| log_slope(&b, &s, &two_s, &den, &xi2, &omx, &xi1, true).masked_fill(&b.out_of_range, 0.0));
    (y, ldj)
}

/// The spline's `x` and `log|dx/dy|` at `y [batch..]`, with the bin-major parameters of
/// [`find_bin`].
fn inverse_core(y: &Tensor, knots: &Tensor, kd: &Tensor, k: i64) -> (Tensor, Tensor) {
    let b = find_bin(y, knots, kd, k, false);
    let s = &b.h_k / &b.w_k;
    let two_s = &s * 2.0;
    let t0 = &b.d_kp1 + &b.d_k - &two_s;
    let rel = &b.safe - &b.y_k;
    let t = &rel * &t0;
    let a = t.addcmul(&b.h_k, &(&s - &b.d_k));
    let bq = &b.h_k * &b.d_k - &t;
    let sc = &s * &rel; // c = -s δ
    let sq = bq.square().addcmul(&a, &(&sc * 4.0)).clamp_min(0.0).sqrt();
    // The root in [0, 1] is 2c / (-b - sq) = 2 s δ / (b + sq) = (-b + sq) / (2a). The first
    // cancels when b < 0 (then a >= |b| > 0, since the root is at most 1), the second when
    // b > 0: take the one without cancellation. Each branch sees a safe denominator where it is
    // not taken, so that `where` passes no NaN to the gradients. At a knot (δ = 0),
    // b = h_k d_k > 0 and the first gives 0 / (2b) = 0 with the right gradient.
    let pos = bq.ge(0.0);
    let den1 = (&bq + &sq).where_scalarother(&pos, 1.0);
    let den2 = Tensor::where_scalarself(&pos, 1.0, &(&a * 2.0));
    let xi = ((&sc * 2.0) / den1).where_self(&pos, &((&sq - &bq) / den2)).clamp(0.0, 1.0);
    let spline = b.x_k.addcmul(&xi, &b.w_k);
    let omx = 1.0 - &xi;
    let xi1 = &xi * &omx;
    let xi2 = xi.square();
    let den = s.addcmul(&t0, &xi1);
    let ldj = log_slope(&b, &s, &two_s, &den, &xi2, &omx, &xi1, false).masked_fill(&b.out_of_range, 0.0);
    let x = y.where_self(&b.out_of_range, &spline);
    (x, ldj)
}

/// The constrained form's parameters in [`find_bin`]'s bin-major layout, broadcast to `batch`:
/// `knots [2, K + 1, batch..]` (cumulative sums plus `range_min`), `kd [K + 1, batch..]`, and
/// `v [batch..]`.
fn bin_major(
    v: &Tensor,
    w: &Tensor,
    h: &Tensor,
    d: &Tensor,
    rm: &Tensor,
    k: i64,
    batch: &[i64],
) -> (Tensor, Tensor, Tensor) {
    let front = |t: &Tensor, last: i64| {
        let mut shape = batch.to_vec();
        shape.push(last);
        t.broadcast_to(shape.as_slice()).movedim(-1, 0)
    };
    let sizes = Tensor::stack(&[front(w, k), front(h, k)], 0);
    // pad dimension 1 (bins) at the front: pairs from the last dimension backwards
    let mut pad = vec![0i64; 2 * batch.len()];
    pad.extend([1, 0]);
    let knots = sizes.cumsum(1, None::<Kind>).constant_pad_nd(pad.as_slice()) + rm.broadcast_to(batch);
    (v.broadcast_to(batch), knots, pad_slopes(&front(d, k - 1)))
}

fn forward_unchecked(
    x: &Tensor,
    w: &Tensor,
    h: &Tensor,
    d: &Tensor,
    rm: &Tensor,
    k: i64,
    batch: &[i64],
) -> (Tensor, Tensor) {
    let (x, knots, kd) = bin_major(x, w, h, d, rm, k, batch);
    let (y, ldj) = forward_core(&x, &knots, &kd, k, true);
    (y, ldj.expect("asked for the log-det"))
}

fn inverse_unchecked(
    y: &Tensor,
    w: &Tensor,
    h: &Tensor,
    d: &Tensor,
    rm: &Tensor,
    k: i64,
    batch: &[i64],
) -> (Tensor, Tensor) {
    let (y, knots, kd) = bin_major(y, w, h, d, rm, k, batch);
    inverse_core(&y, &knots, &kd, k)
}

/// The spline in the bin-major layout of the flows: `knots [2, K + 1, batch..]` (x knots then
/// y knots, increasing, first `range_min`), interior `slopes [K - 1, batch..]`, applied to
/// `v [batch..]` (the caller checked the shapes). Forward (`y` and, when `with_ldj`,
/// `log|dy/dx|`) or inverse (`x`, `log|dx/dy|`).
pub(crate) fn rqs_bin_major(
    v: &Tensor,
    knots: &Tensor,
    slopes: &Tensor,
    forward: bool,
    with_ldj: bool,
) -> (Tensor, Option<Tensor>) {
    let k = knots.size()[1] - 1;
    let kd = pad_slopes(slopes);
    if forward {
        forward_core(v, knots, &kd, k, with_ldj)
    } else {
        let (x, ldj) = inverse_core(v, knots, &kd, k);
        (x, Some(ldj))
    }
}

/// Spline parameters in the constrained form of [`rqs_forward`], made from unconstrained
/// values (network outputs) as nflows' `unconstrained_rational_quadratic_spline` with
/// `tails="linear"` and `tail_bound = bound` does:
///
/// * `widths = 2 bound (min_bin_width + (1 - min_bin_width K) softmax(raw_widths))`, likewise
///   the heights, so both sum to `2 bound` and the interval is `[-bound, bound]`;
/// * `slopes = min_slope + softplus(raw_slopes)` for the `K - 1` interior knots; the boundary
///   slopes are exactly 1 (nflows pads the raw slopes with `log(exp(1 - min_slope) - 1)`,
///   which is 1 up to rounding);
/// * `range_min = -bound` (a scalar tensor).
#[derive(Debug)]
pub struct SplineParams {
    /// Bin widths, `[..., K]`.
    pub widths: Tensor,
    /// Bin heights, `[..., K]`.
    pub heights: Tensor,
    /// Interior knot slopes, `[..., K - 1]`.
    pub slopes: Tensor,
    /// The first knot, `-bound`, a scalar tensor of the parameters' dtype and device.
    pub range_min: Tensor,
}

impl SplineParams {
    /// Constrained parameters from unconstrained `raw_widths, raw_heights [..., K]` and
    /// `raw_slopes [..., K - 1]` (one float dtype and device; batch shapes that broadcast), with
    /// `bound > 0`, `0 <= min_bin_width, min_bin_height` and `min_* K <= 1`, `min_slope >= 0`
    /// (nflows' defaults: [`DEFAULT_MIN_BIN_WIDTH`], [`DEFAULT_MIN_BIN_HEIGHT`],
    /// [`DEFAULT_MIN_SLOPE`], all `1e-3`).
    pub fn from_unconstrained(
        raw_widths: &Tensor,
        raw_heights: &Tensor,
        raw_slopes: &Tensor,
        bound: f64,
        min_bin_width: f64,
        min_bin_height: f64,
        min_slope: f64,
    ) -> Result<SplineParams> {
        let op = "SplineParams::from_unconstrained";
        let range_min = Tensor::from(-bound).to_kind(raw_widths.kind()).to_device(raw_widths.device());
        check_float(op, "raw_widths", raw_widths)?;
        let names = ["raw_widths", "raw_heights", "raw_slopes"];
        let (k, _) = check_params_named(op, None, names, raw_widths, raw_heights, raw_slopes, &range_min)?;
        if raw_slopes.size()[raw_slopes.dim() - 1] != k - 1 {
            bail!("{op}: expected raw_slopes of shape [..., {}], got {}", k - 1, fmt_shape(&raw_slopes.size()));
        }
        ensure!(bound.is_finite() && bound > 0.0, "{op}: expected a finite bound > 0, got {bound}");
        for (name, m) in [("min_bin_width", min_bin_width), ("min_bin_height", min_bin_height)] {
            ensure!(
                m.is_finite() && m >= 0.0 && m * k as f64 <= 1.0,
                "{op}: expected 0 <= {name} <= 1/K = {} (K = {k} bins), got {m}",
                1.0 / k as f64
            );
        }
        ensure!(min_slope.is_finite() && min_slope >= 0.0, "{op}: expected a finite min_slope >= 0, got {min_slope}");
        let sizes = |raw: &Tensor, m: f64| (raw.softmax(-1, None::<Kind>) * (1.0 - m * k as f64) + m) * (2.0 * bound);
        Ok(SplineParams {
            widths: sizes(raw_widths, min_bin_width),
            heights: sizes(raw_heights, min_bin_height),
            slopes: raw_slopes.softplus() + min_slope,
            range_min,
        })
    }

    /// [`rqs_forward`] with these parameters.
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        rqs_forward(x, &self.widths, &self.heights, &self.slopes, &self.range_min)
    }

    /// [`rqs_inverse`] with these parameters.
    pub fn inverse(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        rqs_inverse(y, &self.widths, &self.heights, &self.slopes, &self.range_min)
    }
}

/// TFP's `RationalQuadraticSpline(bin_widths, bin_heights, knot_slopes, range_min)`: a
/// monotone piecewise rational-quadratic map on `[range_min, range_min + sum(bin_widths)]`
/// onto `[range_min, range_min + sum(bin_heights)]`, the identity (log-det 0) outside;
/// elementwise (`forward_min_event_ndims = 0`). Math, shapes and the handling of out-of-range
/// inputs as in [`rqs_forward`] / [`rqs_inverse`] (see the module documentation). As in TFP,
/// the map is continuous at the upper end only when `sum(bin_widths) = sum(bin_heights)`.
///
/// Each parameter is a [`Parameter`]: a constant, a trainable variable or a
/// [`crate::TransformedVariable`] (e.g. widths through `Softplus`, as a learnable TFP spline
/// takes them), read at every call.
#[derive(Debug)]
pub struct RationalQuadraticSpline {
    /// `[bin_widths, bin_heights, knot_slopes, range_min]`.
    params: [Parameter; 4],
    k: i64,
    batch: Vec<i64>,
    validate_args: bool,
}

impl RationalQuadraticSpline {
    /// A spline from `bin_widths, bin_heights [..., K]`, `knot_slopes [..., K - 1]` (or
    /// `[..., 1]`, broadcast) and `range_min` (batch-shaped or scalar), `K >= 1`: float, one
    /// dtype and device, batch shapes that broadcast; each a tensor or any [`Parameter`]. Values
    /// are not checked (see [`RationalQuadraticSpline::with_validate_args`]).
    pub fn new(
        bin_widths: impl Into<Parameter>,
        bin_heights: impl Into<Parameter>,
        knot_slopes: impl Into<Parameter>,
        range_min: impl Into<Parameter>,
    ) -> Result<Self> {
        let params = [bin_widths.into(), bin_heights.into(), knot_slopes.into(), range_min.into()];
        let s = RationalQuadraticSpline { params, k: 0, batch: vec![], validate_args: false };
        let [w, h, d, rm] = s.params()?;
        let (k, batch) = check_params("RationalQuadraticSpline::new", None, &w, &h, &d, &rm)?;
        Ok(RationalQuadraticSpline { k, batch, ..s })
    }

    /// The spline of [`SplineParams::from_unconstrained`] with nflows' default minimums (`1e-3`):
    /// interval `[-bound, bound]`.
    pub fn from_unconstrained(
        raw_widths: &Tensor,
        raw_heights: &Tensor,
        raw_slopes: &Tensor,
        bound: f64,
    ) -> Result<Self> {
        Self::from_unconstrained_with_minimums(
            raw_widths,
            raw_heights,
            raw_slopes,
            bound,
            DEFAULT_MIN_BIN_WIDTH,
            DEFAULT_MIN_BIN_HEIGHT,
            DEFAULT_MIN_SLOPE,
        )
    }

    /// The spline of [`SplineParams::from_unconstrained`] with explicit minimums.
    pub fn from_unconstrained_with_minimums(
        raw_widths: &Tensor,
        raw_heights: &Tensor,
        raw_slopes: &Tensor,
        bound: f64,
        min_bin_width: f64,
        min_bin_height: f64,
        min_slope: f64,
    ) -> Result<Self> {
        let p = SplineParams::from_unconstrained(
            raw_widths,
            raw_heights,
            raw_slopes,
            bound,
            min_bin_width,
            min_bin_height,
            min_slope,
        )?;
        Self::new(p.widths, p.heights, p.slopes, p.range_min)
    }

    /// With `true`, checks once, on the host, that the widths, heights and slopes are positive
    /// (an error names the first offending parameter); `false` (the default) checks nothing.
    pub fn with_validate_args(mut self, validate: bool) -> Result<Self> {
        if validate {
            let [w, h, d, _] = self.params()?;
            for (name, t) in [("bin_widths", &w), ("bin_heights", &h), ("knot_slopes", &d)] {
                let t = t.detach();
                if t.numel() > 0 && t.le(0.0).logical_or(&t.isnan()).any().int64_value(&[]) != 0 {
                    let min = t.min().double_value(&[]);
                    bail!("RationalQuadraticSpline: expected positive {name}, got a minimum of {min}");
                }
            }
        }
        self.validate_args = validate;
        Ok(self)
    }

    /// Whether the parameter values were checked ([`RationalQuadraticSpline::with_validate_args`]).
    pub fn validate_args(&self) -> bool {
        self.validate_args
    }

    /// The number of bins `K`.
    pub fn num_bins(&self) -> i64 {
        self.k
    }

    /// The bin widths, `[..., K]` (its current value).
    pub fn bin_widths(&self) -> Result<Tensor> {
        Ok(self.params()?[0].shallow_clone())
    }

    /// The bin heights, `[..., K]` (its current value).
    pub fn bin_heights(&self) -> Result<Tensor> {
        Ok(self.params()?[1].shallow_clone())
    }

    /// The interior knot slopes, `[..., K - 1]` (its current value).
    pub fn knot_slopes(&self) -> Result<Tensor> {
        Ok(self.params()?[2].shallow_clone())
    }

    /// The first knot (its current value).
    pub fn range_min(&self) -> Result<Tensor> {
        Ok(self.params()?[3].shallow_clone())
    }

    /// The four parameter values `[bin_widths, bin_heights, knot_slopes, range_min]`: the one
    /// place that reads the stored parameters.
    fn params(&self) -> Result<[Tensor; 4]> {
        let [w, h, d, rm] = &self.params;
        Ok([w.value()?, h.value()?, d.value()?, rm.value()?])
    }

    fn run(&self, op: &str, what: &str, v: &Tensor, forward: bool) -> Result<(Tensor, Tensor)> {
        let [w, h, d, rm] = self.params()?;
        check_float(op, what, v)?;
        let p = &w;
        if v.kind() != p.kind() {
            bail!(
                "{op}: expected {what} of dtype {} (that of the spline's parameters), got {}",
                kind_name(p.kind()),
                kind_name(v.kind())
            );
        }
        if v.device() != p.device() {
            bail!(
                "{op}: expected {what} on device {:?} (that of the spline's parameters), got {:?}",
                p.device(),
                v.device()
            );
        }
        let batch = broadcast_shapes(op, &v.size(), &self.batch).map_err(|_| {
            anyhow::anyhow!(
                "{op}: {what} of shape {} does not broadcast with the spline's batch shape {}",
                fmt_shape(&v.size()),
                fmt_shape(&self.batch)
            )
        })?;
        Ok(if forward {
            forward_unchecked(v, &w, &h, &d, &rm, self.k, &batch)
        } else {
            inverse_unchecked(v, &w, &h, &d, &rm, self.k, &batch)
        })
    }
}

impl Bijector for RationalQuadraticSpline {
    fn name(&self) -> String {
        "rational_quadratic_spline".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.run("rational_quadratic_spline.forward", "x", x, true)?.0)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        Ok(self.run("rational_quadratic_spline.inverse", "y", y, false)?.0)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.run("rational_quadratic_spline.forward_log_det_jacobian", "x", x, true)?.1)
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        Ok(self.run("rational_quadratic_spline.inverse_log_det_jacobian", "y", y, false)?.1)
    }
    fn forward_and_log_det(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.run("rational_quadratic_spline.forward_and_log_det", "x", x, true)
    }
    fn inverse_and_log_det(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        self.run("rational_quadratic_spline.inverse_and_log_det", "y", y, false)
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        unique_variables(self.params.iter().map(Parameter::trainable_variables))
    }
}
