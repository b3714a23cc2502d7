//! A mixture of distributions of one family, indexed by the last batch dimension.

use super::{display_as_describe, sample_and_batch, Categorical, Distribution, MultivariateNormalTriL, Support};
use crate::bijectors::Bijector;
use crate::shape::{broadcast_shapes, check_value, check_value_shape, fmt_shape};
use anyhow::{bail, Result};
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// `MixtureSameFamily(mixture, components)`: `p(x) = Σ_k π_k p_k(x)`, with `π` from a
/// [`Categorical`] over `K` and the `K` components along the last batch dimension of
/// `components` (batch shape `batch_shape + [K]`).
///
/// `log_prob(x) = logsumexp_k(log_softmax(logits)_k + components.log_prob(x)_k)`; `sample` draws
/// every component and gathers the one a categorical draw picks (vectorised, no loop).
pub struct MixtureSameFamily {
    mixture: Categorical,
    components: Box<dyn Distribution>,
    name: String,
    batch_shape: Vec<i64>,
    event_shape: Vec<i64>,
}

impl MixtureSameFamily {
    /// Builds the mixture. Errors when the components have no batch dimension, when their last
    /// batch size differs from the mixture's number of categories, when the remaining batch
    /// shapes do not broadcast, or when dtypes or devices differ.
    pub fn new(mixture: Categorical, components: impl Distribution + 'static) -> Result<Self> {
        Self::from_box(mixture, Box::new(components))
    }

    /// As [`MixtureSameFamily::new`], with boxed components.
    pub fn from_box(mixture: Categorical, components: Box<dyn Distribution>) -> Result<Self> {
        let op = "MixtureSameFamily::new";
        let cb = components.batch_shape();
        let k = match cb.last() {
            Some(&k) => k,
            None => bail!("{op}: expected components with a batch dimension of size K, got batch shape []"),
        };
        if k != mixture.num_categories() {
            bail!(
                "{op}: the mixture has {} categories but the components' batch shape {} ends in {k}",
                mixture.num_categories(),
                fmt_shape(&cb)
            );
        }
        if components.dtype() != Kind::Int64 && mixture.param_dtype() != components.dtype() {
            bail!(
                "{op}: the mixture's logits are {:?} but the components are {:?}",
                mixture.param_dtype(),
                components.dtype()
            );
        }
        if mixture.device() != components.device() {
            bail!("{op}: the mixture is on {:?} but the components are on {:?}", mixture.device(), components.device());
        }
        let batch_shape = broadcast_shapes(op, &mixture.batch_shape(), &cb[..cb.len() - 1])?;
        let event_shape = components.event_shape();
        Ok(Self { mixture, components, name: "MixtureSameFamily".into(), batch_shape, event_shape })
    }

    /// Sets the name printed by `Display`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// The mixing distribution.
    pub fn mixture(&self) -> &Categorical {
        &self.mixture
    }

    /// The components (batch shape `batch_shape + [K]`).
    pub fn components(&self) -> &dyn Distribution {
        self.components.as_ref()
    }
}

impl MixtureSameFamily {
    /// Draws of a mixture of `MultivariateNormalTriL` components with an empty batch shape:
    /// the component index, one standard normal vector per draw, and `loc_k + L_k z` for the
    /// chosen `k` alone ([`crate::linalg::mixture_of_gaussians_draws`]), instead of a draw of
    /// every component. `None` for other mixtures.
    fn sample_gaussians(&self, op: &str, sample_shape: &[i64]) -> Result<Option<Tensor>> {
        let Some(mvn) = self.components.as_any().downcast_ref::<MultivariateNormalTriL>() else {
            return Ok(None);
        };
        if !self.batch_shape.is_empty() || mvn.batch_shape().len() != 1 {
            return Ok(None);
        }
        let shape = sample_and_batch(op, sample_shape, &[])?;
        let n: i64 = shape.iter().product();
        let d = self.event_shape[0];
        tch::no_grad(|| {
            let mut out = shape.clone();
            out.push(d);
            if let Some(x) = self.host_gaussian_draws(mvn, n, d)? {
                return Ok(Some(x.reshape(out.as_slice())));
            }
            let idx = self.mixture.sample(&[n])?;
            let z = Tensor::randn([n, d], (mvn.dtype(), mvn.device()));
            let x = crate::linalg::mixture_of_gaussians_draws(&mvn.scale_tril()?, &mvn.loc().value()?, &idx, &z);
            Ok(Some(x.reshape(out.as_slice())))
        })
    }

