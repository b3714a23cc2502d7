//! The continuous Bernoulli distribution.

use super::family::{declare_family_with_probability, family_methods, Constraint, LOGITS, PROBS};
use super::univariate_common::{eps, softplus};
use super::Distribution;
use anyhow::Result;
use std::f64::consts::LN_2;
use tch::{Kind, Tensor};

declare_family_with_probability! {
    /// `ContinuousBernoulli(logits)` or `ContinuousBernoulli(probs)` (Loaiza-Ganem and Cunningham
    /// 2019): density `C(λ) p^x (1 - p)^(1-x)` on `[0, 1]`, `p = probs = sigmoid(λ)`, `λ = logits`,
    /// with the normalizer `C(λ) = λ / tanh(λ/2)` (`2` at `λ = 0`, `p = 1/2`).
    ///
    /// `batch_shape` is the shape of the parameter; `event_shape` is `[]`.
    ///
    /// Everything is computed from `λ`: from probs, `λ = log p - log1p(-p)` after torch's clamp of
    /// `p` to `[eps, 1 - eps]`; from logits, `λ` itself (torch clamps `sigmoid(λ)` as well, so that
    /// its normalizer, mean, variance and cdf stop moving beyond `|λ| ≈ 15.9` in float32 and `36.7`
    /// in float64, and its density no longer integrates to 1 there; the forms below need no clamp).
    /// Near `λ = 0` (torch's unstable region, its `lims = (0.499, 0.501)` on `p`) the closed forms
    /// cancel, and Taylor series in `λ` are used: up to `λ^12` for `|λ| < 1` (float32) or
    /// `|λ| < 0.2` (float64), accurate to the dtype's rounding on both sides of the switch.
    ///
    /// * `log_prob(x) = x λ - softplus(λ) + log C(λ)` (minus torch's binary cross-entropy with
    ///   logits, plus its log-normalizer), `log C(λ) = log(λ / tanh(λ/2))`.
    /// * mean `1/(1 - e^{-λ}) - 1/λ`, variance `1/λ² - 1/(4 sinh²(λ/2))`, entropy
    ///   `-λ mean + softplus(λ) - log C(λ)` (torch's formulas rewritten in `λ`).
    /// * `cdf(x) = expm1(λx) / expm1(λ)` (`0` below 0, `1` above 1), `icdf(u) = log1p(u expm1(λ)) / λ`
    ///   (each in an overflow-free form for `λ > 20`; torch returns `x` and `u` in its unstable
    ///   region, an error up to 5e-4 there).
    /// * `sample`/`rsample`: `icdf(u)`, `u ~ U[0, 1)` (torch's), differentiable in the parameter.
    /// * support [`Support::UnitInterval`](super::Support::UnitInterval);
    ///   `default_event_space_bijector` is `Sigmoid`. No mode (torch has none).
    ContinuousBernoulli, support: Constraint::UnitInterval,
    with()
    either from_logits(logits = LOGITS) or from_probs(probs = PROBS)
}

impl ContinuousBernoulli {
    /// `λ` for the method `method`: the logits, or the logit of the clamped probs.
    fn lambda(&self, method: &str) -> Result<Tensor> {
        Ok(self.core.prob(method)?.clamped_logits())
    }

    /// The logits `λ`, with gradient.
    pub fn logits(&self) -> Result<Tensor> {
        self.lambda("logits")
    }

    /// `sigmoid(λ)`, with gradient (for probs: the clamped probs).
    pub fn probs(&self) -> Result<Tensor> {
        Ok(self.lambda("probs")?.sigmoid())
    }

    /// The exponential-family log-normalizer `A(λ) = log ∫₀¹ e^{λx} dx = softplus(λ) - log C(λ)`
    /// (`log p(x) = λx - A(λ)`, `A'(λ)` the mean), of the batch shape, with gradient, from the
    /// accurate forms above (Taylor near `λ = 0`); for the closed-form KL divergences.
    pub(crate) fn log_partition(&self) -> Result<Tensor> {
        let l = self.lambda("kl_divergence")?;
        Ok(self.core.bcast(softplus(&l) - log_norm(&l)))
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let l = self.lambda(op.rsplit('.').next().unwrap_or(op))?;
        let u = Tensor::rand(shape.as_slice(), (self.dtype(), self.device()));
        Ok(quantile(&l, &u))
    }
}

/// The half-width of the Taylor region around `λ = 0`.
fn band(kind: Kind) -> f64 {
    if kind == Kind::Float {
        1.0
    } else {
        0.2
    }
}

/// `(small, λ_safe)`: where `|λ| <` the band, and `λ` with `1` there (for the closed forms).
fn split(l: &Tensor) -> (Tensor, Tensor) {
    let small = l.abs().lt(band(l.kind()));
    let safe = l.where_self(&small.logical_not(), &l.ones_like());
    (small, safe)
}

/// `Σ c_i y^i` by Horner's rule.
fn poly(y: &Tensor, coefficients: &[f64]) -> Tensor {
    let (last, rest) = coefficients.split_last().expect("coefficients");
    rest.iter().rev().fold(y.zeros_like() + *last, |acc, c| acc * y + *c)
}

