//! The closed form of [`super::MixtureNll`] as one loop on the host, for small event sizes on
//! the CPU: the formulas of the module documentation, in `f64`, over blocks of points laid out
//! points-last (`z` by forward substitution, the log-sum-exp over the components, then the
//! weighted sums), on libtorch's threads, with no libtorch tensor operation. The points may
//! carry weights of their own ([`Weights`]: the vector-Jacobian product of `log_prob`'s node).
//! [`super::MixtureNll`] reads the parameters' memory, runs this, and writes the gradients (or
//! hands them to [`crate::adam::Adam`] directly).

use crate::distributions::HALF_LOG_TWO_PI;

/// A positive elementwise bijector with a closed-form value and derivative.
#[derive(Clone, Copy, Debug)]
pub(super) enum Positive {
    Softplus,
    Exp,
}

impl Positive {
    pub(super) fn value(self, x: f64) -> f64 {
        match self {
            // log1p(exp(x)), without overflow for large x
            Positive::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
            Positive::Exp => x.exp(),
        }
    }

    pub(super) fn slope(self, x: f64) -> f64 {
        match self {
            Positive::Softplus => 1.0 / (1.0 + (-x).exp()),
            Positive::Exp => x.exp(),
        }
    }
}

/// How a parameter's constrained value comes from the tensor the host loop reads: as it is,
/// through `Softplus` or `Exp` elementwise, or through `FillScaleTriL` with such a diagonal
/// (`inverse`: the matrix position, row-major, of each of the `d(d+1)/2` entries, TFP's order).
#[derive(Clone, Debug)]
pub(super) enum Through {
    Value,
    Positive(Positive),
    ScaleTriL { diag: Positive, shift: f64, inverse: Vec<usize> },
}

impl Through {
    /// The constrained values of the read ones (`[K, d(d+1)/2]` -> `[K, d, d]` for `ScaleTriL`).
    pub(super) fn value(&self, raw: Vec<f64>, d: usize) -> Vec<f64> {
        match self {
            Through::Value => raw,
            Through::Positive(p) => raw.into_iter().map(|r| p.value(r)).collect(),
            Through::ScaleTriL { diag, shift, inverse } => {
                let m = d * (d + 1) / 2;
                let mut l = vec![0.0; raw.len() / m * d * d];
                for (lk, rk) in l.chunks_exact_mut(d * d).zip(raw.chunks_exact(m)) {
                    for (&p, &v) in inverse.iter().zip(rk) {
                        lk[p] = if p % (d + 1) == 0 { diag.value(v) + shift } else { v };
                    }
                }
                l
            }
        }
    }

    /// [`Through::value`] in the closed form's layout: broadcast to `[k, d]` from the
    /// parameter's `shape` when `broadcast` (the diagonal components' loc and scale).
    pub(super) fn laid_out(&self, raw: Vec<f64>, shape: &[i64], broadcast: bool, k: usize, d: usize) -> Vec<f64> {
        let values = self.value(raw, d);
        if broadcast {
            self::broadcast(&values, shape, k, d)
        } else {
            values
        }
    }

    /// [`Through::pull_back`] from a gradient `g` in the closed form's layout: summed first
    /// where the parameter's `shape` broadcasts, when `broadcast`.
    pub(super) fn pull_back_laid_out(
        &self,
        g: &[f64],
        raw: &[f64],
        shape: &[i64],
        broadcast: bool,
        d: usize,
        out: &mut Vec<f64>,
    ) {
        if broadcast {
            self.pull_back(&sum_to(g, shape, d), raw, d, out)
        } else {
            self.pull_back(g, raw, d, out)
        }
    }

    /// Appends the gradient with respect to the read values `raw`, from `g`, the gradient with
    /// respect to the constrained ones.
    pub(super) fn pull_back(&self, g: &[f64], raw: &[f64], d: usize, out: &mut Vec<f64>) {
        match self {
            Through::Value => out.extend_from_slice(g),
            Through::Positive(p) => out.extend(g.iter().zip(raw).map(|(g, &r)| g * p.slope(r))),
            Through::ScaleTriL { diag, inverse, .. } => {
                for (gk, rk) in g.chunks_exact(d * d).zip(raw.chunks_exact(d * (d + 1) / 2)) {
                    for (&p, &v) in inverse.iter().zip(rk) {
                        out.push(if p % (d + 1) == 0 { gk[p] * diag.slope(v) } else { gk[p] });
                    }
                }
            }
        }
    }
}

