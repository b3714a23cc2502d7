#!/usr/bin/env python3
"""Parity of tch-distributions with PyTorch (torch.distributions), driven through JSON.

Generates randomized cases (parameters including extreme ones, batch and sample shapes, points
far in the tails), runs them through the Rust JSON driver (examples/json_driver.rs, format in
docs/json.md) and compares, in float32 and float64:

* bijector forward / inverse / log-det-Jacobians with torch.distributions.transforms;
* log_prob and the gradients of sum(log_prob) with respect to every raw variable with
  torch.distributions (Normal, Independent), the parameters rebuilt from the same raw values;
* batch/event shapes and the mean;
* sample moments: a z-test of the sample mean and variance of Rust's samples against the
  true moments, Bonferroni-corrected so the whole run has a false-failure rate of 1e-4
  (with the fixed seed the run is deterministic).

Tolerances. The reference is PyTorch in float64 evaluated on exactly the inputs Rust saw. A value
computed in dtype D as a short sum of rounded terms has an error below C * eps(D) * M, where M is
the sum of the magnitudes of the terms (for gradients: the sum over points of the magnitudes of
the per-point gradients, from the Jacobian). C is 16 here (observed worst cases are printed as
`max err/tol`, well below 1). Torch's own float64 softplus returns x for x > 20, an error of up
to exp(-x); that is added to the float64 tolerance of the softplus forward.

Prints each check with its case count and max abs / rel error; exits 1 on any mismatch.
"""
import argparse
import json
import math
import statistics
import subprocess
import sys

import numpy as np
import torch
import torch.distributions as td
import torch.distributions.transforms as tt

torch.set_default_dtype(torch.float64)
EPS = {"float32": float(np.finfo(np.float32).eps), "float64": float(np.finfo(np.float64).eps)}
TINY = {"float32": 1e-37, "float64": 1e-300}
C = 16.0
FALSE_FAILURE_RATE = 1e-4


