//! Linear algebra shared by the Gaussian families and bijectors.

use crate::host::HostFloat;
use tch::Tensor;

/// The broadcast of batch shapes (NumPy rules; callers have checked that they broadcast): each
/// dimension is the size that is not 1 (0 for an empty one), or 1.
fn broadcast_batch(shapes: &[&[i64]]) -> Vec<i64> {
    let n = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let dim = |s: &[i64], i: usize| if i < n - s.len() { 1 } else { s[i - (n - s.len())] };
    (0..n).map(|i| shapes.iter().map(|s| dim(s, i)).find(|&v| v != 1).unwrap_or(1)).collect()
}

/// Applies `op(L, columns)` to vectors `v` (`[..., d]`) against matrices `L` (`[..., e, d]`,
/// square for the triangular ones), giving `[broadcast batch, e]`. When `L`'s batch shape is the trailing part of the broadcast
/// one (points `[N, K, d]` against `K` components, say), the leading dimensions are folded into
/// the columns of one batched call (`[K, d, N]`), so `L` is never expanded to one copy per point
/// (for `N = 1e5`, `K = 16`, `d = 32` that would be 6.5 GB); otherwise each vector is a column.
fn folded(l: &Tensor, v: &Tensor, op: impl Fn(&Tensor, &Tensor) -> Tensor) -> Tensor {
    let (ls, vs) = (l.size(), v.size());
    let d = ls[ls.len() - 1];
    let lb = &ls[..ls.len() - 2];
    let full = broadcast_batch(&[lb, &vs[..vs.len() - 1]]);
    let n = full.len();
    let m: i64 = full[..n - lb.len()].iter().product();
    if m > 1 && &full[n - lb.len()..] == lb {
        let mut flat = vec![m];
        flat.extend_from_slice(lb);
        flat.push(d);
        let mut full_d = full.clone();
        full_d.push(d);
        let cols = v.broadcast_to(full_d.as_slice()).reshape(flat.as_slice()).movedim(0, -1); // [lb, d, m]
        let mut full_e = full;
        full_e.push(ls[ls.len() - 2]);
        return op(l, &cols).movedim(-1, 0).reshape(full_e.as_slice());
    }
    op(l, &v.unsqueeze(-1)).squeeze_dim(-1)
}

/// `L⁻¹ b` for lower-triangular `L` of shape `[..., d, d]` and vectors `b` of shape `[..., d]`
/// (batch shapes broadcast; callers check that they do), with one batched triangular solve
/// (folded as [`folded`] describes).
pub(crate) fn solve_lower_vec(l: &Tensor, b: &Tensor) -> Tensor {
    folded(l, b, |l, cols| Tensor::linalg_solve_triangular(l, cols, false, true, false))
}

/// Intermediate size (values) below which [`mahalanobis_sq`] reduces with a product and a sum
/// rather than a norm (measured by `examples/bench.rs`: W4 and W1 at N = 1e6 / 1e5).
const SMALL_CHUNK: i64 = 1 << 16;