/// The constrained parameters: logits `[K]`, loc `[K, d]` and the scale, `[K, d, d]` (lower
/// triangles, row-major; entries above the diagonal are ignored) or `[K, d]` (standard
/// deviations), all row-major.
pub(super) struct Params<'a> {
    pub logits: &'a [f64],
    pub loc: &'a [f64],
    pub scale: &'a [f64],
    pub diagonal: bool,
    pub k: usize,
    pub d: usize,
}

/// The loss and its gradients with respect to [`Params`], in the same layouts (the gradient
/// of a triangular scale is zero above the diagonal), and with respect to the points (`[N, d]`;
/// empty unless asked for).
pub(super) struct Gradients {
    pub loss: f64,
    pub logits: Vec<f64>,
    pub loc: Vec<f64>,
    pub scale: Vec<f64>,
    pub x: Vec<f64>,
}

/// What the components contribute to every point: `log softmax(a)`, `1 / L_ii` or `1 / σ_i`
/// (`[K, d]`) and each component's constant `log π_k - Σ_i log|L_ii| - d log(2π)/2`.
pub(super) struct Constants {
    pub log_pi: Vec<f64>,
    pub inv_diag: Vec<f64>,
    pub constant: Vec<f64>,
}

impl Constants {
    pub(super) fn new(p: &Params) -> Self {
        let (k, d) = (p.k, p.d);
        let top = p.logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = p.logits.iter().map(|a| (a - top).exp()).sum::<f64>().ln() + top;
        let log_pi: Vec<f64> = p.logits.iter().map(|a| a - lse).collect();
        let diag = |kk: usize, i: usize| if p.diagonal { p.scale[kk * d + i] } else { p.scale[(kk * d + i) * d + i] };
        let inv_diag = (0..k * d).map(|j| 1.0 / diag(j / d, j % d)).collect();
        let constant = (0..k)
            .map(|kk| {
                // log|L_ii| for a triangle; log σ (NaN for σ <= 0, as Normal.log_prob) for the diagonal
                let log_det: f64 =
                    (0..d).map(|i| if p.diagonal { diag(kk, i).ln() } else { diag(kk, i).abs().ln() }).sum();
                log_pi[kk] - log_det - HALF_LOG_TWO_PI * d as f64
            })
            .collect();
        Self { log_pi, inv_diag, constant }
    }
}

/// The pass over a block of points that the log-density and the gradients share. Everything
/// per point is laid out point-last (`[K, d, N]`, `[K, N]`, `[N]`), so each inner loop runs over
/// the points and vectorises.
struct Forward {
    n: usize,
    /// `z_nk`, `[K, d, N]`.
    z: Vec<f64>,
    /// `exp(c_nk - top_n)`, `[K, N]`, with `top_n = max_k c_nk` and `total_n = Σ_k` of them.
    e: Vec<f64>,
    top: Vec<f64>,
    total: Vec<f64>,
}

impl Forward {
    #[inline(always)]
    fn new(p: &Params, c: &Constants, x: &[f64]) -> Self {
        let (k, d) = (p.k, p.d);
        let n = x.len() / d;
        let mut xt = vec![0.0; d * n];
        for (t, xn) in x.chunks_exact(d).enumerate() {
            for (i, &v) in xn.iter().enumerate() {
                xt[i * n + t] = v;
            }
        }
        let (mut z, mut e) = (vec![0.0; k * d * n], vec![0.0; k * n]);
        for ((zk, ck), kk) in z.chunks_exact_mut(d * n).zip(e.chunks_exact_mut(n)).zip(0..) {
            ck.fill(c.constant[kk]);
            for i in 0..d {
                // z_i = (x_i - μ_i - Σ_{j<i} L_ij z_j) / L_ii, then the term's -z_i²/2
                let (done, rest) = zk.split_at_mut(i * n);
                let zi = &mut rest[..n];
                let mu = p.loc[kk * d + i];
                zi.iter_mut().zip(&xt[i * n..(i + 1) * n]).for_each(|(z, x)| *z = x - mu);
                if !p.diagonal {
                    for (j, zj) in done.chunks_exact(n).enumerate() {
                        let l = p.scale[(kk * d + i) * d + j];
                        zi.iter_mut().zip(zj).for_each(|(z, zj)| *z -= l * zj);
                    }
                }
                let inv = c.inv_diag[kk * d + i];
                zi.iter_mut().zip(ck.iter_mut()).for_each(|(z, c)| {
                    *z *= inv;
                    *c -= 0.5 * *z * *z;
                });
            }
        }
        // The log-sum-exp over the components.
        let mut top = vec![f64::NEG_INFINITY; n];
        for ck in e.chunks_exact(n) {
            top.iter_mut().zip(ck).for_each(|(t, &c)| *t = t.max(c));
        }
        let mut total = vec![0.0; n];
        for ck in e.chunks_exact_mut(n) {
            ck.iter_mut().zip(&top).zip(total.iter_mut()).for_each(|((c, t), s)| {
                *c = exp_neg(*c - t);
                *s += *c;
            });
        }
        Self { n, z, e, top, total }
    }

