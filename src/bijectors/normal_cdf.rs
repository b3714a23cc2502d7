//! The standard normal cdf as a bijector.

use crate::distributions::HALF_LOG_TWO_PI;

/// `y = Φ(x)`, the standard normal cdf (`ndtr`), maps the reals onto `(0, 1)` elementwise, as
/// TFP's `NormalCDF`.
///
/// * inverse: `x = Φ⁻¹(y)` (`ndtri`); `y = 0` or `1` gives `∓∞`, outside `[0, 1]` NaN (not
///   checked). In float32, `Φ(x)` rounds to 1 from `x ≈ 5.4` on, as any cdf does.
/// * `log|dy/dx| = log φ(x) = -x²/2 - log(2π)/2`, in closed form (finite where `Φ(x)` has
///   rounded to 0 or 1); `log|dx/dy| = -log φ(Φ⁻¹(y))`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NormalCdf;

super::elementwise::elementwise_bijector!(
    NormalCdf, "normal_cdf",
    forward: |x| x.special_ndtr(),
    inverse: |y| y.special_ndtri(),
    forward_log_det_jacobian: |x| x.square() * -0.5 - HALF_LOG_TWO_PI,
    inverse_log_det_jacobian: |y| y.special_ndtri().square() * 0.5 + HALF_LOG_TWO_PI,
);
