//! Special functions libtorch lacks, in forms that stay accurate where differences of `lgamma`
//! cancel: `lbeta` and the log binomial coefficient (TFP's `tfp.math.lbeta` algorithm).
//!
//! `lgamma(a) + lgamma(b) - lgamma(a + b)` loses `|lgamma(a + b)| · eps` to rounding: at
//! `a + b = 1e6` that is about 1 nat in float32. For arguments of 8 and more, Stirling's series
//! is written so that the large terms cancel analytically, leaving terms of the size of the
//! result. Every function is differentiable by autograd and runs on the arguments' device.

use tch::Tensor;

/// Below this both arguments go through `lgamma` directly (TFP's threshold).
const BIG: f64 = 8.0;

/// `log(2π)/2`.
const HALF_LOG_TWO_PI: f64 = 0.918_938_533_204_672_8;

/// `lgamma(x) - ((x - 1/2) log x - x + log(2π)/2)`, Stirling's remainder, for `x >= 8`: the
/// series `Σ B_2n / (2n (2n - 1) x^(2n-1))` to `n = 6` (truncation error below `1e-14` at `x = 8`).
fn log_gamma_correction(x: &Tensor) -> Tensor {
    const COEFFS: [f64; 6] = [1.0 / 12.0, -1.0 / 360.0, 1.0 / 1260.0, -1.0 / 1680.0, 1.0 / 1188.0, -691.0 / 360_360.0];
    let inv = x.reciprocal();
    let inv2 = inv.square();
    let mut acc = inv2.zeros_like() + COEFFS[5];
    for c in COEFFS[..5].iter().rev() {
        acc = acc * &inv2 + *c;
    }
    acc * inv
}

/// `lgamma(y) - lgamma(x + y)` for `y >= 8` (any `x >= 0`), with the `y log y` terms cancelled.
fn log_gamma_difference_big_y(x: &Tensor, y: &Tensor) -> Tensor {
    let cancelled = -(x + y - 0.5) * (x / y).log1p() - x * y.log() + x;
    log_gamma_correction(y) - log_gamma_correction(&(x + y)) + cancelled
}

/// `log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b)` for `a, b > 0`, accurate for large
/// arguments: with `x = min(a, b)`, `y = max(a, b)`, Stirling's series with the large terms
/// cancelled when `x >= 8`, `lgamma(x) + (lgamma(y) - lgamma(x + y))` in that form when only
/// `y >= 8`, and the three `lgamma` otherwise. Its gradient is that of the three `lgamma`
/// (`digamma(a) - digamma(a + b)`), whose terms do not cancel. Shapes broadcast.
pub fn lbeta(a: &Tensor, b: &Tensor) -> Tensor {
    let x = a.minimum(b);
    let y = a.maximum(b);
    // Each branch sees arguments inside its own range, so that the unused branches have finite
    // values and gradients (`where` passes 0 · their gradient back).
    let (xb, yb) = (x.clamp_min(BIG), y.clamp_min(BIG));
    let big_big = -yb.log() * 0.5 + HALF_LOG_TWO_PI + log_gamma_correction(&xb) + log_gamma_correction(&yb)
        - log_gamma_correction(&(&xb + &yb))
        + (&xb - 0.5) * (&xb / (&xb + &yb)).log()
        - &yb * (&xb / &yb).log1p();
    let xs = x.clamp_max(BIG);
    let small_big = xs.lgamma() + log_gamma_difference_big_y(&xs, &yb);
    let ys = y.clamp_max(BIG);
    let small_small = xs.lgamma() + ys.lgamma() - (&xs + &ys).lgamma();
    let y_big = y.ge(BIG);
    let stable = big_big.where_self(&x.ge(BIG), &small_big.where_self(&y_big, &small_small));
    // The value from the cancelled forms, the gradient from the three lgamma (digamma
    // differences, which do not cancel: as accurate as torch's), where those are finite.
    let direct = a.lgamma() + b.lgamma() - (a + b).lgamma();
    let mixed = &direct + (&stable - &direct).detach();
    mixed.where_self(&direct.isfinite(), &stable)
}

/// `log(Γ(a + b - 1) / (Γ(a) Γ(b))) = -log(a + b - 1) - lbeta(a, b)`, the log binomial
/// coefficient `C(a + b - 2, a - 1)` (negative binomial's `Γ(k + r)/(Γ(r) k!)` at `a = k + 1`,
/// `b = r`). Where both `a, b < 8` the three `lgamma` directly (exact cancellations: `a = 1`
/// gives exactly 0, with an exactly-zero gradient in `b`), otherwise through [`lbeta`].
pub fn log_beta_coefficient(a: &Tensor, b: &Tensor) -> Tensor {
    let small = a.lt(BIG).logical_and(&b.lt(BIG));
    let (a_small, b_small) = (a.clamp_max(BIG), b.clamp_max(BIG));
    // `(a - 1) + b`: exact for a = k + 1 with small b (a + b - 1 would round b away).
    let direct = ((&a_small - 1.0) + &b_small).lgamma() - a_small.lgamma() - b_small.lgamma();
    let through_lbeta = -((a - 1.0) + b).log() - lbeta(a, b);
    direct.where_self(&small, &through_lbeta)
}

/// `log C(n, k) = log(n! / (k! (n - k)!))` for `0 <= k <= n` (non-integers as the
/// gamma-function extension), accurate for large `n`: [`log_beta_coefficient`]`(k + 1, n - k + 1)`.
pub fn log_binomial_coefficient(n: &Tensor, k: &Tensor) -> Tensor {
    log_beta_coefficient(&(k + 1.0), &(n - k + 1.0))
}

/// The multivariate log-gamma function (torch's `mvlgamma`) of each element of `a`:
/// `log Γ_p(a) = p(p-1)/4 · log π + Σ_{j=1..p} lgamma(a + (1 - j)/2)`. Defined for
/// `a > (p - 1)/2`; unlike torch's, it does not raise below (callers validate their parameters).
pub fn mvlgamma(a: &Tensor, p: i64) -> Tensor {
    const LOG_PI: f64 = 1.144_729_885_849_400_2;
    let halves = Tensor::arange(p, (a.kind(), a.device())) * -0.5;
    let terms = (a.unsqueeze(-1) + halves).lgamma().sum_dim_intlist(-1, false, None::<tch::Kind>);
    terms + (p * (p - 1)) as f64 / 4.0 * LOG_PI
}