    /// `log p(x_n) = log Σ_k exp(c_nk)`.
    fn log_prob(&self, t: usize) -> f64 {
        self.total[t].ln() + self.top[t]
    }
}

/// The log-density of each of the points `x` (`[N, d]` row-major).
pub(super) fn log_prob(p: &Params, x: &[f64]) -> Vec<f64> {
    let (c, d) = (Constants::new(p), p.d);
    let blocks = crate::host::parallel_map(x.len() / d, p.k * d * (d + 1), |r| {
        let mut out = Vec::with_capacity(r.len());
        for b in blocks(r) {
            let f = simd::forward(p, &c, &x[b.start * d..b.end * d]);
            out.extend((0..f.n).map(|t| f.log_prob(t)));
        }
        out
    });
    blocks.concat()
}

/// The points of one thread's range a block at a time, so that a block's `[K, d, block]`
/// values stay in cache.
fn blocks(r: std::ops::Range<usize>) -> impl Iterator<Item = std::ops::Range<usize>> {
    const BLOCK: usize = 1024;
    (r.start..r.end).step_by(BLOCK).map(move |s| s..(s + BLOCK).min(r.end))
}

/// The weights `g_n` of the points' log-densities in `Σ_n g_n log p(x_n)`, whose gradients
/// [`weighted`] computes: one for all, or each point's own (a vector-Jacobian product).
#[derive(Clone, Copy)]
pub(super) enum Weights<'a> {
    Same(f64),
    Each(&'a [f64]),
}

impl<'a> Weights<'a> {
    /// The weights of the points `range`.
    pub(super) fn part(self, range: std::ops::Range<usize>) -> Self {
        match self {
            Weights::Same(g) => Weights::Same(g),
            Weights::Each(g) => Weights::Each(&g[range]),
        }
    }

    pub(super) fn at(self, t: usize) -> f64 {
        match self {
            Weights::Same(g) => g,
            Weights::Each(g) => g[t],
        }
    }
}

/// The sums over points that the gradients need, with the weighted responsibilities
/// `w_nk = g_n softmax_k(c_nk)`: `Σ_n g_n log p(x_n)`, `G = Σ g`, `A = Σ (w - g π)` `[K]`,
/// `S = Σ w z` `[K, d]`, and `M = Σ w (z zᵀ - I)` (lower triangle, `[K, d, d]`) or
/// `Σ w (z² - 1)` `[K, d]`; and, when asked, each point's `∂/∂x_n = -Σ_k L_k⁻ᵀ w_nk z_nk`
/// (`[n, d]`, in order). Each point's term of `A` and of `M`'s diagonal is formed before the sum,
/// as autograd forms it: the difference of the two sums would cancel where the model fits.
/// The sums over a block go through [`sum_of`] and [`dot`], whose error grows with the square
/// root of the block's length, not with the length.
pub(super) struct Sums {
    pub lse: f64,
    pub a: Vec<f64>,
    pub s: Vec<f64>,
    pub m: Vec<f64>,
    pub x: Vec<f64>,
}

