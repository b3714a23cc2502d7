//! The Kumaraswamy distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::{log1mexp, EULER_GAMMA};
use super::Distribution;
use anyhow::Result;
use tch::Tensor;

declare_family! {
    /// `Kumaraswamy(concentration1, concentration0)` (`a`, `b`): density
    /// `a b x^(a-1) (1 - x^a)^(b-1)` on `0 <= x <= 1` (torch's `TransformedDistribution` of a
    /// uniform; TFP's `Kumaraswamy`).
    ///
    /// `batch_shape` is the broadcast of the shapes of `concentration1` and `concentration0`;
    /// `event_shape` is `[]`.
    ///
    /// * `log_prob(x) = log a + log b + (a - 1) log x + (b - 1) log(1 - x^a)`, with
    ///   `log(1 - x^a) = log1mexp(a log x)` (accurate next to both ends; the factors `a - 1`,
    ///   `b - 1` count as 0 where they are 0, so `x = 0` with `a = 1` and `x = 1` with `b = 1`
    ///   are finite).
    /// * `sample`/`rsample`: `icdf(u)` of a uniform `u`; gradients flow to both parameters.
    /// * `cdf(x) = 1 - (1 - x^a)^b = -expm1(b log1mexp(a log x))`;
    ///   `icdf(p) = (1 - (1 - p)^(1/b))^(1/a) = exp(log(-expm1(log1p(-p)/b))/a)`, both accurate in
    ///   the tails where torch's composition of transforms rounds `1 - x^a` and `1 - u^(1/b)`.
    /// * mean `b B(1 + 1/a, b)`, variance `b B(1 + 2/a, b) - mean²` (torch's lgamma forms); mode
    ///   `((a - 1)/(ab - 1))^(1/a)` (TFP's formula), NaN where `a < 1` or `b < 1` as torch (torch's
    ///   own formula, `exp(log1p(-b)/b - log1p(-ab))`, is NaN for every `b > 1` as well, which is
    ///   wrong: the density of `a, b >= 1` has an interior maximum); entropy (torch's)
    ///   `(1 - 1/b) + (1 - 1/a) H_b - log a - log b`, `H_b = ψ(b + 1) + γ`.
    /// * support the unit interval; `default_event_space_bijector` is `Sigmoid`.
    Kumaraswamy, support: Constraint::UnitInterval,
    new(
        /// The first concentration `a` (the power of `x`).
        concentration1: Constraint::Positive,
        /// The second concentration `b` (the power of `1 - x^a`).
        concentration0: Constraint::Positive,
    )
}

/// `n`-th moment `b B(1 + n/a, b) = b exp(lgamma(1 + n/a) + lgamma(b) - lgamma(1 + n/a + b))`.
fn moment(a: &Tensor, b: &Tensor, n: f64) -> Tensor {
    let arg = a.reciprocal() * n + 1.0;
    b * (arg.lgamma() + b.lgamma() - (&arg + b).lgamma()).exp()
}

/// `(b - 1) t` with a zero factor giving 0 even where `t` is infinite.
fn times_minus_one(k: &Tensor, t: &Tensor) -> Tensor {
    let f = k - 1.0;
    (&f * t).where_scalarother(&f.ne(0.0), 0.0)
}

/// `(1 - (1 - p)^(1/b))^(1/a)`.
fn quantile(a: &Tensor, b: &Tensor, p: &Tensor) -> Tensor {
    ((-(p.neg().log1p() / b).expm1()).log() / a).exp()
}

impl Kumaraswamy {
    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [a, b] = self.core.values(op)?;
        let u = Tensor::rand(shape.as_slice(), (self.core.dtype(), self.core.device()));
        Ok(quantile(&a, &b, &u))
    }
}

impl Distribution for Kumaraswamy {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Kumaraswamy.log_prob";
        self.core.check_x(op, x)?;
        let [a, b] = self.core.values(op)?;
        let log_x = x.log();
        let log_1m = log1mexp(&(&a * &log_x));
        Ok(a.log() + b.log() + times_minus_one(&a, &log_x) + times_minus_one(&b, &log_1m))
    }

    /// `b B(1 + 1/a, b)`.
    fn mean(&self) -> Result<Tensor> {
        let [a, b] = self.core.values("Kumaraswamy.mean")?;
        Ok(self.core.bcast(moment(&a, &b, 1.0)))
    }

    /// `b B(1 + 2/a, b) - mean²`.
    fn variance(&self) -> Result<Tensor> {
        let [a, b] = self.core.values("Kumaraswamy.variance")?;
        Ok(self.core.bcast(moment(&a, &b, 2.0) - moment(&a, &b, 1.0).square()))
    }

    /// `((a - 1)/(ab - 1))^(1/a)`, NaN where `a < 1` or `b < 1`.
    fn mode(&self) -> Result<Tensor> {
        let [a, b] = self.core.values("Kumaraswamy.mode")?;
        let m = (((&a - 1.0).log() - (&a * &b - 1.0).log()) / &a).exp();
        let undefined = a.lt(1.0).logical_or(&b.lt(1.0));
        Ok(self.core.bcast(m.where_scalarother(&undefined.logical_not(), f64::NAN)))
    }

    /// `(1 - 1/b) + (1 - 1/a)(ψ(b + 1) + γ) - log a - log b`.
    fn entropy(&self) -> Result<Tensor> {
        let [a, b] = self.core.values("Kumaraswamy.entropy")?;
        let t1 = -a.reciprocal() + 1.0;
        let t0 = -b.reciprocal() + 1.0;
        let h0 = (&b + 1.0).digamma() + EULER_GAMMA;
        Ok(self.core.bcast(t0 + t1 * h0 - a.log() - b.log()))
    }

    /// `-expm1(b log1mexp(a log x))`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Kumaraswamy.cdf";
        self.core.check_x(op, x)?;
        let [a, b] = self.core.values(op)?;
        Ok(-(b * log1mexp(&(a * x.log()))).expm1())
    }

    /// `log(cdf(x)) = log1mexp(b log1mexp(a log x))`, accurate where the cdf is small.
    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "Kumaraswamy.log_cdf";
        self.core.check_x(op, x)?;
        let [a, b] = self.core.values(op)?;
        Ok(log1mexp(&(b * log1mexp(&(a * x.log())))))
    }

    /// `(1 - (1 - p)^(1/b))^(1/a)`.
    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        let op = "Kumaraswamy.icdf";
        self.core.check_prob(op, p)?;
        let [a, b] = self.core.values(op)?;
        Ok(quantile(&a, &b, p))
    }
}
