//! The Dirichlet distribution over the probability simplex.

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::standard_gamma;
use super::Distribution;
use anyhow::Result;
use tch::{Kind, Tensor};

declare_family! {
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
    /// `log B(α) + (α₀ - K) ψ(α₀) - Σ_k (α_k - 1) ψ(α_k)`. Support the simplex (checked with
    /// validation on: entries `>= 0` summing to 1 within `1e-4` in float32, `1e-8` in float64);
    /// `default_event_space_bijector` is TFP's `SoftmaxCentered` (`R^{K-1}` onto the interior).
    Dirichlet, support: Constraint::Simplex; event_ndims: 1,
    new(
        /// The concentration `α`, `batch_shape + [K]`.
        concentration[1]: Constraint::Positive,
    )
}

/// `Σ` over the last dimension.
fn sum_k(t: &Tensor, keep: bool) -> Tensor {
    t.sum_dim_intlist(-1, keep, None::<Kind>)
}

impl Dirichlet {
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [a] = self.core.values(op)?;
        let g = standard_gamma(&a.broadcast_to(shape.as_slice()).contiguous());
        Ok(&g / sum_k(&g, true))
    }

    /// The number of categories `K`.
    fn k(&self) -> f64 {
        self.core.event_shape()[0] as f64
    }
}

impl Distribution for Dirichlet {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("Dirichlet.log_prob", x)?;
        let a = self.core.single("log_prob")?;
        Ok(sum_k(&(&a - 1.0).special_xlogy(x), false) + sum_k(&a, false).lgamma() - sum_k(&a.lgamma(), false))
    }

    /// `α / α₀`.
    fn mean(&self) -> Result<Tensor> {
        let a = self.core.single("mean")?;
        Ok(self.core.bcast(&a / sum_k(&a, true)))
    }

    /// `α (α₀ - α) / (α₀² (α₀ + 1))`.
    fn variance(&self) -> Result<Tensor> {
        let a = self.core.single("variance")?;
        let a0 = sum_k(&a, true);
        Ok(self.core.bcast(&a * (&a0 - &a) / (a0.square() * (&a0 + 1.0))))
    }

    /// `(α - 1) / (α₀ - K)` where every `α_k > 1`, NaN for the other batch elements.
    fn mode(&self) -> Result<Tensor> {
        let a = self.core.single("mode")?;
        let m = (&a - 1.0) / (sum_k(&a, true) - self.k());
        let ok = a.gt(1.0).all_dims(-1, true);
        Ok(self.core.bcast(m.where_scalarother(&ok, f64::NAN)))
    }

    /// `log B(α) + (α₀ - K) ψ(α₀) - Σ_k (α_k - 1) ψ(α_k)`, `log B(α) = Σ lgamma(α_k) - lgamma(α₀)`.
    fn entropy(&self) -> Result<Tensor> {
        let a = self.core.single("entropy")?;
        let a0 = sum_k(&a, false);
        let h = sum_k(&a.lgamma(), false) - a0.lgamma() + (&a0 - self.k()) * a0.digamma()
            - sum_k(&((&a - 1.0) * a.digamma()), false);
        Ok(h.broadcast_to(self.core.batch_shape()))
    }

    /// `(α₀ diag(α) - α αᵀ) / (α₀² (α₀ + 1))`, shape `batch_shape + [K, K]`.
    fn covariance(&self) -> Result<Tensor> {
        let a = self.core.single("covariance")?;
        let a0 = sum_k(&a, true).unsqueeze(-1);
        let c = (a.diag_embed(0, -2, -1) * &a0 - a.unsqueeze(-1) * a.unsqueeze(-2)) / (a0.square() * (&a0 + 1.0));
        let mut shape = self.core.batch_shape().to_vec();
        shape.extend([self.core.event_shape()[0]; 2]);
        Ok(c.broadcast_to(shape.as_slice()))
    }
}