def to_json(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def from_json(t):
    data = [float(v) if not isinstance(v, str) else float(v.replace("Infinity", "inf")) for v in t["data"]]
    return torch.tensor(data, dtype=torch.float64).reshape(t["shape"])


def as_dtype(a, dtype):
    """The values Rust sees: rounded to dtype, returned as float64 numpy."""
    return np.asarray(a, dtype=np.float32 if dtype == "float32" else np.float64).astype(np.float64)


class Report:
    def __init__(self):
        self.checks = {}
        self.failures = []

    def add(self, name, actual, expected, tol, case_id):
        actual = torch.as_tensor(actual, dtype=torch.float64)
        expected = torch.as_tensor(expected, dtype=torch.float64)
        tol = torch.as_tensor(tol, dtype=torch.float64).expand_as(expected)
        c = self.checks.setdefault(name, {"cases": 0, "values": 0, "abs": 0.0, "rel": 0.0, "ratio": 0.0})
        c["cases"] += 1
        if actual.shape != expected.shape:
            self.failures.append(f"{name} case {case_id}: shape {list(actual.shape)} != {list(expected.shape)}")
            return
        c["values"] += expected.numel()
        if expected.numel() == 0:
            return
        err = (actual - expected).abs()
        err = torch.where(actual == expected, torch.zeros_like(err), err)  # inf == inf
        bad = ~(err <= tol)
        rel = err / expected.abs().clamp_min(1e-300)
        c["abs"] = max(c["abs"], float(err.max()))
        c["rel"] = max(c["rel"], float(rel.max()))
        c["ratio"] = max(c["ratio"], float((err / tol.clamp_min(1e-300)).max()))
        if bool(bad.any()):
            i = int(torch.nonzero(bad.reshape(-1))[0])
            self.failures.append(
                f"{name} case {case_id}: rust {float(actual.reshape(-1)[i])!r} vs torch "
                f"{float(expected.reshape(-1)[i])!r} (tol {float(tol.reshape(-1)[i]):.3g})")

    def flag(self, name, ok, msg, case_id):
        c = self.checks.setdefault(name, {"cases": 0, "values": 0, "abs": 0.0, "rel": 0.0, "ratio": 0.0})
        c["cases"] += 1
        c["values"] += 1
        if not ok:
            self.failures.append(f"{name} case {case_id}: {msg}")

    def print(self):
        print(f"{'check':52} {'cases':>6} {'values':>8} {'max abs err':>12} {'max rel err':>12} {'max err/tol':>11}")
        for name, c in sorted(self.checks.items()):
            print(f"{name:52} {c['cases']:6d} {c['values']:8d} {c['abs']:12.3e} {c['rel']:12.3e} {c['ratio']:11.3e}")


# ---------------------------------------------------------------- bijectors

TORCH_BIJECTORS = {
    "Exp": lambda: tt.ExpTransform(),
    "Softplus": lambda: tt.SoftplusTransform(),
    "Identity": lambda: tt.identity_transform,
}


def bijector_cases(rng):
    cases = []
    for name in TORCH_BIJECTORS:
        for dtype in ("float32", "float64"):
            for rep in range(4):
                shape = [int(s) for s in rng.integers(1, 5, size=rng.integers(0, 3))]
                n = int(np.prod(shape)) if shape else 1
                lim = 80.0 if name == "Exp" else 100.0
                x = rng.normal(size=n) * rng.choice([1.0, 10.0, 50.0])
                x = np.clip(x, -lim, lim)
                y = 10.0 ** rng.uniform(-7, 4, size=n)
                if name == "Identity":
                    y = y * rng.choice([-1.0, 1.0], size=n)
                if rep == 0:  # the documented ranges, end points included
                    x = np.linspace(-lim, lim, 41)
                    y = np.logspace(-7, 4, 45)
                    shape = None
                x, y = (v.reshape(shape) if shape is not None else v for v in (x, y))
                cases.append({"kind": "bijector", "dtype": dtype, "bijector": name,
                              "x": to_json(as_dtype(x, dtype)), "y": to_json(as_dtype(y, dtype))})
    return cases


def check_bijector(report, case, res):
    dtype, name = case["dtype"], case["bijector"]
    eps = EPS[dtype]
    t = TORCH_BIJECTORS[name]()
    x, y = from_json(case["x"]), from_json(case["y"])
    fx = t(x)
    iy = t.inv(y)
    fldj = t.log_abs_det_jacobian(x, fx)
    ildj = -t.log_abs_det_jacobian(iy, y)
    tol_f = C * eps * fx.abs() + TINY[dtype]
    tol_fldj = C * eps * fldj.abs() + TINY[dtype]
    if name == "Softplus" and dtype == "float64":
        # torch's softplus(x) is x above 20 (fldj = -softplus(-x) likewise below -20)
        tol_f = tol_f + torch.where(x > 20, torch.exp(-x.clamp_min(20)), torch.zeros_like(x))
        tol_fldj = tol_fldj + torch.where(x < -20, torch.exp(x.clamp_max(-20)), torch.zeros_like(x))
    m_inv = iy.abs()
    if name == "Softplus":  # y + log(-expm1(-y)): the two terms may cancel
        m_inv = y.abs() + torch.log(-torch.expm1(-y)).abs()
    tag = f"bijector {name} {dtype}"
    report.add(f"{tag} forward", from_json(res["forward"]), fx, tol_f, case["id"])
    report.add(f"{tag} inverse", from_json(res["inverse"]), iy, C * eps * m_inv + TINY[dtype], case["id"])
    report.add(f"{tag} forward_log_det_jacobian", from_json(res["fldj"]), fldj, tol_fldj, case["id"])
    report.add(f"{tag} inverse_log_det_jacobian", from_json(res["ildj"]), ildj, C * eps * ildj.abs() + TINY[dtype], case["id"])


# ---------------------------------------------------------------- distributions

def random_shape(rng, max_rank):
    return [int(s) for s in rng.integers(1, 4, size=rng.integers(0, max_rank + 1))]


def random_parameter(rng, name, shape, dtype, positive):
    """A JSON parameter of the given shape; positive ones span 1e-3..1e3."""
    if positive:
        value = 10.0 ** rng.uniform(-3, 3, size=shape)
        kind = rng.choice(["Softplus", "Exp", "variable", "constant"], p=[0.4, 0.3, 0.2, 0.1])
    else:
        value = rng.normal(size=shape) * rng.choice([1.0, 1e3])
        kind = rng.choice(["variable", "constant"], p=[0.8, 0.2])
    v = to_json(as_dtype(value, dtype))
    if kind == "constant":
        return {"constant": v}, value
    if kind == "variable":
        return {"variable": v, "name": name}, value
    return {"transformed": v, "bijector": str(kind), "name": name}, value


def distribution_cases(rng):
    cases = []
    for dtype in ("float32", "float64"):
        for rep in range(40):
            batch = random_shape(rng, 3)
            # scale sometimes has size-1 / fewer dims, to exercise broadcasting
            scale_shape = [1 if rng.random() < 0.3 else s for s in batch][int(rng.integers(0, len(batch) + 1)):]
            loc_spec, _ = random_parameter(rng, "loc", batch, dtype, positive=False)
            scale_spec, _ = random_parameter(rng, "scale", scale_shape, dtype, positive=True)
            dist = {"type": "Normal", "loc": loc_spec, "scale": scale_spec}
            ndims = int(rng.integers(0, len(batch) + 1)) if rng.random() < 0.8 else None
            if ndims is not None:
                dist = {"type": "Independent", "reinterpreted_batch_ndims": ndims, "distribution": dist,
                        "name": f"case_{rep}"}
            sample_dims = random_shape(rng, 2)
            x_shape = sample_dims + batch
            cases.append({"kind": "distribution", "dtype": dtype, "distribution": dist,
                          "x_shape": x_shape, "sample_shape": [4000], "seed": rep})
    return cases


def accurate_softplus(r):
    """log(1 + exp(r)) to float64 rounding (torch's softplus returns r above 20)."""
    return torch.logaddexp(r, torch.zeros_like(r))


def torch_distribution(spec, raw, as_leaves):
    """The torch.distributions counterpart of a JSON spec, parameters from Rust's raw values."""
    def param(p, field):
        if "constant" in p:
            return from_json(p["constant"])
        name = p.get("name", field)
        r = as_leaves[name]
        if "variable" in p:
            return r
        return {"Exp": torch.exp, "Softplus": accurate_softplus}[p["bijector"]](r)

    if spec["type"] == "Normal":
        return td.Normal(param(spec["loc"], "loc"), param(spec["scale"], "scale"), validate_args=False)
    base = torch_distribution(spec["distribution"], raw, as_leaves)
    return td.Independent(base, spec["reinterpreted_batch_ndims"], validate_args=False)


def normal_parts(d):
    if isinstance(d, td.Independent):
        return d.base_dist, d.reinterpreted_batch_ndims
    return d, 0


def fill_x(rng, case, res):
    """Points for log_prob: loc + scale * z * {1, 10, 1e3}, so some lie far in the tails."""
    spec = case["distribution"]
    raw = {k: from_json(v) for k, v in res["variables"].items()}
    d = torch_distribution(spec, raw, raw)
    normal, _ = normal_parts(d)
    shape = case["x_shape"]
    z = torch.tensor(rng.normal(size=shape)) * torch.tensor(rng.choice([1.0, 10.0, 1e3], size=shape))
    x = normal.loc.detach() + normal.scale.detach() * z
    return as_dtype(x.numpy(), case["dtype"])


def check_distribution(report, case, res):
    dtype = case["dtype"]
    eps = EPS[dtype]
    spec = case["distribution"]
    tag = f"{spec['type']}(Normal) {dtype}" if spec["type"] == "Independent" else f"Normal {dtype}"
    raw = {k: from_json(v).requires_grad_(True) for k, v in res["variables"].items()}
    d = torch_distribution(spec, raw, raw)
    report.flag(f"{tag} batch/event shapes",
                res["batch_shape"] == list(d.batch_shape) and res["event_shape"] == list(d.event_shape),
                f"rust {res['batch_shape']}/{res['event_shape']} vs torch {list(d.batch_shape)}/{list(d.event_shape)}",
                case["id"])
    mean = d.mean.detach()
    report.add(f"{tag} mean", from_json(res["mean"]), mean, C * eps * mean.abs() + TINY[dtype], case["id"])

    x = from_json(case["x"])
    lp = d.log_prob(x)
    normal, ndims = normal_parts(d)
    z = (x - normal.loc) / normal.scale
    terms = 0.5 * z * z + normal.scale.log().abs() + 1.0
    m_lp = terms.sum(tuple(range(-ndims, 0))) if ndims else terms
    report.add(f"{tag} log_prob", from_json(res["log_prob"]), lp.detach(), C * eps * m_lp.detach() + TINY[dtype],
               case["id"])
    if raw:
        names = list(raw)
        grads = torch.autograd.grad(lp.sum(), [raw[n] for n in names])
        for n, g in zip(names, grads):
            def per_point(r, n=n):
                leaves = dict(raw)
                leaves[n] = r
                return torch_distribution(spec, raw, leaves).log_prob(x).reshape(-1)
            jac = torch.autograd.functional.jacobian(per_point, raw[n].detach())
            m_g = jac.abs().sum(0)
            report.add(f"{tag} grad sum(log_prob) wrt {n}", from_json(res["grads"][n]), g,
                       C * eps * m_g + TINY[dtype], case["id"])

    # Sample moments: z-tests of mean and variance per batch/event element.
    n = res["sample_count"]
    mu = normal.loc.detach().expand(normal.batch_shape)
    sigma = normal.scale.detach().expand(normal.batch_shape)
    s_mean, s_var = from_json(res["sample_mean"]), from_json(res["sample_var"])
    report.flag(f"{tag} sample shape", res["sample_shape_out"] == [n] + list(d.batch_shape) + list(d.event_shape),
                f"{res['sample_shape_out']}", case["id"])
    return (s_mean - mu) / (sigma / math.sqrt(n)), (s_var - sigma ** 2) / (sigma ** 2 * math.sqrt(2.0 / (n - 1)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--driver", default="target/debug/examples/json_driver")
    ap.add_argument("--seed", type=int, default=20261125)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    cases = bijector_cases(rng) + distribution_cases(rng)
    for i, c in enumerate(cases):
        c["id"] = i
        if c["kind"] == "distribution":
            c["x"] = {"shape": [0], "data": []}  # filled after the raw values are known
    # First pass gives the raw variables (what Rust made of the initial values); the points
    # are then drawn around the distribution, and the second pass evaluates them.
    first = run_driver(args.driver, [dict(c, x=None) if c["kind"] == "distribution" else c for c in cases])
    for c, r in zip(cases, first):
        if "error" in r:
            sys.exit(f"case {c['id']} failed in the driver: {r['error']}\n{json.dumps(c)[:2000]}")
        if c["kind"] == "distribution":
            c["x"] = to_json(fill_x(rng, c, r))
    results = run_driver(args.driver, cases)

    report = Report()
    zs_mean, zs_var, tags = [], [], []
    for c, r in zip(cases, results):
        if "error" in r:
            report.failures.append(f"case {c['id']}: driver error {r['error']}")
            continue
        if c["kind"] == "bijector":
            check_bijector(report, c, r)
        else:
            zm, zv = check_distribution(report, c, r)
            zs_mean.append(zm.reshape(-1))
            zs_var.append(zv.reshape(-1))
    zm, zv = torch.cat(zs_mean), torch.cat(zs_var)
    n_tests = zm.numel() + zv.numel()
    crit = statistics.NormalDist().inv_cdf(1 - FALSE_FAILURE_RATE / (2 * n_tests))
    for name, zz in (("sample mean z-score", zm), ("sample variance z-score", zv)):
        worst = float(zz.abs().max())
        report.checks[name] = {"cases": sum(c["kind"] == "distribution" for c in cases), "values": zz.numel(),
                               "abs": worst, "rel": float("nan"), "ratio": worst / crit}
        if not worst < crit:
            report.failures.append(f"{name}: max |z| {worst:.2f} >= {crit:.2f}")
    print(f"parity: {len(cases)} cases ({sum(c['kind'] == 'bijector' for c in cases)} bijector, "
          f"{sum(c['kind'] == 'distribution' for c in cases)} distribution), seed {args.seed}; "
          f"moment tests: {n_tests} z-scores against |z| < {crit:.2f} (false-failure rate {FALSE_FAILURE_RATE:g} in all)")
    report.print()
    if report.failures:
        print(f"\nFAILED: {len(report.failures)} mismatch(es)")
        for f in report.failures[:40]:
            print("  " + f)
        sys.exit(1)
    print("\nparity: all checks passed")


def run_driver(driver, cases):
    cases = [{k: v for k, v in c.items() if v is not None and k != "x_shape"} for c in cases]
    out = subprocess.run([driver], input=json.dumps({"cases": cases}), capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"driver failed ({out.returncode}): {out.stderr[-3000:]}")
    return json.loads(out.stdout)["results"]


if __name__ == "__main__":
    main()
