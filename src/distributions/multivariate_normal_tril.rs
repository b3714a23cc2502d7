//! The multivariate Normal distribution parameterised by a lower-triangular scale.

use super::{display_as_describe, sample_and_batch, Distribution, Support};
use crate::bijectors::{Bijector, Identity};
use crate::shape::{broadcast_shapes, check_value, check_value_shape, fmt_shape};
use crate::Parameter;
use anyhow::{bail, Result};
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

use super::HALF_LOG_TWO_PI;

/// `MultivariateNormalTriL(loc, scale_tril)`: `x = loc + L z` with `z ~ N(0, I)`, covariance
/// `L Lᵀ`.
///
/// `loc` has shape `[..., d]`, `scale_tril` `[..., d, d]` (only its lower triangle is read);
/// `batch_shape` is the broadcast of their leading shapes, `event_shape` is `[d]`.
/// `log_prob(x) = -|L⁻¹(x - loc)|²/2 - Σ log|L_ii| - d log(2π)/2`, with one batched triangular
/// solve (never an explicit inverse); `sample` is the reparameterised `loc + L z`.
pub struct MultivariateNormalTriL {
    loc: Parameter,
    scale_tril: Parameter,
    name: String,
    batch_shape: Vec<i64>,
    d: i64,
}

impl MultivariateNormalTriL {
    /// Builds the distribution; errors on non-float or mismatched dtypes/devices, a `scale_tril`
    /// that is not `[..., d, d]` with `d` the last size of `loc`, or batch shapes that do not
    /// broadcast.
    pub fn new(loc: impl Into<Parameter>, scale_tril: impl Into<Parameter>) -> Result<Self> {
        let (loc, scale_tril) = (loc.into(), scale_tril.into());
        let op = "MultivariateNormalTriL::new";
        crate::variable::check_kinds(op, &[("loc", &loc), ("scale_tril", &scale_tril)])?;
        let (ls, ss) = (loc.shape(), scale_tril.shape());
        let d = match ls.last() {
            Some(&d) => d,
            None => bail!("{op}: expected loc of shape [..., d], got a scalar"),
        };
        if ss.len() < 2 || ss[ss.len() - 1] != d || ss[ss.len() - 2] != d {
            bail!(
                "{op}: expected scale_tril of shape [..., {d}, {d}] to match loc {}, got {}",
                fmt_shape(&ls),
                fmt_shape(&ss)
            );
        }
        let batch_shape = broadcast_shapes(op, &ls[..ls.len() - 1], &ss[..ss.len() - 2])?;
        Ok(Self { loc, scale_tril, name: "MultivariateNormalTriL".into(), batch_shape, d })
    }

    /// Sets the name printed by `Display`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// `loc + L z`, `z ~ N(0, I)`, of shape `sample_shape + batch_shape + [d]`.
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let mut shape = sample_and_batch(op, sample_shape, &self.batch_shape)?;
        shape.push(self.d);
        let z = Tensor::randn(shape.as_slice(), (self.dtype(), self.device()));
        Ok(crate::linalg::lower_matvec(&self.scale_tril()?, &z) + self.loc.value()?)
    }

    /// The parameters as given: `(loc, scale_tril)`.
    pub(crate) fn parameters(&self) -> (&Parameter, &Parameter) {
        (&self.loc, &self.scale_tril)
    }

    /// The lower-triangular scale `L` (upper triangle zeroed), with gradient.
    pub fn scale_tril(&self) -> Result<Tensor> {
        Ok(self.scale_tril.value()?.tril(0))
    }
}

impl Distribution for MultivariateNormalTriL {
    fn name(&self) -> &str {
        &self.name
    }
    fn type_name(&self) -> &'static str {
        "MultivariateNormalTriL"
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
        let op = "MultivariateNormalTriL.log_prob";
        check_value(op, x, self.dtype(), self.device())?;
        check_value_shape(op, x, &self.batch_shape, &[self.d])?;
        // The solve and the diagonal read only the lower triangle: no `tril` copy needed here.
        let l = self.scale_tril.value()?;
        let maha = crate::linalg::mahalanobis_sq(&l, x, &self.loc.value()?);
        let log_det = l.diagonal(0, -2, -1).abs().log().sum_dim_intlist(-1, false, None::<Kind>);
        // Two passes over the [..., batch] result: the constants fold into the [batch] log-det.
        Ok(maha * -0.5 - (log_det + HALF_LOG_TWO_PI * self.d as f64))
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        tch::no_grad(|| self.draw("MultivariateNormalTriL.sample", sample_shape))
    }

    /// `loc + L z`, `z ~ N(0, I)`.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        self.draw("MultivariateNormalTriL.rsample", sample_shape)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    /// The diagonal of `L Lᵀ`: the squared norms of the rows of `L`.
    fn variance(&self) -> Result<Tensor> {
        let mut shape = self.batch_shape.clone();
        shape.push(self.d);
        Ok(self.scale_tril()?.square().sum_dim_intlist(-1, false, None::<Kind>).broadcast_to(shape.as_slice()))
    }

    fn mode(&self) -> Result<Tensor> {
        self.mean()
    }

    /// `Σ log|L_ii| + d (1 + log 2π) / 2`.
    fn entropy(&self) -> Result<Tensor> {
        let log_det = self.scale_tril()?.diagonal(0, -2, -1).abs().log().sum_dim_intlist(-1, false, None::<Kind>);
        Ok((log_det + self.d as f64 * (0.5 + HALF_LOG_TWO_PI)).broadcast_to(self.batch_shape.as_slice()))
    }

    fn support(&self) -> Support {
        Support::Real
    }

    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        Ok(Arc::new(Identity))
    }

    fn mean(&self) -> Result<Tensor> {
        let mut shape = self.batch_shape.clone();
        shape.push(self.d);
        Ok(self.loc.value()?.broadcast_to(shape.as_slice()))
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        let mut v = self.loc.trainable_variables();
        v.extend(self.scale_tril.trainable_variables());
        v
    }

    /// The covariance `L Lᵀ`, shape `batch_shape + [d, d]`.
    fn covariance(&self) -> Result<Tensor> {
        let l = self.scale_tril()?;
        let mut shape = self.batch_shape.clone();
        shape.extend([self.d, self.d]);
        Ok(l.matmul(&l.transpose(-1, -2)).broadcast_to(shape.as_slice()))
    }
}

display_as_describe!(MultivariateNormalTriL);
