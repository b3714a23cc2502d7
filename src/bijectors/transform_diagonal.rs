//! The transform-diagonal bijector.

use super::{check_input, Bijector};
use crate::shape::fmt_shape;
use anyhow::{bail, Result};
use std::sync::Arc;
use tch::{Kind, Tensor};

/// Applies an inner bijector to the diagonal of square matrices and leaves the other entries
/// unchanged (TFP's `TransformDiagonal`).
///
/// For `x` of shape `[..., n, n]`: `y_ii = g(x_ii)`, `y_ij = x_ij` (`i != j`), with `g` the
/// inner bijector applied to the diagonal vector `[..., n]`. The Jacobian is block-diagonal
/// (identity off the diagonal), so `log|det J| = sum_i log|g'(x_ii)|`: the inner log-det
/// reduced over the diagonal (`forward_log_det_jacobian_reduced(diag, 1)`). Min event ndims 2
/// both ways; shapes are preserved.
///
/// The inner bijector must act on the diagonal vector without changing its shape: its min
/// event ndims must be at most 1 (elementwise bijectors such as `Softplus`, `Exp`,
/// `Chain([Shift, Softplus])` have 0); otherwise the methods return an error.
#[derive(Clone)]
pub struct TransformDiagonal(pub Arc<dyn Bijector>);

impl std::fmt::Debug for TransformDiagonal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TransformDiagonal({})", self.0.name())
    }
}

impl TransformDiagonal {
    /// Wraps the bijector applied to the diagonal.
    pub fn new(diag_bijector: Arc<dyn Bijector>) -> Self {
        TransformDiagonal(diag_bijector)
    }

    /// Checks `t` is a float batch of square matrices and the inner bijector fits; returns `n`.
    fn check(&self, op: &str, what: &str, t: &Tensor) -> Result<i64> {
        check_input(op, what, t, 2)?;
        let s = t.size();
        let (r, c) = (s[s.len() - 2], s[s.len() - 1]);
        if r != c {
            bail!("{op}: expected {what} of square matrices [..., n, n], got shape {}", fmt_shape(&s));
        }
        let inner = &self.0;
        if inner.forward_min_event_ndims() > 1 || inner.inverse_min_event_ndims() > 1 {
            bail!(
                "{op}: the diagonal bijector {} must have min event ndims at most 1, got {} (forward) / {} (inverse)",
                inner.name(),
                inner.forward_min_event_ndims(),
                inner.inverse_min_event_ndims()
            );
        }
        Ok(r)
    }

    /// `where(diagonal, diag_embed(d), t)`: `t` with its diagonal replaced by `d`.
    fn replace_diagonal(op: &str, t: &Tensor, d: &Tensor, n: i64) -> Result<Tensor> {
        let want = &t.size()[..t.dim() - 1];
        if d.size() != want {
            bail!(
                "{op}: the diagonal bijector changed the diagonal's shape {} to {}",
                fmt_shape(want),
                fmt_shape(&d.size())
            );
        }
        let on_diag = Tensor::eye(n, (Kind::Bool, t.device()));
        // tch's `a.where_self(cond, b)` is `where(cond, a, b)`.
        Ok(d.diag_embed(0, -2, -1).where_self(&on_diag, t))
    }

    fn diag(t: &Tensor) -> Tensor {
        t.diagonal(0, -2, -1)
    }
}

impl Bijector for TransformDiagonal {
    fn name(&self) -> String {
        "transform_diagonal".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        2
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let op = "TransformDiagonal.forward";
        let n = self.check(op, "x", x)?;
        let d = self.0.forward(&Self::diag(x))?;
        Self::replace_diagonal(op, x, &d, n)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let op = "TransformDiagonal.inverse";
        let n = self.check(op, "y", y)?;
        let d = self.0.inverse(&Self::diag(y))?;
        Self::replace_diagonal(op, y, &d, n)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        self.check("TransformDiagonal.forward_log_det_jacobian", "x", x)?;
        self.0.forward_log_det_jacobian_reduced(&Self::diag(x), 1)
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        self.check("TransformDiagonal.inverse_log_det_jacobian", "y", y)?;
        self.0.inverse_log_det_jacobian_reduced(&Self::diag(y), 1)
    }
    fn forward_and_log_det(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let op = "TransformDiagonal.forward_and_log_det";
        let n = self.check(op, "x", x)?;
        let diag = Self::diag(x);
        let d = self.0.forward(&diag)?;
        let ldj = self.0.forward_log_det_jacobian_reduced(&diag, 1)?;
        Ok((Self::replace_diagonal(op, x, &d, n)?, ldj))
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        square_shape("TransformDiagonal.forward_event_shape", input)
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        square_shape("TransformDiagonal.inverse_event_shape", output)
    }
    fn is_constant_jacobian(&self) -> bool {
        self.0.is_constant_jacobian()
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.0.trainable_variables()
    }
}

fn square_shape(op: &str, s: &[i64]) -> Result<Vec<i64>> {
    let k = s.len();
    if k < 2 || s[k - 1] != s[k - 2] {
        bail!("{op}: expected a shape [..., n, n], got {}", fmt_shape(s));
    }
    Ok(s.to_vec())
}
