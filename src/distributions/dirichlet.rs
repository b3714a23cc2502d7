//! The Dirichlet distribution over the probability simplex.

use super::{display_as_describe, sample_and_batch, Distribution, Support};
use crate::bijectors::{Bijector, SoftmaxCentered};
use crate::shape::{check_value, check_value_shape, fmt_shape, kind_name};
use crate::Parameter;
use anyhow::{anyhow, bail, Result};
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// `Dirichlet(concentration)`: density
/// `Γ(α₀) / Π_k Γ(α_k) · Π_k x_k^(α_k - 1)` on the simplex `{x_k ≥ 0, Σ_k x_k = 1}`, with
/// `α₀ = Σ_k α_k`.
///
/// `concentration` (`α`, torch and TFP both call it so) has shape `batch_shape + [K]`, `K ≥ 1`,
/// and positive entries; `event_shape` is `[K]`.
/// `log_prob(x) = Σ_k (α_k - 1) log x_k + lgamma(α₀) - Σ_k lgamma(α_k)` (with `0 · log 0 = 0`,
/// torch's `xlogy`). Draws are `g / Σ_k g_k` with `g_k ~ Gamma(α_k, 1)` (libtorch's
/// `_standard_gamma`, whose gradient is the implicit reparameterisation, so `rsample` carries
/// gradients to `α`); gamma draws that underflow are raised to the smallest normal number.
/// Mean `α / α₀`; variance `α (α₀ - α) / (α₀² (α₀ + 1))`; mode `(α - 1) / (α₀ - K)` where every
/// `α_k > 1` (NaN otherwise, TFP's `allow_nan_stats`); entropy
/// `log B(α) + (α₀ - K) ψ(α₀) - Σ_k (α_k - 1) ψ(α_k)`.
pub struct Dirichlet {
    concentration: Parameter,
    name: String,
    batch_shape: Vec<i64>,
    k: i64,
    validate_args: bool,
}

impl Dirichlet {
    /// Builds `Dirichlet(concentration)`; errors when the concentration is not float or not of
    /// shape `batch_shape + [K]` with `K ≥ 1`.
    pub fn new(concentration: impl Into<Parameter>) -> Result<Self> {
        let concentration = concentration.into();
        let op = "Dirichlet::new";
        if !matches!(concentration.kind(), Kind::Float | Kind::Double) {
            bail!("{op}: expected concentration of dtype float32 or float64, got {}", kind_name(concentration.kind()));
        }
        let shape = concentration.shape();
        match shape.last() {
            Some(&k) if k >= 1 => Ok(Self {
                batch_shape: shape[..shape.len() - 1].to_vec(),
                k,
                concentration,
                name: "Dirichlet".into(),
                validate_args: false,
            }),
            _ => {
                bail!("{op}: expected concentration of shape batch_shape + [K] with K >= 1, got {}", fmt_shape(&shape))
            }
        }
    }

    /// Sets the name printed by `Display`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// When on, every read of the concentration checks (on the host, at the cost of a device
    /// synchronisation) that it is positive, and `log_prob` that its value lies on the simplex
    /// (non-negative, summing to 1 within `1e-4` in float32, `1e-8` in float64). Off by default.
    pub fn with_validate_args(mut self, on: bool) -> Self {
        self.validate_args = on;
        self
    }

    /// The concentration parameter.
    pub fn concentration(&self) -> &Parameter {
        &self.concentration
    }

    fn conc(&self, op: &str) -> Result<Tensor> {
        let a = self.concentration.value()?;
        if self.validate_args {
            let bad = a.le(0.0).logical_or(&a.isnan());
            if bad.any().int64_value(&[]) != 0 {
                bail!("{op}: expected concentration > 0, got a minimum of {}", a.min().double_value(&[]));
            }
        }
        Ok(a)
    }

    fn event_batch(&self) -> Vec<i64> {
        let mut shape = self.batch_shape.clone();
        shape.push(self.k);
        shape
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let mut shape = sample_and_batch(op, sample_shape, &self.batch_shape)?;
        shape.push(self.k);
        let a = self.conc(op)?;
        let g = a
            .broadcast_to(shape.as_slice())
            .contiguous()
            .f_internal_standard_gamma()
            .map_err(|e| anyhow!("{op}: libtorch's _standard_gamma failed: {e}"))?;
        let tiny = match self.dtype() {
            Kind::Float => f32::MIN_POSITIVE as f64,
            _ => f64::MIN_POSITIVE,
        };
        let g = g.clamp_min(tiny);
        Ok(&g / g.sum_dim_intlist(-1, true, None::<Kind>))
    }
}