impl Sums {
    #[inline(always)]
    fn new(p: &Params, c: &Constants, x: &[f64], g: Weights, points: bool) -> Self {
        let (k, d) = (p.k, p.d);
        let f = Forward::new(p, c, x);
        let n = f.n;
        let lse: f64 = (0..n).map(|t| g.at(t) * f.log_prob(t)).sum();
        let Forward { z, e: mut w, total, .. } = f;
        // The weighted responsibilities w_nk = g_n e_nk / total_n, in place.
        for wk in w.chunks_exact_mut(n) {
            wk.iter_mut().zip(&total).enumerate().for_each(|(t, (w, s))| *w *= g.at(t) / s);
        }
        let second_len = if p.diagonal { d } else { d * d };
        // Σ_n (w_nk - g_n π_k), each point's term formed first (W_k - π_k G would cancel)
        let a: Vec<f64> = w
            .chunks_exact(n)
            .zip(&c.log_pi)
            .map(|(w, lp)| {
                let pi = lp.exp();
                sum_of((0..n).map(|t| w[t] - g.at(t) * pi))
            })
            .collect();
        let (mut s, mut m) = (vec![0.0; k * d], vec![0.0; k * second_len]);
        // wz: w z_i for every i ([d, n]), then, for the points' gradient, L⁻ᵀ of it in place.
        let (mut wz, mut dx) = (vec![0.0; d * n], vec![0.0; if points { d * n } else { 0 }]);
        for (kk, (zk, w)) in z.chunks_exact(d * n).zip(w.chunks_exact(n)).enumerate() {
            for i in 0..d {
                let zi = &zk[i * n..(i + 1) * n];
                let wzi = &mut wz[i * n..(i + 1) * n];
                wzi.iter_mut().zip(w).zip(zi).for_each(|((o, w), z)| *o = w * z);
                s[kk * d + i] = sum_of(wzi.iter().copied());
                // the diagonal as Σ_n w (z_i² - 1), each point's term formed first
                let diagonal = sum_of(wzi.iter().zip(zi).zip(w).map(|((wz, z), w)| wz * z - w));
                if p.diagonal {
                    m[kk * d + i] = diagonal;
                } else {
                    for j in 0..i {
                        m[(kk * d + i) * d + j] = dot(wzi, &zk[j * n..(j + 1) * n]);
                    }
                    m[(kk * d + i) * d + i] = diagonal;
                }
            }
            if points {
                // v = L⁻ᵀ (w z) by back substitution (v_i = (u_i - Σ_{j>i} L_ji v_j) / L_ii), then
                // dx -= v
                for i in (0..d).rev() {
                    let (head, done) = wz.split_at_mut((i + 1) * n);
                    let vi = &mut head[i * n..];
                    if !p.diagonal {
                        for (j, vj) in done.chunks_exact(n).enumerate() {
                            let l = p.scale[(kk * d + i + 1 + j) * d + i];
                            vi.iter_mut().zip(vj).for_each(|(v, vj)| *v -= l * vj);
                        }
                    }
                    let inv = c.inv_diag[kk * d + i];
                    vi.iter_mut().zip(&mut dx[i * n..(i + 1) * n]).for_each(|(v, o)| {
                        *v *= inv;
                        *o -= *v;
                    });
                }
            }
        }
        // [d, n] -> [n, d]
        let mut x_grad = vec![0.0; dx.len()];
        for (i, row) in dx.chunks_exact(n.max(1)).enumerate() {
            for (t, &v) in row.iter().enumerate() {
                x_grad[t * d + i] = v;
            }
        }
        Self { lse, a, s, m, x: x_grad }
    }

    /// The sums over two consecutive blocks of points.
    pub(super) fn add(mut self, other: Sums) -> Self {
        self.lse += other.lse;
        for (a, b) in [(&mut self.a, &other.a), (&mut self.s, &other.s), (&mut self.m, &other.m)] {
            a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
        }
        self.x.extend(other.x);
        self
    }
}

/// The mean negative log-likelihood of the points `x` (`[N, d]` row-major) and its gradients.
pub(super) fn loss_and_grads(p: &Params, x: &[f64]) -> Gradients {
    weighted(p, x, Weights::Same(-1.0 / (x.len() / p.d) as f64), false)
}

