//! The generalized Pareto distribution.

use super::family::{declare_family, family_methods, Constraint};
use super::univariate_common::log1mexp;
use super::Distribution;
use anyhow::Result;
use tch::Tensor;

declare_family! {
    /// `GeneralizedPareto(loc, scale, concentration)` (`μ`, `σ`, `ξ`; torch 2.11's and TFP's):
    /// survival function `(1 + ξz)^(-1/ξ)` of `z = (x - μ)/σ` (`e^(-z)` for `ξ = 0`, an
    /// exponential; `ξ = -1` is uniform on `[μ, μ + σ]`), density `(1 + ξz)^(-1/ξ - 1) / σ`.
    ///
    /// `batch_shape` is the broadcast of the shapes of the three parameters; `event_shape` is `[]`.
    ///
    /// Everything goes through `A(z) = log1p(ξz)/ξ` (`-log` of the survival function) and its
    /// inverse `Q(L) = expm1(ξL)/ξ`: both are computed as `z · log1p(w)/w` and `L · expm1(w)/w`
    /// with a power series in `w = ξz` (or `ξL`) for `|w| < 0.05` (13 and 9 terms: truncation below
    /// `1e-18`), so values and gradients (to `ξ` as well) are accurate and continuous through
    /// `ξ = 0`. torch switches to the exponential limit where `isclose(ξ, 0)` (`|ξ| <= 1e-8`),
    /// which costs a relative `|ξ| z` in float64 there and gives no gradient to `ξ`; TFP switches
    /// at `ξ == 0` only, with the same zero gradient.
    ///
    /// * `log_prob(x) = -log σ - (1 + ξ) A(z)` (0 for the second term where `ξ = -1`, as torch);
    ///   `-inf` outside the support (torch and TFP return the formula's value there, finite or NaN).
    /// * `sample`/`rsample`: `icdf(u)` of a uniform `u` (torch's); gradients flow to all three
    ///   parameters.
    /// * `cdf(x) = -expm1(-A(z))`, `log_cdf(x) = log1mexp(-A(z))` (torch's
    ///   `log1p(-exp(log_sf))` loses the left tail); 0 below `μ`, 1 above the upper end.
    /// * `icdf(p) = μ + σ Q(-log1p(-p))`.
    /// * mean `μ + σ/(1 - ξ)` (NaN for `ξ >= 1`), variance `σ²/((1 - ξ)² (1 - 2ξ))` (NaN for
    ///   `ξ >= 1/2`), as torch; mode `μ`; entropy `log σ + ξ + 1`.
    /// * support `x >= μ`, and `x <= μ - σ/ξ` where `ξ < 0` ([`Constraint::ShapeInterval`]);
    ///   `default_event_space_bijector` is TFP's: `Chain([Shift(μ), Softplus])` for `ξ >= 0`,
    ///   `Sigmoid` onto `(μ, μ + |σ/ξ|)` for `ξ < 0`, with the current values (detached). TFP
    ///   chooses per element; here a batch mixing signs of `ξ` is an error (the sign is read on
    ///   the host).
    GeneralizedPareto, support: Constraint::ShapeInterval("loc", "scale", "concentration"),
    new(
        /// The location `μ` (the lower end of the support).
        loc: Constraint::Real,
        /// The scale `σ`.
        scale: Constraint::Positive,
        /// The concentration (shape, tail index) `ξ`.
        concentration: Constraint::Real,
    )
}

/// Below this `|w|`, the power series of `log1p(w)/w` and `expm1(w)/w`.
const SERIES_BELOW: f64 = 0.05;

/// `log1p(w)/w = Σ_{k<13} (-w)^k/(k + 1)` (Horner), for `|w| < SERIES_BELOW`.
fn log1p_ratio_series(w: &Tensor) -> Tensor {
    let mut acc = w.zeros_like() + 1.0 / 13.0;
    for k in (0..12).rev() {
        acc = -(w * acc) + 1.0 / (k as f64 + 1.0);
    }
    acc
}

/// `expm1(w)/w = Σ_{k<9} w^k/(k + 1)!` (Horner), for `|w| < SERIES_BELOW`.
fn expm1_ratio_series(w: &Tensor) -> Tensor {
    let fact = |n: u32| (1..=n).map(f64::from).product::<f64>();
    let mut acc = w.zeros_like() + 1.0 / fact(9);
    for k in (0..8).rev() {
        acc = w * acc + 1.0 / fact(k + 1);
    }
    acc
}

/// `f(t, ξ)/ξ` for `f = log1p` or `expm1` of `w = ξt`: `t · series(w)` where `|w| < SERIES_BELOW`
/// or `ξ = 0`, `f(w)/ξ` elsewhere. Each branch sees only its own elements (the others replaced
/// by harmless values), so neither sends NaN into the gradient.
fn ratio(t: &Tensor, k: &Tensor, f: fn(&Tensor) -> Tensor, series: fn(&Tensor) -> Tensor) -> Tensor {
    let w = t * k;
    let small = w.abs().lt(SERIES_BELOW).logical_or(&k.eq(0.0));
    let w_small = w.where_scalarother(&w.abs().lt(SERIES_BELOW), 0.0);
    let near = t * series(&w_small);
    let w_far = w.where_scalarother(&small.logical_not(), 1.0);
    let k_far = k.where_scalarother(&small.logical_not(), 1.0);
    near.where_self(&small, &(f(&w_far) / k_far))
}

