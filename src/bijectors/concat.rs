//! Concatenating a constant tensor (the bijector TFP lacks).

use super::embedding::{rank_of_axis, resize_axis, zero_log_det};
use super::{check_input, Bijector};
use crate::shape::{check_float, check_tensor, fmt_shape};
use anyhow::{bail, Result};
use tch::Tensor;

/// Where [`ConcatConstant`] puts its constant along the axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// The constant comes first (prepend).
    Before,
    /// The constant comes last (append).
    After,
}

/// Concatenates a fixed tensor to `x` along an event axis; the inverse slices it off.
///
/// For `axis = -k` the constant has rank `k` (one event's worth, say `[c, t_1, ..., t_{k-1}]`)
/// and `x` has shape `[..., d, t_1, ..., t_{k-1}]`; `y = concat([constant, x])` (or
/// `concat([x, constant])`) along the axis, shape `[..., c + d, t_1, ...]`, with the constant
/// broadcast over `x`'s leading (batch) dimensions. The log-det is 0 (an embedding, as for
/// [`super::Pad`]). Min event ndims `k` both ways. The constant must have the input's dtype and
/// device; the inverse does not check the sliced-off values. [`super::Pad`] is the special
/// case of a constant-valued tensor.
///
/// The seed colab's hand-written `PadEye(tril_fn)` (a first mixture component whose
/// `scale_tril` is fixed to the identity) is one of these: prepend the unconstrained vector
/// of `eye(n)` as a row along axis `-2`:
///
/// ```
/// use std::sync::Arc;
/// use tch::{Device, Kind, Tensor};
/// use tch_distributions::bijectors::{Bijector, Chain, ConcatConstant, FillScaleTriL, Position};
///
/// # fn main() -> anyhow::Result<()> {
/// let n = 4;
/// let tril = FillScaleTriL::default();
/// // The unconstrained row of the identity, shape [1, 10].
/// let eye_row = tril.inverse(&Tensor::eye(n, (Kind::Float, Device::Cpu)))?.unsqueeze(0);
/// let pad_eye = ConcatConstant::new(eye_row, -2, Position::Before)?;
/// // TFP: tfb.Chain([tril_bijector, PadEye(tril_bijector)])
/// let scale_tril = Chain::new(vec![Arc::new(tril), Arc::new(pad_eye)]);
///
/// let free = Tensor::zeros([2, 10], (Kind::Float, Device::Cpu)); // 2 learnable components
/// let l = scale_tril.forward(&free)?; // [3, 4, 4]; l[0] is eye(4) to float32 rounding
/// assert_eq!(l.size(), vec![3, 4, 4]);
/// let first_err = (l.get(0) - Tensor::eye(n, (Kind::Float, Device::Cpu))).abs().max();
/// assert!(first_err.double_value(&[]) < 1e-6);
/// assert_eq!(scale_tril.inverse(&l)?.size(), vec![2, 10]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ConcatConstant {
    /// The concatenated tensor, of rank `-axis`.
    pub constant: Tensor,
    /// The axis, counted from the right: negative (`-1`, `-2`, ...).
    pub axis: i64,
    /// Whether the constant goes before or after `x`.
    pub position: Position,
}

impl ConcatConstant {
    /// Checks the arguments (float constant of rank `-axis`, negative axis) and builds it.
    pub fn new(constant: Tensor, axis: i64, position: Position) -> Result<Self> {
        let c = ConcatConstant { constant, axis, position };
        c.check_params("ConcatConstant::new")?;
        Ok(c)
    }

    fn k(&self) -> usize {
        rank_of_axis(self.axis)
    }

    fn check_params(&self, op: &str) -> Result<()> {
        if self.axis >= 0 {
            bail!("{op}: axis must be negative (counted from the right), got {}", self.axis);
        }
        check_float(op, "constant", &self.constant)?;
        if self.constant.dim() != self.k() {
            bail!(
                "{op}: expected a constant of rank {} (= -axis), got shape {}",
                self.k(),
                fmt_shape(&self.constant.size())
            );
        }
        Ok(())
    }

    /// Checks `t` against the constant (dtype, device, the event dims other than the axis);
    /// returns `t`'s size along the axis.
    fn check(&self, op: &str, what: &str, t: &Tensor) -> Result<i64> {
        self.check_params(op)?;
        let k = self.k();
        check_input(op, what, t, k)?;
        check_tensor(op, what, t, self.constant.kind(), self.constant.device())?;
        let s = t.size();
        let ev = &s[s.len() - k..];
        let cs = self.constant.size();
        if ev[1..] != cs[1..] {
            bail!(
                "{op}: {what} of shape {} does not fit the constant of shape {} (axis {})",
                fmt_shape(&s),
                fmt_shape(&cs),
                self.axis
            );
        }
        Ok(ev[0])
    }

    fn map_shape(&self, op: &str, s: &[i64], sign: i64) -> Result<Vec<i64>> {
        self.check_params(op)?;
        resize_axis(op, s, self.k(), sign * self.constant.size()[0])
    }
}

impl Bijector for ConcatConstant {
    fn name(&self) -> String {
        "concat_constant".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        self.k()
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.check("ConcatConstant.forward", "x", x)?;
        let s = x.size();
        let mut cshape = s[..s.len() - self.k()].to_vec();
        cshape.extend(self.constant.size());
        let c = self.constant.broadcast_to(cshape.as_slice());
        let parts = match self.position {
            Position::Before => [c, x.shallow_clone()],
            Position::After => [x.shallow_clone(), c],
        };
        Ok(Tensor::cat(&parts, self.axis))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let op = "ConcatConstant.inverse";
        let d = self.check(op, "y", y)?;
        let c = self.constant.size()[0];
        if d < c {
            bail!(
                "{op}: y of shape {} has {d} entries along axis {}, fewer than the constant's {c}",
                fmt_shape(&y.size()),
                self.axis
            );
        }
        let start = match self.position {
            Position::Before => c,
            Position::After => 0,
        };
        Ok(y.narrow(self.axis, start, d - c))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        self.check("ConcatConstant.forward_log_det_jacobian", "x", x)?;
        Ok(zero_log_det(x, self.k()))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        self.check("ConcatConstant.inverse_log_det_jacobian", "y", y)?;
        Ok(zero_log_det(y, self.k()))
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        self.map_shape("ConcatConstant.forward_event_shape", input, 1)
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        self.map_shape("ConcatConstant.inverse_event_shape", output, -1)
    }
    fn is_constant_jacobian(&self) -> bool {
        true
    }
}