/// `|L⁻¹ (x - loc)|²` (summed over the event dimension `d`), of the broadcast batch shape of `x`
/// (`[..., d]`), `loc` (`[..., d]`) and lower-triangular `L` (`[..., d, d]`); callers check that
/// the shapes broadcast.
///
/// The fast path covers points against a batch of parameters, as a mixture asks (`x` of shape
/// `[N, 1, d]` against `K` components): the differences are formed directly in the layout the
/// solve wants, `[K, d, N]`, with the points along the contiguous dimension, one batched
/// triangular solve handles all points of a component as columns, and the squared norm is
/// reduced in place, chunk by chunk. No `[N, K, d, d]` expansion of `L` and no transposed copy
/// of `[N, K, d]`.
pub(crate) fn mahalanobis_sq(l: &Tensor, x: &Tensor, loc: &Tensor) -> Tensor {
    let (ls, xs, cs) = (l.size(), x.size(), loc.size());
    let d = ls[ls.len() - 1];
    let (lb, xb, cb) = (&ls[..ls.len() - 2], &xs[..xs.len() - 1], &cs[..cs.len() - 1]);
    let full = broadcast_batch(&[lb, xb, cb]);
    let n = full.len();
    let dim = |s: &[i64], i: usize| if i < n - s.len() { 1 } else { s[i - (n - s.len())] };
    // The parameters' batch P: the trailing dimensions of `full` that L or loc have.
    let p_len = lb.len().max(cb.len());
    let (lead, pb) = full.split_at(n - p_len);
    let m: i64 = lead.iter().product();
    // x must not vary along P (its dimensions there are 1), so it reshapes to [m, d].
    let x_flat_ok = (n - p_len..n).all(|i| dim(xb, i) == 1);
    if m > 1 && x_flat_ok {
        let mut l_shape = pb.to_vec();
        l_shape.extend([d, d]);
        let mut c_shape = pb.to_vec();
        c_shape.push(d);
        // x broadcast to lead + [1, ..., 1] + [d], then as [m, d], seen as [d, m].
        let mut x_shape = lead.to_vec();
        x_shape.extend(std::iter::repeat_n(1, p_len));
        x_shape.push(d);
        let x_rows = if xs == x_shape { x.reshape([m, d]) } else { x.broadcast_to(x_shape.as_slice()).reshape([m, d]) };
        let p_count: i64 = pb.iter().product();
        // (broadcast only where needed: each view is one more autograd node per call)
        let l_p = if ls == l_shape { l.shallow_clone() } else { l.broadcast_to(l_shape.as_slice()) };
        let loc_p = if cs == c_shape { loc.shallow_clone() } else { loc.broadcast_to(c_shape.as_slice()) };
        if gemm_form(d, m) {
            let sq = mahalanobis_sq_gemm(&l_p, &loc_p, &x_rows, p_count, d); // [m, P]
            return if lead.len() == 1 && pb.len() == 1 { sq } else { sq.reshape(full.as_slice()) };
        }
        let x_t = x_rows.transpose(0, 1);
        let loc_col = loc_p.unsqueeze(-1);
        // The points go through in chunks of about 2^20 intermediate values (4 MB in float32):
        // each chunk's [P, d, c] differences and solutions stay in cache, and only the solutions
        // that backward needs are kept, not a whole [P, d, m] of differences at once.
        let per_point = (p_count * d).max(1);
        let chunk = ((1i64 << 20) / per_point).max(256);
        let sq = by_blocks(m, chunk, -1, |start, c| {
            let diff = x_t.narrow(1, start, c) - &loc_col; // [P, d, c], c contiguous
            let y = Tensor::linalg_solve_triangular(&l_p, &diff, false, true, false);
            // Small chunks: y·y then a sum, two cheap autograd nodes (a norm's backward has
            // ~25 us more fixed cost per call, a third of a small training step). Large
            // chunks: the norm, one pass without materialising y² (~15% faster forward).
            if c * per_point < SMALL_CHUNK {
                (&y * &y).sum_dim_intlist(-2, false, None::<tch::Kind>) // [P, c]
            } else {
                y.norm_scalaropt_dim(2.0, [-2i64].as_slice(), false).square()
                // [P, c]
            }
        });
        let sq = sq.movedim(-1, 0); // [m, P]
        return if lead.len() == 1 { sq } else { sq.reshape(full.as_slice()) };
    }
    solve_lower_vec(l, &(x - loc)).square().sum_dim_intlist(-1, false, None::<tch::Kind>)
}

/// Event sizes from which [`mahalanobis_sq`] takes the GEMM form (below, the batched triangular
/// solve is as fast and one kernel fewer).
const GEMM_MIN_D: i64 = 8;

/// Point counts from which [`mahalanobis_sq`] takes the GEMM form.
const GEMM_MIN_POINTS: i64 = 256;

/// Points per block of the GEMM form: a `[block, P·d]` product that stays in cache (measured:
/// 1024 points beat 4096 and 16384 at K = 16, d = 32; see issue 14's note).
pub(crate) const GEMM_BLOCK: i64 = 1024;

/// Whether `m` points in `d` dimensions take the GEMM form ([`whitening_gemm`]).
pub(crate) fn gemm_form(d: i64, m: i64) -> bool {
    d >= GEMM_MIN_D && m >= GEMM_MIN_POINTS
}

/// `x ↦ [L_p⁻¹ (x_n - loc_p)]` as `[m, P·d]` for points `x` `[m, d]`, against `P` components
/// (`l` `[P, d, d]` lower-triangular, `loc` `[P, d]`): `L⁻¹` once per component (one triangular
/// solve against the identity), then for each call one GEMM of the points against the stacked
/// `[P·d, d]` inverses with `L⁻¹ loc` subtracted (`addmm`): `2 m P d²` flops at the BLAS's
/// matrix-product rate instead of the triangular solve's.
pub(crate) fn whitening_gemm(l: &Tensor, loc: &Tensor) -> impl Fn(&Tensor) -> Tensor {
    let (p, d) = (l.size()[0], l.size()[2]);
    let eye = Tensor::eye(d, (l.kind(), l.device())).expand([p, d, d], false);
    let l_inv = Tensor::linalg_solve_triangular(l, &eye, false, true, false); // [P, d, d]
    let a_t = l_inv.reshape([p * d, d]).transpose(0, 1); // [d, P·d]
    let shift = -l_inv.matmul(&loc.reshape([p, d, 1])).reshape([p * d]); // -L⁻¹ loc
    move |x: &Tensor| shift.addmm(x, &a_t)
}

/// `|L_p⁻¹ (x_n - loc_p)|²` as `[m, P]` for points `x` (`[m, d]`) against `P` components
/// (`l` `[P..., d, d]`, `loc` `[P..., d]`), by [`whitening_gemm`] per block of points and the
/// squared norm over `d`.
fn mahalanobis_sq_gemm(l: &Tensor, loc: &Tensor, x: &Tensor, p: i64, d: i64) -> Tensor {
    let z_of = whitening_gemm(&l.reshape([p, d, d]), &loc.reshape([p, d]));
    by_blocks(x.size()[0], GEMM_BLOCK, 0, |start, c| {
        // The norm reduces in one pass without materialising y² (measured ~20% faster here).
        let y = z_of(&x.narrow(0, start, c)).reshape([c, p, d]); // [c, P, d]
        y.norm_scalaropt_dim(2.0, [-1i64].as_slice(), false).square() // [c, P]
    })
}

