//! The stick-breaking bijector.

use super::{check_input, Bijector};
use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// Maps `R^{K-1}` onto the interior of the `K`-simplex by breaking a stick, as torch's
/// `StickBreakingTransform`: with `u_i = x_i - log(K - i)` (`i = 1..K-1`) and `z_i = σ(u_i)`,
/// `y_i = z_i Π_{j<i} (1 - z_j)` and `y_K = Π_j (1 - z_j)`. At `x = 0` every `y_i = 1/K`.
/// Shapes: `x` is `[..., K-1]`, `y` is `[..., K]`; min event ndims 1 both ways.
///
/// * inverse (torch's): `x_i = log y_i - log(1 - Σ_{j<=i} y_j) + log(K - i)`, the remaining
///   stick clamped at the dtype's smallest positive normal number; it reads the first `K-1`
///   entries of `y` without checking that all `K` sum to 1.
/// * `log|det J| = Σ_i (log y_i - u_i + log σ(u_i))`, the density convention of torch (Lebesgue
///   measure on the first `K-1` coordinates, as `Dirichlet.log_prob`), with
///   `log y_i = log σ(u_i) + Σ_{j<i} log σ(-u_j)` formed from `u` (finite where `y_i` underflows).
#[derive(Debug, Clone, Copy, Default)]
pub struct StickBreaking;

impl StickBreaking {
    /// `u = x - log(K - i)` for the last dimension of `x` (`K - 1` entries).
    fn shifted(x: &Tensor) -> Tensor {
        let n = x.size()[x.dim() - 1];
        let offset = Tensor::arange_start_step(n, 0, -1, (x.kind(), x.device())); // K-1, ..., 1
        x - offset.log()
    }

    fn check_y(op: &str, y: &Tensor) -> Result<i64> {
        check_input(op, "y", y, 1)?;
        let k = y.size()[y.dim() - 1];
        if k < 1 {
            bail!("{op}: expected y with a last dimension K >= 1, got shape {:?}", y.size());
        }
        Ok(k)
    }

    /// `log|det J|` from `u`.
    fn log_det(u: &Tensor) -> Tensor {
        let (log_z, log_rest) = (u.log_sigmoid(), (-u).log_sigmoid());
        // Σ_{j<i} log(1 - z_j): an exclusive cumulative sum
        let before = log_rest.cumsum(-1, None::<Kind>) - &log_rest;
        let log_y = &log_z + before;
        (log_y - u + log_z).sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>)
    }
}

impl Bijector for StickBreaking {
    fn name(&self) -> String {
        "stick_breaking".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_input("stick_breaking.forward", "x", x, 1)?;
        let z = Self::shifted(x).sigmoid();
        let rest = (&z * -1.0 + 1.0).cumprod(-1, None::<Kind>);
        let mut one = x.size();
        *one.last_mut().expect("checked: at least one dimension") = 1;
        let one = Tensor::ones(one.as_slice(), (x.kind(), x.device()));
        // [z, 1] * [1, Π(1 - z)]
        Ok(Tensor::cat(&[&z, &one], -1) * Tensor::cat(&[&one, &rest], -1))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let k = Self::check_y("stick_breaking.inverse", y)?;
        let crop = y.narrow(-1, 0, k - 1);
        let tiny = if y.kind() == Kind::Float { f32::MIN_POSITIVE as f64 } else { f64::MIN_POSITIVE };
        let remaining = (crop.cumsum(-1, None::<Kind>) * -1.0 + 1.0).clamp_min(tiny);
        let offset = Tensor::arange_start_step(k - 1, 0, -1, (y.kind(), y.device()));
        Ok(crop.log() - remaining.log() + offset.log())
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        check_input("stick_breaking.forward_log_det_jacobian", "x", x, 1)?;
        Ok(Self::log_det(&Self::shifted(x)))
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        super::simplex_event_shape("stick_breaking", input, true)
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        super::simplex_event_shape("stick_breaking", output, false)
    }
}
