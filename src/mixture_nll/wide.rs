//! `log p(x)` of a mixture of triangular Gaussians with larger event sizes (`d > 8`), and the
//! sums over the points its gradients need, as loops on the host: the forward substitution
//! `z = L⁻¹(x - μ)` over blocks of points laid out points-last, in the points' own precision with
//! fused multiply-adds, on libtorch's threads. Each row of `z` for a block stays in eight vector
//! registers while the earlier rows stream from L1 (one load per multiply-add); the triangle is
//! half the flops of the GEMM against the stacked `L⁻¹` that the libtorch path runs, and nothing
//! is written to memory but `z` for one block.
//!
//! The gradients ([`weighted`]) keep the block's `z` for every component, weight it by the
//! responsibilities, and add `Σ w z`, `Σ w (z zᵀ - I)` (lower triangle) in vector lanes of the
//! points' precision, emptied into `f64` sums every [`FLUSH`] blocks; with the points'
//! gradient, `L⁻ᵀ (w z)` by back substitution in the block. [`super::host::gradients`] turns the
//! sums into the gradients, as for the host loop.
//!
//! Only compiled for CPUs with FMA (AVX2 or AVX-512, checked at run time); elsewhere `None`, and
//! the libtorch path runs.

use super::host::{exp_neg, gradients, Constants, Gradients, Params, Sums, Weights};
use crate::host::HostFloat;

/// A float type the loops run in (blocks of eight vector registers of points: 128 float32 or 64
/// float64 on AVX-512, half as many on AVX2).
pub(super) trait Lane:
    HostFloat + Default + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> + std::ops::Sub<Output = Self>
{
    fn fma(a: Self, b: Self, c: Self) -> Self;
    /// [`points_body`] for this type's block, `None` on a CPU without FMA.
    fn points(inputs: &Inputs<Self>, x: &[Self]) -> Option<Vec<f64>>;
    /// [`sums_body`] for this type's block, `None` on a CPU without FMA.
    fn sums(inputs: &Inputs<Self>, x: &[Self], g: Weights, points: bool) -> Option<Sums>;
}

