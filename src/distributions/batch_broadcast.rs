//! Broadcasting a distribution's batch shape to a larger one (TFP's `BatchBroadcast`, torch's
//! `Distribution.expand`).

use super::{display_as_describe, Distribution, Support};
use crate::bijectors::Bijector;
use crate::shape::{broadcast_shapes, check_value, check_value_shape, fmt_shape};
use anyhow::{anyhow, bail, Result};
use std::sync::Arc;
use tch::Tensor;

/// `BatchBroadcast(base, with_shape)` (TFP): the distribution `base` repeated over the batch
/// shape `broadcast(base.batch_shape, with_shape)` (NumPy rules), each batch element an
/// independent copy of the base element it broadcasts from. torch's `base.expand(batch_shape)`
/// is [`expand`].
///
/// `log_prob(x)` is `base.log_prob(x)` broadcast to `[..., batch_shape]`; the moments, entropy,
/// covariance and cdf are the base's broadcast. `sample(S)` draws *independent* values for every
/// element of the new batch: with `Bb` the base batch shape left-padded with ones to the new rank
/// and `M` the sizes of the new batch at the dimensions where `Bb` is 1 and the new size is not,
/// it draws `base.sample(S + M)` (shape `S + M + Bb + E`, exactly one base draw per new batch
/// element) and permutes each axis of `M` into the place of the dimension it fills, giving
/// `S + batch_shape + E`. `rsample` does the same with `base.rsample`.
pub struct BatchBroadcast {
    base: Box<dyn Distribution>,
    name: String,
    batch_shape: Vec<i64>,
    event_shape: Vec<i64>,
}

/// torch's `expand`: `base` with its batch shape broadcast to exactly `batch_shape`. An error
/// when the base batch shape does not broadcast to it (the NumPy rules, with the result equal to
/// `batch_shape`).
pub fn expand(base: Box<dyn Distribution>, batch_shape: &[i64]) -> Result<BatchBroadcast> {
    let bb = base.batch_shape();
    let ok = broadcast_shapes("expand", &bb, batch_shape).map(|b| b == batch_shape).unwrap_or(false);
    if !ok || batch_shape.iter().any(|&d| d < 0) {
        bail!("expand: cannot expand batch shape {} to {}", fmt_shape(&bb), fmt_shape(batch_shape));
    }
    BatchBroadcast::from_box(base, batch_shape)
}

impl BatchBroadcast {
    /// `base` with batch shape `broadcast(base.batch_shape, with_shape)`; errors when the shapes
    /// do not broadcast or `with_shape` has a negative size.
    pub fn new(base: impl Distribution + 'static, with_shape: &[i64]) -> Result<Self> {
        Self::from_box(Box::new(base), with_shape)
    }

