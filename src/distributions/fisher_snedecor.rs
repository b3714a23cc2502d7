//! The Fisher–Snedecor (F) distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::{standard_gamma, tiny};
use super::Distribution;
use anyhow::Result;
use tch::Tensor;

declare_family! {
    /// `FisherSnedecor(df1, df2)` (`d₁`, `d₂`): the law of `(X₁/d₁)/(X₂/d₂)` for independent
    /// `X₁ ~ χ²(d₁)`, `X₂ ~ χ²(d₂)` (torch's `FisherSnedecor`), density
    /// `(d₁/d₂)^(d₁/2) x^(d₁/2 - 1) (1 + d₁x/d₂)^(-(d₁+d₂)/2) / B(d₁/2, d₂/2)` on `x > 0`.
    ///
    /// `batch_shape` is the broadcast of the shapes of `df1` and `df2`; `event_shape` is `[]`.
    ///
    /// * `log_prob(x) = lgamma((d₁+d₂)/2) - lgamma(d₁/2) - lgamma(d₂/2) + (d₁/2) log(d₁/d₂)
    ///   + xlogy(d₁/2 - 1, x) - ((d₁+d₂)/2) log1p(d₁x/d₂)` (torch's form, with `xlogy` so that
    ///   `x = 0` with `d₁ = 2` gives the density's value 1 instead of NaN).
    /// * `sample`/`rsample` as torch: `Y₁ = _standard_gamma(d₁/2)/d₁`, `Y₂ = _standard_gamma(d₂/2)/d₂`
    ///   (each clamped below at the dtype's smallest normal number), `Y₁/Y₂` clamped likewise;
    ///   gradients flow to both parameters through `_standard_gamma`.
    /// * mean `d₂/(d₂ - 2)` (NaN for `d₂ <= 2`), variance
    ///   `2 d₂² (d₁ + d₂ - 2) / (d₁ (d₂ - 2)² (d₂ - 4))` (NaN for `d₂ <= 4`), mode
    ///   `(d₁ - 2)/d₁ · d₂/(d₂ + 2)` (NaN for `d₁ <= 2`): torch's values and NaNs.
    /// * No entropy, cdf or icdf (torch has none in closed form; the cdf needs the regularized
    ///   incomplete beta function, which libtorch lacks): those methods are errors naming the family.
    /// * support `x > 0`; `default_event_space_bijector` is `Softplus`.
    FisherSnedecor, support: Constraint::Positive,
    new(
        /// The numerator's degrees of freedom `d₁`.
        df1: Constraint::Positive,
        /// The denominator's degrees of freedom `d₂`.
        df2: Constraint::Positive,
    )
}

impl FisherSnedecor {
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [d1, d2] = self.core.values(op)?;
        let tiny = tiny(self.core.dtype());
        let y1 = (standard_gamma(&(&d1 * 0.5).expand(shape.as_slice(), false)) / &d1).clamp_min(tiny);
        let y2 = (standard_gamma(&(&d2 * 0.5).expand(shape.as_slice(), false)) / &d2).clamp_min(tiny);
        Ok((y1 / y2).clamp_min(tiny))
    }
}

impl Distribution for FisherSnedecor {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "FisherSnedecor.log_prob";
        self.core.check_x(op, x)?;
        let [d1, d2] = self.core.values(op)?;
        let (c1, c2, c3) = (&d1 * 0.5, &d2 * 0.5, &d1 / &d2);
        let t1 = (&c1 + &c2).lgamma() - c1.lgamma() - c2.lgamma();
        let t2 = &c1 * c3.log() + (&c1 - 1.0).special_xlogy(x);
        let t3 = (&c1 + &c2) * (c3 * x).log1p();
        Ok(t1 + t2 - t3)
    }

    /// `d₂/(d₂ - 2)`, NaN for `d₂ <= 2`.
    fn mean(&self) -> Result<Tensor> {
        let [_, d2] = self.core.values("FisherSnedecor.mean")?;
        let m = &d2 / (&d2 - 2.0);
        Ok(self.core.bcast(m.where_scalarother(&d2.gt(2.0), f64::NAN)))
    }

    /// `2 d₂² (d₁ + d₂ - 2) / (d₁ (d₂ - 2)² (d₂ - 4))`, NaN for `d₂ <= 4`.
    fn variance(&self) -> Result<Tensor> {
        let [d1, d2] = self.core.values("FisherSnedecor.variance")?;
        let v = d2.square() * 2.0 * (&d1 + &d2 - 2.0) / (&d1 * (&d2 - 2.0).square() * (&d2 - 4.0));
        Ok(self.core.bcast(v.where_scalarother(&d2.gt(4.0), f64::NAN)))
    }

    /// `(d₁ - 2)/d₁ · d₂/(d₂ + 2)`, NaN for `d₁ <= 2`.
    fn mode(&self) -> Result<Tensor> {
        let [d1, d2] = self.core.values("FisherSnedecor.mode")?;
        let m = (&d1 - 2.0) / &d1 * &d2 / (&d2 + 2.0);
        Ok(self.core.bcast(m.where_scalarother(&d1.gt(2.0), f64::NAN)))
    }
}
