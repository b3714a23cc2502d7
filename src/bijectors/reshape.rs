//! The reshape bijector.

use super::{check_input, Bijector};
use crate::shape::fmt_shape;
use anyhow::{bail, Result};
use tch::Tensor;

/// Reshapes the rightmost dimensions of its input from `event_shape_in` to `event_shape_out`
/// (TFP's `Reshape(event_shape_out, event_shape_in)`), leaving leading batch dimensions alone:
/// `x` of shape `[..., *event_shape_in]` becomes `y` of shape `[..., *event_shape_out]`, and
/// the inverse reshapes back.
///
/// * Both shapes are explicit (no `-1` entries, unlike TFP) and must hold the same number of
///   elements; [`Reshape::new`] returns an error otherwise. Either may be `[]` (a scalar
///   event), e.g. `Reshape::new(vec![], vec![1])` adds a unit dimension.
/// * `forward_min_event_ndims = event_shape_in.len()`, `inverse_min_event_ndims =
///   event_shape_out.len()`.
/// * The map only relabels the entries, so `log|det J| = 0` (with the input's batch shape).
/// * Inputs whose rightmost dimensions differ from the expected event shape are an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reshape {
    event_shape_in: Vec<i64>,
    event_shape_out: Vec<i64>,
}

impl Reshape {
    /// A bijector reshaping events of shape `event_shape_in` to `event_shape_out`. Errors if
    /// a size is negative or the element counts differ.
    pub fn new(event_shape_in: Vec<i64>, event_shape_out: Vec<i64>) -> Result<Self> {
        let op = "Reshape.new";
        for (what, s) in [("event_shape_in", &event_shape_in), ("event_shape_out", &event_shape_out)] {
            if s.iter().any(|&d| d < 0) {
                bail!("{op}: expected {what} with non-negative sizes, got {}", fmt_shape(s));
            }
        }
        let (n_in, n_out): (i64, i64) = (event_shape_in.iter().product(), event_shape_out.iter().product());
        if n_in != n_out {
            bail!(
                "{op}: event_shape_in {} has {n_in} elements but event_shape_out {} has {n_out}",
                fmt_shape(&event_shape_in),
                fmt_shape(&event_shape_out)
            );
        }
        Ok(Reshape { event_shape_in, event_shape_out })
    }
    /// The event shape of `x`.
    pub fn event_shape_in(&self) -> &[i64] {
        &self.event_shape_in
    }
    /// The event shape of `y`.
    pub fn event_shape_out(&self) -> &[i64] {
        &self.event_shape_out
    }

    /// `shape` with its trailing `from` replaced by `to`, or an error naming `op`.
    fn map_shape(op: &str, what: &str, shape: &[i64], from: &[i64], to: &[i64]) -> Result<Vec<i64>> {
        let k = from.len();
        if shape.len() < k || &shape[shape.len() - k..] != from {
            bail!("{op}: expected {what} of shape [..., {}], got {}", join(from), fmt_shape(shape));
        }
        let mut out = shape[..shape.len() - k].to_vec();
        out.extend_from_slice(to);
        Ok(out)
    }

    fn apply(&self, op: &str, what: &str, t: &Tensor, forward: bool) -> Result<Tensor> {
        let (from, to) = if forward {
            (&self.event_shape_in, &self.event_shape_out)
        } else {
            (&self.event_shape_out, &self.event_shape_in)
        };
        check_input(op, what, t, from.len())?;
        let shape = Self::map_shape(op, what, &t.size(), from, to)?;
        Ok(t.reshape(shape.as_slice()))
    }

    fn zero_ldj(op: &str, what: &str, t: &Tensor, event: &[i64]) -> Result<Tensor> {
        check_input(op, what, t, event.len())?;
        let s = t.size();
        Self::map_shape(op, what, &s, event, &[])?;
        Ok(Tensor::zeros(&s[..s.len() - event.len()], (t.kind(), t.device())))
    }
}

fn join(s: &[i64]) -> String {
    s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
}

impl Bijector for Reshape {
    fn name(&self) -> String {
        "reshape".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        self.event_shape_in.len()
    }
    fn inverse_min_event_ndims(&self) -> usize {
        self.event_shape_out.len()
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.apply("reshape.forward", "x", x, true)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        self.apply("reshape.inverse", "y", y, false)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        Self::zero_ldj("reshape.forward_log_det_jacobian", "x", x, &self.event_shape_in)
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        Self::zero_ldj("reshape.inverse_log_det_jacobian", "y", y, &self.event_shape_out)
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        Self::map_shape("reshape.forward_event_shape", "an input", input, &self.event_shape_in, &self.event_shape_out)
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        Self::map_shape("reshape.inverse_event_shape", "an output", output, &self.event_shape_out, &self.event_shape_in)
    }
    fn is_constant_jacobian(&self) -> bool {
        true
    }
}
