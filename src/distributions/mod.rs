//! Distributions: the [`Distribution`] trait and its implementations.
//!
//! Shapes follow TFP: a value has shape `sample_shape + batch_shape + event_shape`;
//! `log_prob(x)` takes `x` of shape `[..., batch_shape (broadcastable), event_shape]` and returns
//! `[..., batch_shape]`; `sample(sample_shape)` returns `sample_shape + batch_shape + event_shape`.
//!
//! Parameters are read at every call (see [`crate::Parameter`]), so a training step on the
//! variables is seen by the next `log_prob`.

mod categorical;
mod independent;
mod mixture_same_family;
mod multivariate_normal_tril;
mod normal;

pub use categorical::Categorical;
pub use independent::Independent;
pub use mixture_same_family::MixtureSameFamily;
pub use multivariate_normal_tril::MultivariateNormalTriL;
pub use normal::Normal;

use crate::shape::{fmt_shape, kind_name};
use anyhow::Result;
use std::fmt;
use tch::{Device, Kind, Tensor};

/// A probability distribution with learnable parameters.
pub trait Distribution: fmt::Display {
    /// The distribution's name (TFP's `name`, e.g. `"learnable_mvn_diag"`).
    fn name(&self) -> &str;

    /// The family, as TFP prints it (`"Normal"`, `"Independent"`, ...).
    fn type_name(&self) -> &'static str;

    /// Shape of a batch of independent, differently parameterized distributions.
    fn batch_shape(&self) -> Vec<i64>;

    /// Shape of one draw.
    fn event_shape(&self) -> Vec<i64>;

    /// Floating dtype of values and parameters (`Kind::Float` or `Kind::Double`).
    fn dtype(&self) -> Kind;

    /// Device of the parameters; samples are drawn there and values must live there.
    fn device(&self) -> Device;

    /// Log density (or mass) of `x` of shape `[..., batch_shape, event_shape]`, with gradient to
    /// the parameters. Returns `[..., batch_shape]` (broadcast).
    fn log_prob(&self, x: &Tensor) -> Result<Tensor>;

    /// Draws `sample_shape + batch_shape + event_shape` values with libtorch's generator
    /// (`tch::manual_seed` makes it reproducible), on the parameters' device, detached from the
    /// parameters (no gradient).
    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor>;

    /// The mean, of shape `batch_shape + event_shape`, with gradient to the parameters.
    fn mean(&self) -> Result<Tensor>;

    /// The trainable (raw) variables with their full `VarStore` names, in parameter order.
    fn trainable_variables(&self) -> Vec<(String, Tensor)>;

    /// The covariance matrix, of shape `batch_shape + event_shape + event_shape`, for
    /// distributions with a vector event; an error naming the family where it is not implemented.
    fn covariance(&self) -> Result<Tensor> {
        anyhow::bail!("{}.covariance: not implemented for {}", self.type_name(), self.type_name())
    }

    /// `exp(log_prob(x))`.
    fn prob(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.log_prob(x)?.exp())
    }
}

/// TFP's one-line description:
/// `Independent("learnable_mvn_diag", batch_shape=[], event_shape=[4], dtype=float32)`.
pub fn describe(d: &dyn Distribution) -> String {
    format!(
        "{}(\"{}\", batch_shape={}, event_shape={}, dtype={})",
        d.type_name(),
        d.name(),
        fmt_shape(&d.batch_shape()),
        fmt_shape(&d.event_shape()),
        kind_name(d.dtype())
    )
}

/// Implements `Display` and `Debug` as [`describe`] for a distribution type.
macro_rules! display_as_describe {
    ($t:ty) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&crate::distributions::describe(self))
            }
        }
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&crate::distributions::describe(self))
            }
        }
    };
}
pub(crate) use display_as_describe;