impl Distribution for Dirichlet {
    fn name(&self) -> &str {
        &self.name
    }
    fn type_name(&self) -> &'static str {
        "Dirichlet"
    }
    fn batch_shape(&self) -> Vec<i64> {
        self.batch_shape.clone()
    }
    fn event_shape(&self) -> Vec<i64> {
        vec![self.k]
    }
    fn dtype(&self) -> Kind {
        self.concentration.kind()
    }
    fn device(&self) -> Device {
        self.concentration.device()
    }

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Dirichlet.log_prob";
        check_value(op, x, self.dtype(), self.device())?;
        check_value_shape(op, x, &self.batch_shape, &[self.k])?;
        let a = self.conc(op)?;
        if self.validate_args {
            let tol = if self.dtype() == Kind::Float { 1e-4 } else { 1e-8 };
            let off = (x.sum_dim_intlist(-1, false, None::<Kind>) - 1.0).abs();
            let bad = x.lt(0.0).any().logical_or(&off.gt(tol).any()).logical_or(&x.isnan().any());
            if bad.int64_value(&[]) != 0 {
                bail!(
                    "{op}: expected a value on the simplex (entries >= 0 summing to 1), got a minimum entry of {} and a sum off by up to {}",
                    x.min().double_value(&[]),
                    off.max().double_value(&[])
                );
            }
        }
        let terms = (&a - 1.0).special_xlogy(x).sum_dim_intlist(-1, false, None::<Kind>);
        let norm =
            a.sum_dim_intlist(-1, false, None::<Kind>).lgamma() - a.lgamma().sum_dim_intlist(-1, false, None::<Kind>);
        Ok(terms + norm)
    }

    fn sample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        tch::no_grad(|| self.draw("Dirichlet.sample", sample_shape))
    }

    /// Normalised gamma draws, differentiable in the concentration (implicit reparameterisation).
    fn rsample(&self, sample_shape: &[i64]) -> Result<Tensor> {
        self.draw("Dirichlet.rsample", sample_shape)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    /// `α / α₀`.
    fn mean(&self) -> Result<Tensor> {
        let a = self.concentration.value()?;
        Ok((&a / a.sum_dim_intlist(-1, true, None::<Kind>)).broadcast_to(self.event_batch().as_slice()))
    }

    /// `α (α₀ - α) / (α₀² (α₀ + 1))`.
    fn variance(&self) -> Result<Tensor> {
        let a = self.concentration.value()?;
        let a0 = a.sum_dim_intlist(-1, true, None::<Kind>);
        let v = &a * (&a0 - &a) / (a0.square() * (&a0 + 1.0));
        Ok(v.broadcast_to(self.event_batch().as_slice()))
    }

    /// `(α - 1) / (α₀ - K)` where every `α_k > 1`, NaN for the other batch elements.
    fn mode(&self) -> Result<Tensor> {
        let a = self.concentration.value()?;
        let a0 = a.sum_dim_intlist(-1, true, None::<Kind>);
        let m = (&a - 1.0) / (a0 - self.k as f64);
        let ok = a.gt(1.0).all_dims(-1, true);
        Ok(m.where_self(&ok, &m.full_like(f64::NAN)).broadcast_to(self.event_batch().as_slice()))
    }

    /// `log B(α) + (α₀ - K) ψ(α₀) - Σ_k (α_k - 1) ψ(α_k)`, `log B(α) = Σ lgamma(α_k) - lgamma(α₀)`.
    fn entropy(&self) -> Result<Tensor> {
        let a = self.concentration.value()?;
        let a0 = a.sum_dim_intlist(-1, false, None::<Kind>);
        let log_b = a.lgamma().sum_dim_intlist(-1, false, None::<Kind>) - a0.lgamma();
        let h = log_b + (&a0 - self.k as f64) * a0.digamma()
            - ((&a - 1.0) * a.digamma()).sum_dim_intlist(-1, false, None::<Kind>);
        Ok(h.broadcast_to(self.batch_shape.as_slice()))
    }

    /// `(α₀ diag(α) - α αᵀ) / (α₀² (α₀ + 1))`, shape `batch_shape + [K, K]`.
    fn covariance(&self) -> Result<Tensor> {
        let a = self.concentration.value()?;
        let a0 = a.sum_dim_intlist(-1, true, None::<Kind>).unsqueeze(-1);
        let outer = a.unsqueeze(-1) * a.unsqueeze(-2);
        let c = (a.diag_embed(0, -2, -1) * &a0 - outer) / (a0.square() * (&a0 + 1.0));
        let mut shape = self.event_batch();
        shape.push(self.k);
        Ok(c.broadcast_to(shape.as_slice()))
    }

    fn support(&self) -> Support {
        Support::Simplex
    }

    /// TFP's choice, [`SoftmaxCentered`]: `R^{K-1}` onto the interior of the simplex.
    fn default_event_space_bijector(&self) -> Result<Arc<dyn Bijector>> {
        Ok(Arc::new(SoftmaxCentered))
    }

    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        self.concentration.trainable_variables()
    }
}

display_as_describe!(Dirichlet);