    /// The same draws by one host loop on the CPU (float32 or float64, `d <= HOST_MAX_D`,
    /// [`crate::linalg::mixture_of_gaussians_draws_host`]): the same random numbers in the same
    /// order (the categorical's float64 uniforms, then the standard normals), so the same draws
    /// to rounding; `None` on other devices and dtypes.
    fn host_gaussian_draws(&self, mvn: &MultivariateNormalTriL, n: i64, d: i64) -> Result<Option<Tensor>> {
        let kind = mvn.dtype();
        if mvn.device() != Device::Cpu || !matches!(kind, Kind::Float | Kind::Double) || n == 0 || d > HOST_MAX_D {
            return Ok(None);
        }
        let params = (self.mixture.log_probs()?, mvn.scale_tril()?, mvn.loc().value()?);
        let read = |t: &Tensor| crate::host::read(&t.contiguous());
        let (Some(logp), Some(l), Some(loc)) = (read(&params.0), read(&params.1), read(&params.2)) else {
            return Ok(None);
        };
        // The cdf in float64, as Categorical.sample's inverse-cdf draw.
        let cdf: Vec<f64> = logp
            .iter()
            .scan(0.0, |acc, lp| {
                *acc += lp.exp();
                Some(*acc)
            })
            .collect();
        let u = Tensor::rand([n], (Kind::Double, Device::Cpu)) * cdf[cdf.len() - 1];
        let z = Tensor::randn([n, d], (kind, Device::Cpu));
        let x = z.empty_like();
        // SAFETY: u, z and x are this call's own contiguous CPU tensors of the kinds read; x is
        // written through one slice only, while u and z are only read.
        unsafe {
            let u = crate::host::slice::<f64>(&u).expect("a fresh float64 CPU tensor");
            if kind == Kind::Float {
                let (z, x) = (crate::host::slice::<f32>(&z).expect("fresh"), crate::host::slice_mut::<f32>(&x));
                crate::linalg::mixture_of_gaussians_draws_host(&cdf, &l, &loc, u, z, x);
            } else {
                let (z, x) = (crate::host::slice::<f64>(&z).expect("fresh"), crate::host::slice_mut::<f64>(&x));
                crate::linalg::mixture_of_gaussians_draws_host(&cdf, &l, &loc, u, z, x);
            }
        }
        Ok(Some(x))
    }
}

/// The largest event size drawn by the host loop (`host_gaussian_draws`): faster than the GEMM
/// form at d = 4, slower at d = 32 on one thread (issue 14's note has the measurements).
const HOST_MAX_D: i64 = 8;

