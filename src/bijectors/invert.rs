//! The invert bijector.

use super::Bijector;
use anyhow::Result;
use std::sync::Arc;
use tch::Tensor;

/// The inverse of a bijector, as TFP's `Invert`: `Invert(b).forward = b.inverse` and
/// `Invert(b).inverse = b.forward`, with the log-dets swapped
/// (`Invert(b).forward_log_det_jacobian(x) = b.inverse_log_det_jacobian(x)`, reduced variants
/// included), the min event ndims swapped (`Invert(b).forward_min_event_ndims() =
/// b.inverse_min_event_ndims()`) and the event-shape maps swapped. Its name is TFP's:
/// `"invert_" + b.name()`. Example: `Invert(Arc::new(Exp))` is the log bijector on `(0, ∞)`.
#[derive(Clone)]
pub struct Invert(pub Arc<dyn Bijector>);

impl std::fmt::Debug for Invert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Invert({})", self.0.name())
    }
}

impl Invert {
    /// The inverse of `bijector`.
    pub fn new(bijector: Arc<dyn Bijector>) -> Self {
        Invert(bijector)
    }
    /// The wrapped bijector.
    pub fn bijector(&self) -> &Arc<dyn Bijector> {
        &self.0
    }
}

impl Bijector for Invert {
    fn name(&self) -> String {
        format!("invert_{}", self.0.name())
    }
    fn forward_min_event_ndims(&self) -> usize {
        self.0.inverse_min_event_ndims()
    }
    fn inverse_min_event_ndims(&self) -> usize {
        self.0.forward_min_event_ndims()
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.0.inverse(x)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        self.0.forward(y)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        self.0.inverse_log_det_jacobian(x)
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        self.0.forward_log_det_jacobian(y)
    }
    fn forward_and_log_det(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.0.inverse_and_log_det(x)
    }
    fn inverse_and_log_det(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        self.0.forward_and_log_det(y)
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        self.0.inverse_event_shape(input)
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        self.0.forward_event_shape(output)
    }
    fn is_constant_jacobian(&self) -> bool {
        self.0.is_constant_jacobian()
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.0.trainable_variables()
    }
    fn forward_log_det_jacobian_reduced(&self, x: &Tensor, event_ndims: usize) -> Result<Tensor> {
        self.0.inverse_log_det_jacobian_reduced(x, event_ndims)
    }
    fn inverse_log_det_jacobian_reduced(&self, y: &Tensor, event_ndims: usize) -> Result<Tensor> {
        self.0.forward_log_det_jacobian_reduced(y, event_ndims)
    }
}