/// `log C(λ) = log(λ / tanh(λ/2))`.
fn log_norm(l: &Tensor) -> Tensor {
    let (small, s) = split(l);
    let direct = (&s / (&s * 0.5).tanh()).log();
    let taylor = poly(
        &l.square(),
        &[
            LN_2,
            1.0 / 12.0,
            -7.0 / 1440.0,
            31.0 / 90720.0,
            -127.0 / 4838400.0,
            73.0 / 34214400.0,
            -1414477.0 / 7846046208000.0,
        ],
    );
    taylor.where_self(&small, &direct)
}

/// The mean `1/(1 - e^{-λ}) - 1/λ`.
fn mean_of(l: &Tensor) -> Tensor {
    let (small, s) = split(l);
    let direct = -(-&s).expm1().reciprocal() - s.reciprocal();
    let odd = poly(
        &l.square(),
        &[1.0 / 12.0, -1.0 / 720.0, 1.0 / 30240.0, -1.0 / 1209600.0, 1.0 / 47900160.0, -691.0 / 1307674368000.0],
    );
    (odd * l + 0.5).where_self(&small, &direct)
}

/// The variance `1/λ² - 1/(4 sinh²(λ/2))`.
fn variance_of(l: &Tensor) -> Tensor {
    let (small, s) = split(l);
    let direct = s.square().reciprocal() - ((&s * 0.5).sinh().square() * 4.0).reciprocal();
    let taylor = poly(
        &l.square(),
        &[
            1.0 / 12.0,
            -1.0 / 240.0,
            1.0 / 6048.0,
            -1.0 / 172800.0,
            1.0 / 5322240.0,
            -691.0 / 118879488000.0,
            1.0 / 5748019200.0,
        ],
    );
    taylor.where_self(&small, &direct)
}

/// Below this `|λ|` the cdf and icdf use their first-order forms (`sqrt(eps)`: the second order
/// is below the rounding).
fn tiny_lambda(kind: Kind) -> f64 {
    eps(kind).sqrt()
}

/// `(near 0, above 20, λ for the form up to 20, λ for the form above 20)`.
fn cdf_split(l: &Tensor) -> (Tensor, Tensor, Tensor, Tensor) {
    let zero = l.abs().lt(tiny_lambda(l.kind()));
    let big = l.gt(20.0);
    let la = l.where_self(&zero.logical_or(&big).logical_not(), &l.ones_like());
    let lb = l.where_self(&big, &l.full_like(21.0));
    (zero, big, la, lb)
}

/// `icdf(u) = log1p(u expm1(λ)) / λ` (`1 + log1p((1 - u) expm1(-λ)) / λ` above 20, `u + λ u (1 -
/// u) / 2` near 0).
fn quantile(l: &Tensor, u: &Tensor) -> Tensor {
    let (zero, big, la, lb) = cdf_split(l);
    let a = (u * la.expm1()).log1p() / &la;
    let b = ((-u + 1.0) * (-&lb).expm1()).log1p() / &lb + 1.0;
    let z = u + l * u * (-u + 1.0) * 0.5;
    z.where_self(&zero, &b.where_self(&big, &a))
}

impl Distribution for ContinuousBernoulli {
    family_methods!(support, rsample);

    /// `x λ - softplus(λ) + log C(λ)`.
    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        self.core.check_x("ContinuousBernoulli.log_prob", x)?;
        let l = self.lambda("log_prob")?;
        Ok(x * &l - softplus(&l) + log_norm(&l))
    }

    fn mean(&self) -> Result<Tensor> {
        Ok(self.core.bcast(mean_of(&self.lambda("mean")?)))
    }

    fn variance(&self) -> Result<Tensor> {
        Ok(self.core.bcast(variance_of(&self.lambda("variance")?)))
    }

    /// `-λ mean + softplus(λ) - log C(λ)`.
    fn entropy(&self) -> Result<Tensor> {
        let l = self.lambda("entropy")?;
        Ok(self.core.bcast(-mean_of(&l) * &l + softplus(&l) - log_norm(&l)))
    }

    /// `expm1(λx) / expm1(λ)` (`e^{λ(x-1)} expm1(-λx) / expm1(-λ)` above 20, `x + λ x (x - 1)/2`
    /// near 0), `0` for `x <= 0` and `1` for `x >= 1`.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let op = "ContinuousBernoulli.cdf";
        self.core.check_x(op, x)?;
        let l = self.lambda("cdf")?;
        let xc = x.clamp(0.0, 1.0);
        let (zero, big, la, lb) = cdf_split(&l);
        let a = (&la * &xc).expm1() / la.expm1();
        let b = (&lb * (&xc - 1.0)).exp() * (-&lb * &xc).expm1() / (-&lb).expm1();
        let z = &xc + &l * &xc * (&xc - 1.0) * 0.5;
        let inside = z.where_self(&zero, &b.where_self(&big, &a));
        Ok(inside.where_scalarother(&x.gt(0.0), 0.0).where_scalarother(&x.lt(1.0), 1.0))
    }

    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        let op = "ContinuousBernoulli.icdf";
        self.core.check_prob(op, p)?;
        Ok(quantile(&self.lambda("icdf")?, p))
    }
}