/// `Σ_n g_n log p(x_n)` over the points `x` (`[N, d]` row-major) and its gradients, with respect
/// to the points too (`[N, d]`) when `points`.
pub(super) fn weighted(p: &Params, x: &[f64], g: Weights, points: bool) -> Gradients {
    let (k, d, n) = (p.k, p.d, x.len() / p.d);
    let c = Constants::new(p);
    let blocks = crate::host::parallel_map(n, k * d * (d + 1), |r| {
        let sums = blocks(r).map(|b| simd::sums(p, &c, &x[b.start * d..b.end * d], g.part(b.clone()), points));
        sums.reduce(Sums::add).expect("a range holds points")
    });
    gradients(p, &c, blocks.into_iter().reduce(Sums::add).expect("N >= 1"))
}

/// The gradients of `Σ_n g_n log p(x_n)` from its sums over the points.
pub(super) fn gradients(p: &Params, c: &Constants, sums: Sums) -> Gradients {
    let (k, d) = (p.k, p.d);
    let Sums { lse, a: logits, s, m, x: x_grad } = sums;
    let inv_diag = &c.inv_diag;
    let second_len = if p.diagonal { d } else { d * d };
    // ∂/∂a_k = Σ_n g_n (softmax_nk - π_k) = A_k
    let (mut loc, mut scale) = (vec![0.0; k * d], vec![0.0; k * second_len]);
    for kk in 0..k {
        let (sk, mk) = (&s[kk * d..(kk + 1) * d], &m[kk * second_len..(kk + 1) * second_len]);
        if p.diagonal {
            for i in 0..d {
                let inv = inv_diag[kk * d + i];
                loc[kk * d + i] = sk[i] * inv;
                scale[kk * d + i] = mk[i] * inv;
            }
            continue;
        }
        let l = &p.scale[kk * d * d..(kk + 1) * d * d];
        // ∂/∂μ = L⁻ᵀ S and ∂/∂L = tril(L⁻ᵀ M): back substitution with Lᵀ (upper).
        let back_substitute = |rhs: &dyn Fn(usize) -> f64, out: &mut [f64], stride: usize| {
            for i in (0..d).rev() {
                let mut acc = rhs(i);
                for j in i + 1..d {
                    acc -= l[j * d + i] * out[j * stride];
                }
                out[i * stride] = acc * inv_diag[kk * d + i];
            }
        };
        back_substitute(&|i| sk[i], &mut loc[kk * d..(kk + 1) * d], 1);
        // Y = L⁻ᵀ M (M symmetric, its lower triangle held) row by row from the last, only the
        // lower triangle (row i's entries j <= i need rows below it at those j alone): a sixth
        // of d³ multiply-adds rather than half, each row's loop over contiguous entries.
        let mut y = vec![0.0; d * d];
        for i in (0..d).rev() {
            let (head, below) = y.split_at_mut((i + 1) * d);
            let yi = &mut head[i * d..i * d + i + 1];
            yi.copy_from_slice(&mk[i * d..i * d + i + 1]);
            for (r, row) in below.chunks_exact(d).enumerate() {
                let l_ri = l[(i + 1 + r) * d + i];
                yi.iter_mut().zip(&row[..i + 1]).for_each(|(v, &w)| *v -= l_ri * w);
            }
            let inv = inv_diag[kk * d + i];
            yi.iter_mut().for_each(|v| *v *= inv);
        }
        for i in 0..d {
            for j in 0..=i {
                scale[kk * d * d + i * d + j] = y[i * d + j];
            }
        }
    }
    Gradients { loss: lse, logits, loc, scale, x: x_grad }
}

/// `e^x` for `x <= 0` (also NaN and -inf), in a form the compiler vectorises, unlike libm's
/// `exp`: `x = k ln 2 + r` with `|r| <= ln 2 / 2` (Cody-Waite, fdlibm's split of ln 2), `e^r` by
/// its Taylor series to `r^13` (truncation below 1e-17 relative), times `2^k` built in the
/// exponent bits. Within two units in the last place of `f64::exp` down to -708 (tested below:
/// 2.2e-16 relative at worst over 2e6 points); below it, where `e^x` is subnormal, 0.
#[inline(always)]
pub(super) fn exp_neg(x: f64) -> f64 {
    // 1.5·2^52: adding it rounds to an integer
    const MAGIC: f64 = 6755399441055744.0;
    // ln 2 = LN2_HI + LN2_LO, LN2_HI with 11 trailing zero bits so that k·LN2_HI is exact
    const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
    let t = x * std::f64::consts::LOG2_E + MAGIC;
    let k = t - MAGIC;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut p = 1.0 / 6_227_020_800.0; // 1/13!
    for c in [479_001_600.0, 39_916_800.0, 3_628_800.0, 362_880.0, 40_320.0, 5_040.0, 720.0, 120.0, 24.0, 6.0, 2.0] {
        p = p * r + 1.0 / c;
    }
    let p = (p * r + 1.0) * r + 1.0;
    // t's low bits hold k; 2^k's exponent field is k + 1023
    let k_int = (t.to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64);
    let two_k = f64::from_bits((k_int.wrapping_add(1023) as u64) << 52);
    if x < -708.0 {
        0.0
    } else {
        p * two_k
    }
}

