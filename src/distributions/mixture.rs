//! A mixture of distributions of any families (TFP's `tfd.Mixture`).

use super::{display_as_describe, Categorical, Distribution, Support};
use crate::bijectors::Bijector;
use crate::shape::{broadcast_shapes, check_value, check_value_shape, fmt_shape, kind_name};
use anyhow::{anyhow, bail, Result};
use std::sync::Arc;
use tch::{Kind, Tensor};

/// `Mixture(cat, [c_0, ..., c_{K-1}])` (TFP's `tfd.Mixture`; torch has none):
/// `p(x) = Σ_k π_k p_k(x)`, with `π` from a [`Categorical`] over `K` and `K` component
/// distributions of any families sharing one batch shape, event shape, dtype and device.
///
/// `batch_shape` is the components' (the categorical's batch shape must broadcast to it);
/// `event_shape` is theirs.
/// `log_prob(x) = logsumexp_k(log π_k + c_k.log_prob(x))`; `sample` draws every component,
/// stacks the draws along a new axis and gathers the one a categorical draw picks (vectorised,
/// no per-element loop); there is no `rsample`. Mean `Σ_k π_k μ_k`; variance by the law of total
/// variance `Σ_k π_k (σ_k² + μ_k²) - μ²` (where every component has a variance).
pub struct Mixture {
    cat: Categorical,
    components: Vec<Box<dyn Distribution>>,
    name: String,
    batch_shape: Vec<i64>,
    event_shape: Vec<i64>,
}

impl Mixture {
    /// Builds the mixture. Errors when there are no components, when their number differs from
    /// the categorical's number of categories, when their batch shapes, event shapes, dtypes or
    /// devices differ, when the categorical's batch shape does not broadcast to theirs, or when
    /// the categorical's dtype or device differs from float components'.
    pub fn new(cat: Categorical, components: Vec<Box<dyn Distribution>>) -> Result<Self> {
        let op = "Mixture::new";
        let first = match components.first() {
            Some(c) => c,
            None => bail!("{op}: expected at least one component, got none"),
        };
        let k = components.len() as i64;
        if k != cat.num_categories() {
            bail!("{op}: the categorical has {} categories but {k} components were given", cat.num_categories());
        }
        let (b, e, kind, dev) = (first.batch_shape(), first.event_shape(), first.dtype(), first.device());
        for (i, c) in components.iter().enumerate().skip(1) {
            if c.batch_shape() != b {
                bail!(
                    "{op}: component 0 has batch shape {} but component {i} has {}",
                    fmt_shape(&b),
                    fmt_shape(&c.batch_shape())
                );
            }
            if c.event_shape() != e {
                bail!(
                    "{op}: component 0 has event shape {} but component {i} has {}",
                    fmt_shape(&e),
                    fmt_shape(&c.event_shape())
                );
            }
            if c.dtype() != kind {
                bail!("{op}: component 0 is {} but component {i} is {}", kind_name(kind), kind_name(c.dtype()));
            }
            if c.device() != dev {
                bail!("{op}: component 0 is on {dev:?} but component {i} is on {:?}", c.device());
            }
        }
        if kind != Kind::Int64 && cat.param_dtype() != kind {
            bail!(
                "{op}: the categorical's logits are {} but the components are {}",
                kind_name(cat.param_dtype()),
                kind_name(kind)
            );
        }
        if cat.device() != dev {
            bail!("{op}: the categorical is on {:?} but the components are on {dev:?}", cat.device());
        }
        let cb = cat.batch_shape();
        if broadcast_shapes(op, &cb, &b).ok().as_deref() != Some(b.as_slice()) {
            bail!(
                "{op}: the categorical's batch shape {} does not broadcast to the components' batch shape {}",
                fmt_shape(&cb),
                fmt_shape(&b)
            );
        }
        Ok(Self { cat, components, name: "Mixture".into(), batch_shape: b, event_shape: e })
    }

    /// Sets the name printed by `Display`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// The mixing distribution.
    pub fn cat(&self) -> &Categorical {
        &self.cat
    }

    /// The components.
    pub fn components(&self) -> &[Box<dyn Distribution>] {
        &self.components
    }

    /// `π` with `event_shape.len()` trailing unit axes, to weigh stacked component moments
    /// `batch_shape + [K] + event_shape`.
    fn weights(&self) -> Result<Tensor> {
        let mut p = self.cat.probs()?;
        for _ in 0..self.event_shape.len() {
            p = p.unsqueeze(-1);
        }
        Ok(p)
    }

