//! The chi-squared distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::gamma::{gamma_cdf, gamma_entropy, gamma_log_prob};
use super::univariate_common::standard_gamma;
use super::Distribution;
use anyhow::Result;
use tch::Tensor;

declare_family! {
    /// `Chi2(df)` (`k`): `Gamma(k/2, 1/2)`, the distribution of a sum of `k` squared standard
    /// normals (for integer `k`); density `x^(k/2-1) e^(-x/2) / (2^(k/2) Γ(k/2))` on `x >= 0`.
    ///
    /// `batch_shape` is the shape of `df`; `event_shape` is `[]`.
    ///
    /// * `log_prob`, `entropy`: the Gamma forms with `α = k/2`, `β = 1/2`.
    /// * `sample`/`rsample`: `2 · _standard_gamma(k/2)` (implicit reparameterization in `k`).
    /// * mean `k`, variance `2k`, mode `max(k - 2, 0)`.
    /// * support `x >= 0`; `default_event_space_bijector` is `Softplus`.
    Chi2, support: Constraint::NonNegative,
    new(
        /// The degrees of freedom `k`.
        df: Constraint::Positive,
    )
}

impl Chi2 {
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [df] = self.core.values(op)?;
        Ok(standard_gamma(&(df * 0.5).expand(shape.as_slice(), false)) * 2.0)
    }

    /// `(α, β) = (k/2, 1/2)`.
    fn gamma_params(&self, method: &str) -> Result<(Tensor, Tensor)> {
        let c = self.core.single(method)? * 0.5;
        let r = c.full_like(0.5);
        Ok((c, r))
    }
}

impl Distribution for Chi2 {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("Chi2.log_prob", x)?;
        let (c, r) = self.gamma_params("log_prob")?;
        Ok(gamma_log_prob(&c, &r, x))
    }

    fn mean(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("mean")?))
    }

    fn variance(&self) -> Result<Tensor> {
        Ok(self.core.bcast(self.core.single("variance")? * 2.0))
    }

    /// `max(k - 2, 0)`.
    fn mode(&self) -> Result<Tensor> {
        Ok(self.core.bcast((self.core.single("mode")? - 2.0).clamp_min(0.0)))
    }

    fn entropy(&self) -> Result<Tensor> {
        let (c, r) = self.gamma_params("entropy")?;
        Ok(self.core.bcast(gamma_entropy(&c, &r)))
    }

    /// `P(k/2, x/2)` (as Gamma's: no gradient in `k`).
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("Chi2.cdf", x)?;
        let (c, r) = self.gamma_params("cdf")?;
        Ok(gamma_cdf(&c, &r, x))
    }
}
