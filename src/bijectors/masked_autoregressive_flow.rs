//! The masked autoregressive flow bijector (MAF; inverted, IAF).

use super::flow_transform::{AffineTransform, ElementwiseTransform};
use super::{check_vector, vector_event_shape, Bijector};
use crate::networks::AutoregressiveNetwork;
use anyhow::{bail, Result};
use std::cell::RefCell;
use std::sync::Arc;
use tch::{Kind, Tensor};

/// TFP's `MaskedAutoregressiveFlow` (Papamakarios et al. 2017) on vectors of `event_size`
/// (`forward_min_event_ndims = 1`): an elementwise map (affine by default, or any
/// [`ElementwiseTransform`], e.g. the spline of neural spline flows) whose parameters for
/// coordinate `i` come from an [`AutoregressiveNetwork`] that sees only coordinates of lower
/// degree.
///
/// * forward (sampling, TFP's direction): `y_i = g(x_i; θ_i(y_<i))`. Parameters depend on the
///   output, so it takes `event_size` passes of the network, each fixing one more coordinate.
/// * inverse (density): `x_i = g⁻¹(y_i; θ_i(y_<i))`, one pass.
/// * `log|det J| = Σ_i log|g'(x_i)|` (the Jacobian is triangular in the input order).
/// * `Invert(MaskedAutoregressiveFlow)` is the inverse autoregressive flow (IAF): one-pass
///   sampling, sequential density.
///
/// A conditional flow (a network with `conditional_size`) reads its context from
/// [`MaskedAutoregressiveFlow::set_context`] (TFP passes it as `bijector_kwargs`); the network
/// checks its size and broadcasting at each call.
///
/// The network's variables are the flow's ([`Bijector::trainable_variables`]); its output must
/// be `[..., event_size, P]` with `P` the transform's parameters per element (checked when the
/// flow is built).
pub struct MaskedAutoregressiveFlow {
    network: AutoregressiveNetwork,
    transform: Arc<dyn ElementwiseTransform>,
    event_size: i64,
    context: RefCell<Option<Tensor>>,
}

impl std::fmt::Debug for MaskedAutoregressiveFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MaskedAutoregressiveFlow(event_size={}, transform={})", self.event_size, self.transform.name())
    }
}

impl MaskedAutoregressiveFlow {
    /// An affine MAF (`y = x·exp(s) + t`, the log-scale softly clipped to ±5: see
    /// [`AffineTransform`]) on `network`, which must output 2 parameters per element.
    pub fn new(network: AutoregressiveNetwork) -> Result<Self> {
        Self::with_transform(network, Arc::new(AffineTransform::default()))
    }

    /// A MAF of the elementwise `transform` (TFP's `bijector_fn`); errors when the network's
    /// number of parameters per element is not the transform's.
    pub fn with_transform(network: AutoregressiveNetwork, transform: Arc<dyn ElementwiseTransform>) -> Result<Self> {
        let config = network.config();
        if config.params != transform.params_per_element() {
            bail!(
                "MaskedAutoregressiveFlow::new: the {} transform takes {} parameters per element, but the network outputs {}",
                transform.name(),
                transform.params_per_element(),
                config.params
            );
        }
        Ok(MaskedAutoregressiveFlow { event_size: config.event_size, network, transform, context: RefCell::new(None) })
    }

    /// The context of a conditional network (`[..., conditional_size]`, broadcast against the
    /// inputs' batch shape), used by every later call until changed; `None` for none. Errors
    /// come from the network when the context is missing, unexpected or of the wrong size.
    pub fn set_context(&self, context: Option<&Tensor>) {
        *self.context.borrow_mut() = context.map(|c| c.shallow_clone());
    }

    /// The conditioner network.
    pub fn network(&self) -> &AutoregressiveNetwork {
        &self.network
    }

    /// The elementwise transform.
    pub fn transform(&self) -> &Arc<dyn ElementwiseTransform> {
        &self.transform
    }

    fn check(&self, op: &str, what: &str, t: &Tensor) -> Result<()> {
        check_vector(op, what, t, self.event_size, Some(self.network.first_weight()))
    }

    fn sum_event(t: &Tensor) -> Tensor {
        t.sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>)
    }
}

impl Bijector for MaskedAutoregressiveFlow {
    fn name(&self) -> String {
        "masked_autoregressive_flow".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    /// As [`MaskedAutoregressiveFlow::forward_and_log_det`] without the log-det.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.check("masked_autoregressive_flow.forward", "x", x)?;
        let mut y = x.zeros_like();
        let context = self.context.borrow();
        for _ in 0..self.event_size {
            y = self.transform.forward(x, &self.network.forward(&y, context.as_ref())?)?;
        }
        Ok(y)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        Ok(self.inverse_and_log_det(y)?.0)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.forward_and_log_det(x)?.1)
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        Ok(self.inverse_and_log_det(y)?.1)
    }
    /// `event_size` passes: after pass `k` the coordinates of degree `<= k` are final (TFP's
    /// loop; the output of the last pass gives the log-det).
    fn forward_and_log_det(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.check("masked_autoregressive_flow.forward", "x", x)?;
        let mut y = x.zeros_like();
        // the first event_size - 1 passes need no log-det
        let context = self.context.borrow();
        for _ in 1..self.event_size {
            y = self.transform.forward(x, &self.network.forward(&y, context.as_ref())?)?;
        }
        let (y, ldj) =
            self.transform.forward_and_log_det(x, &self.network.forward(&y, context.as_ref())?)?;
        Ok((y, Self::sum_event(&ldj)))
    }
    fn inverse_and_log_det(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        self.check("masked_autoregressive_flow.inverse", "y", y)?;
        let params = self.network.forward(y, self.context.borrow().as_ref())?;
        let (x, l) = self.transform.inverse_and_log_det(y, &params)?;
        Ok((x, Self::sum_event(&l)))
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        vector_event_shape("masked_autoregressive_flow.forward_event_shape", input, self.event_size)
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        vector_event_shape("masked_autoregressive_flow.inverse_event_shape", output, self.event_size)
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.network.trainable_variables()
    }
}