    fn kdim(&self) -> i64 {
        -1 - self.event_shape.len() as i64
    }

    /// `f(c_k)` for every component, stacked on the `K` axis before the event axes.
    fn stacked(&self, op: &str, f: impl Fn(&dyn Distribution) -> Result<Tensor>) -> Result<Tensor> {
        let parts = self.components.iter().map(|c| f(c.as_ref())).collect::<Result<Vec<_>>>()?;
        let rank = parts[0].dim() as i64;
        Tensor::f_stack(&parts, rank + 1 + self.kdim())
            .map_err(|e| anyhow!("{op}: the components' results do not stack: {e}"))
    }
}

impl Distribution for Mixture {
    super::wrapper_methods!("Mixture", |s| s.components[0]);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Mixture.log_prob";
        check_value(op, x, self.dtype(), self.device())?;
        let shape = check_value_shape(op, x, &self.batch_shape, &self.event_shape)?;
        let parts = self
            .components
            .iter()
            .map(|c| {
                c.log_prob(x)?
                    .f_broadcast_to(shape.as_slice())
                    .map_err(|e| anyhow!("{op}: a component's log_prob has the wrong shape: {e}"))
            })
            .collect::<Result<Vec<_>>>()?;
        let comp = Tensor::stack(&parts, -1); // [..., B, K]
        Ok((comp + self.cat.log_probs()?).logsumexp(-1, false))
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        let all = self.stacked("Mixture.sample", |c| c.sample(sample_shape))?; // S + B + [K] + E
        let idx = self.cat.sample(sample_shape)?; // S + B_cat
        let mut target = all.size();
        let kdim = target.len() - 1 - self.event_shape.len();
        target[kdim] = 1;
        // S + B_cat -> S + [1, ..] + B_cat (B_cat is right-aligned in B), then broadcast to S + B.
        let cb = self.cat.batch_shape();
        let mut aligned = sample_shape.to_vec();
        aligned.extend(std::iter::repeat_n(1, self.batch_shape.len() - cb.len()));
        aligned.extend_from_slice(&cb);
        let mut idx = idx.reshape(aligned.as_slice()).broadcast_to(&target[..kdim]).unsqueeze(-1);
        for _ in 0..self.event_shape.len() {
            idx = idx.unsqueeze(-1);
        }
        let picked = all.gather(kdim as i64, &idx.expand(target.as_slice(), false), false);
        Ok(picked.squeeze_dim(kdim as i64))
    }

    /// `Σ_k π_k μ_k`.
    fn mean(&self) -> Result<Tensor> {
        let means = self.stacked("Mixture.mean", |c| c.mean())?;
        Ok((self.weights()? * means).sum_dim_intlist(self.kdim(), false, None::<Kind>))
    }

    /// `Σ_k π_k (σ_k² + μ_k²) - μ²`, elementwise.
    fn variance(&self) -> Result<Tensor> {
        let means = self.stacked("Mixture.variance", |c| c.mean())?;
        let vars = self.stacked("Mixture.variance", |c| c.variance())?;
        let w = self.weights()?;
        // Σ π_k var_k + Σ π_k (mean_k - mean)²: no cancellation between large second moments.
        let mean = (&w * &means).sum_dim_intlist(self.kdim(), true, None::<Kind>);
        let spread = (means - mean).square();
        Ok((&w * (vars + spread)).sum_dim_intlist(self.kdim(), false, None::<Kind>))
    }

    /// The components' support when they all have the same one.
    fn support(&self) -> Support {
        let s = self.components[0].support();
        if self.components.iter().all(|c| c.support() == s) && s != Support::Interval {
            s
        } else {
            Support::Other("the union of the components' supports".into())
        }
    }

    /// The components' bijector when they share one support (the first component's).
    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        match self.support() {
            Support::Other(_) => {
                super::not_implemented(self, "default_event_space_bijector", " (components with different supports)")
            }
            _ => self.components[0].default_event_space_bijector(),
        }
    }

    /// The categorical's variables, then each component's, in order.
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        let mut v = self.cat.trainable_variables();
        for c in &self.components {
            v.extend(c.trainable_variables());
        }
        v
    }
}

display_as_describe!(Mixture);
