#!/usr/bin/env python3
"""Parity of the rational-quadratic spline with TFP (on JAX) and nflows, driven through JSON.

Generates random cases, runs them through the Rust JSON driver (examples/json_driver.rs, format
in docs/json.md; a bijector case gives forward, fldj, inverse and ildj) and compares them with
two references, in float32 and float64:

* the constrained form, {"type": "RationalQuadraticSpline", "bin_widths", "bin_heights",
  "knot_slopes", "range_min"}, against TFP 0.25's `tfp.bijectors.RationalQuadraticSpline` from
  `tensorflow_probability.substrates.jax` (float64 via jax_enable_x64). TFP does not import in
  the torch environment, so this script runs itself as a worker under the TFP-JAX environment's
  Python (`--tfp-worker`, cases as JSON on stdin, results on stdout; scripts/setup_tfp_jax.sh
  makes that environment). Cases come in groups, one per K in (1, 2, 3, 5, 8, 16), of 16
  independent splines stacked on a leading parameter axis (eager JAX compiles every primitive
  once per shape, so a few large calls are much cheaper than many small ones), with batch
  shapes [16] and [16, 2, 3] and the points [m, 16, ...] broadcasting against them; a scalar
  range_min; bin sizes from 1e-3 of the interval to most of it; slopes from about 0.02 to 50;
  a fifth of the splines with sum(heights) != sum(widths), where the y range is
  [range_min, range_min + sum(heights)]; points inside, outside (up to +-1e30), exactly at
  every knot (as the dtype computes the knots) and at both range ends;
* the unconstrained form, {"type": "RationalQuadraticSpline", "unconstrained": {"widths",
  "heights", "slopes"}, "bound", "min_bin_width", "min_bin_height", "min_slope"}, against
  nflows 0.14's `unconstrained_rational_quadratic_spline(..., tails="linear", tail_bound=bound)`
  (scripts/setup_flow_refs.sh installs it into .venv), inverse=False and inverse=True, 72
  cases, K in (1, 2, 3, 5, 8, 16), batch [], [3], [2, 3], bound 0.5 to 5, raw values of scale
  1 to 30 (saturated softmax and softplus), nflows' default minimums (1e-3) or others.

Only values and log-dets are compared: the driver does not yet give gradients with respect to a
bijector's parameters (tests/spline.rs checks those against autograd identities).

Two documented differences are taken out of the comparison:
* TFP's inverse_log_det_jacobian is -fldj(inverse(y)). Where sum(heights) < sum(widths), a y
  above the y range is mapped by the identity (in TFP too) but lies inside the x range, and TFP
  then returns -fldj(y) != 0; Rust returns 0, the log-det of the identity it applied. Those
  points (printed count) are compared with 0. Near the upper end of such splines the map jumps
  (by the difference of the sums), so points within 1e-4 of the scale of it are moved to the
  middle of the range: rounding alone decides on which side of a jump they fall.
* nflows includes the range ends and evaluates its spline there, with rounding (up to 1e-12 in
  float64 in these cases); at exactly +-bound the reference is the exact value (v, log-det 0),
  which TFP's and Rust's identity at the ends give.

Tolerances. Each reference runs in float64 on exactly the values Rust saw (`ref64`, float32
inputs widened) and in float32 (`ref32`), which measures how sensitive a case is to rounding:
E is the largest finite |ref32 - ref64| of the case and quantity. A result of dtype D passes
when, elementwise,

    |rust - ref64| <= 8 E eps(D) / eps(float32) + 64 eps(D) (|ref64| + S) + delta * slope,

with S the largest |knot| of the case (the bound for nflows) for values and 1 for log-dets;
slope the larger one-sided finite difference (step 1e-7 S) of the float64 reference at the
point, and delta = 4 (K + 2) eps(D) S, a bound on how far the knots that Rust computes in D
(softmax, cumsum) can lie from the reference's float64 knots: a point next to a knot or a
range end may be in the neighbouring bin, or on the other side of the end, in one of the two.
For float64 the bound is of order 1e-14 (relative) for well-conditioned points and at most
~1e-10 relative for steep ones (a log-det next to a bin of 1e-3 of the interval); the
measured float64 errors are below 1e-11 against TFP and 1e-8 (absolute, next to the ends of
tiny bins) against nflows. For float32 it is the reference's own float32 error, scaled by 8,
plus a few float32 roundings. Out-of-range points (1e-3 of the scale away) must come back
exactly: identity, log-det 0.

Prints a table (reference, dtype, quantity, cases, points, max abs error, max error relative to
max(|ref64|, S), max error/tolerance) and exits 1 on any failure. About 60 s of CPU time
(mostly the TFP worker's compilation of JAX primitives); scripts/setup_tfp_jax.sh and
scripts/setup_flow_refs.sh first. PARITY_SPLINE_DUMP=path writes the driver requests to
path.tfp and path (for debugging a failure).

    .venv/bin/python scripts/parity_spline.py --driver target/debug/examples/json_driver
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

EPS = {"float32": float(np.finfo(np.float32).eps), "float64": float(np.finfo(np.float64).eps)}
NP_DTYPE = {"float32": np.float32, "float64": np.float64}
E_FACTOR = 8.0
C = 64.0
QUANTITIES = ("forward", "fldj", "inverse", "ildj")


def to_json(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def from_json(t):
    data = [float(v) for v in t["data"]]
    return np.asarray(data, dtype=np.float64).reshape(t["shape"])


def rounded(a, dtype):
    """The values Rust sees for dtype, as float64."""
    return np.asarray(a, dtype=np.float64).astype(NP_DTYPE[dtype]).astype(np.float64)


# ---------------------------------------------------------------------------------------------
# The TFP worker (runs in the TFP-JAX environment; imports no torch). One request entry is a
# group of cases stacked on a leading parameter axis (params [n_sub, *batch, K], points
# [m, n_sub, *batch]): eager JAX costs ~0.1 s a call whatever the size, so few large calls.

def tfp_worker():
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", True)
    from tensorflow_probability.substrates import jax as tfp

    tfb = tfp.bijectors
    request = json.load(sys.stdin)
    out = []
    for group in request["groups"]:
        res = {}
        for dt in ("float32", "float64"):
            npd = NP_DTYPE[dt]
            p = {k: np.asarray(from_json(group[k]), dtype=npd) for k in ("w", "h", "s", "x", "y")}
            rm = npd(group["range_min"])

            def fresh():  # a new bijector per call: TFP caches forward/inverse pairs
                return tfb.RationalQuadraticSpline(p["w"], p["h"], p["s"], range_min=rm)

            vals = {
                "forward": fresh().forward(p["x"]),
                "fldj": fresh().forward_log_det_jacobian(p["x"], event_ndims=0),
                "inverse": fresh().inverse(p["y"]),
                "ildj": fresh().inverse_log_det_jacobian(p["y"], event_ndims=0),
            }
            res[dt] = {k: to_json(np.broadcast_to(np.asarray(v, np.float64), p["x"].shape)) for k, v in vals.items()}
        out.append(res)
    json.dump({"results": out}, sys.stdout)


# ---------------------------------------------------------------------------------------------
# Case generation.

def random_sizes(rng, shape, total):
    """Positive sizes summing to total along the last axis, from near-uniform to very uneven
    (down to about 1e-3 of the total)."""
    spread = rng.choice([0.3, 1.0, 3.0])
    raw = rng.standard_normal(shape) * spread
    w = np.exp(raw - raw.max(axis=-1, keepdims=True))
    w = w / w.sum(axis=-1, keepdims=True)
    k = shape[-1]
    w = 1e-3 + (1 - 1e-3 * k) * w if k * 1e-3 < 1 else w
    return w * total


def knots_in(sizes, rm, dt):
    """The knots rm + [0, cumsum(sizes)] computed in dtype dt (as Rust and TFP do), as float64."""
    npd = NP_DTYPE[dt]
    z = np.zeros(sizes.shape[:-1] + (1,), npd)
    return (np.concatenate([z, np.cumsum(sizes.astype(npd), axis=-1)], -1) + npd(rm)).astype(np.float64)


def points(rng, rm, knots, n, avoid=None):
    """Points [m, *cols] for knots [*cols, K+1]: n uniform in the range, n/4 around it, every
    knot, and four far points. Where `avoid` (a [*cols] bool) is set, points within 1e-4 of the
    scale of the upper end are moved to the middle of the range."""
    cols = knots.shape[:-1]
    hi = knots[..., -1]
    span = hi - rm
    inside = rm + rng.uniform(size=(n,) + cols) * span
    around = (rm - 0.5 * span) + rng.uniform(size=(n // 4,) + cols) * 2 * span
    far = np.stack([np.full(cols, v, dtype=np.float64) for v in (-1e30, -1e6, 1e6, 1e30)])
    pts = np.concatenate([inside, around, np.moveaxis(knots, -1, 0), far], axis=0)
    if avoid is not None:
        scale = np.abs(knots).max()
        near = (np.abs(pts - hi) < 1e-4 * scale) & avoid
        pts = np.where(near, np.broadcast_to(rm + 0.5 * span, pts.shape), pts)
    return pts


def with_steps(v, h):
    """[v, v - h, v + h] along the first axis, for one-sided finite differences."""
    return np.concatenate([v, v - h, v + h], axis=0)


def split3(a):
    m = a.shape[0] // 3
    return a[:m], a[m:2 * m], a[2 * m:]


def slope(r, h):
    """The larger one-sided finite-difference slope of a reference evaluated on with_steps."""
    v, lo, hi = split3(r)
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(np.maximum(np.abs(v - lo), np.abs(hi - v)) / h, nan=0.0, posinf=0.0)


# ---------------------------------------------------------------------------------------------
# Comparison.

class Table:
    def __init__(self):
        self.rows = {}
        self.failures = []

    def add(self, ref, dt, q, case_id, rust, ref64, ref32, scale, slopes, delta):
        """One case: rust against ref64 with the tolerance of the module docstring."""
        key = (ref, dt, q)
        row = self.rows.setdefault(key, {"cases": 0, "points": 0, "abs": 0.0, "rel": 0.0, "ratio": 0.0})
        row["cases"] += 1
        row["points"] += rust.size
        if rust.shape != ref64.shape:
            self.failures.append(f"{ref} {dt} {q} case {case_id}: shape {rust.shape} vs {ref64.shape}")
            row["ratio"] = math.inf
            return
        d = np.abs(ref32 - ref64)
        d = d[np.isfinite(d)]
        e = float(d.max()) if d.size else 0.0
        eps = EPS[dt]
        tol = E_FACTOR * e * eps / EPS["float32"] + C * eps * (np.abs(ref64) + scale) + delta * slopes
        err = np.where(rust == ref64, 0.0, np.abs(rust - ref64))  # equal infinities count as equal
        bad = ~(err <= tol)
        rel = err / np.maximum(np.abs(ref64), scale)
        ratio = np.where(err == 0, 0.0, err / np.maximum(tol, 1e-300))
        row["abs"] = max(row["abs"], float(np.nanmax(err)))
        row["rel"] = max(row["rel"], float(np.nanmax(rel)))
        row["ratio"] = max(row["ratio"], float(np.nanmax(np.where(np.isnan(ratio), np.inf, ratio))))
        if bad.any():
            i = np.unravel_index(int(np.argmax(np.where(bad, np.nan_to_num(ratio, nan=np.inf), -1))), err.shape)
            self.failures.append(
                f"{ref} {dt} {q} case {case_id}: at {i} rust {rust[i]!r} ref {ref64[i]!r} "
                f"(err {err[i]:.3e}, tol {tol[i]:.3e}, E {e:.3e})")

    def print(self):
        head = (f"{'reference':<9} {'dtype':<8} {'quantity':<8} {'cases':>5} {'points':>7} {'max abs err':>12} "
                f"{'max rel err':>12} {'err/tol':>8}")
        print(head)
        print("-" * len(head))
        for (ref, dt, q), r in sorted(self.rows.items()):
            print(f"{ref:<9} {dt:<8} {q:<8} {r['cases']:>5} {r['points']:>7} {r['abs']:>12.3e} {r['rel']:>12.3e} "
                  f"{r['ratio']:>8.3f}")


def run_driver(driver, cases):
    out = subprocess.run([driver], input=json.dumps({"cases": cases}), capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"driver failed ({out.returncode}): {out.stderr[-3000:]}")
    results = json.loads(out.stdout)["results"]
    for r in results:
        if "error" in r:
            sys.exit(f"driver error in case {r['id']}: {r['error']}")
    return results


def tfp_part(args, rng, table):
    """Constrained form against TFP. Returns (seconds in the TFP worker, TFP ildj quirk points)."""
    groups, sent = [], []
    for g in range(args.tfp_groups):
        k = [1, 2, 3, 5, 8, 16][g % 6]
        batch = [(), (2, 3)][(g + g // 6) % 2]
        n_sub = args.tfp_cases_per_group
        rm = float(rng.uniform(-3, 1))
        total = rng.choice([0.5, 2.0, 6.0], size=(n_sub,) + (1,) * (len(batch) + 1))
        w = random_sizes(rng, (n_sub,) + batch + (k,), total)
        unequal = np.arange(n_sub) % 5 == 4  # sum(heights) != sum(widths) in a fifth of the cases
        factor = np.where(unequal, rng.choice([0.5, 1.7], size=n_sub), 1.0).reshape((n_sub,) + (1,) * (len(batch) + 1))
        h = random_sizes(rng, (n_sub,) + batch + (k,), total * factor)
        s = np.exp(rng.standard_normal((n_sub,) + batch + (k - 1,)) * 1.3)
        cols_unequal = np.broadcast_to(unequal.reshape((n_sub,) + (1,) * len(batch)), (n_sub,) + batch)
        for dt in ("float32", "float64"):
            rmd = float(rounded(rm, dt))
            wd, hd, sd = rounded(w, dt), rounded(h, dt), rounded(s, dt)
            kx, ky = knots_in(wd, rmd, dt), knots_in(hd, rmd, dt)
            # The map jumps at the upper end when the sums differ: rounding decides the side there.
            x = rounded(points(rng, rmd, kx, 24, cols_unequal), dt)
            y = rounded(points(rng, rmd, ky, 24, cols_unequal), dt)
            scale = float(max(np.abs(kx).max(), np.abs(ky).max(), 1.0))
            hstep = 1e-7 * scale
            gid = f"tfp-{g}-{dt}"
            sent.append({"id": gid, "kind": "bijector", "dtype": dt,
                         "bijector": {"type": "RationalQuadraticSpline", "bin_widths": to_json(wd),
                                      "bin_heights": to_json(hd), "knot_slopes": to_json(sd), "range_min": rmd},
                         "x": to_json(x), "y": to_json(y)})
            groups.append({"id": gid, "dt": dt, "k": k, "n_sub": n_sub, "rm": rmd, "x": x, "y": y,
                           "kx_hi": kx[..., -1], "ky_hi": ky[..., -1], "scale": scale, "hstep": hstep,
                           "worker": {"w": to_json(wd), "h": to_json(hd), "s": to_json(sd), "range_min": rmd,
                                      "x": to_json(with_steps(x, hstep)), "y": to_json(with_steps(y, hstep))}})
    t0 = time.time()
    proc = subprocess.run([args.tfp_python, os.path.abspath(__file__), "--tfp-worker"],
                          input=json.dumps({"groups": [g["worker"] for g in groups]}), capture_output=True, text=True,
                          env={**os.environ, "JAX_PLATFORMS": "cpu"})
    if proc.returncode != 0:
        sys.exit(f"TFP worker failed ({proc.returncode}): {proc.stderr[-3000:]}")
    refs = json.loads(proc.stdout)["results"]
    t_tfp = time.time() - t0
    rust = run_driver(args.driver, sent)
    if os.environ.get("PARITY_SPLINE_DUMP"):
        json.dump(sent, open(os.environ["PARITY_SPLINE_DUMP"] + ".tfp", "w"))
    quirk = 0
    for g, r, ref in zip(groups, rust, refs):
        dt, x, y = g["dt"], g["x"], g["y"]
        delta = 4 * (g["k"] + 2) * EPS[dt] * g["scale"]
        r64 = {q: from_json(ref["float64"][q]) for q in QUANTITIES}
        r32 = {q: split3(from_json(ref["float32"][q]))[0] for q in QUANTITIES}
        # TFP's ildj is -fldj(inverse(y)): where sum(heights) < sum(widths), a y above the
        # y range is its own inverse but lies inside the x range, and TFP returns -fldj(y) != 0.
        # The inverse map is the identity there, so its log-det is 0, as Rust gives.
        for part, v in zip(range(3), split3(with_steps(y, g["hstep"]))):
            m = (v >= g["ky_hi"]) & (v < g["kx_hi"])
            n = y.shape[0]
            sl = slice(part * n, (part + 1) * n)
            r64["ildj"][sl] = np.where(m, 0.0, r64["ildj"][sl])
            if part == 0:
                r32["ildj"] = np.where(m, 0.0, r32["ildj"])
                quirk += int(m.sum())
        for q in QUANTITIES:
            rq = from_json(r[q])
            sq = g["scale"] if q in ("forward", "inverse") else 1.0
            slopes = slope(r64[q], g["hstep"])
            ref64 = split3(r64[q])[0]
            for j in range(g["n_sub"]):
                table.add("TFP", dt, q, f"{g['id']}.{j}", rq[:, j], ref64[:, j], r32[q][:, j], sq, slopes[:, j], delta)
        # Exactly the identity with log-det 0 strictly outside the range (1e-3 of the scale away).
        margin = 1e-3 * g["scale"]
        for pts, hi, v, l, what in ((x, g["kx_hi"], r["forward"], r["fldj"], "forward"),
                                    (y, g["ky_hi"], r["inverse"], r["ildj"], "inverse")):
            v, l = from_json(v), from_json(l)
            out = (pts < g["rm"] - margin) | (pts > hi + margin)
            if not (np.array_equal(v[out], pts[out]) and np.all(l[out] == 0)):
                table.failures.append(f"Rust {dt} {what} group {g['id']}: not the identity with log-det 0 outside")
    return t_tfp, quirk


def nflows_part(args, rng, table):
    """Unconstrained form against nflows. Returns the seconds spent in nflows."""
    import torch
    from nflows.transforms.splines.rational_quadratic import unconstrained_rational_quadratic_spline as nf

    sent, meta = [], []
    for i in range(args.nflows_cases):
        k = [1, 2, 3, 5, 8, 16][i % 6]
        batch = [(), (3,), (2, 3)][(i // 6) % 3]
        bound = float(rng.choice([0.5, 1.0, 3.0, 5.0]))
        spread = float(rng.choice([1.0, 3.0, 30.0]))
        if i % 2 == 0:
            mins = (1e-3, 1e-3, 1e-3)
        else:
            mins = tuple(float(rng.choice(c)) for c in ([1e-4, 1e-2], [1e-4, 1e-2], [1e-4, 1e-1]))
            mins = tuple(m if j == 2 or m * k <= 1 else 1e-3 for j, m in enumerate(mins))
        raw = {n: rng.standard_normal(batch + (m,)) * spread for n, m in (("widths", k), ("heights", k), ("slopes", k - 1))}
        n = 24
        ends = np.stack([np.full(batch, v) for v in (-bound, bound, -1e6, 1e6)])
        x = np.concatenate([rng.uniform(-1.3 * bound, 1.3 * bound, size=(n,) + batch), ends], 0)
        y = np.concatenate([rng.uniform(-1.3 * bound, 1.3 * bound, size=(n,) + batch), ends], 0)
        for dt in ("float32", "float64"):
            r = {n_: rounded(v, dt) for n_, v in raw.items()}
            xd, yd = rounded(x, dt), rounded(y, dt)
            cid = f"nflows-{i}-{dt}"
            sent.append({"id": cid, "kind": "bijector", "dtype": dt,
                         "bijector": {"type": "RationalQuadraticSpline", "bound": bound,
                                      "min_bin_width": mins[0], "min_bin_height": mins[1], "min_slope": mins[2],
                                      "unconstrained": {n_: to_json(v) for n_, v in r.items()}},
                         "x": to_json(xd), "y": to_json(yd)})
            meta.append((cid, dt, k, r, xd, yd, bound, mins))
    rust = run_driver(args.driver, sent)
    if os.environ.get("PARITY_SPLINE_DUMP"):
        json.dump(sent, open(os.environ["PARITY_SPLINE_DUMP"], "w"))
    t0 = time.time()
    for (cid, dt, k, r, xd, yd, bound, mins), res in zip(meta, rust):
        def ref(values, inverse, tdt):
            shape = values.shape
            full = lambda a: torch.tensor(np.broadcast_to(a, shape + a.shape[-1:]).copy(), dtype=tdt)
            out, lad = nf(torch.tensor(values, dtype=tdt), full(r["widths"]), full(r["heights"]), full(r["slopes"]),
                          inverse=inverse, tails="linear", tail_bound=bound, min_bin_width=mins[0],
                          min_bin_height=mins[1], min_derivative=mins[2])
            return out.double().numpy(), lad.double().numpy()
        hstep = 1e-7 * bound
        delta = 4 * (k + 2) * EPS[dt] * bound
        for inverse, pts, names in ((False, xd, ("forward", "fldj")), (True, yd, ("inverse", "ildj"))):
            r64 = ref(with_steps(pts, hstep), inverse, torch.float64)
            try:
                r32 = ref(pts, inverse, torch.float32)
            except AssertionError:  # nflows asserts a non-negative discriminant, which float32 can miss
                r32 = tuple(split3(a)[0] for a in r64)
            # nflows' range includes its ends, where it evaluates the spline (with rounding: its
            # inverse subtracts nearly equal numbers there); the exact values are v and 0.
            ends = np.abs(pts) == bound
            exact = (pts, np.zeros_like(pts))
            for j, q in enumerate(names):
                sq = bound if j == 0 else 1.0
                ref64 = np.where(ends, exact[j], split3(r64[j])[0])
                ref32 = np.where(ends, exact[j], r32[j])
                table.add("nflows", dt, q, cid, from_json(res[q]), ref64, ref32, sq, slope(r64[j], hstep), delta)
    return time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--driver", default="target/debug/examples/json_driver")
    ap.add_argument("--tfp-python", default=os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "tch-distributions", "venv-tfp-jax", "bin", "python"))
    ap.add_argument("--tfp-groups", type=int, default=6, help="groups (one TFP call each) of K = 1, 2, 3, 5, 8, 16")
    ap.add_argument("--tfp-cases-per-group", type=int, default=16)
    ap.add_argument("--nflows-cases", type=int, default=72)
    ap.add_argument("--seed", type=int, default=20190604)
    ap.add_argument("--skip-tfp", action="store_true", help="compare with nflows only")
    ap.add_argument("--skip-nflows", action="store_true", help="compare with TFP only")
    ap.add_argument("--tfp-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.tfp_worker:
        return tfp_worker()
    rng = np.random.default_rng(args.seed)
    table = Table()
    t0 = time.time()
    if not args.skip_tfp:
        if not os.path.exists(args.tfp_python):
            sys.exit(f"no TFP-JAX Python at {args.tfp_python}: run scripts/setup_tfp_jax.sh (or pass --skip-tfp)")
        t_tfp, quirk = tfp_part(args, rng, table)
        print(f"TFP worker: {t_tfp:.1f} s; TFP's ildj quirk (y above the y range, inside the x range) at {quirk} points")
    if not args.skip_nflows:
        t_nf = nflows_part(args, rng, table)
        print(f"nflows reference: {t_nf:.1f} s")
    table.print()
    print(f"total {time.time() - t0:.1f} s")
    if table.failures:
        print(f"\n{len(table.failures)} failure(s):")
        for f in table.failures[:40]:
            print("  " + f)
        sys.exit(1)
    print("parity_spline: all checks passed")


if __name__ == "__main__":
    main()
