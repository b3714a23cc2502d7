//! Checks shared by the univariate families (Uniform, Bernoulli, Gamma, Beta, StudentT,
//! Laplace, LogNormal): parameter dtype/device/shape checks at construction, and the optional
//! host-side argument validation (`with_validate_args(true)`).

use crate::shape::{check_value, check_value_shape};
use crate::Parameter;
use anyhow::{bail, Result};
use tch::{Device, Kind, Tensor};

pub(crate) use crate::variable::check_params;

/// Checks a value for a scalar-event distribution: dtype and device, and that its shape
/// broadcasts with `batch_shape`.
pub(crate) fn check_scalar_value(op: &str, x: &Tensor, kind: Kind, device: Device, batch_shape: &[i64]) -> Result<()> {
    check_value(op, x, kind, device)?;
    check_value_shape(op, x, batch_shape, &[])?;
    Ok(())
}

/// Host check (a device synchronisation) that `ok` holds everywhere; otherwise an error
/// `"{op}: expected {expectation}, got {value}"`, `value` describing `t` (its minimum and maximum).
pub(crate) fn require(op: &str, what: &str, t: &Tensor, ok: &Tensor, expectation: &str) -> Result<()> {
    if ok.logical_not().any().int64_value(&[]) != 0 {
        let t = t.detach();
        if t.isnan().any().int64_value(&[]) != 0 {
            bail!("{op}: expected {expectation}, got {what} containing NaN");
        }
        bail!(
            "{op}: expected {expectation}, got {what} with minimum {} and maximum {}",
            t.min().double_value(&[]),
            t.max().double_value(&[])
        );
    }
    Ok(())
}

/// Host check that `t > 0` everywhere (NaN fails).
pub(crate) fn require_positive(op: &str, what: &str, t: &Tensor) -> Result<()> {
    require(op, what, t, &t.gt(0.0), &format!("{what} > 0"))
}

/// Host check that `x` has no NaN.
pub(crate) fn require_not_nan(op: &str, x: &Tensor) -> Result<()> {
    if x.isnan().any().int64_value(&[]) != 0 {
        bail!("{op}: expected a value without NaN, got NaN");
    }
    Ok(())
}

/// Machine epsilon of a float kind (torch's `finfo(dtype).eps`).
pub(crate) fn eps(kind: Kind) -> f64 {
    if kind == Kind::Float {
        f32::EPSILON as f64
    } else {
        f64::EPSILON
    }
}

/// Smallest positive normal number of a float kind (torch's `finfo(dtype).tiny`).
pub(crate) fn tiny(kind: Kind) -> f64 {
    if kind == Kind::Float {
        f32::MIN_POSITIVE as f64
    } else {
        f64::MIN_POSITIVE
    }
}

/// The trainable variables of the parameters, in order.
pub(crate) fn trainable(params: &[&Parameter]) -> Vec<(String, Tensor)> {
    params.iter().flat_map(|p| p.trainable_variables()).collect()
}

/// Standard gamma draws `Gamma(c, 1)` for a concentration already expanded to the output shape,
/// clamped below at the dtype's smallest normal number (as torch does) so that `log` of a draw
/// is finite. libtorch's `_standard_gamma` has an autograd formula (implicit reparameterization),
/// so gradients flow to `c`.
pub(crate) fn standard_gamma(c: &Tensor) -> Tensor {
    c.internal_standard_gamma().clamp_min(tiny(c.kind()))
}
