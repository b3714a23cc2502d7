//! Independent: reinterprets batch dimensions of a distribution as event dimensions.

use super::{display_as_describe, Distribution, Support};
use crate::bijectors::Bijector;
use crate::shape::{check_value, check_value_shape, fmt_shape, sum_last};
use anyhow::{bail, Result};
use std::sync::Arc;
use tch::Tensor;

/// `Independent(base, n)`: the rightmost `n` batch dimensions of `base` become event dimensions;
/// `log_prob` sums the base's `log_prob` over them. With `Normal` this is a multivariate normal
/// with diagonal covariance, as in the seed's `learnable_mvn_diag`.
pub struct Independent {
    base: Box<dyn Distribution>,
    ndims: usize,
    name: String,
    batch_shape: Vec<i64>,
    event_shape: Vec<i64>,
}

impl Independent {
    /// Wraps `base`, reinterpreting its rightmost `reinterpreted_batch_ndims` batch dimensions.
    /// Errors when the base has fewer batch dimensions.
    pub fn new(base: impl Distribution + 'static, reinterpreted_batch_ndims: usize) -> Result<Self> {
        Self::from_box(Box::new(base), reinterpreted_batch_ndims)
    }

    /// As [`Independent::new`], from a boxed distribution.
    pub fn from_box(base: Box<dyn Distribution>, reinterpreted_batch_ndims: usize) -> Result<Self> {
        let n = reinterpreted_batch_ndims;
        let b = base.batch_shape();
        if n > b.len() {
            bail!(
                "Independent::new: reinterpreted_batch_ndims {n} exceeds the base's batch rank (batch shape {})",
                fmt_shape(&b)
            );
        }
        let (batch, moved) = b.split_at(b.len() - n);
        let mut event_shape = moved.to_vec();
        event_shape.extend(base.event_shape());
        let name = format!("Independent{}", base.name());
        Ok(Self { ndims: n, name, batch_shape: batch.to_vec(), event_shape, base })
    }

    /// Sets the name printed by `Display`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// The wrapped distribution.
    pub fn base(&self) -> &dyn Distribution {
        self.base.as_ref()
    }

    /// The number of reinterpreted batch dimensions.
    pub fn reinterpreted_batch_ndims(&self) -> usize {
        self.ndims
    }
}

impl Distribution for Independent {
    super::wrapper_methods!("Independent", |s| s.base);
    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Independent.log_prob";
        check_value(op, x, self.dtype(), self.device())?;
        check_value_shape(op, x, &self.batch_shape, &self.event_shape)?;
        Ok(sum_last(&self.base.log_prob(x)?, self.ndims))
    }
    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        self.base.sample(sample_shape)
    }
    fn mean(&self) -> Result<Tensor> {
        self.base.mean()
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.base.trainable_variables()
    }
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        self.base.rsample(sample_shape)
    }
    fn has_rsample(&self) -> bool {
        self.base.has_rsample()
    }
    fn variance(&self) -> Result<Tensor> {
        self.base.variance()
    }
    fn mode(&self) -> Result<Tensor> {
        self.base.mode()
    }
    /// The base's entropy summed over the reinterpreted dimensions.
    fn entropy(&self) -> Result<Tensor> {
        Ok(sum_last(&self.base.entropy()?, self.ndims))
    }
    /// The covariance of a vector event: the diagonal matrix of the variances when a base with
    /// scalar events has one reinterpreted dimension; the base's when none is reinterpreted.
    fn covariance(&self) -> Result<Tensor> {
        match (self.ndims, self.base.event_shape().len()) {
            (0, _) => self.base.covariance(),
            (1, 0) => Ok(self.base.variance()?.diag_embed(0, -2, -1)),
            _ => super::not_implemented(self, "covariance", " (with more than one event dimension)"),
        }
    }
    fn support(&self) -> Support {
        self.base.support()
    }
    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        self.base.default_event_space_bijector()
    }
}

display_as_describe!(Independent);
