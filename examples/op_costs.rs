//! Costs of single libtorch operations that bound the small and mid-size workloads of
//! `examples/bench.rs` (issue 5): the per-node cost of eager autograd, and kernels over a short
//! inner dimension at the shapes of W1 with K = 3, d = 4, N = 1e4.
//!
//! Usage: `cargo run --release --example op_costs -- [threads]` (default 1). Prints one line per
//! measurement: the minimum and the median over 15 rounds of the mean time per call.

use std::time::Instant;
use tch::{Device, Kind, Tensor};

const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

/// Prints the minimum and median over 15 rounds of `n` calls (after 50 warm-up calls).
fn time(name: &str, n: usize, mut f: impl FnMut()) {
    for _ in 0..50 {
        f();
    }
    let mut per_call: Vec<f64> = (0..15)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            start.elapsed().as_secs_f64() / n as f64
        })
        .collect();
    per_call.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("{name:58} {:9.2} us min {:9.2} us median", per_call[0] * 1e6, per_call[7] * 1e6);
}

fn main() {
    let threads: i32 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    tch::set_num_threads(threads);
    tch::manual_seed(0);
    println!("threads: {threads}");

    // Eager autograd: a chain of n scalar products of a [64, 4] leaf, forward and backward.
    let leaf = Tensor::randn([64, 4], F32).set_requires_grad(true);
    for n in [10usize, 40] {
        let chain = |backward: bool| {
            let mut y = &leaf * 1.0;
            for _ in 0..n {
                y = y.multiply_scalar(1.001); // a new node each time (`*=` would be in place)
            }
            let loss = y.sum(Kind::Float);
            if backward {
                loss.backward();
            }
        };
        time(&format!("autograd: {n} products, forward"), 500, || chain(false));
        time(&format!("autograd: {n} products, forward + backward"), 500, || chain(true));
    }

    // W1's shapes at K = 3, d = 4, N = 1e4: points [N, d] seen as columns [d, N].
    let (k, d, n) = (3i64, 4i64, 10_000i64);
    let x = Tensor::randn([n, d], F32);
    let loc_col = Tensor::randn([k, d, 1], F32);
    let xt = x.transpose(0, 1);
    let xt_contiguous = xt.contiguous();
    time("x [d, N] (transposed view) - loc [K, d, 1]", 300, || drop(&xt - &loc_col));
    time("x [d, N] (contiguous) - loc [K, d, 1]", 300, || drop(&xt_contiguous - &loc_col));
    time("x [N, d] transposed to contiguous [d, N]", 300, || drop(xt.contiguous()));
    let l = Tensor::eye(d, F32).expand([k, d, d], false).contiguous() * 2.0;
    let diff = &xt_contiguous - &loc_col;
    time("triangular solve [K, d, d] \\ [K, d, N]", 300, || {
        drop(Tensor::linalg_solve_triangular(&l, &diff, false, true, false))
    });
    let y = Tensor::linalg_solve_triangular(&l, &diff, false, true, false);
    let yy = &y * &y;
    time("y * y [K, d, N]", 300, || drop(&y * &y));
    time("sum over d of [K, d, N]", 300, || drop(yy.sum_dim_intlist(-2, false, None::<Kind>)));
    time("squared norm over d of [K, d, N]", 300, || {
        drop(y.norm_scalaropt_dim(2.0, [-2i64].as_slice(), false).square())
    });
    let a = Tensor::randn([k, n], F32).transpose(0, 1); // [N, K], as the mixture sees it
    time("exp of [N, K]", 300, || drop(a.exp()));
    time("logsumexp over K of [N, K]", 300, || drop(a.logsumexp(-1, false)));
}
