//! The shared skeleton of elementwise bijectors given by closed forms, so that each such
//! bijector's file holds its four formulas and nothing else.

/// Implements [`super::Bijector`] for `$ty`, elementwise (`forward_min_event_ndims = 0`), named
/// `$name`: each method checks its input ([`super::check_input`], naming `"$name.method"`) and
/// returns its expression of the input.
macro_rules! elementwise_bijector {
    (
        $ty:ty, $name:literal,
        forward: |$x1:ident| $forward:expr,
        inverse: |$y1:ident| $inverse:expr,
        forward_log_det_jacobian: |$x2:ident| $fldj:expr,
        inverse_log_det_jacobian: |$y2:ident| $ildj:expr $(,)?
    ) => {
        impl $crate::bijectors::Bijector for $ty {
            fn name(&self) -> String {
                $name.into()
            }
            fn forward_min_event_ndims(&self) -> usize {
                0
            }
            fn forward(&self, $x1: &tch::Tensor) -> anyhow::Result<tch::Tensor> {
                $crate::bijectors::check_input(concat!($name, ".forward"), "x", $x1, 0)?;
                Ok($forward)
            }
            fn inverse(&self, $y1: &tch::Tensor) -> anyhow::Result<tch::Tensor> {
                $crate::bijectors::check_input(concat!($name, ".inverse"), "y", $y1, 0)?;
                Ok($inverse)
            }
            fn forward_log_det_jacobian(&self, $x2: &tch::Tensor) -> anyhow::Result<tch::Tensor> {
                $crate::bijectors::check_input(concat!($name, ".forward_log_det_jacobian"), "x", $x2, 0)?;
                Ok($fldj)
            }
            fn inverse_log_det_jacobian(&self, $y2: &tch::Tensor) -> anyhow::Result<tch::Tensor> {
                $crate::bijectors::check_input(concat!($name, ".inverse_log_det_jacobian"), "y", $y2, 0)?;
                Ok($ildj)
            }
        }
    };
}
pub(super) use elementwise_bijector;
