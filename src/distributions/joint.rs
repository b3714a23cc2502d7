//! Joint distributions of named parts, each a distribution or a function of the earlier parts'
//! values (TFP's `JointDistributionSequential` and `JointDistributionNamed`).

use super::Distribution;
use anyhow::{anyhow, bail, Result};
use std::collections::HashSet;
use tch::Tensor;

/// A function building a part's distribution from the values of the parts before it.
pub type PartFn = Box<dyn Fn(&JointValues) -> Result<Box<dyn Distribution>>>;

/// One part of a [`JointDistribution`]: a distribution, or one built from earlier values.
pub enum Part {
    /// A distribution that depends on no other part (a root).
    Fixed(Box<dyn Distribution>),
    /// A distribution built at every call from the values of the parts before it.
    Conditional(PartFn),
}

/// The values of a joint distribution's parts, in the model's order, by name (a sequential
/// model's parts are named `"0"`, `"1"`, ...).
#[derive(Default)]
pub struct JointValues {
    values: Vec<(String, Tensor)>,
}

impl JointValues {
    /// Values from `(name, tensor)` pairs.
    pub fn new(values: Vec<(String, Tensor)>) -> Self {
        Self { values }
    }

    /// The value of the part `name` (an error naming the known parts otherwise).
    pub fn get(&self, name: &str) -> Result<&Tensor> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, t)| t).ok_or_else(|| {
            let known: Vec<&str> = self.values.iter().map(|(n, _)| n.as_str()).collect();
            anyhow!("JointValues.get: no part {name:?} (known: {})", known.join(", "))
        })
    }

    /// The `i`-th value (a sequential model's part `i`).
    pub fn at(&self, i: usize) -> Result<&Tensor> {
        self.values
            .get(i)
            .map(|(_, t)| t)
            .ok_or_else(|| anyhow!("JointValues.at: no part {i} ({} known)", self.values.len()))
    }

    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.values.iter().map(|(n, t)| (n.as_str(), t))
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn push(&mut self, name: &str, t: Tensor) {
        self.values.push((name.to_string(), t));
    }
}

/// TFP's `JointDistributionNamed` (built with [`JointDistribution::named`] and
/// [`JointDistribution::with`] / [`JointDistribution::with_fn`]) and
/// `JointDistributionSequential` ([`JointDistribution::sequential`], parts named by position):
/// a model written as parts in order, each a distribution or a function of the values of the
/// parts before it.
///
/// * `sample(sample_shape)`: the parts in order; a fixed part draws `sample_shape` values, a
///   conditional one is built from the values so far (which carry the sample dimensions into
///   its batch shape) and draws one value (TFP's semantics);
/// * `log_prob(values)`: the sum of every part's `log_prob` of its value (the part built from the
///   given earlier values), broadcast; [`JointDistribution::log_prob_parts`] gives them apart;
/// * `trainable_variables`: the fixed parts' and those of the conditional parts as built from one
///   draw, each name once.
///
/// Values are structured (one tensor per part), so a joint distribution is not itself a
/// [`Distribution`].
pub struct JointDistribution {
    parts: Vec<(String, Part)>,
    sequential: bool,
}

impl JointDistribution {
    /// An empty model whose parts are named ([`JointDistribution::with`]).
    pub fn named() -> Self {
        Self { parts: Vec::new(), sequential: false }
    }

    /// A model of unnamed parts in order (TFP's `JointDistributionSequential`): each is named by
    /// its position, `"0"`, `"1"`, ..., and a function reads earlier values with
    /// [`JointValues::at`].
    pub fn sequential(parts: Vec<Part>) -> Self {
        let parts = parts.into_iter().enumerate().map(|(i, p)| (i.to_string(), p)).collect();
        Self { parts, sequential: true }
    }

    /// Adds the fixed part `name`. Errors for a name already used (or a sequential model).
    pub fn with(self, name: &str, d: impl Distribution + 'static) -> Result<Self> {
        self.push(name, Part::Fixed(Box::new(d)))
    }

    /// As [`JointDistribution::with`], for a boxed distribution.
    pub fn with_boxed(self, name: &str, d: Box<dyn Distribution>) -> Result<Self> {
        self.push(name, Part::Fixed(d))
    }

    /// Adds the part `name` built by `f` from the values of the parts before it.
    pub fn with_fn(
        self,
        name: &str,
        f: impl Fn(&JointValues) -> Result<Box<dyn Distribution>> + 'static,
    ) -> Result<Self> {
        self.push(name, Part::Conditional(Box::new(f)))
    }