/// Draws of a mixture of `K` Gaussians: `loc_k + L_k z_n` with `k = idx_n`, for `z` `[N, d]`,
/// `idx` `[N]` (int64), `l` `[K, d, d]` (lower-triangular) and `loc` `[K, d]`. Per block of
/// draws, one GEMM of the draws against the stacked `[K·d, d]` factors gives every
/// component's image (`[block, K, d]`, in cache), and the chosen one is gathered: no draws of the
/// components not chosen, and no `[N, d, d]` gather of the factors.
pub(crate) fn mixture_of_gaussians_draws(l: &Tensor, loc: &Tensor, idx: &Tensor, z: &Tensor) -> Tensor {
    let (k, d) = (l.size()[0], l.size()[2]);
    let a_t = l.reshape([k * d, d]).transpose(0, 1); // [d, K·d]
    let n = z.size()[0];
    // Blocks of about 2^18 images (1 MB in float32), at least GEMM_BLOCK draws: few kernel calls
    // for small components, a cache-sized product for large ones.
    let block = ((1i64 << 18) / (k * d).max(1)).max(GEMM_BLOCK);
    by_blocks(n, block, 0, |start, c| {
        let y = z.narrow(0, start, c).matmul(&a_t).reshape([c, k, d]);
        let i = idx.narrow(0, start, c);
        let picked = y.gather(1, &i.reshape([c, 1, 1]).expand([c, 1, d], false), false).squeeze_dim(1);
        picked + loc.index_select(0, &i)
    })
}

/// The host loop of [`mixture_of_gaussians_draws`] with the categorical draw folded in, for CPU
/// tensors: for each draw, the component `k`, the first with `u_n < cdf_k` (the last when none:
/// `searchsorted(cdf, u, right)` clamped, as `Categorical.sample`), then `loc_k + L_k z_n`, written
/// to `out`. `cdf` `[K]` (float64, non-decreasing), `u` `[N]` (uniforms times the cdf's last
/// value), `l` `[K, d, d]` (lower triangles, row-major), `loc` `[K, d]`, `z` and `out` `[N, d]`.
/// One pass over the draws on libtorch's threads, the `d(d+1)/2` multiply-adds of the chosen
/// component only (faster than the GEMM form for small `d`).
pub(crate) fn mixture_of_gaussians_draws_host<T: HostFloat>(
    cdf: &[f64],
    l: &[f64],
    loc: &[f64],
    u: &[f64],
    z: &[T],
    out: &mut [T],
) {
    let (k, d) = (cdf.len(), loc.len() / cdf.len());
    let out = crate::host::Disjoint::new(out);
    crate::host::parallel_map(u.len(), d * (d + 1) / 2 + k, |r| {
        // SAFETY: parallel_map's ranges are disjoint.
        let out = unsafe { out.part(r.start * d..r.end * d) };
        for ((&u, z), o) in
            u[r.clone()].iter().zip(z[r.start * d..r.end * d].chunks_exact(d)).zip(out.chunks_exact_mut(d))
        {
            let c = cdf.partition_point(|&c| c <= u).min(k - 1);
            let (lc, mc) = (&l[c * d * d..(c + 1) * d * d], &loc[c * d..(c + 1) * d]);
            for (i, o) in o.iter_mut().enumerate() {
                let row = &lc[i * d..i * d + i + 1];
                *o = T::from_f64(mc[i] + row.iter().zip(z).map(|(a, b)| a * b.to_f64()).sum::<f64>());
            }
        }
    });
}

/// `f(start, count)` for consecutive blocks of `block` of `n` items, concatenated along `dim`
/// (the one block itself when there is only one: no copy).
fn by_blocks(n: i64, block: i64, dim: i64, f: impl Fn(i64, i64) -> Tensor) -> Tensor {
    let mut pieces: Vec<Tensor> = (0..n).step_by(block as usize).map(|start| f(start, block.min(n - start))).collect();
    if pieces.len() == 1 {
        pieces.pop().unwrap()
    } else {
        Tensor::cat(&pieces, dim)
    }
}

/// `L z` for lower-triangular `L` of shape `[..., d, d]` and vectors `z` of shape `[..., d]`
/// (batch shapes broadcast), as one batched product (folded as [`folded`] describes: `L` is
/// never expanded per draw).
pub(crate) fn lower_matvec(l: &Tensor, z: &Tensor) -> Tensor {
    matvec(l, z)
}

/// `A v` for matrices `A` of shape `[..., e, d]` (any, not only triangular) and vectors `v` of
/// shape `[..., d]` (batch shapes broadcast), giving `[..., e]`, folded as [`folded`] describes.
pub(crate) fn matvec(a: &Tensor, v: &Tensor) -> Tensor {
    folded(a, v, |a, cols| a.matmul(cols))
}
