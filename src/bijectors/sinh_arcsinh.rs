//! The sinh-arcsinh bijector.

use super::param::Param;
use super::Bijector;
use crate::Parameter;
use anyhow::Result;
use tch::Tensor;

/// `y = sinh((arcsinh(x) + skewness) · tailweight) · m` elementwise, as TFP's `SinhArcsinh`,
/// with TFP's output multiplier `m = 2 / sinh(arcsinh(2) · tailweight)` (so that `±2` stay
/// near `±2` whatever the tail weight). `skewness` shifts the mass, `tailweight > 0` thickens
/// (above 1) or thins (below 1) the tails; `(0, 1)` is the identity. Both broadcast against
/// the input and may be constants, trainable variables or transformed variables
/// ([`SinhArcsinh::new`]) or `f64`s ([`SinhArcsinh::scalar`]).
///
/// * inverse: `x = sinh(arcsinh(y / m) / tailweight - skewness)`.
/// * `log|dy/dx| = log cosh((arcsinh x + skewness) · tailweight) - ½ log(1 + x²) + log tailweight
///   + log m`, with TFP's stable `log cosh a = |a| + log1p(e^{-2|a|}) - log 2` and
///   `log(1 + x²) = 2 log|x|` beyond `|x| = eps^{-1/2}`.
#[derive(Debug)]
pub struct SinhArcsinh {
    skewness: Param,
    tailweight: Param,
}

impl SinhArcsinh {
    /// With tensors or parameters for the skewness and the (positive) tail weight.
    pub fn new(skewness: impl Into<Parameter>, tailweight: impl Into<Parameter>) -> Self {
        Self { skewness: Param::value(skewness), tailweight: Param::value(tailweight) }
    }

    /// With scalars, applied in the input's dtype.
    pub fn scalar(skewness: f64, tailweight: f64) -> Self {
        Self { skewness: Param::Scalar(skewness), tailweight: Param::Scalar(tailweight) }
    }

    /// `(skewness, tailweight, m)` as tensors like `t`, checked against it.
    fn params(&self, op: &str, what: &str, t: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let (_, s) = self.skewness.check(op, what, "skewness", t)?;
        let (_, w) = self.tailweight.check(op, what, "tailweight", t)?;
        let w = w.tensor(t);
        let m = ((&w * 2f64.asinh()).sinh()).reciprocal() * 2.0;
        Ok((s.tensor(t), w, m))
    }

    fn log_cosh(a: &Tensor) -> Tensor {
        let a = a.abs();
        &a + (&a * -2.0).exp().log1p() - std::f64::consts::LN_2
    }

    fn log1p_square(x: &Tensor) -> Tensor {
        let eps = if x.kind() == tch::Kind::Float { f32::EPSILON as f64 } else { f64::EPSILON };
        let large = x.abs().gt(eps.powf(-0.5));
        // (the small branch's square would overflow where the large one is taken)
        let small = x.abs().clamp_max(eps.powf(-0.5)).square().log1p();
        x.abs().log().multiply_scalar(2.0).where_self(&large, &small)
    }
}

impl Bijector for SinhArcsinh {
    fn name(&self) -> String {
        "sinh_arcsinh".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (s, w, m) = self.params("sinh_arcsinh.forward", "x", x)?;
        Ok(((x.arcsinh() + s) * w).sinh() * m)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let (s, w, m) = self.params("sinh_arcsinh.inverse", "y", y)?;
        Ok(((y / m).arcsinh() / w - s).sinh())
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let (s, w, m) = self.params("sinh_arcsinh.forward_log_det_jacobian", "x", x)?;
        let a = (x.arcsinh() + s) * &w;
        Ok(Self::log_cosh(&a) - Self::log1p_square(x) * 0.5 + w.log() + m.log())
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        let (s, w, m) = self.params("sinh_arcsinh.inverse_log_det_jacobian", "y", y)?;
        let u = y / &m;
        Ok(Self::log_cosh(&(u.arcsinh() / &w - s)) - Self::log1p_square(&u) * 0.5 - w.log() - m.log())
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        super::unique_variables([self.skewness.trainable_variables(), self.tailweight.trainable_variables()])
    }
}
