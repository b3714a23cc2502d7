//! `log p(x)` of a mixture of triangular Gaussians with larger event sizes (`d > 8`) as one loop
//! on the host, when no graph is needed: the forward substitution `z = L⁻¹(x - μ)` over blocks of
//! points laid out points-last, in the points' own precision with fused multiply-adds, on
//! libtorch's threads. Each row of `z` for a block stays in vector registers while the earlier
//! rows stream from L1 (one load per multiply-add); the triangle is half the flops of the GEMM
//! against the stacked `L⁻¹` that the libtorch path runs, and nothing is written to memory but
//! `z` for one block.
//!
//! Only compiled for CPUs with FMA (AVX2 or AVX-512, checked at run time); elsewhere `None`, and
//! the libtorch path runs.

use super::host::{exp_neg, Constants, Params};
use crate::host::HostFloat;

/// A float type the loop runs in, with its block of points (eight vector registers of
/// AVX-512: 128 float32 or 64 float64 points).
pub(super) trait Lane:
    HostFloat + Default + std::ops::Mul<Output = Self> + std::ops::Sub<Output = Self>
{
    fn fma(a: Self, b: Self, c: Self) -> Self;
    /// [`points_body`] for this type's block, `None` on a CPU without FMA.
    fn points(inputs: &Inputs<Self>, x: &[Self]) -> Option<Vec<f64>>;
}

impl Lane for f32 {
    #[inline(always)]
    fn fma(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
    fn points(inputs: &Inputs<f32>, x: &[f32]) -> Option<Vec<f64>> {
        simd::points_f32(inputs, x)
    }
}

impl Lane for f64 {
    #[inline(always)]
    fn fma(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
    fn points(inputs: &Inputs<f64>, x: &[f64]) -> Option<Vec<f64>> {
        simd::points_f64(inputs, x)
    }
}

/// `log p(x_n)` for the points `x` (`[N, d]` row-major) of a mixture with triangular scales
/// (`p.diagonal` false), or `None` on a CPU without FMA.
pub(super) fn log_prob<T: Lane>(p: &Params, x: &[T]) -> Option<Vec<f64>> {
    let (k, d) = (p.k, p.d);
    let c = Constants::new(p);
    let cast = |v: &[f64]| v.iter().map(|&v| T::from_f64(v)).collect::<Vec<T>>();
    // -L (so that each step is one fused multiply-add), 1/L_ii, μ
    let neg_l: Vec<T> = p.scale.iter().map(|&v| T::from_f64(-v)).collect();
    let inputs = Inputs { k, d, neg_l, inv: cast(&c.inv_diag), mu: cast(p.loc), constant: c.constant };
    let blocks =
        crate::host::parallel_map(x.len() / d, k * d * (d + 1), |r| T::points(&inputs, &x[r.start * d..r.end * d]));
    blocks.into_iter().collect::<Option<Vec<_>>>().map(|b| b.concat())
}

/// The parameters in the loop's precision and layout.
pub(super) struct Inputs<T> {
    k: usize,
    d: usize,
    neg_l: Vec<T>,
    inv: Vec<T>,
    mu: Vec<T>,
    constant: Vec<f64>,
}

/// [`points_body`] compiled for AVX-512 or AVX2 with FMA ([`crate::host::simd_dispatch`]);
/// `None` on a CPU with neither: there `mul_add` is a libm call (in a micro-benchmark of the
/// kernel, the baseline build took 3.8 s where the AVX2 one took 46 ms).
mod simd {
    use super::{points_body, Inputs};

    crate::host::simd_dispatch!(
        points_f32(inputs: &Inputs<f32>, x: &[f32]) -> Option<Vec<f64>>,
        Some(points_body::<f32, 128>(inputs, x)),
        None
    );
    crate::host::simd_dispatch!(
        points_f64(inputs: &Inputs<f64>, x: &[f64]) -> Option<Vec<f64>>,
        Some(points_body::<f64, 64>(inputs, x)),
        None
    );
}

/// The loop over the points `x`, `B` at a time.
#[inline(always)]
fn points_body<T: Lane, const B: usize>(inputs: &Inputs<T>, x: &[T]) -> Vec<f64> {
    let Inputs { k, d, neg_l, inv, mu, constant } = inputs;
    let (k, d) = (*k, *d);
    let n = x.len() / d;
    let mut out = Vec::with_capacity(n);
    let zero = T::default();
    let (mut xt, mut z) = (vec![[zero; B]; d], vec![[zero; B]; d]);
    let mut c = vec![[0f64; B]; k];
    for start in (0..n).step_by(B) {
        let m = (n - start).min(B);
        for row in xt.iter_mut() {
            row.fill(zero);
        }
        for (t, xn) in x[start * d..(start + m) * d].chunks_exact(d).enumerate() {
            for (row, &v) in xt.iter_mut().zip(xn) {
                row[t] = v;
            }
        }
        for (kk, ck) in c.iter_mut().enumerate() {
            let lk = &neg_l[kk * d * d..(kk + 1) * d * d];
            let mut q = [zero; B];
            for i in 0..d {
                // z_i = (x_i - μ_i - Σ_{j<i} L_ij z_j) / L_ii, then q += z_i²
                let mut acc = xt[i];
                let mu_i = mu[kk * d + i];
                acc.iter_mut().for_each(|a| *a = *a - mu_i);
                let (done, rest) = z.split_at_mut(i);
                for (zj, &l) in done.iter().zip(&lk[i * d..i * d + i]) {
                    for t in 0..B {
                        acc[t] = T::fma(l, zj[t], acc[t]);
                    }
                }
                let inv_i = inv[kk * d + i];
                for t in 0..B {
                    acc[t] = acc[t] * inv_i;
                    q[t] = T::fma(acc[t], acc[t], q[t]);
                }
                rest[0] = acc;
            }
            for (o, q) in ck.iter_mut().zip(q) {
                *o = constant[kk] - 0.5 * q.to_f64();
            }
        }
        // log Σ_k exp(c_k), each loop over the block's points (vectorised)
        let (mut top, mut total) = ([f64::NEG_INFINITY; B], [0f64; B]);
        for ck in &c {
            top.iter_mut().zip(ck).for_each(|(t, &c)| *t = t.max(c));
        }
        for ck in &c {
            total.iter_mut().zip(ck).zip(&top).for_each(|((s, &c), &t)| *s += exp_neg(c - t));
        }
        out.extend(total[..m].iter().zip(&top).map(|(s, t)| s.ln() + t));
    }
    out
}