    /// As [`BatchBroadcast::new`], with a boxed base.
    pub fn from_box(base: Box<dyn Distribution>, with_shape: &[i64]) -> Result<Self> {
        let op = "BatchBroadcast::new";
        if with_shape.iter().any(|&d| d < 0) {
            bail!("{op}: expected a shape of non-negative sizes, got {}", fmt_shape(with_shape));
        }
        let batch_shape = broadcast_shapes(op, &base.batch_shape(), with_shape)?;
        let name = format!("BatchBroadcast{}", base.name());
        let event_shape = base.event_shape();
        Ok(Self { base, name, batch_shape, event_shape })
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

    fn with_event(&self, extra: usize) -> Vec<i64> {
        let mut shape = self.batch_shape.clone();
        let e = self.base.event_shape();
        shape.extend_from_slice(&e);
        for _ in 0..extra {
            shape.extend_from_slice(&e);
        }
        shape
    }

    /// Independent draws over the new batch (see the type's documentation).
    fn draw(&self, sample_shape: &[i64], f: impl Fn(&[i64]) -> Result<Tensor>) -> Result<Tensor> {
        let bb = self.base.batch_shape();
        let r = self.batch_shape.len();
        let mut padded = vec![1i64; r - bb.len()];
        padded.extend_from_slice(&bb);
        let bcast: Vec<bool> = (0..r).map(|i| padded[i] == 1 && self.batch_shape[i] != 1).collect();
        let m: Vec<i64> = (0..r).filter(|&i| bcast[i]).map(|i| self.batch_shape[i]).collect();
        let q: Vec<i64> = (0..r).filter(|&i| !bcast[i]).map(|i| padded[i]).collect();
        let mut shape = sample_shape.to_vec();
        shape.extend_from_slice(&m);
        let x = f(&shape)?; // S + M + Bb + E
        let (s, e) = (sample_shape.len(), self.base.event_shape().len());
        let mut view = shape.clone();
        view.extend_from_slice(&q);
        view.extend_from_slice(&self.base.event_shape());
        let x = x.f_reshape(view.as_slice()).map_err(|e| {
            anyhow!("BatchBroadcast.sample: the base's draws do not have shape S + M + batch + event: {e}")
        })?; // S + M + Q + E
        let mut perm: Vec<i64> = (0..s as i64).collect();
        let (mut jm, mut jq) = (0usize, 0usize);
        for &b in &bcast {
            if b {
                perm.push((s + jm) as i64);
                jm += 1;
            } else {
                perm.push((s + m.len() + jq) as i64);
                jq += 1;
            }
        }
        perm.extend((s + r) as i64..(s + r + e) as i64);
        Ok(x.permute(perm.as_slice()))
    }
}

impl Distribution for BatchBroadcast {
    super::wrapper_methods!("BatchBroadcast", |s| s.base);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "BatchBroadcast.log_prob";
        check_value(op, x, self.dtype(), self.device())?;
        let shape = check_value_shape(op, x, &self.batch_shape, &self.base.event_shape())?;
        bcast("BatchBroadcast.log_prob", self.base.log_prob(x)?, shape.as_slice())
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        if let Some(d) = sample_shape.iter().find(|&&d| d < 0) {
            bail!("BatchBroadcast.sample: expected a sample shape of non-negative sizes, got {sample_shape:?} ({d})");
        }
        self.draw(sample_shape, |s| self.base.sample(s))
    }

    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        if let Some(d) = sample_shape.iter().find(|&&d| d < 0) {
            bail!("BatchBroadcast.rsample: expected a sample shape of non-negative sizes, got {sample_shape:?} ({d})");
        }
        self.draw(sample_shape, |s| self.base.rsample(s))
    }

    fn has_rsample(&self) -> bool {
        self.base.has_rsample()
    }

    fn mean(&self) -> Result<Tensor> {
        bcast("BatchBroadcast.mean", self.base.mean()?, self.with_event(0).as_slice())
    }

    fn variance(&self) -> Result<Tensor> {
        bcast("BatchBroadcast.variance", self.base.variance()?, self.with_event(0).as_slice())
    }

    fn stddev(&self) -> Result<Tensor> {
        bcast("BatchBroadcast.stddev", self.base.stddev()?, self.with_event(0).as_slice())
    }

    fn mode(&self) -> Result<Tensor> {
        bcast("BatchBroadcast.mode", self.base.mode()?, self.with_event(0).as_slice())
    }

    fn entropy(&self) -> Result<Tensor> {
        bcast("BatchBroadcast.entropy", self.base.entropy()?, self.batch_shape.as_slice())
    }

    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "BatchBroadcast.cdf";
        check_value(op, x, self.dtype(), self.device())?;
        let shape = check_value_shape(op, x, &self.batch_shape, &self.base.event_shape())?;
        bcast("BatchBroadcast.cdf", self.base.cdf(x)?, shape.as_slice())
    }

    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "BatchBroadcast.log_cdf";
        check_value(op, x, self.dtype(), self.device())?;
        let shape = check_value_shape(op, x, &self.batch_shape, &self.base.event_shape())?;
        bcast("BatchBroadcast.log_cdf", self.base.log_cdf(x)?, shape.as_slice())
    }

    fn covariance(&self) -> Result<Tensor> {
        bcast("BatchBroadcast.covariance", self.base.covariance()?, self.with_event(1).as_slice())
    }

    fn support(&self) -> Support {
        self.base.support()
    }

    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        self.base.default_event_space_bijector()
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.base.trainable_variables()
    }
}

/// `t.broadcast_to(shape)`, an error naming `op` where the base returned an unexpected shape.
fn bcast(op: &str, t: Tensor, shape: &[i64]) -> Result<Tensor> {
    t.f_broadcast_to(shape).map_err(|e| {
        anyhow!(
            "{op}: the base's result of shape {} does not broadcast to {}: {e}",
            fmt_shape(&t.size()),
            fmt_shape(shape)
        )
    })
}

display_as_describe!(BatchBroadcast);
