//! The reciprocal bijector.

/// `y = 1 / x` elementwise, its own inverse, as TFP's `Reciprocal` (and torch's
/// `PowerTransform(-1)` on the positive half-line). A bijection of `x != 0`; `x = 0` gives `±∞`.
///
/// * `log|dy/dx| = -2 log|x|`; `log|dx/dy| = -2 log|y|`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reciprocal;

super::elementwise::elementwise_bijector!(
    Reciprocal, "reciprocal",
    forward: |x| x.reciprocal(),
    inverse: |y| y.reciprocal(),
    forward_log_det_jacobian: |x| x.abs().log() * -2.0,
    inverse_log_det_jacobian: |y| y.abs().log() * -2.0,
);