    fn push(mut self, name: &str, part: Part) -> Result<Self> {
        if self.sequential {
            bail!("JointDistribution.with: a sequential model's parts are given to JointDistribution::sequential");
        }
        if self.parts.iter().any(|(n, _)| n == name) {
            bail!("JointDistribution.with: a part named {name:?} already exists");
        }
        self.parts.push((name.to_string(), part));
        Ok(self)
    }

    /// The parts' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.parts.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The distribution of part `i` given the earlier values.
    fn build<'a>(
        &'a self,
        i: usize,
        earlier: &JointValues,
        holder: &'a mut Option<Box<dyn Distribution>>,
    ) -> Result<&'a dyn Distribution> {
        let (name, part) = &self.parts[i];
        Ok(match part {
            Part::Fixed(d) => d.as_ref(),
            Part::Conditional(f) => {
                let d = f(earlier).map_err(|e| anyhow!("JointDistribution: building part {name:?}: {e}"))?;
                let slot: &'a mut Box<dyn Distribution> = holder.insert(d);
                &**slot
            }
        })
    }

    fn draw(&self, sample_shape: &[i64], reparameterized: bool) -> Result<JointValues> {
        let mut values = JointValues::default();
        for i in 0..self.parts.len() {
            let mut holder = None;
            let d = self.build(i, &values, &mut holder)?;
            let shape: &[i64] = if matches!(self.parts[i].1, Part::Fixed(_)) { sample_shape } else { &[] };
            let x = if reparameterized { d.rsample(shape) } else { d.sample(shape) };
            let x = x.map_err(|e| anyhow!("JointDistribution: part {:?}: {e}", self.parts[i].0))?;
            values.push(&self.parts[i].0, x);
        }
        Ok(values)
    }

    /// A draw of every part (no gradient).
    pub fn sample(&self, sample_shape: &[i64]) -> Result<JointValues> {
        tch::no_grad(|| self.draw(sample_shape, false))
    }

    /// A reparameterized draw of every part (an error naming the first part without `rsample`).
    pub fn rsample(&self, sample_shape: &[i64]) -> Result<JointValues> {
        self.draw(sample_shape, true)
    }

    /// Each part's `log_prob` of its value in `values` (which holds every part, in any order,
    /// by name), in the model's order.
    pub fn log_prob_parts(&self, values: &JointValues) -> Result<Vec<Tensor>> {
        if self.parts.is_empty() {
            bail!("JointDistribution.log_prob: the model has no parts");
        }
        let given: HashSet<&str> = values.iter().map(|(n, _)| n).collect();
        let names: HashSet<&str> = self.names().into_iter().collect();
        if given != names {
            let mut missing: Vec<&str> = names.difference(&given).copied().collect();
            let mut extra: Vec<&str> = given.difference(&names).copied().collect();
            missing.sort();
            extra.sort();
            bail!(
                "JointDistribution.log_prob: expected values of the parts {:?}, missing {missing:?}, unknown {extra:?}",
                self.names()
            );
        }
        // the earlier values in the model's order, as sample and the functions see them
        let mut earlier = JointValues::default();
        let mut parts = Vec::with_capacity(self.parts.len());
        for i in 0..self.parts.len() {
            let name = &self.parts[i].0;
            let x = values.get(name)?;
            let mut holder = None;
            let d = self.build(i, &earlier, &mut holder)?;
            parts.push(d.log_prob(x).map_err(|e| anyhow!("JointDistribution.log_prob: part {name:?}: {e}"))?);
            earlier.push(name, x.shallow_clone());
        }
        Ok(parts)
    }

    /// `Σ_parts log_prob(value of the part)`, the parts' shapes broadcast.
    pub fn log_prob(&self, values: &JointValues) -> Result<Tensor> {
        let parts = self.log_prob_parts(values)?;
        let mut total = parts[0].shallow_clone();
        for p in &parts[1..] {
            total = total
                .f_add(p)
                .map_err(|e| anyhow!("JointDistribution.log_prob: the parts' log_prob shapes do not broadcast: {e}"))?;
        }
        Ok(total)
    }

    /// The trainable variables of every part (conditional parts built from one draw), each name
    /// once.
    pub fn trainable_variables(&self) -> Result<Vec<(String, Tensor)>> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut values = JointValues::default();
        for i in 0..self.parts.len() {
            let mut holder = None;
            let d = self.build(i, &values, &mut holder)?;
            for (n, v) in d.trainable_variables() {
                if seen.insert(n.clone()) {
                    out.push((n, v));
                }
            }
            let shape: &[i64] = &[];
            let x = tch::no_grad(|| d.sample(shape))?;
            values.push(&self.parts[i].0, x);
        }
        Ok(out)
    }
}
