//! The RealNVP coupling bijector.

use super::flow_transform::{AffineTransform, ElementwiseTransform};
use super::{check_vector, vector_event_shape, Bijector};
use crate::networks::Mlp;
use anyhow::{bail, Result};
use std::cell::RefCell;
use std::sync::Arc;
use tch::{Kind, Tensor};

/// TFP's `RealNVP` coupling layer (Dinh et al. 2017) on vectors of `event_size`
/// (`forward_min_event_ndims = 1`). With `m = num_masked`, the first `m` coordinates pass
/// through unchanged and condition an elementwise map of the other `event_size - m`
/// (affine by default: `y_b = x_b · exp(s(x_a)) + t(x_a)`, TFP's `shift_and_log_scale_fn`; or
/// any [`ElementwiseTransform`], e.g. the spline of neural spline flows). A negative
/// `num_masked` masks the LAST `|m|` coordinates instead (TFP's convention), so alternating
/// `m` and `-(d - m)` transforms every coordinate.
///
/// * forward and inverse take one pass of the conditioner each;
/// * `log|det J| = Σ_b log|g'(x_b)|` over the transformed coordinates.
///
/// A conditional coupling (an `Mlp` with `conditional_size`) reads its context from
/// [`RealNvp::set_context`].
///
/// The conditioner is an [`Mlp`] from the `|m|` masked coordinates to `(event_size - |m|) · P`
/// outputs (checked when the layer is built); its variables are the layer's.
pub struct RealNvp {
    conditioner: Mlp,
    transform: Arc<dyn ElementwiseTransform>,
    event_size: i64,
    num_masked: i64,
    context: RefCell<Option<Tensor>>,
}

impl std::fmt::Debug for RealNvp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RealNvp(event_size={}, num_masked={}, transform={})",
            self.event_size,
            self.num_masked,
            self.transform.name()
        )
    }
}

impl RealNvp {
    /// An affine coupling (log-scale softly clipped to ±5, see [`AffineTransform`]).
    pub fn new(event_size: i64, num_masked: i64, conditioner: Mlp) -> Result<Self> {
        Self::with_transform(event_size, num_masked, conditioner, Arc::new(AffineTransform::default()))
    }

    /// A coupling of the elementwise `transform`. Errors when `|num_masked|` leaves nothing to
    /// transform or nothing to condition on (`1 <= |m| <= event_size - 1`), or when the
    /// conditioner's sizes do not match.
    pub fn with_transform(
        event_size: i64,
        num_masked: i64,
        conditioner: Mlp,
        transform: Arc<dyn ElementwiseTransform>,
    ) -> Result<Self> {
        let op = "RealNVP::new";
        Self::check_split(event_size, num_masked)?;
        let m = num_masked.abs();
        let want_out = (event_size - m) * transform.params_per_element();
        let config = conditioner.config();
        if config.input_size != m || config.output_size != want_out {
            bail!(
                "{op}: the conditioner must map {m} masked coordinates to {want_out} outputs ({} per transformed coordinate of the {} transform), but it maps {} to {}",
                transform.params_per_element(),
                transform.name(),
                config.input_size,
                config.output_size
            );
        }
        Ok(RealNvp { conditioner, transform, event_size, num_masked, context: RefCell::new(None) })
    }

    /// Checks `1 <= |num_masked| <= event_size - 1`: something to condition on and something to
    /// transform.
    pub fn check_split(event_size: i64, num_masked: i64) -> Result<()> {
        let m = num_masked.abs();
        if event_size < 2 || m < 1 || m >= event_size {
            bail!(
                "RealNVP::new: expected 1 <= |num_masked| <= event_size - 1 (something to condition on and something to transform), got num_masked {num_masked} for event_size {event_size}"
            );
        }
        Ok(())
    }

    /// The context of a conditional network (`[..., conditional_size]`, broadcast against the
    /// inputs' batch shape), used by every later call until changed; `None` for none. Errors
    /// come from the network when the context is missing, unexpected or of the wrong size.
    pub fn set_context(&self, context: Option<&Tensor>) {
        *self.context.borrow_mut() = context.map(|c| c.shallow_clone());
    }

    /// The conditioner network.
    pub fn conditioner(&self) -> &Mlp {
        &self.conditioner
    }

    /// `num_masked` as given (negative: the last coordinates are masked).
    pub fn num_masked(&self) -> i64 {
        self.num_masked
    }

    /// `(masked, transformed)` parts of `t`, each `[..., k]`.
    fn split(&self, op: &str, what: &str, t: &Tensor) -> Result<(Tensor, Tensor)> {
        check_vector(op, what, t, self.event_size, Some(self.conditioner.first_weight()))?;
        let m = self.num_masked.abs();
        let rest = self.event_size - m;
        Ok(if self.num_masked > 0 {
            (t.narrow(-1, 0, m), t.narrow(-1, m, rest))
        } else {
            (t.narrow(-1, rest, m), t.narrow(-1, 0, rest))
        })
    }

    fn join(&self, masked: &Tensor, transformed: &Tensor) -> Tensor {
        if self.num_masked > 0 {
            Tensor::cat(&[masked, transformed], -1)
        } else {
            Tensor::cat(&[transformed, masked], -1)
        }
    }

    /// The transform's parameters for the transformed part, `[..., event_size - |m|, P]`.
    fn params(&self, masked: &Tensor, transformed: &Tensor) -> Result<Tensor> {
        let h = self.conditioner.forward(masked, self.context.borrow().as_ref())?;
        let mut shape = transformed.size();
        shape.push(self.transform.params_per_element());
        Ok(h.reshape(shape.as_slice()))
    }

    fn run(&self, op: &str, what: &str, t: &Tensor, forward: bool) -> Result<(Tensor, Tensor)> {
        let (a, b) = self.split(op, what, t)?;
        let params = self.params(&a, &b)?;
        let (b, l) = if forward {
            self.transform.forward_and_log_det(&b, &params)?
        } else {
            self.transform.inverse_and_log_det(&b, &params)?
        };
        Ok((self.join(&a, &b), l.sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>)))
    }
}

impl Bijector for RealNvp {
    fn name(&self) -> String {
        "real_nvp".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.run("real_nvp.forward", "x", x, true)?.0)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        Ok(self.run("real_nvp.inverse", "y", y, false)?.0)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.run("real_nvp.forward_log_det_jacobian", "x", x, true)?.1)
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        Ok(self.run("real_nvp.inverse_log_det_jacobian", "y", y, false)?.1)
    }
    fn forward_and_log_det(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.run("real_nvp.forward_and_log_det", "x", x, true)
    }
    fn inverse_and_log_det(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        self.run("real_nvp.inverse_and_log_det", "y", y, false)
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        vector_event_shape("real_nvp.forward_event_shape", input, self.event_size)
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        vector_event_shape("real_nvp.inverse_event_shape", output, self.event_size)
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.conditioner.trainable_variables()
    }
}
