//! Toy densities for fitting and benchmarking flows, generated in code (no download): the 2-D
//! sets of the flow literature (two moons, 8 Gaussians, checkerboard, pinwheel, rings) and an
//! 8-D density with a known log-density. Draws use libtorch's generator, so `tch::manual_seed`
//! makes them reproducible; all are float64 on the CPU, `[n, d]`.

use anyhow::{bail, Result};
use std::f64::consts::PI;
use tch::{Device, Kind, Tensor};

const F64: (Kind, Device) = (Kind::Double, Device::Cpu);

/// The sets [`sample`] knows.
pub const NAMES: [&str; 6] = ["two_moons", "8gaussians", "checkerboard", "pinwheel", "rings", "maf_toy8"];

/// `n` draws of the named set (see the functions below for each one's definition).
pub fn sample(name: &str, n: i64) -> Result<Tensor> {
    if n < 0 {
        bail!("toy_densities::sample: expected n >= 0, got {n}");
    }
    Ok(match name {
        "two_moons" => two_moons(n),
        "8gaussians" => eight_gaussians(n),
        "checkerboard" => checkerboard(n),
        "pinwheel" => pinwheel(n),
        "rings" => rings(n),
        "maf_toy8" => maf_toy(n, 4),
        other => bail!("toy_densities::sample: unknown set {other:?} (known: {})", NAMES.join(", ")),
    })
}

/// The true log-density of the named set at `x [n, d]`, where it has a closed form
/// (`8gaussians`, `checkerboard`, `maf_toy8`); `None` for the others (their noise makes a
/// convolution with no closed form).
pub fn log_prob(name: &str, x: &Tensor) -> Option<Tensor> {
    match name {
        "8gaussians" => Some(eight_gaussians_log_prob(x)),
        "checkerboard" => Some(checkerboard_log_prob(x)),
        "maf_toy8" => Some(maf_toy_log_prob(x)),
        _ => None,
    }
}

/// Two interleaved half circles: `(cos θ, sin θ)` or `(1 - cos θ, 0.5 - sin θ)`, `θ ~ U(0, π)`,
/// each with probability 1/2, plus `N(0, 0.1²)` noise on both coordinates; then centred and
/// scaled by 2 (`2 (p - (0.5, 0.25))`).
pub fn two_moons(n: i64) -> Tensor {
    let theta = Tensor::rand([n], F64) * PI;
    let upper = Tensor::rand([n], F64).lt(0.5);
    let (c, s) = (theta.cos(), theta.sin());
    let x = c.where_self(&upper, &(1.0 - &c));
    let y = s.where_self(&upper, &(0.5 - &s));
    let p = Tensor::stack(&[x - 0.5, y - 0.25], -1) + Tensor::randn([n, 2], F64) * 0.1;
    p * 2.0
}

const EIGHT_SCALE: f64 = 2.0;
const EIGHT_SD: f64 = 0.2;

fn eight_centres() -> Tensor {
    let k = Tensor::arange(8, F64) * (2.0 * PI / 8.0);
    Tensor::stack(&[k.cos(), k.sin()], -1) * EIGHT_SCALE
}

/// An equal mixture of 8 Gaussians `N(c_k, 0.2² I)`, `c_k = 2 (cos(2πk/8), sin(2πk/8))`.
pub fn eight_gaussians(n: i64) -> Tensor {
    let which = Tensor::randint(8, [n], (Kind::Int64, Device::Cpu));
    eight_centres().index_select(0, &which) + Tensor::randn([n, 2], F64) * EIGHT_SD
}

fn eight_gaussians_log_prob(x: &Tensor) -> Tensor {
    let diff = x.unsqueeze(-2) - eight_centres(); // [n, 8, 2]
    let quad = diff.square().sum_dim_intlist(-1, false, Kind::Double) / (EIGHT_SD * EIGHT_SD);
    let log_norm = -(2.0 * PI * EIGHT_SD * EIGHT_SD).ln() - 8f64.ln();
    (quad * -0.5 + log_norm).logsumexp(-1, false)
}