impl GeneralizedPareto {
    /// After checking `x`: `(A(z), z, w = ξz, σ, ξ)`.
    fn a_of(&self, method: &str, x: &Tensor) -> Result<(Tensor, Tensor, Tensor, Tensor, Tensor)> {
        let op = self.core.op(method);
        self.core.check_x(&op, x)?;
        let [loc, scale, k] = self.core.values(&op)?;
        let z = (x - loc) / &scale;
        let w = &z * &k;
        // Outside the support (z < 0 or w < -1), A of a harmless z; the callers mask the result.
        let inside = z.ge(0.0).logical_and(&w.ge(-1.0));
        let z_in = z.where_scalarother(&inside, 0.0);
        let a = ratio(&z_in, &k, Tensor::log1p, log1p_ratio_series);
        Ok((a, z, w, scale, k))
    }

    /// `μ + σ Q(-log1p(-p))`.
    fn quantile(loc: &Tensor, scale: &Tensor, k: &Tensor, p: &Tensor) -> Tensor {
        let l = -(p.neg().log1p());
        loc + scale * ratio(&l, k, Tensor::expm1, expm1_ratio_series)
    }

    fn draw(&self, op: &str, sample_shape: &[i64]) -> Result<Tensor> {
        let shape = self.core.draw_shape(op, sample_shape)?;
        let [loc, scale, k] = self.core.values(op)?;
        let u = Tensor::rand(shape.as_slice(), (self.core.dtype(), self.core.device()));
        Ok(Self::quantile(&loc, &scale, &k, &u))
    }
}

impl Distribution for GeneralizedPareto {
    family_methods!(support, rsample);

    fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        let (a, z, w, scale, k) = self.a_of("log_prob", x)?;
        let k1 = &k + 1.0;
        let tail = (&k1 * a).where_scalarother(&k1.ne(0.0), 0.0);
        let lp = -scale.log() - tail;
        Ok(lp.where_scalarother(&z.ge(0.0).logical_and(&w.ge(-1.0)), f64::NEG_INFINITY))
    }

    /// `μ + σ/(1 - ξ)`, NaN for `ξ >= 1`.
    fn mean(&self) -> Result<Tensor> {
        let [loc, scale, k] = self.core.values("GeneralizedPareto.mean")?;
        let valid = k.lt(1.0);
        let safe = k.where_scalarother(&valid, 0.5);
        let m = loc + scale / (-safe + 1.0);
        Ok(self.core.bcast(m.where_scalarother(&valid, f64::NAN)))
    }

    /// `σ²/((1 - ξ)² (1 - 2ξ))`, NaN for `ξ >= 1/2`.
    fn variance(&self) -> Result<Tensor> {
        let [_, scale, k] = self.core.values("GeneralizedPareto.variance")?;
        let valid = k.lt(0.5);
        let safe = k.where_scalarother(&valid, 0.25);
        let v = scale.square() / ((-&safe + 1.0).square() * (safe * -2.0 + 1.0));
        Ok(self.core.bcast(v.where_scalarother(&valid, f64::NAN)))
    }

    /// `μ`.
    fn mode(&self) -> Result<Tensor> {
        let [loc, _, _] = self.core.values("GeneralizedPareto.mode")?;
        Ok(self.core.bcast(loc))
    }

    /// `log σ + ξ + 1`.
    fn entropy(&self) -> Result<Tensor> {
        let [_, scale, k] = self.core.values("GeneralizedPareto.entropy")?;
        Ok(self.core.bcast(scale.log() + k + 1.0))
    }

    /// `-expm1(-A(z))`: 0 below `μ`, 1 above the upper end.
    fn cdf(&self, x: &Tensor) -> Result<Tensor> {
        let (a, z, w, _, _) = self.a_of("cdf", x)?;
        let c = -(-a).expm1();
        Ok(c.where_scalarother(&w.ge(-1.0), 1.0).where_scalarother(&z.ge(0.0), 0.0))
    }

    /// `log1mexp(-A(z))`: `-inf` below `μ`, 0 above the upper end.
    fn log_cdf(&self, x: &Tensor) -> Result<Tensor> {
        let (a, z, w, _, _) = self.a_of("log_cdf", x)?;
        let c = log1mexp(&-a);
        Ok(c.where_scalarother(&w.ge(-1.0), 0.0).where_scalarother(&z.ge(0.0), f64::NEG_INFINITY))
    }

    /// `μ + σ Q(-log1p(-p))`, `Q(L) = expm1(ξL)/ξ`.
    fn icdf(&self, p: &Tensor) -> Result<Tensor> {
        let op = "GeneralizedPareto.icdf";
        self.core.check_prob(op, p)?;
        let [loc, scale, k] = self.core.values(op)?;
        Ok(Self::quantile(&loc, &scale, &k, p))
    }
}
