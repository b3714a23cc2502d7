//! Student's t distribution.

use super::univariate_common::{
    check_params, check_scalar_value, require_not_nan, require_positive, standard_gamma, trainable,
};
use super::{display_as_describe, sample_and_batch, Distribution, Support};
use crate::bijectors::{Bijector, Identity};
use crate::Parameter;
use anyhow::Result;
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

const HALF_LOG_PI: f64 = 0.572_364_942_924_700_1;
const LGAMMA_HALF: f64 = 0.572_364_942_924_700_1; // lgamma(1/2) = log(√π)

/// `StudentT(df, loc, scale)` (`ν`, `μ`, `σ`): density
/// `Γ((ν+1)/2) / (Γ(ν/2) √(νπ) σ) · (1 + y²/ν)^(-(ν+1)/2)`, `y = (x - μ)/σ`.
///
/// `batch_shape` is the broadcast of the shapes of `df`, `loc` and `scale`; `event_shape` is
/// `[]`.
///
/// * `log_prob(x) = -(ν+1)/2 · log1p(y²/ν) - log σ - log(ν)/2 - log(π)/2 - lgamma(ν/2)
///   + lgamma((ν+1)/2)`.
/// * `sample`/`rsample`: `μ + σ · z / √(χ²/ν)` with `z ~ N(0, 1)` and `χ² = 2 g`,
///   `g ~ Gamma(ν/2, 1)` (libtorch's reparameterized `_standard_gamma`), as torch: gradients
///   flow to `ν`, `μ` and `σ`.
/// * mean `μ` where `ν > 1`, NaN elsewhere; variance `σ² ν/(ν-2)` where `ν > 2`, `inf` where
///   `1 < ν <= 2`, NaN where `ν <= 1` (torch); mode `μ`;
///   entropy `log σ + (ν+1)/2 (ψ((ν+1)/2) - ψ(ν/2)) + log(ν)/2 + lbeta(ν/2, 1/2)`.
/// * support [`Support::Real`]; `default_event_space_bijector` is [`Identity`].
pub struct StudentT {
    df: Parameter,
    loc: Parameter,
    scale: Parameter,
    name: String,
    batch_shape: Vec<i64>,
    validate_args: bool,
}

impl StudentT {
    /// Builds `StudentT(df, loc, scale)`. Errors when the parameters are not float, differ in
    /// dtype or device, or their shapes do not broadcast.
    pub fn new(df: impl Into<Parameter>, loc: impl Into<Parameter>, scale: impl Into<Parameter>) -> Result<Self> {
        let (df, loc, scale) = (df.into(), loc.into(), scale.into());
        let batch_shape = check_params("StudentT::new", &[("df", &df), ("loc", &loc), ("scale", &scale)])?;
        Ok(Self { df, loc, scale, name: "StudentT".into(), batch_shape, validate_args: false })
    }

    /// Sets the name printed by `Display`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// When on, methods check on the host (a device synchronisation) that `df > 0`,
    /// `scale > 0` and values are not NaN. Off by default.
    pub fn with_validate_args(mut self, on: bool) -> Self {
        self.validate_args = on;
        self
    }

    /// The degrees of freedom `ν`.
    pub fn df(&self) -> &Parameter {
        &self.df
    }

    /// The location `μ`.
    pub fn loc(&self) -> &Parameter {
        &self.loc
    }

    /// The scale `σ`.
    pub fn scale(&self) -> &Parameter {
        &self.scale
    }

    fn params(&self, op: &str) -> Result<(Tensor, Tensor, Tensor)> {
        let (df, loc, scale) = (self.df.value()?, self.loc.value()?, self.scale.value()?);
        if self.validate_args {
            require_positive(op, "df", &df)?;
            require_positive(op, "scale", &scale)?;
        }
        Ok((df, loc, scale))
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = sample_and_batch(op, sample_shape, &self.batch_shape)?;
        let (df, loc, scale) = self.params(op)?;
        let z = Tensor::randn(shape.as_slice(), (self.dtype(), self.device()));
        let g = standard_gamma(&(&df * 0.5).expand(shape.as_slice(), false));
        // χ²/ν = 2g/ν
        let y = z * (g * 2.0 / df).rsqrt();
        Ok(loc + scale * y)
    }
}

