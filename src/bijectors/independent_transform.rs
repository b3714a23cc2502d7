//! A bijector with batch dimensions reinterpreted as event dimensions.

use super::Bijector;
use anyhow::{bail, Result};
use std::sync::Arc;
use tch::Tensor;

/// `base` with its `reinterpreted_batch_ndims` rightmost batch dimensions read as event
/// dimensions, as torch's `IndependentTransform`: the same maps, min event ndims larger by
/// that many, and log-dets summed over them (one value per event of the wider event shape).
pub struct IndependentTransform {
    base: Arc<dyn Bijector>,
    ndims: usize,
}

impl IndependentTransform {
    /// Reinterprets `reinterpreted_batch_ndims` batch dimensions of `base` as event dimensions.
    pub fn new(base: Arc<dyn Bijector>, reinterpreted_batch_ndims: usize) -> Self {
        Self { base, ndims: reinterpreted_batch_ndims }
    }

    fn check(&self, op: &str, what: &str, t: &Tensor, min: usize) -> Result<()> {
        if t.dim() < min {
            bail!(
                "independent_transform.{op}: expected {what} with at least {min} dimensions (the base's {} event \
                 dimensions and {} reinterpreted), got shape {:?}",
                min - self.ndims,
                self.ndims,
                t.size()
            );
        }
        Ok(())
    }
}

impl std::fmt::Debug for IndependentTransform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IndependentTransform({}, {})", self.base.name(), self.ndims)
    }
}

impl Bijector for IndependentTransform {
    fn name(&self) -> String {
        format!("independent_{}", self.base.name())
    }
    fn forward_min_event_ndims(&self) -> usize {
        self.base.forward_min_event_ndims() + self.ndims
    }
    fn inverse_min_event_ndims(&self) -> usize {
        self.base.inverse_min_event_ndims() + self.ndims
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.check("forward", "x", x, self.forward_min_event_ndims())?;
        self.base.forward(x)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        self.check("inverse", "y", y, self.inverse_min_event_ndims())?;
        self.base.inverse(y)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        self.check("forward_log_det_jacobian", "x", x, self.forward_min_event_ndims())?;
        self.base.forward_log_det_jacobian_reduced(x, self.forward_min_event_ndims())
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        self.check("inverse_log_det_jacobian", "y", y, self.inverse_min_event_ndims())?;
        self.base.inverse_log_det_jacobian_reduced(y, self.inverse_min_event_ndims())
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        self.base.forward_event_shape(input)
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        self.base.inverse_event_shape(output)
    }
    fn is_constant_jacobian(&self) -> bool {
        self.base.is_constant_jacobian()
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.base.trainable_variables()
    }
}
