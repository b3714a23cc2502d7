//! A univariate distribution's cdf as a bijector.

use super::Bijector;
use crate::distributions::Distribution;
use crate::shape::fmt_shape;
use anyhow::{bail, Result};
use tch::Tensor;

/// `y = F(x)`, the cdf of a univariate distribution, elementwise, as torch's
/// `CumulativeDistributionTransform`: onto `(0, 1)` from the distribution's support.
///
/// * inverse: `x = F⁻¹(y)` (the distribution's `icdf`).
/// * `log|dy/dx| = log p(x)` (its `log_prob`); `log|dx/dy| = -log p(F⁻¹(y))`.
/// * Values broadcast against the distribution's batch shape, as its `cdf` does; its trainable
///   variables are the bijector's. A distribution without `cdf` or `icdf` errors there.
pub struct CumulativeDistribution {
    dist: Box<dyn Distribution>,
}

impl CumulativeDistribution {
    /// The cdf of `dist`; errors unless its event shape is `[]`.
    pub fn new(dist: impl Distribution + 'static) -> Result<Self> {
        Self::from_box(Box::new(dist))
    }

    /// As [`CumulativeDistribution::new`], with a boxed distribution.
    pub fn from_box(dist: Box<dyn Distribution>) -> Result<Self> {
        if !dist.event_shape().is_empty() {
            bail!(
                "CumulativeDistribution::new: expected a univariate distribution (event shape []), got {} with event shape {}",
                dist.type_name(),
                fmt_shape(&dist.event_shape())
            );
        }
        Ok(Self { dist })
    }

    /// The distribution.
    pub fn distribution(&self) -> &dyn Distribution {
        self.dist.as_ref()
    }
}

impl std::fmt::Debug for CumulativeDistribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CumulativeDistribution({})", self.dist.type_name())
    }
}

impl Bijector for CumulativeDistribution {
    fn name(&self) -> String {
        "cumulative_distribution".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        0
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.dist.cdf(x)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        self.dist.icdf(y)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        self.dist.log_prob(x)
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        Ok(-self.dist.log_prob(&self.dist.icdf(y)?)?)
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.dist.trainable_variables()
    }
}
