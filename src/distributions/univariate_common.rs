//! Helpers shared by the univariate families: the host-side argument check behind
//! `with_validate_args(true)`, dtype constants and the standard gamma sampler.

use anyhow::{bail, Result};
use tch::{Kind, Tensor};

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

/// The Euler–Mascheroni constant γ (Gumbel's mean, Weibull's entropy).
pub(crate) const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

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

/// Standard gamma draws `Gamma(c, 1)` for a concentration already expanded to the output shape,
/// clamped below at the dtype's smallest normal number (as torch does) so that `log` of a draw
/// is finite. libtorch's `_standard_gamma` has an autograd formula (implicit reparameterization),
/// so gradients flow to `c`.
pub(crate) fn standard_gamma(c: &Tensor) -> Tensor {
    c.internal_standard_gamma().clamp_min(tiny(c.kind()))
}

/// Uniform draws in `[tiny, 1 - eps]` of the dtype (torch's clamp): the inverse-cdf samplers'
/// input, whose quantiles are then finite at both ends.
pub(crate) fn open_unit_uniform(shape: &[i64], kind: Kind, device: tch::Device) -> Tensor {
    Tensor::rand(shape, (kind, device)).clamp(tiny(kind), 1.0 - eps(kind))
}

/// `softplus(x) = log(1 + e^x)`, accurate everywhere (no overflow; libtorch's own returns `x`
/// above 20, an error of `e^(-20)`), with the gradient `sigmoid(x)`.
pub(crate) fn softplus(x: &Tensor) -> Tensor {
    x.logaddexp(&x.zeros_like())
}

/// `log(1 - exp(t))` for `t <= 0`, accurate over the whole range (Mächler's `log1mexp`):
/// `log(-expm1(t))` for `t > -ln 2`, `log1p(-exp(t))` below.
pub(crate) fn log1mexp(t: &Tensor) -> Tensor {
    let near = t.gt(-std::f64::consts::LN_2);
    // Each branch evaluated where it is accurate; the other's input is replaced by a safe value
    // so that neither produces NaN (which would reach the gradient through `where`).
    let tn = t.where_scalarother(&near, -1.0);
    let tf = t.where_scalarother(&near.logical_not(), -1.0);
    (-tn.expm1()).log().where_self(&near, &(-tf.exp()).log1p())
}