/// Uniform on the 8 dark squares of a 4×4 checkerboard of side-2 squares on `[-4, 4]²`
/// (the square with corner `(-4, -4)` is dark): density `1/32` there, 0 elsewhere.
pub fn checkerboard(n: i64) -> Tensor {
    let x1 = Tensor::rand([n], F64) * 8.0 - 4.0;
    let col = ((&x1 + 4.0) / 2.0).floor(); // 0..3
                                           // rows of the same parity as the column: 0/2 or 1/3
    let row = Tensor::randint(2, [n], (Kind::Int64, Device::Cpu)).to_kind(Kind::Double) * 2.0 + col.fmod(2.0);
    let x2 = row * 2.0 - 4.0 + Tensor::rand([n], F64) * 2.0;
    Tensor::stack(&[x1, x2], -1)
}

fn checkerboard_log_prob(x: &Tensor) -> Tensor {
    let cell = ((x + 4.0) / 2.0).floor();
    let inside = x.abs().le(4.0).all_dim(-1, false);
    let dark = (cell.select(-1, 0) + cell.select(-1, 1)).fmod(2.0).eq(0.0);
    let lp = Tensor::full(&x.size()[..1], -(32f64.ln()), F64);
    lp.where_self(&inside.logical_and(&dark), &Tensor::full(&[] as &[i64], f64::NEG_INFINITY, F64))
}

/// The pinwheel of Johnson et al. (2016): 5 arms, radial `N(1, 0.3²)`, tangential
/// `N(0, 0.05²)`, each point rotated by `2πk/5 + 0.25 e^r` (its arm and a swirl growing
/// with its radius), scaled by 2.
pub fn pinwheel(n: i64) -> Tensor {
    let arms = 5;
    let arm = Tensor::randint(arms, [n], (Kind::Int64, Device::Cpu)).to_kind(Kind::Double);
    let r = Tensor::randn([n], F64) * 0.3 + 1.0;
    let t = Tensor::randn([n], F64) * 0.05;
    let angle = arm * (2.0 * PI / arms as f64) + r.exp() * 0.25;
    let (c, s) = (angle.cos(), angle.sin());
    Tensor::stack(&[&r * &c - &t * &s, &r * &s + &t * &c], -1) * 2.0
}

/// Four concentric rings of radii 1, 2, 3, 4 (a ring chosen with probability proportional to
/// its radius), angle uniform, radial noise `N(0, 0.08²)`.
pub fn rings(n: i64) -> Tensor {
    let u = Tensor::rand([n], F64) * 10.0; // weights 1 + 2 + 3 + 4
    let radius =
        u.ge(1.0).to_kind(Kind::Double) + u.ge(3.0).to_kind(Kind::Double) + u.ge(6.0).to_kind(Kind::Double) + 1.0;
    let theta = Tensor::rand([n], F64) * (2.0 * PI);
    let r = radius + Tensor::randn([n], F64) * 0.08;
    Tensor::stack(&[&r * theta.cos(), &r * theta.sin()], -1)
}

/// MAF's toy density (Papamakarios et al. 2017, fig. 1) in `2 pairs` independent pairs:
/// `b ~ N(0, 2²)`, `a | b ~ N(b²/4, 1)`, each pair `(a, b)`; `[n, 2 pairs]`.
pub fn maf_toy(n: i64, pairs: i64) -> Tensor {
    let b = Tensor::randn([n, pairs], F64) * 2.0;
    let a = b.square() / 4.0 + Tensor::randn([n, pairs], F64);
    Tensor::stack(&[a, b], -1).reshape([n, 2 * pairs])
}

fn maf_toy_log_prob(x: &Tensor) -> Tensor {
    let n = x.size()[0];
    let pairs = x.reshape([n, -1, 2]);
    let (a, b) = (pairs.select(-1, 0), pairs.select(-1, 1));
    let lp = (&b / 2.0).square() * -0.5 - 2f64.ln() - (a - b.square() / 4.0).square() * 0.5 - (2.0 * PI).ln();
    lp.sum_dim_intlist(-1, false, Kind::Double)
}
