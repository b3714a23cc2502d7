//! The logistic-normal distribution on the simplex: a normal vector through stick-breaking.

use super::{Distribution, Normal, TransformedDistribution};
use crate::bijectors::StickBreaking;
use crate::Parameter;
use anyhow::Result;
use std::sync::Arc;

/// `LogisticNormal(loc, scale)` (torch's): `y = StickBreaking(x)`, `x_i ~ Normal(loc_i, scale_i)`
/// independently, a point of the simplex of `K + 1` categories for `loc` of shape `[..., K]`.
///
/// As torch, a [`TransformedDistribution`] (named `"LogisticNormal"`): `batch_shape` is
/// `loc`'s and `scale`'s broadcast shape without its last dimension, `event_shape` `[K + 1]`
/// (scalar parameters are a single `K = 1`); `log_prob(y) = Σ_i log N(x_i) + log|det J⁻¹(y)|`
/// with `x = StickBreaking⁻¹(y)`; `rsample` is pathwise; support the simplex; no closed-form
/// moments or entropy (as torch).
pub struct LogisticNormal;

impl LogisticNormal {
    /// The logistic-normal distribution of `loc` and `scale` (broadcasting, `[..., K]`). Errors
    /// as [`Normal::new`], naming `LogisticNormal::new`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(loc: impl Into<Parameter>, scale: impl Into<Parameter>) -> Result<TransformedDistribution> {
        let op = "LogisticNormal::new";
        let base = Normal::new(loc, scale).map_err(|e| super::rename(e, op))?;
        // torch: a base without batch dimensions is expanded to [1]
        let base: Box<dyn Distribution> =
            if base.batch_shape().is_empty() { Box::new(super::expand(Box::new(base), &[1])?) } else { Box::new(base) };
        Ok(TransformedDistribution::new(base, Arc::new(StickBreaking))?.with_name("LogisticNormal"))
    }
}
