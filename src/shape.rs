//! Shape and tensor checks shared by bijectors and distributions.
//!
//! Every public entry point checks its inputs with these helpers before calling libtorch, so
//! that bad input becomes an `anyhow` error naming the operation, the expectation and the value.

use anyhow::{bail, Result};
use tch::{Device, Kind, Tensor};

/// Formats a shape as `[2, 3]`.
pub fn fmt_shape(shape: &[i64]) -> String {
    format!("{shape:?}")
}

/// The broadcast of two shapes (NumPy rules), or an error naming `op`.
pub fn broadcast_shapes(op: &str, a: &[i64], b: &[i64]) -> Result<Vec<i64>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i < n - a.len() { 1 } else { a[i - (n - a.len())] };
        let db = if i < n - b.len() { 1 } else { b[i - (n - b.len())] };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => bail!("{op}: shapes {} and {} do not broadcast", fmt_shape(a), fmt_shape(b)),
        };
    }
    Ok(out)
}

/// Name of a floating kind as TFP prints it (`float32`, `float64`, ...).
pub fn kind_name(kind: Kind) -> String {
    match kind {
        Kind::Float => "float32".into(),
        Kind::Double => "float64".into(),
        Kind::Half => "float16".into(),
        Kind::BFloat16 => "bfloat16".into(),
        Kind::Int64 => "int64".into(),
        Kind::Int => "int32".into(),
        Kind::Bool => "bool".into(),
        other => format!("{other:?}"),
    }
}

/// Checks that `t` is a float32 or float64 tensor.
pub fn check_float(op: &str, what: &str, t: &Tensor) -> Result<()> {
    match t.kind() {
        Kind::Float | Kind::Double => Ok(()),
        k => bail!("{op}: expected {what} of dtype float32 or float64, got {}", kind_name(k)),
    }
}

/// Checks that `t` is a float tensor of the given kind and device.
pub fn check_tensor(op: &str, what: &str, t: &Tensor, kind: Kind, device: Device) -> Result<()> {
    check_float(op, what, t)?;
    if t.kind() != kind {
        bail!("{op}: expected {what} of dtype {}, got {}", kind_name(kind), kind_name(t.kind()));
    }
    if t.device() != device {
        bail!("{op}: expected {what} on device {device:?}, got {:?}", t.device());
    }
    Ok(())
}

/// Checks a value handed to a distribution whose values have dtype `kind` on `device`: integer
/// indices (any integer dtype) when `kind` is `Int64`, otherwise a float tensor of `kind`.
pub fn check_value(op: &str, x: &Tensor, kind: Kind, device: Device) -> Result<()> {
    if kind != Kind::Int64 {
        return check_tensor(op, "value", x, kind, device);
    }
    if !matches!(x.kind(), Kind::Int64 | Kind::Int | Kind::Int16 | Kind::Int8 | Kind::Uint8) {
        bail!("{op}: expected integer category indices, got dtype {}", kind_name(x.kind()));
    }
    if x.device() != device {
        bail!("{op}: expected a value on device {device:?}, got {:?}", x.device());
    }
    Ok(())
}

/// Checks that `t` has at least `n` dimensions.
pub fn check_min_rank(op: &str, what: &str, t: &Tensor, n: usize) -> Result<()> {
    if t.dim() < n {
        bail!("{op}: expected {what} with at least {n} dimension(s), got shape {}", fmt_shape(&t.size()));
    }
    Ok(())
}

/// Splits `shape` into its leading part and its last `n` dimensions.
pub fn split_last(shape: &[i64], n: usize) -> (&[i64], &[i64]) {
    shape.split_at(shape.len().saturating_sub(n))
}

/// Checks that a value `x` fits a distribution of the given batch and event shapes: its last
/// dimensions must equal `event_shape` and the dimensions before them must broadcast with
/// `batch_shape`. Returns the broadcast `sample + batch` shape of the result.
pub fn check_value_shape(op: &str, x: &Tensor, batch_shape: &[i64], event_shape: &[i64]) -> Result<Vec<i64>> {
    let size = x.size();
    let (lead, ev) = split_last(&size, event_shape.len());
    if size.len() < event_shape.len() || ev != event_shape {
        let shown: Vec<String> = ev.iter().map(|d| d.to_string()).collect();
        bail!(
            "{op}: expected event shape {}, got [..., {}] (value shape {})",
            fmt_shape(event_shape),
            shown.join(", "),
            fmt_shape(&size)
        );
    }
    broadcast_shapes(op, lead, batch_shape).map_err(|_| {
        anyhow::anyhow!(
            "{op}: value shape {} does not broadcast with batch shape {} + event shape {}",
            fmt_shape(&size),
            fmt_shape(batch_shape),
            fmt_shape(event_shape)
        )
    })
}

/// Sums the last `n` dimensions of `t` (no-op for `n = 0`).
pub fn sum_last(t: &Tensor, n: usize) -> Tensor {
    if n == 0 {
        return t.shallow_clone();
    }
    let d = t.dim() as i64;
    let dims: Vec<i64> = (d - n as i64..d).collect();
    t.sum_dim_intlist(dims.as_slice(), false, None::<Kind>)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes("t", &[3, 1], &[4]).unwrap(), vec![3, 4]);
        assert_eq!(broadcast_shapes("t", &[], &[2, 2]).unwrap(), vec![2, 2]);
        let err = broadcast_shapes("op", &[3], &[4]).unwrap_err().to_string();
        assert!(err.contains("op: shapes [3] and [4] do not broadcast"), "{err}");
    }
}