impl Distribution for MixtureSameFamily {
    super::wrapper_methods!("MixtureSameFamily", |s| s.components);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "MixtureSameFamily.log_prob";
        check_value(op, x, self.dtype(), self.device())?;
        check_value_shape(op, x, &self.batch_shape, &self.event_shape)?;
        if let Some(lp) = crate::mixture_nll::host_log_prob(self, x)? {
            return Ok(lp);
        }
        // [..., B, E] -> [..., B, 1, E]: each point against all K components.
        let xk = x.unsqueeze(-1 - self.event_shape.len() as i64);
        let comp = self.components.log_prob(&xk)?;
        let mix = self.mixture.log_probs()?;
        Ok((comp + mix).logsumexp(-1, false))
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        let op = "MixtureSameFamily.sample";
        let b = &self.batch_shape;
        let cb = self.components.batch_shape();
        let cb = &cb[..cb.len() - 1];
        // Components whose batch shape lacks leading dimensions of the mixture's draw them as
        // extra sample dimensions (independent draws); size-1 dimensions broadcast against a
        // larger mixture batch would give shared draws, so they are refused.
        let lead = b.len() - cb.len();
        if &b[lead..] != cb {
            return super::not_implemented(
                self,
                "sample",
                &format!(
                    " when the components' batch shape {} broadcasts inside the batch shape {}",
                    fmt_shape(cb),
                    fmt_shape(b)
                ),
            );
        }
        if let Some(x) = self.sample_gaussians(op, sample_shape)? {
            return Ok(x);
        }
        let comp_sample_shape = sample_and_batch(op, sample_shape, &b[..lead])?;
        let all = self.components.sample(&comp_sample_shape)?; // S + B + [K] + E
                                                               // The index: S + B_mix, padded with ones on the left of B_mix, broadcast to S + B.
        let idx = self.mixture.sample(sample_shape)?;
        let bm = self.mixture.batch_shape();
        let mut padded = sample_shape.to_vec();
        padded.extend(std::iter::repeat_n(1, b.len() - bm.len()));
        padded.extend_from_slice(&bm);
        let mut idx_shape = sample_shape.to_vec();
        idx_shape.extend_from_slice(b);
        let mut idx = idx.reshape(padded.as_slice()).broadcast_to(idx_shape.as_slice()).unsqueeze(-1);
        let e = self.event_shape.len();
        for _ in 0..e {
            idx = idx.unsqueeze(-1);
        }
        let mut target = all.size();
        let kdim = target.len() - 1 - e;
        target[kdim] = 1;
        let picked = all.gather(kdim as i64, &idx.expand(target.as_slice(), false), false);
        Ok(picked.squeeze_dim(kdim as i64))
    }

    /// The draw of [`Distribution::sample`] with pathwise gradients to the mixture weights and
    /// the components' parameters by implicit reparameterization through the conditional cdfs
    /// (TFP's `reparameterize=True`; see `mixture_rsample.rs`): for scalar components with a
    /// cdf, an `Independent` of them over one dimension, and the Gaussian families
    /// (MultivariateNormalTriL, MultivariateNormal, MultivariateNormalDiag,
    /// LowRankMultivariateNormal), which TFP refuses. Costs `d` extra backward passes for the
    /// triangular Jacobian of the transform.
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        super::mixture_rsample::rsample(self, sample_shape)
    }

    fn has_rsample(&self) -> bool {
        super::mixture_rsample::supported(self.components.as_ref())
    }

    fn mean(&self) -> Result<Tensor> {
        let mut probs = self.mixture.probs()?; // B + [K]
        for _ in 0..self.event_shape.len() {
            probs = probs.unsqueeze(-1);
        }
        let means = self.components.mean()?; // B + [K] + E
        Ok((probs * means).sum_dim_intlist(-1 - self.event_shape.len() as i64, false, None::<Kind>))
    }

    /// The law of total variance, `Σ π_k var_k + Σ π_k (mean_k - mean)²` elementwise (this form
    /// has no cancellation between large second moments).
    fn variance(&self) -> Result<Tensor> {
        let e = self.event_shape.len() as i64;
        let mut probs = self.mixture.probs()?;
        for _ in 0..e {
            probs = probs.unsqueeze(-1);
        }
        let (means, vars) = (self.components.mean()?, self.components.variance()?);
        let mean = (&probs * &means).sum_dim_intlist(-1 - e, true, None::<Kind>);
        let spread = (means - mean).square();
        Ok((&probs * (vars + spread)).sum_dim_intlist(-1 - e, false, None::<Kind>))
    }

    fn support(&self) -> Support {
        self.components.support()
    }

    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        self.components.default_event_space_bijector()
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        let mut v = self.mixture.trainable_variables();
        v.extend(self.components.trainable_variables());
        v
    }
}

display_as_describe!(MixtureSameFamily);
