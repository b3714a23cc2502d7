//! The truncated normal distribution (TFP's `TruncatedNormal`; torch has none), stable with the
//! bounds far in either tail.

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::{log1mexp, open_unit_uniform};
use super::{Distribution, HALF_LOG_TWO_PI};
use anyhow::Result;
use tch::Tensor;

declare_family! {
    /// `TruncatedNormal(loc, scale, low, high)` (`μ`, `σ`, `l`, `h`): the normal `N(μ, σ²)`
    /// restricted to `[l, h]`, as TFP's `tfd.TruncatedNormal`. With `a = (l - μ)/σ`,
    /// `b = (h - μ)/σ` and `Z = Φ(b) - Φ(a)`:
    ///
    /// `batch_shape` is the broadcast of the four parameters' shapes; `event_shape` is `[]`.
    ///
    /// * `log Z` in log space, `log Φ(hi) + log1mexp(log Φ(lo) - log Φ(hi))` with `(lo, hi) =
    ///   (a, b)`, or `(-b, -a)` when `a > 0` (the same mass by symmetry), so bounds many standard
    ///   deviations out in either tail keep their digits (`Φ(a)` and `Φ(b)` themselves round to 1
    ///   or 0 there). Infinite bounds are allowed (one-sided truncation).
    /// * `log_prob(x) = -z²/2 - log(2π)/2 - log σ - log Z` on `[l, h]`, `-inf` outside.
    /// * `cdf(x) = exp(log(Φ(z) - Φ(a)) - log Z)`, the difference formed as `log Z` is, 0 below
    ///   `l` and 1 above `h`; `log_cdf` is its log. Its absolute error is about `eps·|log Z|`
    ///   (the two logs are each about `-a²/2` with both bounds far in one tail), so the mass
    ///   within a few `eps·a²` of either end is not resolved relatively; `icdf` is (its
    ///   quantiles are within a few `eps` of 40-digit values in `scripts/parity.py`).
    /// * `icdf(p)`: `log Φ(z) = logaddexp(log Φ(a), log p + log Z)` (for `b <= 0`, and for
    ///   `p <= 1/2` when `a < 0 < b`), else `log Φ(-z) = logaddexp(log Φ(-b), log1p(-p) + log Z)`,
    ///   then `z` from `log Φ(z)` by
    ///   `ndtri` (or, below `e^-50`, the tail's asymptotic form) and three Newton steps on
    ///   `log Φ`.
    /// * `sample`/`rsample`: `icdf(u)`, `u ~ U[tiny, 1 - eps]`; pathwise gradients flow to all
    ///   four parameters (the Newton steps give the implicit derivative at convergence).
    /// * mean `μ + σ (φ(a) - φ(b))/Z` (each ratio `exp(log φ - log Z)`), mode `clamp(μ, l, h)`,
    ///   variance `σ² (1 + (a φ(a) - b φ(b))/Z - ((φ(a) - φ(b))/Z)²)` and entropy
    ///   `log(√(2πe) σ Z) + (a φ(a) - b φ(b))/(2Z)`: TFP's closed forms, which lose relative
    ///   digits when both bounds lie far in one tail (the variance there is about `σ²/a²`,
    ///   left after cancelling terms of size `a²`).
    /// * support [`Support::Interval`](super::Support::Interval) `[l, h]`;
    ///   `default_event_space_bijector` is `Sigmoid::with_bounds(l, h)`. Validation checks
    ///   `l < h`, `σ > 0` and that values are not NaN.
    TruncatedNormal, support: Constraint::Interval("low", "high"),
    new(
        /// The location `μ` of the normal before truncation.
        loc: Constraint::Real,
        /// The scale `σ` of the normal before truncation.
        scale: Constraint::Positive,
        /// The lower bound `l` (may be `-inf`).
        low: Constraint::Real,
        /// The upper bound `h` (may be `inf`).
        high: Constraint::GreaterThan("low"),
    )
}

