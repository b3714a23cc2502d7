//! Student's t distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::standard_gamma;
use super::{sample_and_batch, Distribution};
use anyhow::Result;
use tch::Tensor;

const HALF_LOG_PI: f64 = 0.572_364_942_924_700_1;
const LGAMMA_HALF: f64 = 0.572_364_942_924_700_1; // lgamma(1/2) = log(√π)

declare_family! {
    /// `StudentT(df, loc, scale)` (`ν`, `μ`, `σ`): density
    /// `Γ((ν+1)/2) / (Γ(ν/2) √(νπ) σ) · (1 + y²/ν)^(-(ν+1)/2)`, `y = (x - μ)/σ`.
    ///
    /// `batch_shape` is the broadcast of the shapes of `df`, `loc` and `scale`; `event_shape` is
    /// `[]`.
    ///
    /// * `log_prob(x) = -(ν+1)/2 · log1p(y²/ν) - log σ - log(ν)/2 - log(π)/2 - lgamma(ν/2)
    ///   + lgamma((ν+1)/2)`.
    /// * `sample`/`rsample`: `μ + σ · z / √(χ²/ν)` with `z ~ N(0, 1)` and `χ² = 2 g`,
    ///   `g ~ Gamma(ν/2, 1)` (libtorch's reparameterized `_standard_gamma`), as torch: gradients
    ///   flow to `ν`, `μ` and `σ`.
    /// * mean `μ` where `ν > 1`, NaN elsewhere; variance `σ² ν/(ν-2)` where `ν > 2`, `inf` where
    ///   `1 < ν <= 2`, NaN where `ν <= 1` (torch); mode `μ`;
    ///   entropy `log σ + (ν+1)/2 (ψ((ν+1)/2) - ψ(ν/2)) + log(ν)/2 + lbeta(ν/2, 1/2)`.
    /// * support real; `default_event_space_bijector` is `Identity`.
    StudentT, support: Constraint::Real,
    new(
        /// The degrees of freedom `ν`.
        df: Constraint::Positive,
        /// The location `μ`.
        loc: Constraint::Real,
        /// The scale `σ`.
        scale: Constraint::Positive,
    )
}

impl StudentT {
    fn params(&self, op: &str) -> Result<(Tensor, Tensor, Tensor)> {
        let [df, loc, scale] = self.core.values(op)?;
        Ok((df, loc, scale))
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = sample_and_batch(op, sample_shape, self.core.batch_shape())?;
        let (df, loc, scale) = self.params(op)?;
        let z = Tensor::randn(shape.as_slice(), (self.dtype(), self.device()));
        let g = standard_gamma(&(&df * 0.5).expand(shape.as_slice(), false));
        // χ²/ν = 2g/ν
        let y = z * (g * 2.0 / df).rsqrt();
        Ok(loc + scale * y)
    }
}

impl Distribution for StudentT {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "StudentT.log_prob";
        self.core.check_x(op, x)?;
        let (df, loc, scale) = self.params(op)?;
        let y = (x - loc) / &scale;
        let half = &df * 0.5;
        let z = scale.log() + df.log() * 0.5 + HALF_LOG_PI + half.lgamma() - (&half + 0.5).lgamma();
        // log1p(y²/ν) = 2 ln(hi) + log1p((lo/hi)²) with a = |y|/√ν, hi = max(a, 1), lo = min(a, 1):
        // the same value without squaring a large |y| (y² overflows float32 beyond |y| ≈ 1.8e19).
        let a = y.abs() / df.sqrt();
        let (hi, lo) = (a.clamp_min(1.0), a.clamp_max(1.0));
        let log1p_t = hi.log() * 2.0 + (lo / &hi).square().log1p();
        Ok(log1p_t * -(&half + 0.5) - z)
    }

    /// `loc` where `df > 1`, NaN elsewhere.
    fn mean(&self) -> Result<Tensor> {
        let (df, loc, _) = self.params("StudentT.mean")?;
        let shape = self.core.batch_shape();
        Ok(loc.broadcast_to(shape).where_scalarother(&df.gt(1.0).broadcast_to(shape), f64::NAN))
    }

    /// `scale² df/(df-2)` where `df > 2`, `inf` where `1 < df <= 2`, NaN where `df <= 1`.
    fn variance(&self) -> Result<Tensor> {
        let (df, _, scale) = self.params("StudentT.variance")?;
        let shape = self.core.batch_shape();
        let big = df.gt(2.0);
        // Keep the unused branch finite so that its masked gradient is 0, not NaN.
        let safe_df = df.where_scalarother(&big, 3.0);
        let v = (scale.square() * &safe_df / (&safe_df - 2.0)).broadcast_to(shape);
        let other = Tensor::full(shape, f64::INFINITY, (self.dtype(), self.device()))
            .where_scalarother(&df.gt(1.0).broadcast_to(shape), f64::NAN);
        Ok(v.where_self(&big.broadcast_to(shape), &other))
    }

    fn mode(&self) -> Result<Tensor> {
        let (_, loc, _) = self.params("StudentT.mode")?;
        Ok(self.core.bcast(loc))
    }

    /// `log σ + (ν+1)/2 (ψ((ν+1)/2) - ψ(ν/2)) + log(ν)/2 + lbeta(ν/2, 1/2)`.
    fn entropy(&self) -> Result<Tensor> {
        let (df, _, scale) = self.params("StudentT.entropy")?;
        let half = &df * 0.5;
        let half1 = &half + 0.5;
        let lbeta = half.lgamma() + LGAMMA_HALF - half1.lgamma();
        let h = scale.log() + &half1 * (half1.digamma() - half.digamma()) + df.log() * 0.5 + lbeta;
        Ok(h.broadcast_to(self.core.batch_shape()))
    }
}