impl Lane for f32 {
    #[inline(always)]
    fn fma(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
    fn points(inputs: &Inputs<f32>, x: &[f32]) -> Option<Vec<f64>> {
        simd::points_f32(inputs, x)
    }
    fn sums(inputs: &Inputs<f32>, x: &[f32], g: Weights, points: bool) -> Option<Sums> {
        simd::sums_f32(inputs, x, g, points)
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
    fn sums(inputs: &Inputs<f64>, x: &[f64], g: Weights, points: bool) -> Option<Sums> {
        simd::sums_f64(inputs, x, g, points)
    }
}

/// `log p(x_n)` for the points `x` (`[N, d]` row-major) of a mixture with triangular scales
/// (`p.diagonal` false), or `None` on a CPU without FMA.
pub(super) fn log_prob<T: Lane>(p: &Params, x: &[T]) -> Option<Vec<f64>> {
    let c = Constants::new(p);
    let inputs = Inputs::new(p, &c);
    let d = p.d;
    let blocks =
        crate::host::parallel_map(x.len() / d, inputs.work(1), |r| T::points(&inputs, &x[r.start * d..r.end * d]));
    blocks.into_iter().collect::<Option<Vec<_>>>().map(|b| b.concat())
}

/// `Σ_n g_n log p(x_n)` over the points `x` (`[N, d]` row-major, `N >= 1`) of a mixture with
/// triangular scales and its gradients, with respect to the points too when `points` (as
/// [`super::host::weighted`]), or `None` on a CPU without FMA.
pub(super) fn weighted<T: Lane>(p: &Params, x: &[T], g: Weights, points: bool) -> Option<Gradients> {
    let c = Constants::new(p);
    let inputs = Inputs::new(p, &c);
    let d = p.d;
    let parts = crate::host::parallel_map(x.len() / d, inputs.work(2), |r| {
        T::sums(&inputs, &x[r.start * d..r.end * d], g.part(r.clone()), points)
    });
    let sums = parts.into_iter().collect::<Option<Vec<_>>>()?.into_iter().reduce(Sums::add)?;
    Some(gradients(p, &c, sums))
}

/// [`log_prob`] for points `x` of either float kind (`[N, d]`, on the CPU).
pub(super) fn log_prob_of(p: &Params, x: &tch::Tensor) -> Option<Vec<f64>> {
    let x = x.contiguous();
    // SAFETY: x is a contiguous CPU tensor, only read meanwhile; the kind is checked by `slice`.
    unsafe {
        match crate::host::slice::<f32>(&x) {
            Some(s) => log_prob(p, s),
            None => log_prob(p, crate::host::slice::<f64>(&x)?),
        }
    }
}

/// [`weighted`] for points `x` of either float kind (`[N, d]`, on the CPU).
pub(super) fn weighted_of(p: &Params, x: &tch::Tensor, g: Weights, points: bool) -> Option<Gradients> {
    let x = x.contiguous();
    // SAFETY: as in log_prob_of.
    unsafe {
        match crate::host::slice::<f32>(&x) {
            Some(s) => weighted(p, s, g, points),
            None => weighted(p, crate::host::slice::<f64>(&x)?, g, points),
        }
    }
}

/// The fewest points a thread takes: each range sets up its blocks' buffers and lane sums
/// (hundreds of KB at K=16, d=32), which at K=16, d=32, N=100 cost more than a second thread saved.
const MIN_POINTS: usize = 256;

/// The parameters in the loops' precision and layout.
pub(super) struct Inputs<T> {
    k: usize,
    d: usize,
    /// `-L` `[K, d, d]` (so that each step is one fused multiply-add), and `-Lᵀ`.
    neg_l: Vec<T>,
    neg_lt: Vec<T>,
    /// `1 / L_ii` `[K, d]`, `μ` `[K, d]`.
    inv: Vec<T>,
    mu: Vec<T>,
    /// Each component's constant (`Constants::constant`) and weight `π_k`.
    constant: Vec<f64>,
    pi: Vec<f64>,
}

impl<T: Lane> Inputs<T> {
    fn new(p: &Params, c: &Constants) -> Self {
        let (k, d) = (p.k, p.d);
        let cast = |v: &[f64]| v.iter().map(|&v| T::from_f64(v)).collect::<Vec<T>>();
        let neg_l: Vec<T> = p.scale.iter().map(|&v| T::from_f64(-v)).collect();
        let mut neg_lt = neg_l.clone();
        for (t, l) in neg_lt.chunks_exact_mut(d * d).zip(neg_l.chunks_exact(d * d)) {
            for (i, row) in t.chunks_exact_mut(d).enumerate() {
                row.iter_mut().zip(l[i..].iter().step_by(d)).for_each(|(t, &l)| *t = l);
            }
        }
        let pi = c.log_pi.iter().map(|v| v.exp()).collect();
        Self { k, d, neg_l, neg_lt, inv: cast(&c.inv_diag), mu: cast(p.loc), constant: c.constant.clone(), pi }
    }

    /// The work per point for [`crate::host::parallel_map`]: `passes` times the forward
    /// substitution's multiply-adds over all components, but at most what gives each thread
    /// [`MIN_POINTS`] points.
    fn work(&self, passes: usize) -> usize {
        (passes * self.k * self.d * (self.d + 1)).min(crate::host::WORK_PER_THREAD / MIN_POINTS)
    }
}

/// The loops compiled for AVX-512 or AVX2 with FMA ([`crate::host::simd_dispatch`]); `None` on
/// a CPU with neither: there `mul_add` is a libm call (in a micro-benchmark of the forward loop,
/// the baseline build took 3.8 s where the AVX2 one took 46 ms).
mod simd {
    use super::{points_body, sums_body, Inputs, Sums, Weights};

    // Blocks of eight vector registers: a row of z for the block stays in registers (sixteen
    // would spill on AVX2, whose spilled rows measured slower).
    crate::host::simd_dispatch!(
        points_f32(inputs: &Inputs<f32>, x: &[f32]) -> Option<Vec<f64>>,
        avx512: Some(points_body::<f32, 128>(inputs, x)),
        avx2: Some(points_body::<f32, 64>(inputs, x)),
        None
    );
    crate::host::simd_dispatch!(
        points_f64(inputs: &Inputs<f64>, x: &[f64]) -> Option<Vec<f64>>,
        avx512: Some(points_body::<f64, 64>(inputs, x)),
        avx2: Some(points_body::<f64, 32>(inputs, x)),
        None
    );
    crate::host::simd_dispatch!(
        sums_f32(inputs: &Inputs<f32>, x: &[f32], g: Weights, points: bool) -> Option<Sums>,
        avx512: Some(sums_body::<f32, 128, 16>(inputs, x, g, points)),
        avx2: Some(sums_body::<f32, 64, 8>(inputs, x, g, points)),
        None
    );
    crate::host::simd_dispatch!(
        sums_f64(inputs: &Inputs<f64>, x: &[f64], g: Weights, points: bool) -> Option<Sums>,
        avx512: Some(sums_body::<f64, 64, 8>(inputs, x, g, points)),
        avx2: Some(sums_body::<f64, 32, 4>(inputs, x, g, points)),
        None
    );
}

/// The points `start..start + len` of `x` (`[N, d]`) as `d` rows of a block, zero past `len`.
#[inline(always)]
fn transpose<T: Lane, const B: usize>(x: &[T], d: usize, start: usize, len: usize, xt: &mut [[T; B]]) {
    for row in xt.iter_mut() {
        row.fill(T::default());
    }
    for (t, xn) in x[start * d..(start + len) * d].chunks_exact(d).enumerate() {
        for (row, &v) in xt.iter_mut().zip(xn) {
            row[t] = v;
        }
    }
}

/// `z = L_k⁻¹ (x - μ_k)` for a block (rows `xt`) into the rows `z`; returns `|z|²` per point.
#[inline(always)]
fn solve<T: Lane, const B: usize>(inputs: &Inputs<T>, kk: usize, xt: &[[T; B]], z: &mut [[T; B]]) -> [T; B] {
    let d = inputs.d;
    let lk = &inputs.neg_l[kk * d * d..(kk + 1) * d * d];
    let mut q = [T::default(); B];
    for i in 0..d {
        // z_i = (x_i - μ_i - Σ_{j<i} L_ij z_j) / L_ii, then q += z_i²
        let mut acc = xt[i];
        let mu_i = inputs.mu[kk * d + i];
        acc.iter_mut().for_each(|a| *a = *a - mu_i);
        let (done, rest) = z.split_at_mut(i);
        for (zj, &l) in done.iter().zip(&lk[i * d..i * d + i]) {
            for t in 0..B {
                acc[t] = T::fma(l, zj[t], acc[t]);
            }
        }
        let inv_i = inputs.inv[kk * d + i];
        for t in 0..B {
            acc[t] = acc[t] * inv_i;
            q[t] = T::fma(acc[t], acc[t], q[t]);
        }
        rest[0] = acc;
    }
    q
}

/// The components' log-terms `c_nk` (rows `c`) of a block from `|z|²` (`q`), and their
/// log-sum-exp: `c` becomes `exp(c - top)`; returns `(top, Σ_k exp(c - top))` per point.
#[inline(always)]
fn log_sum_exp<const B: usize>(c: &mut [[f64; B]]) -> ([f64; B], [f64; B]) {
    let (mut top, mut total) = ([f64::NEG_INFINITY; B], [0f64; B]);
    for ck in c.iter() {
        top.iter_mut().zip(ck).for_each(|(t, &c)| *t = t.max(c));
    }
    for ck in c.iter_mut() {
        ck.iter_mut().zip(&top).zip(total.iter_mut()).for_each(|((c, &t), s)| {
            *c = exp_neg(*c - t);
            *s += *c;
        });
    }
    (top, total)
}

/// The log-terms `c_k - |z|²/2` of component `kk` for a block.
#[inline(always)]
fn log_term<T: Lane, const B: usize>(constant: f64, q: &[T; B], out: &mut [f64; B]) {
    for (o, q) in out.iter_mut().zip(q) {
        *o = constant - 0.5 * q.to_f64();
    }
}

/// The loop of [`log_prob`] over the points `x`, `B` at a time.
#[inline(always)]
fn points_body<T: Lane, const B: usize>(inputs: &Inputs<T>, x: &[T]) -> Vec<f64> {
    let (k, d) = (inputs.k, inputs.d);
    let n = x.len() / d;
    let mut out = Vec::with_capacity(n);
    let zero = T::default();
    let (mut xt, mut z) = (vec![[zero; B]; d], vec![[zero; B]; d]);
    let mut c = vec![[0f64; B]; k];
    for start in (0..n).step_by(B) {
        let len = (n - start).min(B);
        transpose(x, d, start, len, &mut xt);
        for (kk, ck) in c.iter_mut().enumerate() {
            log_term(inputs.constant[kk], &solve(inputs, kk, &xt, &mut z), ck);
        }
        let (top, total) = log_sum_exp(&mut c);
        out.extend(total[..len].iter().zip(&top).map(|(s, t)| s.ln() + t));
    }
    out
}

/// Blocks between two emptyings of the lane sums into `f64` (1024 float32 points on AVX2, 2048
/// on AVX-512): each lane then adds `FLUSH · B / W` (128) terms in the points' precision.
const FLUSH: usize = 16;

/// `acc += Σ_v a[v]` over the `B / W` vectors of `a`.
#[inline(always)]
fn lane_sum<T: Lane, const B: usize, const W: usize>(acc: &mut [T; W], a: &[T; B]) {
    let mut s = *acc;
    for v in 0..B / W {
        for l in 0..W {
            s[l] = s[l] + a[v * W + l];
        }
    }
    *acc = s;
}

/// `acc += Σ_v a[v] b[v]` over the `B / W` vectors of `a` and `b`.
#[inline(always)]
fn lane_dot<T: Lane, const B: usize, const W: usize>(acc: &mut [T; W], a: &[T; B], b: &[T; B]) {
    let mut s = *acc;
    for v in 0..B / W {
        for l in 0..W {
            s[l] = T::fma(a[v * W + l], b[v * W + l], s[l]);
        }
    }
    *acc = s;
}

/// [`lane_dot`] for four `b` at once, `a` loaded once for the four (`acc` holds four lane sums;
/// written out so that the sums stay in registers).
#[inline(always)]
fn lane_dot4<T: Lane, const B: usize, const W: usize>(acc: &mut [[T; W]], a: &[T; B], b: [&[T; B]; 4]) {
    let (mut s0, mut s1, mut s2, mut s3) = (acc[0], acc[1], acc[2], acc[3]);
    for v in 0..B / W {
        let o = v * W;
        for l in 0..W {
            let av = a[o + l];
            s0[l] = T::fma(av, b[0][o + l], s0[l]);
            s1[l] = T::fma(av, b[1][o + l], s1[l]);
            s2[l] = T::fma(av, b[2][o + l], s2[l]);
            s3[l] = T::fma(av, b[3][o + l], s3[l]);
        }
    }
    (acc[0], acc[1], acc[2], acc[3]) = (s0, s1, s2, s3);
}

/// The loop of [`weighted`] over the points `x` (one thread's range, weights `g`), `B` at a
/// time, with lane sums of width `W`.
#[inline(always)]
fn sums_body<T: Lane, const B: usize, const W: usize>(inputs: &Inputs<T>, x: &[T], g: Weights, points: bool) -> Sums {
    let (k, d) = (inputs.k, inputs.d);
    let n = x.len() / d;
    let tri = d * (d + 1) / 2;
    let zero = T::default();
    let (mut xt, mut z) = (vec![[zero; B]; d], vec![[zero; B]; k * d]);
    let (mut c, mut w) = (vec![[0f64; B]; k], vec![[zero; B]; k]);
    let (mut wz, mut dx) = (vec![[zero; B]; d], vec![[zero; B]; if points { d } else { 0 }]);
    // Σ w z [K, d] and Σ w (z zᵀ - I), row i of the triangle at i(i+1)/2, [K, d(d+1)/2], in lanes
    let (mut s_lanes, mut m_lanes) = (vec![[zero; W]; k * d], vec![[zero; W]; k * tri]);
    let mut sums = Sums {
        lse: 0.0,
        a: vec![0.0; k],
        s: vec![0.0; k * d],
        m: vec![0.0; k * d * d],
        x: Vec::with_capacity(if points { n * d } else { 0 }),
    };
    let flush = |s_lanes: &mut [[T; W]], m_lanes: &mut [[T; W]], sums: &mut Sums| {
        let total = |lanes: &mut [T; W]| {
            let v = lanes.iter().map(|v| v.to_f64()).sum::<f64>();
            lanes.fill(zero);
            v
        };
        for (s, lanes) in sums.s.iter_mut().zip(s_lanes.iter_mut()) {
            *s += total(lanes);
        }
        for kk in 0..k {
            for i in 0..d {
                for j in 0..=i {
                    sums.m[(kk * d + i) * d + j] += total(&mut m_lanes[kk * tri + i * (i + 1) / 2 + j]);
                }
            }
        }
    };
    for (b, start) in (0..n).step_by(B).enumerate() {
        let len = (n - start).min(B);
        transpose(x, d, start, len, &mut xt);
        for (kk, ck) in c.iter_mut().enumerate() {
            log_term(inputs.constant[kk], &solve(inputs, kk, &xt, &mut z[kk * d..(kk + 1) * d]), ck);
        }
        let (top, total) = log_sum_exp(&mut c);
        sums.lse += (0..len).map(|t| g.at(start + t) * (total[t].ln() + top[t])).sum::<f64>();
        // the weighted responsibilities w_nk = g_n e_nk / total_n (zero past len), and
        // Σ_n (w_nk - g_n π_k), each point's term formed first
        for ((wk, ek), (a, &pi)) in w.iter_mut().zip(&c).zip(sums.a.iter_mut().zip(&inputs.pi)) {
            wk.fill(zero);
            let mut part = 0.0;
            for t in 0..len {
                let gt = g.at(start + t);
                let wt = gt * ek[t] / total[t];
                part += wt - gt * pi;
                wk[t] = T::from_f64(wt);
            }
            *a += part;
        }
        for kk in 0..k {
            let (zk, wk) = (&z[kk * d..(kk + 1) * d], &w[kk]);
            for i in 0..d {
                let zi = &zk[i];
                let mut wzi = [zero; B];
                for t in 0..B {
                    wzi[t] = wk[t] * zi[t];
                }
                lane_sum(&mut s_lanes[kk * d + i], &wzi);
                let row = &mut m_lanes[kk * tri + i * (i + 1) / 2..][..i + 1];
                let fours = i / 4 * 4;
                for (acc, zj) in row[..fours].chunks_exact_mut(4).zip(zk[..fours].chunks_exact(4)) {
                    lane_dot4(acc, &wzi, [&zj[0], &zj[1], &zj[2], &zj[3]]);
                }
                for (acc, zj) in row[fours..i].iter_mut().zip(&zk[fours..i]) {
                    lane_dot(acc, &wzi, zj);
                }
                // the diagonal as Σ w (z_i² - 1), each point's term formed first
                let mut diagonal = [zero; B];
                for t in 0..B {
                    diagonal[t] = T::fma(wzi[t], zi[t], zero - wk[t]);
                }
                lane_sum(&mut row[i], &diagonal);
                if points {
                    wz[i] = wzi;
                }
            }
            if points {
                // v = L⁻ᵀ (w z) in place (v_i = (u_i - Σ_{j>i} L_ji v_j) / L_ii), then dx -= v
                let lt = &inputs.neg_lt[kk * d * d..(kk + 1) * d * d];
                for i in (0..d).rev() {
                    let (head, done) = wz.split_at_mut(i + 1);
                    let mut acc = head[i];
                    for (vj, &l) in done.iter().zip(&lt[i * d + i + 1..(i + 1) * d]) {
                        for t in 0..B {
                            acc[t] = T::fma(l, vj[t], acc[t]);
                        }
                    }
                    let inv_i = inputs.inv[kk * d + i];
                    for t in 0..B {
                        acc[t] = acc[t] * inv_i;
                        dx[i][t] = dx[i][t] - acc[t];
                    }
                    head[i] = acc;
                }
            }
        }
        if points {
            for t in 0..len {
                sums.x.extend(dx.iter().map(|row| row[t].to_f64()));
            }
            dx.iter_mut().for_each(|row| row.fill(zero));
        }
        if (b + 1) % FLUSH == 0 {
            flush(&mut s_lanes, &mut m_lanes, &mut sums);
        }
    }
    flush(&mut s_lanes, &mut m_lanes, &mut sums);
    sums
}
