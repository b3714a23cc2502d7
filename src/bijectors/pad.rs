//! The pad bijector.

use super::embedding::{rank_of_axis, resize_axis, zero_log_det};
use super::{check_input, Bijector};
use crate::shape::fmt_shape;
use anyhow::{bail, Result};
use tch::Tensor;

/// Pads one axis of the event with a constant (TFP's `Pad` with a single axis).
///
/// For `axis = -k` (`k >= 1`) and `paddings = (before, after)`, `x` of shape
/// `[..., d, t_1, ..., t_{k-1}]` (the axis is the `k`-th from the right) maps to `y` of shape
/// `[..., before + d + after, t_1, ...]`: `before` slices of `constant`, then `x`, then `after`
/// slices. The inverse slices the padding off (it does not check the padded values). The
/// log-det is 0 (the map is an embedding; TFP's convention). Min event ndims `k` both ways.
///
/// TFP's default is `paddings = (0, 1)`, `constant = 0`, `axis = -1` ([`Pad::default`]). The
/// seed colab uses `Pad(paddings=[(1, 0)])` (a fixed first logit) and
/// `Pad(paddings=[(1, 0)], axis=-2)` (a fixed first row of locations).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pad {
    /// Number of constant slices `(before, after)` the axis; both non-negative.
    pub paddings: (i64, i64),
    /// The padding value.
    pub constant: f64,
    /// The padded axis, counted from the right: negative (`-1`, `-2`, ...).
    pub axis: i64,
}

impl Default for Pad {
    fn default() -> Self {
        Pad { paddings: (0, 1), constant: 0.0, axis: -1 }
    }
}

impl Pad {
    /// Pads the last axis with `before` and `after` zeros.
    pub fn new(before: i64, after: i64) -> Self {
        Pad { paddings: (before, after), constant: 0.0, axis: -1 }
    }
    /// The same padding on another (negative) axis.
    pub fn with_axis(self, axis: i64) -> Self {
        Pad { axis, ..self }
    }
    /// The same padding with another value.
    pub fn with_constant(self, constant: f64) -> Self {
        Pad { constant, ..self }
    }

    fn check_params(&self, op: &str) -> Result<()> {
        if self.axis >= 0 {
            bail!("{op}: axis must be negative (counted from the right), got {}", self.axis);
        }
        let (b, a) = self.paddings;
        if b < 0 || a < 0 {
            bail!("{op}: paddings must be non-negative, got ({b}, {a})");
        }
        Ok(())
    }

    fn k(&self) -> usize {
        rank_of_axis(self.axis)
    }

    /// Checks the input; returns its size along the axis.
    fn check(&self, op: &str, what: &str, t: &Tensor) -> Result<i64> {
        self.check_params(op)?;
        check_input(op, what, t, self.k())?;
        Ok(t.size()[t.dim() - self.k()])
    }
}

impl Bijector for Pad {
    fn name(&self) -> String {
        "pad".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        self.k()
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.check("Pad.forward", "x", x)?;
        let (before, after) = self.paddings;
        let mut parts = Vec::with_capacity(3);
        let opts = (x.kind(), x.device());
        let mut s = x.size();
        let ax = s.len() - self.k();
        if before > 0 {
            s[ax] = before;
            parts.push(Tensor::full(s.as_slice(), self.constant, opts));
        }
        parts.push(x.shallow_clone());
        if after > 0 {
            s[ax] = after;
            parts.push(Tensor::full(s.as_slice(), self.constant, opts));
        }
        Ok(Tensor::cat(&parts, self.axis))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let op = "Pad.inverse";
        let d = self.check(op, "y", y)?;
        let (before, after) = self.paddings;
        if d < before + after {
            bail!(
                "{op}: y of shape {} has {d} entries along axis {}, fewer than the padding {before} + {after}",
                fmt_shape(&y.size()),
                self.axis
            );
        }
        Ok(y.narrow(self.axis, before, d - before - after))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        self.check("Pad.forward_log_det_jacobian", "x", x)?;
        Ok(zero_log_det(x, self.k()))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        self.check("Pad.inverse_log_det_jacobian", "y", y)?;
        Ok(zero_log_det(y, self.k()))
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        self.map_shape("Pad.forward_event_shape", input, 1)
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        self.map_shape("Pad.inverse_event_shape", output, -1)
    }
    fn is_constant_jacobian(&self) -> bool {
        true
    }
}

impl Pad {
    fn map_shape(&self, op: &str, s: &[i64], sign: i64) -> Result<Vec<i64>> {
        self.check_params(op)?;
        resize_axis(op, s, self.k(), sign * (self.paddings.0 + self.paddings.1))
    }
}
