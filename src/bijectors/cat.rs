//! A bijector per block along one axis.

use super::Bijector;
use anyhow::{bail, Result};
use std::sync::Arc;
use tch::Tensor;

/// A bijector per consecutive block of an axis, the results concatenated again, as torch's
/// `CatTransform(tseq, dim, lengths)` (TFP's `Blockwise` is the case of the last axis). The
/// axis is counted from the end (`-1`: the last); each part must keep its block's length. The
/// event rank is the largest of the parts' (`forward_min_event_ndims`), and at least `-axis`
/// when the blocks split the events. Log-dets: each part's summed to that rank, then summed
/// over the parts when the axis is inside the event, or concatenated along it when it is a
/// batch axis.
pub struct Cat {
    parts: Vec<(Arc<dyn Bijector>, i64)>,
    axis: i64,
    event_ndims: usize,
}

impl Cat {
    /// `parts`: each bijector with the length of its block, in order along `axis` (negative).
    /// Errors for no parts, a negative length, a non-negative axis, or parts whose forward
    /// and inverse event ranks differ (a part must keep its block's shape).
    pub fn new(parts: Vec<(Arc<dyn Bijector>, i64)>, axis: i64) -> Result<Self> {
        let op = "Cat::new";
        if parts.is_empty() {
            bail!("{op}: expected at least one part");
        }
        if axis >= 0 {
            bail!("{op}: expected an axis counted from the end (-1 for the last), got {axis}");
        }
        for (i, (b, len)) in parts.iter().enumerate() {
            if *len < 0 {
                bail!("{op}: part {i} ({}) has the negative length {len}", b.name());
            }
            if b.forward_min_event_ndims() != b.inverse_min_event_ndims() {
                bail!(
                    "{op}: part {i} ({}) changes the event rank ({} -> {}); a part must keep its block's shape",
                    b.name(),
                    b.forward_min_event_ndims(),
                    b.inverse_min_event_ndims()
                );
            }
        }
        let event_ndims = parts.iter().map(|(b, _)| b.forward_min_event_ndims()).max().unwrap_or(0);
        Ok(Self { parts, axis, event_ndims })
    }

    /// The total length of the axis.
    fn length(&self) -> i64 {
        self.parts.iter().map(|(_, l)| l).sum()
    }

    /// The blocks of `t` along the axis, checked.
    fn blocks(&self, op: &str, what: &str, t: &Tensor) -> Result<Vec<Tensor>> {
        let need = self.event_ndims.max(-self.axis as usize);
        if t.dim() < need {
            bail!("cat.{op}: expected {what} with at least {need} dimensions, got shape {:?}", t.size());
        }
        let size = t.size()[(t.dim() as i64 + self.axis) as usize];
        if size != self.length() {
            bail!(
                "cat.{op}: expected {what} of length {} along axis {} (the parts' lengths), got shape {:?}",
                self.length(),
                self.axis,
                t.size()
            );
        }
        let lengths: Vec<i64> = self.parts.iter().map(|(_, l)| *l).collect();
        Ok(t.split_with_sizes(lengths.as_slice(), self.axis))
    }

    fn map(
        &self,
        op: &str,
        what: &str,
        t: &Tensor,
        f: impl Fn(&dyn Bijector, &Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        let out: Vec<Tensor> = self
            .blocks(op, what, t)?
            .iter()
            .zip(&self.parts)
            .map(|(c, (b, _))| f(b.as_ref(), c))
            .collect::<Result<_>>()?;
        Ok(Tensor::cat(&out, self.axis))
    }

    /// The parts' log-dets (each over `event_ndims`) joined: summed when the axis is inside the
    /// event, else concatenated along it.
    fn join(&self, ldjs: Vec<Tensor>) -> Tensor {
        let inside = -self.axis as usize <= self.event_ndims;
        if inside {
            ldjs.into_iter().reduce(|a, b| a + b).expect("at least one part")
        } else {
            Tensor::cat(&ldjs, self.axis + self.event_ndims as i64)
        }
    }
}

impl std::fmt::Debug for Cat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.parts.iter().map(|(b, l)| format!("{}:{l}", b.name())).collect();
        write!(f, "Cat([{}], axis {})", names.join(", "), self.axis)
    }
}

impl Bijector for Cat {
    fn name(&self) -> String {
        "cat".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        self.event_ndims
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.map("forward", "x", x, |b, c| b.forward(c))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        self.map("inverse", "y", y, |b, c| b.inverse(c))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let blocks = self.blocks("forward_log_det_jacobian", "x", x)?;
        let ldjs = blocks
            .iter()
            .zip(&self.parts)
            .map(|(c, (b, _))| b.forward_log_det_jacobian_reduced(c, self.event_ndims))
            .collect::<Result<Vec<_>>>()?;
        Ok(self.join(ldjs))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        let blocks = self.blocks("inverse_log_det_jacobian", "y", y)?;
        let ldjs = blocks
            .iter()
            .zip(&self.parts)
            .map(|(c, (b, _))| b.inverse_log_det_jacobian_reduced(c, self.event_ndims))
            .collect::<Result<Vec<_>>>()?;
        Ok(self.join(ldjs))
    }
    fn is_constant_jacobian(&self) -> bool {
        self.parts.iter().all(|(b, _)| b.is_constant_jacobian())
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        super::unique_variables(self.parts.iter().map(|(b, _)| b.trainable_variables()))
    }
}
