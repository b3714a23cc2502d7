//! Shape helpers shared by the bijectors that embed `x` in a larger event along one axis
//! ([`super::Pad`], [`super::ConcatConstant`]): their log-det is 0 and their shape maps add or
//! remove entries along the axis.

use crate::shape::fmt_shape;
use anyhow::{bail, Result};
use tch::Tensor;

/// The event rank `k` of an axis `-k` (`k >= 1`).
pub(super) fn rank_of_axis(axis: i64) -> usize {
    (-axis).max(1) as usize
}

/// The zero log-det of an embedding with event rank `k`: shape `t.size()[..-k]`.
pub(super) fn zero_log_det(t: &Tensor, k: usize) -> Tensor {
    let s = t.size();
    Tensor::zeros(&s[..s.len() - k], (t.kind(), t.device()))
}

/// `s` with `delta` added to its size along axis `-k`; an error when `s` has fewer than `k`
/// dimensions or the size would become negative.
pub(super) fn resize_axis(op: &str, s: &[i64], k: usize, delta: i64) -> Result<Vec<i64>> {
    if s.len() < k {
        bail!("{op}: expected a shape with at least {k} dimension(s), got {}", fmt_shape(s));
    }
    let mut out = s.to_vec();
    let ax = s.len() - k;
    out[ax] += delta;
    if out[ax] < 0 {
        bail!(
            "{op}: shape {} has {} entries along axis -{k}, fewer than the {} to remove",
            fmt_shape(s),
            s[ax],
            -delta
        );
    }
    Ok(out)
}