impl Distribution for StudentT {
    fn name(&self) -> &str {
        &self.name
    }
    fn type_name(&self) -> &'static str {
        "StudentT"
    }
    fn batch_shape(&self) -> Vec<i64> {
        self.batch_shape.clone()
    }
    fn event_shape(&self) -> Vec<i64> {
        vec![]
    }
    fn dtype(&self) -> Kind {
        self.df.kind()
    }
    fn device(&self) -> Device {
        self.df.device()
    }

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "StudentT.log_prob";
        check_scalar_value(op, x, self.dtype(), self.device(), &self.batch_shape)?;
        if self.validate_args {
            require_not_nan(op, x)?;
        }
        let (df, loc, scale) = self.params(op)?;
        let y = (x - loc) / &scale;
        let half = &df * 0.5;
        let z = scale.log() + df.log() * 0.5 + HALF_LOG_PI + half.lgamma() - (&half + 0.5).lgamma();
        // log1p(y²/ν) = 2 ln(hi) + log1p((lo/hi)²) with a = |y|/√ν, hi = max(a, 1), lo = min(a, 1):
        // the same value without squaring a large |y| (y² overflows float32 beyond |y| ≈ 1.8e19).
        let a = y.abs() / df.sqrt();
        let (hi, lo) = (a.clamp_min(1.0), a.clamp_max(1.0));
        let log1p_t = hi.log() * 2.0 + (lo / &hi).square().log1p();
        Ok(log1p_t * -(&half + 0.5) - z)
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        tch::no_grad(|| self.draw("StudentT.sample", sample_shape))
    }

    /// `loc + scale · z / √(2g/ν)`, reparameterized in all three parameters.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        self.draw("StudentT.rsample", sample_shape)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    /// `loc` where `df > 1`, NaN elsewhere.
    fn mean(&self) -> Result<Tensor> {
        let (df, loc, _) = self.params("StudentT.mean")?;
        let shape = self.batch_shape.as_slice();
        Ok(loc.broadcast_to(shape).where_scalarother(&df.gt(1.0).broadcast_to(shape), f64::NAN))
    }

    /// `scale² df/(df-2)` where `df > 2`, `inf` where `1 < df <= 2`, NaN where `df <= 1`.
    fn variance(&self) -> Result<Tensor> {
        let (df, _, scale) = self.params("StudentT.variance")?;
        let shape = self.batch_shape.as_slice();
        let big = df.gt(2.0);
        // Keep the unused branch finite so that its masked gradient is 0, not NaN.
        let safe_df = df.where_scalarother(&big, 3.0);
        let v = (scale.square() * &safe_df / (&safe_df - 2.0)).broadcast_to(shape);
        let other = Tensor::full(shape, f64::INFINITY, (self.dtype(), self.device()))
            .where_scalarother(&df.gt(1.0).broadcast_to(shape), f64::NAN);
        Ok(v.where_self(&big.broadcast_to(shape), &other))
    }

    fn mode(&self) -> Result<Tensor> {
        Ok(self.loc.value()?.broadcast_to(self.batch_shape.as_slice()))
    }

    /// `log σ + (ν+1)/2 (ψ((ν+1)/2) - ψ(ν/2)) + log(ν)/2 + lbeta(ν/2, 1/2)`.
    fn entropy(&self) -> Result<Tensor> {
        let (df, _, scale) = self.params("StudentT.entropy")?;
        let half = &df * 0.5;
        let half1 = &half + 0.5;
        let lbeta = half.lgamma() + LGAMMA_HALF - half1.lgamma();
        let h = scale.log() + &half1 * (half1.digamma() - half.digamma()) + df.log() * 0.5 + lbeta;
        Ok(h.broadcast_to(self.batch_shape.as_slice()))
    }

    fn support(&self) -> Support {
        Support::Real
    }

    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        Ok(Arc::new(Identity))
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        trainable(&[&self.df, &self.loc, &self.scale])
    }
}

display_as_describe!(StudentT);
