//! The `log1p` bijector.

/// `y = log(1 + x)` (by `log1p`, exact near 0), maps `(-1, ∞)` onto the reals elementwise, as
/// TFP's `Log1p` (the inverse of [`super::Expm1`]).
///
/// * inverse: `x = expm1(y)`; `x <= -1` gives `-∞` or NaN (not checked).
/// * `log|dy/dx| = -log1p(x)`; `log|dx/dy| = y`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Log1p;

super::elementwise::elementwise_bijector!(
    Log1p, "log1p",
    forward: |x| x.log1p(),
    inverse: |y| y.expm1(),
    forward_log_det_jacobian: |x| -x.log1p(),
    inverse_log_det_jacobian: |y| y.shallow_clone(),
);