/// Standardized bounds are clamped to this: `log Φ` and its gradient stay finite (an infinite
/// bound contributes `e^(-5e19) = 0` and no gradient, as it should).
const BIG: f64 = 1e10;

/// `log(Φ(hi) - Φ(lo))` for `lo <= hi`, flipped to the left tail where `lo > 0`.
fn log_diff_ndtr(lo: &Tensor, hi: &Tensor) -> Tensor {
    let right = lo.gt(0.0);
    let (l, h) = ((-hi).where_self(&right, lo), (-lo).where_self(&right, hi));
    let (ll, lh) = (l.special_log_ndtr(), h.special_log_ndtr());
    &lh + log1mexp(&(ll - &lh))
}

/// `log φ(t)`.
fn log_phi(t: &Tensor) -> Tensor {
    -t.square() * 0.5 - HALF_LOG_TWO_PI
}

/// `x` with `log Φ(x) = t` (`t <= 0`): `ndtri` of `e^t` (of `-expm1(t)` for `-x` near the top,
/// the tail's asymptotic form below `e^-50`), then three Newton steps on `log Φ`.
fn ndtri_exp(t: &Tensor) -> Tensor {
    let deep = t.lt(-50.0);
    let top = t.gt(-std::f64::consts::LN_2);
    // each branch on inputs where it is defined (the others' replaced), so no NaN reaches `where`
    let td = t.where_scalarother(&deep, -100.0);
    let s = -td * 2.0;
    let tail = -(&s - s.log() - (2.0 * HALF_LOG_TWO_PI)).sqrt();
    let tt = t.where_scalarother(&top, -1.0);
    let upper = -(-tt.expm1()).special_ndtri();
    let tm = t.where_scalarother(&deep.logical_or(&top).logical_not(), -1.0);
    let middle = tm.exp().special_ndtri();
    let mut x = tail.where_self(&deep, &upper.where_self(&top, &middle));
    for _ in 0..3 {
        let l = x.special_log_ndtr();
        x = &x - (&l - t) * (&l - log_phi(&x)).exp();
    }
    x
}

/// The parameters of one call, with the standardized bounds `a`, `b` (clamped to `±BIG`) and
/// `log Z`.
struct Standard {
    loc: Tensor,
    scale: Tensor,
    low: Tensor,
    high: Tensor,
    a: Tensor,
    b: Tensor,
    log_z: Tensor,
}

impl Standard {
    /// `(φ(a)/Z, φ(b)/Z)`, each as `exp(log φ - log Z)`.
    fn ratios(&self) -> (Tensor, Tensor) {
        ((log_phi(&self.a) - &self.log_z).exp(), (log_phi(&self.b) - &self.log_z).exp())
    }
}

impl TruncatedNormal {
    /// The parameters with `a`, `b` and `log Z` (an infinite bound is replaced before the
    /// division, so that no `inf / σ` reaches the gradient).
    fn standard(&self, op: &str) -> Result<Standard> {
        let [loc, scale, low, high] = self.core.values(op)?;
        let standardize = |bound: &Tensor| {
            let finite = bound.isfinite();
            let safe = bound.where_scalarother(&finite, 0.0);
            let z = ((safe - &loc) / &scale).clamp(-BIG, BIG);
            z.where_self(&finite, &(bound.sign() * BIG))
        };
        let (a, b) = (standardize(&low), standardize(&high));
        let log_z = log_diff_ndtr(&a, &b);
        Ok(Standard { loc, scale, low, high, a, b, log_z })
    }

    /// `log P(X <= x)`, with `x` standardized and clamped to the bounds.
    fn log_mass_below(&self, op: &str, x: &Tensor) -> Result<Tensor> {
        self.core.check_x(op, x)?;
        let s = self.standard(op)?;
        let z = ((x - &s.loc) / &s.scale).clamp_tensor(Some(&s.a), Some(&s.b));
        Ok(log_diff_ndtr(&s.a, &z) - s.log_z)
    }