/// `Σ a_i b_i`: four running sums (which the compiler vectorises) over each run of 32 terms,
/// then the runs' sums added up (the error grows with about `32 + n/32` terms, not `n`).
#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let run = |a: &[f64], b: &[f64]| {
        let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
        let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
        let mut acc = [0.0; 4];
        for (x, y) in ca.zip(cb) {
            for l in 0..4 {
                acc[l] += x[l] * y[l];
            }
        }
        acc.iter().sum::<f64>() + tail
    };
    a.chunks(32).zip(b.chunks(32)).map(|(a, b)| run(a, b)).sum()
}

/// `Σ` of `terms` a run of 32 at a time (as [`dot`]).
#[inline(always)]
fn sum_of(terms: impl Iterator<Item = f64>) -> f64 {
    let (mut total, mut run, mut count) = (0.0, 0.0, 0);
    for v in terms {
        run += v;
        count += 1;
        if count == 32 {
            total += run;
            (run, count) = (0.0, 0);
        }
    }
    total + run
}

/// The `[k, d]` broadcast of `values` of `shape` (at most two dimensions, right-aligned, each of
/// size 1 or of its full size), row-major.
fn broadcast(values: &[f64], shape: &[i64], k: usize, d: usize) -> Vec<f64> {
    let index = broadcast_index(shape);
    (0..k * d).map(|j| values[index(j / d, j % d)]).collect()
}

/// The sum of `g` (`[k, d]`, row-major) over the dimensions where `shape` broadcasts: the
/// gradient of a parameter of that shape.
fn sum_to(g: &[f64], shape: &[i64], d: usize) -> Vec<f64> {
    let index = broadcast_index(shape);
    let mut out = vec![0.0; shape.iter().product::<i64>() as usize];
    for (j, v) in g.iter().enumerate() {
        out[index(j / d, j % d)] += v;
    }
    out
}

/// The position in a tensor of `shape` of the element that broadcasts to `[kk, i]`.
fn broadcast_index(shape: &[i64]) -> impl Fn(usize, usize) -> usize {
    let dim = |back: usize| if shape.len() >= back { shape[shape.len() - back] as usize } else { 1 };
    let (rows, cols) = (dim(2), dim(1));
    move |kk, i| (if rows == 1 { 0 } else { kk }) * cols + if cols == 1 { 0 } else { i }
}

#[cfg(test)]
mod tests {
    use super::exp_neg;

    #[test]
    fn exp_neg_matches_libm() {
        let mut worst = 0.0f64;
        for i in 0..=2_000_000 {
            let x = -708.0 * i as f64 / 2e6;
            let (a, b) = (exp_neg(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
        }
        assert!(worst < 4.5e-16, "worst relative error {worst:e}"); // two units in the last place
        assert_eq!(exp_neg(0.0), 1.0);
        assert_eq!(exp_neg(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_neg(-800.0), 0.0);
        assert!(exp_neg(f64::NAN).is_nan());
    }
}

/// The loops compiled for the vector instructions the CPU has ([`crate::host::simd_dispatch`]):
/// the same arithmetic, in wider registers.
mod simd {
    use super::{Constants, Forward, Params, Sums, Weights};

    crate::host::simd_dispatch!(forward(p: &Params, c: &Constants, x: &[f64]) -> Forward, Forward::new(p, c, x), Forward::new(p, c, x));
    crate::host::simd_dispatch!(
        sums(p: &Params, c: &Constants, x: &[f64], g: Weights, points: bool) -> Sums,
        Sums::new(p, c, x, g, points),
        Sums::new(p, c, x, g, points)
    );
}
