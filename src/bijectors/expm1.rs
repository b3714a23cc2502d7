//! The `expm1` bijector.

/// `y = exp(x) - 1` (by `expm1`, exact near 0), maps the reals onto `(-1, ∞)` elementwise, as
/// TFP's `Expm1`.
///
/// * inverse: `x = log1p(y)`; `y <= -1` gives `-∞` or NaN (not checked, as in TFP without
///   `validate_args`).
/// * `log|dy/dx| = x`; `log|dx/dy| = -log1p(y)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expm1;

super::elementwise::elementwise_bijector!(
    Expm1, "expm1",
    forward: |x| x.expm1(),
    inverse: |y| y.log1p(),
    forward_log_det_jacobian: |x| x.shallow_clone(),
    inverse_log_det_jacobian: |y| -y.log1p(),
);
