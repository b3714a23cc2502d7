//! A bijector per slice along one axis.

use super::Bijector;
use anyhow::{bail, Result};
use std::sync::Arc;
use tch::Tensor;

/// A bijector per slice of an axis (`x.select(axis, i)` to the `i`-th), the results stacked
/// again, as torch's `StackTransform(tseq, dim)`. The axis is counted from the end and must be
/// a batch axis of every part (`-axis` larger than the parts' largest event rank, which is the
/// stack's); the log-dets are stacked along it.
pub struct Stack {
    parts: Vec<Arc<dyn Bijector>>,
    axis: i64,
    event_ndims: usize,
}

impl Stack {
    /// `parts`, one per slice of `axis` (negative). Errors for no parts, an axis that is not a
    /// batch axis of the parts, or parts that change their event rank.
    pub fn new(parts: Vec<Arc<dyn Bijector>>, axis: i64) -> Result<Self> {
        let op = "Stack::new";
        if parts.is_empty() {
            bail!("{op}: expected at least one part");
        }
        if let Some(b) = parts.iter().find(|b| b.forward_min_event_ndims() != b.inverse_min_event_ndims()) {
            bail!("{op}: the part {} changes the event rank; a part must keep its slice's shape", b.name());
        }
        let event_ndims = parts.iter().map(|b| b.forward_min_event_ndims()).max().unwrap_or(0);
        if axis >= 0 || (-axis) as usize <= event_ndims {
            bail!(
                "{op}: expected an axis counted from the end and outside the parts' events (below -{event_ndims}), \
                 got {axis}"
            );
        }
        Ok(Self { parts, axis, event_ndims })
    }

    /// The slices of `t` along the axis, checked.
    fn slices(&self, op: &str, what: &str, t: &Tensor) -> Result<Vec<Tensor>> {
        let need = (-self.axis) as usize;
        if t.dim() < need || t.size()[(t.dim() as i64 + self.axis) as usize] != self.parts.len() as i64 {
            bail!(
                "stack.{op}: expected {what} with {} entries along axis {} (one per part), got shape {:?}",
                self.parts.len(),
                self.axis,
                t.size()
            );
        }
        Ok(t.unbind(self.axis))
    }

    fn stacked(
        &self,
        op: &str,
        what: &str,
        t: &Tensor,
        f: impl Fn(&dyn Bijector, &Tensor) -> Result<Tensor>,
        // where the results are stacked, counted from the end of the full shape
        at: i64,
    ) -> Result<Tensor> {
        let out: Vec<Tensor> =
            self.slices(op, what, t)?.iter().zip(&self.parts).map(|(s, b)| f(b.as_ref(), s)).collect::<Result<_>>()?;
        Ok(Tensor::stack(&out, at))
    }
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.parts.iter().map(|b| b.name()).collect();
        write!(f, "Stack([{}], axis {})", names.join(", "), self.axis)
    }
}

impl Bijector for Stack {
    fn name(&self) -> String {
        "stack".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        self.event_ndims
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.stacked("forward", "x", x, |b, s| b.forward(s), self.axis)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        self.stacked("inverse", "y", y, |b, s| b.inverse(s), self.axis)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let n = self.event_ndims;
        self.stacked(
            "forward_log_det_jacobian",
            "x",
            x,
            |b, s| b.forward_log_det_jacobian_reduced(s, n),
            self.axis + n as i64,
        )
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        let n = self.event_ndims;
        self.stacked(
            "inverse_log_det_jacobian",
            "y",
            y,
            |b, s| b.inverse_log_det_jacobian_reduced(s, n),
            self.axis + n as i64,
        )
    }
    fn is_constant_jacobian(&self) -> bool {
        self.parts.iter().all(|b| b.is_constant_jacobian())
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        super::unique_variables(self.parts.iter().map(|b| b.trainable_variables()))
    }
}
