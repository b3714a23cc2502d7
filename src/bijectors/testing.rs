//! A public checker for bijectors, built-in or the user's own: round trip, log-det-Jacobians
//! against the autograd Jacobian, and event-shape maps (after TFP's bijector test utilities).

use super::Bijector;
use crate::shape::fmt_shape;
use anyhow::{bail, ensure, Result};
use tch::{Kind, Tensor};

/// `log|det J_f(x)|` computed from the full Jacobian that autograd gives, one backward pass per
/// output element of an event. For bijectors whose forward event has as many elements as the
/// input event. Meant for tests: slow, but independent of the bijector's own log-det.
pub fn autograd_log_det_jacobian(b: &dyn Bijector, x: &Tensor) -> Result<Tensor> {
    let k_in = b.forward_min_event_ndims();
    let k_out = b.inverse_min_event_ndims();
    let x = x.detach().set_requires_grad(true);
    let y = b.forward(&x)?;
    let (xs, ys) = (x.size(), y.size());
    ensure!(xs.len() >= k_in && ys.len() >= k_out, "autograd_log_det_jacobian: input too small");
    let batch = xs[..xs.len() - k_in].to_vec();
    let n_in: i64 = xs[xs.len() - k_in..].iter().product();
    let n_out: i64 = ys[ys.len() - k_out..].iter().product();
    if n_in != n_out {
        bail!("autograd_log_det_jacobian: {} maps {n_in} to {n_out} elements; no square Jacobian", b.name());
    }
    let mut out_shape = batch.clone();
    out_shape.push(n_out);
    let yf = y.reshape(out_shape.as_slice());
    let mut in_shape = batch.clone();
    in_shape.push(n_in);
    let rows: Vec<Tensor> = (0..n_out)
        .map(|j| {
            let g = Tensor::run_backward(&[yf.select(-1, j).sum(Kind::Double)], &[&x], true, false);
            g[0].reshape(in_shape.as_slice())
        })
        .collect();
    let jac = Tensor::stack(&rows, -2);
    let (_sign, logabsdet) = Tensor::linalg_slogdet(&jac);
    Ok(logabsdet)
}

/// Checks a bijector at `x` (float64 recommended): `inverse(forward(x)) ≈ x`,
/// `forward_log_det_jacobian(x)` against [`autograd_log_det_jacobian`],
/// `inverse_log_det_jacobian(forward(x)) ≈ -forward_log_det_jacobian(x)`, the combined
/// `forward_and_log_det`, and that the event-shape maps agree with the tensors' shapes.
/// Returns an error describing the first failure and its size, with tolerance
/// `atol + rtol * |expected|`.
pub fn check_bijector(b: &dyn Bijector, x: &Tensor, atol: f64, rtol: f64) -> Result<()> {
    let name = b.name();
    let y = b.forward(x)?;
    let k_in = b.forward_min_event_ndims();
    let k_out = b.inverse_min_event_ndims();
    let (xs, ys) = (x.size(), y.size());
    let x_event = &xs[xs.len() - k_in..];
    let y_event = &ys[ys.len() - k_out..];
    let mapped = b.forward_event_shape(x_event)?;
    ensure!(
        mapped == y_event,
        "{name}: forward_event_shape({}) = {}, but forward gives event shape {}",
        fmt_shape(x_event),
        fmt_shape(&mapped),
        fmt_shape(y_event)
    );
    let back = b.inverse_event_shape(y_event)?;
    ensure!(
        back == x_event,
        "{name}: inverse_event_shape({}) = {}, expected {}",
        fmt_shape(y_event),
        fmt_shape(&back),
        fmt_shape(x_event)
    );
    close(&format!("{name}: inverse(forward(x))"), &b.inverse(&y)?, x, atol, rtol)?;
    let fldj = b.forward_log_det_jacobian(x)?;
    let batch = &xs[..xs.len() - k_in];
    let fldj_full = fldj.broadcast_to(batch);
    if let Ok(reference) = autograd_log_det_jacobian(b, x) {
        close(&format!("{name}: forward_log_det_jacobian vs autograd"), &fldj_full, &reference, atol, rtol)?;
    }
    let ildj = b.inverse_log_det_jacobian(&y)?.broadcast_to(batch);
    close(
        &format!("{name}: inverse_log_det_jacobian(y) vs -forward_log_det_jacobian(x)"),
        &ildj,
        &(-&fldj_full),
        atol,
        rtol,
    )?;
    let (y2, fldj2) = b.forward_and_log_det(x)?;
    close(&format!("{name}: forward_and_log_det value"), &y2, &y, atol, rtol)?;
    close(&format!("{name}: forward_and_log_det log-det"), &fldj2.broadcast_to(batch), &fldj_full, atol, rtol)?;
    Ok(())
}

/// Checks `|actual - expected| <= atol + rtol * |expected|` elementwise (NaNs fail).
pub fn close(what: &str, actual: &Tensor, expected: &Tensor, atol: f64, rtol: f64) -> Result<()> {
    ensure!(
        actual.size() == expected.size(),
        "{what}: shape {} expected, got {}",
        fmt_shape(&expected.size()),
        fmt_shape(&actual.size())
    );
    let a = actual.detach().to_kind(Kind::Double);
    let e = expected.detach().to_kind(Kind::Double);
    let err = (&a - &e).abs();
    let tol = e.abs() * rtol + atol;
    let bad = err.gt_tensor(&tol).logical_or(&err.isnan());
    if bad.any().int64_value(&[]) != 0 {
        let worst = (&err - &tol).nan_to_num(f64::INFINITY, None, None).max().double_value(&[]);
        bail!(
            "{what}: mismatch beyond tolerance (atol {atol:e}, rtol {rtol:e}): worst excess {worst:e}, max abs error {:e}",
            err.nan_to_num(f64::INFINITY, None, None).max().double_value(&[])
        );
    }
    Ok(())
}
