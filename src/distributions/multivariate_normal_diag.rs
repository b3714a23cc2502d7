//! The multivariate Normal distribution with a diagonal scale.

use super::{display_as_describe, sample_and_batch, Distribution, Support};
use crate::bijectors::{Bijector, Identity};
use crate::shape::{broadcast_shapes, check_value, check_value_shape, fmt_shape};
use crate::Parameter;
use anyhow::{bail, Result};
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

use super::HALF_LOG_TWO_PI;

/// `MultivariateNormalDiag(loc, scale_diag)` (TFP): `x = loc + scale_diag ⊙ z` with
/// `z ~ N(0, I)`, covariance `diag(scale_diag²)`.
///
/// `loc` has shape `[..., d]` and `scale_diag` `[..., d]`; `batch_shape` is the broadcast of
/// their leading shapes, `event_shape` is `[d]`.
/// `log_prob(x) = -Σ_i ((x_i - loc_i) / s_i)² / 2 - Σ_i log|s_i| - d log(2π)/2` (TFP reads
/// `|s_i|`, as for `MultivariateNormalTriL`); `entropy = Σ log|s_i| + d (1 + log 2π) / 2`.
/// torch has no such class: it is `Independent(Normal(loc, scale_diag), 1)` there.
pub struct MultivariateNormalDiag {
    loc: Parameter,
    scale_diag: Parameter,
    name: String,
    batch_shape: Vec<i64>,
    d: i64,
    validate_args: bool,
}

impl MultivariateNormalDiag {
    /// Builds the distribution; errors on non-float or mismatched dtypes/devices, a `loc` that is
    /// a scalar, a `scale_diag` whose last size is not `d` (the last size of `loc`), or batch
    /// shapes that do not broadcast.
    pub fn new(loc: impl Into<Parameter>, scale_diag: impl Into<Parameter>) -> Result<Self> {
        let (loc, scale_diag) = (loc.into(), scale_diag.into());
        let op = "MultivariateNormalDiag::new";
        crate::variable::check_kinds(op, &[("loc", &loc), ("scale_diag", &scale_diag)])?;
        let (ls, ss) = (loc.shape(), scale_diag.shape());
        let d = match ls.last() {
            Some(&d) => d,
            None => bail!("{op}: expected loc of shape [..., d], got a scalar"),
        };
        if ss.last() != Some(&d) {
            bail!(
                "{op}: expected scale_diag of shape [..., {d}] to match loc {}, got {}",
                fmt_shape(&ls),
                fmt_shape(&ss)
            );
        }
        let batch_shape = broadcast_shapes(op, &ls[..ls.len() - 1], &ss[..ss.len() - 1])?;
        Ok(Self { loc, scale_diag, name: "MultivariateNormalDiag".into(), batch_shape, d, validate_args: false })
    }

    /// Sets the name printed by `Display`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// When on, every read of `scale_diag` checks (on the host, at the cost of a device
    /// synchronisation) that it has no zero or NaN entry, and `log_prob` that the value has no
    /// NaN. Off by default.
    pub fn with_validate_args(mut self, on: bool) -> Self {
        self.validate_args = on;
        self
    }

    /// The location parameter.
    pub fn loc(&self) -> &Parameter {
        &self.loc
    }

    /// The diagonal scale parameter.
    pub fn scale_diag(&self) -> &Parameter {
        &self.scale_diag
    }

    fn scale_value(&self, op: &str) -> Result<Tensor> {
        let s = self.scale_diag.value()?;
        if self.validate_args {
            let bad = s.eq(0.0).logical_or(&s.isnan());
            if bad.any().int64_value(&[]) != 0 {
                bail!(
                    "{op}: expected scale_diag without zero or NaN entries, got a minimum |s| of {}",
                    s.abs().min().double_value(&[])
                );
            }
        }
        Ok(s)
    }

    fn event_batch(&self) -> Vec<i64> {
        let mut shape = self.batch_shape.clone();
        shape.push(self.d);
        shape
    }

    /// `loc + s ⊙ z`, `z ~ N(0, I)`, of shape `sample_shape + batch_shape + [d]`.
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let mut shape = sample_and_batch(op, sample_shape, &self.batch_shape)?;
        shape.push(self.d);
        let s = self.scale_value(op)?;
        let z = Tensor::randn(shape.as_slice(), (self.dtype(), self.device()));
        Ok(z * s + self.loc.value()?)
    }
}

impl Distribution for MultivariateNormalDiag {
    fn name(&self) -> &str {
        &self.name
    }
    fn type_name(&self) -> &'static str {
        "MultivariateNormalDiag"
    }
    fn batch_shape(&self) -> Vec<i64> {
        self.batch_shape.clone()
    }
    fn event_shape(&self) -> Vec<i64> {
        vec![self.d]
    }
    fn dtype(&self) -> Kind {
        self.loc.kind()
    }
    fn device(&self) -> Device {
        self.loc.device()
    }

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "MultivariateNormalDiag.log_prob";
        check_value(op, x, self.dtype(), self.device())?;
        check_value_shape(op, x, &self.batch_shape, &[self.d])?;
        if self.validate_args && x.isnan().any().int64_value(&[]) != 0 {
            bail!("{op}: expected a value without NaN, got NaN");
        }
        let s = self.scale_value(op)?;
        let z = (x - self.loc.value()?) / &s;
        let half_maha = z.square().sum_dim_intlist(-1, false, None::<Kind>) * 0.5;
        let log_det = s.abs().log().sum_dim_intlist(-1, false, None::<Kind>);
        Ok(-half_maha - log_det - HALF_LOG_TWO_PI * self.d as f64)
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        tch::no_grad(|| self.draw("MultivariateNormalDiag.sample", sample_shape))
    }

    /// `loc + s ⊙ z`, `z ~ N(0, I)`.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        self.draw("MultivariateNormalDiag.rsample", sample_shape)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn mean(&self) -> Result<Tensor> {
        Ok(self.loc.value()?.broadcast_to(self.event_batch().as_slice()))
    }

    /// `scale_diag²`, shape `batch_shape + [d]`.
    fn variance(&self) -> Result<Tensor> {
        Ok(self.scale_diag.value()?.square().broadcast_to(self.event_batch().as_slice()))
    }

    /// `|scale_diag|`.
    fn stddev(&self) -> Result<Tensor> {
        Ok(self.scale_diag.value()?.abs().broadcast_to(self.event_batch().as_slice()))
    }

    fn mode(&self) -> Result<Tensor> {
        self.mean()
    }

    /// `Σ log|s_i| + d (1 + log 2π) / 2`, shape `batch_shape`.
    fn entropy(&self) -> Result<Tensor> {
        let log_det = self.scale_diag.value()?.abs().log().sum_dim_intlist(-1, false, None::<Kind>);
        Ok((log_det + self.d as f64 * (0.5 + HALF_LOG_TWO_PI)).broadcast_to(self.batch_shape.as_slice()))
    }

    /// `diag(scale_diag²)`, shape `batch_shape + [d, d]`.
    fn covariance(&self) -> Result<Tensor> {
        let mut shape = self.event_batch();
        shape.push(self.d);
        Ok(self.variance()?.diag_embed(0, -2, -1).broadcast_to(shape.as_slice()))
    }

    fn support(&self) -> Support {
        Support::Real
    }

    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        Ok(Arc::new(Identity))
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        let mut v = self.loc.trainable_variables();
        v.extend(self.scale_diag.trainable_variables());
        v
    }
}

display_as_describe!(MultivariateNormalDiag);