    /// The quantile of `p` in `[0, 1]` (the bounds at 0 and 1): from the mass below it where the
    /// interval lies in the left tail (`b <= 0`) or straddles 0 with `p <= 1/2` (`log p` keeps a
    /// small `p`'s digits), from the mass above it otherwise (`log1p(-p)` keeps those of
    /// `1 - p`; in the right tail `Φ` rounds to 1, as does `Φ(-x)` in the left).
    fn quantile(&self, op: &str, p: &Tensor) -> Result<Tensor> {
        let Standard { loc, scale, low, high, a, b, log_z } = self.standard(op)?;
        let upper = a.ge(0.0).logical_or(&b.gt(0.0).logical_and(&p.gt(0.5)));
        let below = a.special_log_ndtr().logaddexp(&(p.log() + &log_z)).clamp_max(0.0);
        let above = (-&b).special_log_ndtr().logaddexp(&((-p).log1p() + &log_z)).clamp_max(0.0);
        let z = (-ndtri_exp(&above)).where_self(&upper, &ndtri_exp(&below));
        let x = (loc + scale * z).clamp_tensor(Some(&low), Some(&high));
        Ok(low.expand_as(&x).where_self(&p.le(0.0), &high.expand_as(&x).where_self(&p.ge(1.0), &x)))
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        self.quantile(op, &open_unit_uniform(&shape, self.dtype(), self.device()))
    }
}

impl Distribution for TruncatedNormal {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "TruncatedNormal.log_prob";
        self.core.check_x(op, x)?;
        let Standard { loc, scale, low, high, log_z, .. } = self.standard(op)?;
        let z = (x - loc) / &scale;
        let lp = log_phi(&z) - scale.log() - log_z;
        let inside = x.ge_tensor(&low).logical_and(&x.le_tensor(&high));
        Ok(lp.where_scalarother(&inside, f64::NEG_INFINITY))
    }

    /// `μ + σ (φ(a) - φ(b))/Z`.
    fn mean(&self) -> Result<Tensor> {
        let s = self.standard("TruncatedNormal.mean")?;
        let (ra, rb) = s.ratios();
        Ok(self.core.bcast(s.loc + s.scale * (ra - rb)))
    }

    /// `σ² (1 + (a φ(a) - b φ(b))/Z - ((φ(a) - φ(b))/Z)²)`.
    fn variance(&self) -> Result<Tensor> {
        let s = self.standard("TruncatedNormal.variance")?;
        let (ra, rb) = s.ratios();
        let v = (&s.a * &ra - &s.b * &rb) + 1.0 - (&ra - &rb).square();
        Ok(self.core.bcast(s.scale.square() * v))
    }

    /// `clamp(μ, l, h)`.
    fn mode(&self) -> Result<Tensor> {
        let [loc, _, low, high] = self.core.values("TruncatedNormal.mode")?;
        Ok(self.core.bcast(loc.clamp_tensor(Some(&low), Some(&high))))
    }

    /// `log(√(2πe) σ Z) + (a φ(a) - b φ(b))/(2Z)`.
    fn entropy(&self) -> Result<Tensor> {
        let s = self.standard("TruncatedNormal.entropy")?;
        let (ra, rb) = s.ratios();
        let h = s.scale.log() + &s.log_z + (HALF_LOG_TWO_PI + 0.5) + (&s.a * ra - &s.b * rb) * 0.5;
        Ok(self.core.bcast(h))
    }

    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.log_mass_below("TruncatedNormal.cdf", x)?.exp())
    }

    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        self.log_mass_below("TruncatedNormal.log_cdf", x)
    }

    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        let op = "TruncatedNormal.icdf";
        self.core.check_prob(op, p)?;
        self.quantile(op, p)
    }
}
