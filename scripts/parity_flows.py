#!/usr/bin/env python3
"""Parity of the flows of tch-distributions with TensorFlow Probability (JAX substrate).

Run with the TFP-JAX environment of scripts/setup_tfp_jax.sh:

    $TFP_JAX_VENV/bin/python scripts/parity_flows.py --driver target/debug/examples/json_driver

Generates random flows and inputs, runs them all through the Rust JSON driver in one call
(examples/json_driver.rs, format in docs/json.md: each case sets the network weights with
"set_variables" and returns "variables" and "grads"), then rebuilds each flow in TFP from the
variables Rust returned and compares, in float32 and float64, `forward(x)`, `inverse(y)`, both
log-det-Jacobians and the gradients of the sum of each with respect to every weight and bias
(`jax.jacrev`; the gradient of the sum is the sum of the Jacobian's rows).

Flows (TFP's directions: a MAF's forward is the sequential, sampling direction):

* `MaskedAutoregressiveFlow`: `tfb.MaskedAutoregressiveFlow(shift_and_log_scale_fn=f,
  unroll_loop=True)`, `f` a masked MLP (MADE) whose masks are TFP's own
  `_make_dense_autoregressive_masks(params=2, event_size, hidden_units, input_order)`
  transposed to the weights' `[out, in]` layout, output `[..., D, 2]`, shift `[..., 0]`, log-scale
  `5 tanh(raw / 5)` of `[..., 1]` (the library's soft clip). Event sizes 1..6 (1: hidden units of
  degree 0, the output is a constant), 1-2 hidden layers of 4..16 units, relu / tanh / linear,
  input orders left-to-right, right-to-left and explicit permutations.
* IAF: `tfb.Invert` of the above.
* `RealNVP`: `tfb.RealNVP(num_masked=m, shift_and_log_scale_fn=f)`, `f` a dense MLP from the
  `|m|` masked coordinates to `[..., D - |m|, 2]` (reshaped; shift `[..., 0]`, clipped log-scale
  `[..., 1]`: the library's interleaved layout; TFP's own `real_nvp_default_template` splits its
  last layer in halves instead, shifts first, so its weights map to the library's by permuting
  the last layer's rows). Event sizes 2..6, `m` positive and negative (TFP's `num_masked < 0`
  masks the last `|m|` coordinates, the library's convention too; TFP also accepts
  `num_masked = 0`, which the library rejects).
* `Chain([MAF, Permute, RealNVP])` (TFP order: RealNVP applied first).

Batch shapes [], [3], [2, 3]. Weights are drawn here (normal, scaled by 1/sqrt(fan_in) and by a
factor up to 3 so that some log-scales reach the clip's curved part) and set in Rust; the masked
entries of MADE weights are set too, so that a mask that is not applied shows.

The reference's programs are jitted, one per structure and dtype (the float32 and float64 cases of
a structure share it), with XLA's optimisations mostly off and its older CPU runtime: both halve
the compile time that dominates the run and change nothing about the precision of what is
computed.

Tolerances. `ref64` is TFP in float64 on exactly the values Rust saw (inputs and variables
rounded to the case's dtype); `ref32` the same in float32. With `E` the largest |ref32 - ref64|
of the quantity in the case (the reference's own float32 error) and `M` a magnitude, a result
of dtype D passes when

    |rust - ref64| <= 4 E eps(D) / eps(float32) + R(D) M + tiny,

`R(float64) = 1e-9` (relative to the magnitude; a float32 leak into a float64 path would be
~1e-7) and `R(float32) = C eps(float32)` with C = 16 for values and 256 for gradients (as in
scripts/parity.py). `M` is |ref64| for values and, for gradients, the sum over the quantity's
elements of the absolute per-element gradients (from the Jacobian), since they may cancel in
the sum.

Prints one row per check (cases, values, max abs err, max rel err, largest err/tol); exits 1 on
any mismatch, on a driver error or on a variable whose name or shape is not the expected one.
"""
import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# Compilation dominates the run (one small program per flow structure and dtype): XLA's older CPU
# runtime compiles these twice as fast, and so does turning off most of XLA's optimisations
# (below); neither changes what is computed in which precision.
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_use_thunk_runtime=false").strip()
import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_disable_most_optimizations", True)
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402
import numpy as np  # noqa: E402
from tensorflow_probability.substrates import jax as tfp  # noqa: E402
from tensorflow_probability.substrates.jax.bijectors import masked_autoregressive as ma  # noqa: E402

tfb = tfp.bijectors

EPS = {"float32": float(np.finfo(np.float32).eps), "float64": float(np.finfo(np.float64).eps)}
NP_DTYPE = {"float32": np.float32, "float64": np.float64}
TINY = {"float32": 1e-30, "float64": 1e-300}
C_VALUE, C_GRAD = 16.0, 256.0
R64 = 1e-9
LOG_SCALE_BOUND = 5.0
# (relu as a select: its derivative at 0 is 0, as in Keras and libtorch; lax.max's would be 1/2)
ACTIVATIONS = {"relu": lambda h: lax.select(lax.gt(h, lax.full_like(h, 0)), h, lax.full_like(h, 0)),
               "tanh": lax.tanh, "linear": lambda h: h}
QUANTITIES = (("forward", "x"), ("fldj", "x"), ("inverse", "y"), ("ildj", "y"))


def to_json(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def from_json(t):
    data = [float(v.replace("Infinity", "inf")) if isinstance(v, str) else float(v) for v in t["data"]]
    return np.array(data, dtype=np.float64).reshape(t["shape"])


def rounded(a, dtype):
    """The values Rust sees: rounded to dtype, as float64."""
    return np.asarray(a, dtype=NP_DTYPE[dtype]).astype(np.float64)


# ---------------------------------------------------------------- case generation
# A layer description ("layer") is what both sides need: the JSON for Rust and the structure
# for the TFP rebuild. Variable names are those of the library (`layer{k}.weight` [out, in],
# `layer{k}.bias`), under the Chain member's index.

ORDERS = ("left-to-right", "right-to-left", "explicit")


def made_layer(rng, event_size, i):
    """The i-th MADE layer: input orders cycle (left-to-right, right-to-left, explicit) and so do
    activations (shifted), so that a few structures cover every pair."""
    hidden = [int(rng.integers(4, 17)) for _ in range(1 + i % 2)]
    kind = ORDERS[i % 3]
    order = [int(v) for v in rng.permutation(event_size) + 1] if kind == "explicit" else kind
    act = list(ACTIVATIONS)[(i + i // 3) % 3]
    sizes = [event_size] + hidden + [2 * event_size]
    return {"type": "MaskedAutoregressiveFlow", "event_size": event_size, "hidden_units": hidden,
            "input_order": order, "activation": act, "sizes": sizes,
            "spec": {"type": "MaskedAutoregressiveFlow", "transform": "affine",
                     "network": {"event_size": event_size, "hidden_units": hidden, "activation": act,
                                 "input_order": order, "zero_init_last": False}}}


def real_nvp_layer(rng, event_size, i):
    """The i-th coupling layer: num_masked alternates in sign, |m| random in [1, D - 1]."""
    m = int(rng.integers(1, event_size)) * (1 if i % 2 == 0 else -1)
    hidden = [int(rng.integers(4, 17)) for _ in range(1 + (i // 2) % 2)]
    act = list(ACTIVATIONS)[(i + i // 3) % 3]
    sizes = [abs(m)] + hidden + [2 * (event_size - abs(m))]
    return {"type": "RealNVP", "event_size": event_size, "num_masked": m, "hidden_units": hidden,
            "activation": act, "sizes": sizes,
            "spec": {"type": "RealNVP", "event_size": event_size, "num_masked": m,
                     "network": {"hidden_units": hidden, "activation": act, "zero_init_last": False}}}


def draw_weights(rng, layer, prefix, dtype):
    """Random values of the layer's variables (name -> array), rounded to dtype."""
    gain = float(rng.choice([0.5, 1.0, 2.0, 3.0]))
    out = {}
    sizes = layer["sizes"]
    for k in range(len(sizes) - 1):
        fan_in, fan_out = sizes[k], sizes[k + 1]
        g = gain if k == len(sizes) - 2 else 1.0
        out[f"{prefix}layer{k}.weight"] = rounded(rng.normal(size=(fan_out, fan_in)) * g / np.sqrt(fan_in), dtype)
        out[f"{prefix}layer{k}.bias"] = rounded(rng.normal(size=(fan_out,)) * 0.5 * g, dtype)
    return out


def make_structures(rng, per_family):
    """(family, layers) of the flows: MAF event sizes 1..6, IAF 1..6, RealNVP 2..6 with both signs of
    num_masked, Chain(MAF, Permute, RealNVP) 2..6."""
    out, made, nvp = [], iter(range(10**6)), iter(range(10**6))
    for i in range(per_family):
        out.append(("MAF", [made_layer(rng, 1 + i % 6, next(made))]))
        out.append(("IAF", [made_layer(rng, 1 + (i + 3) % 6, next(made))]))
        out.append(("RealNVP", [real_nvp_layer(rng, 2 + i % 5, next(nvp))]))
    for i in range(max(2, per_family // 2)):
        d = 2 + (i + 2) % 5
        out.append(("Chain(MAF,Permute,RealNVP)",
                    [made_layer(rng, d, next(made)),
                     {"type": "Permute", "permutation": [int(v) for v in rng.permutation(d)]},
                     real_nvp_layer(rng, d, next(nvp))]))
    return out


def make_cases(rng, per_family):
    """One case per structure and dtype (the two share the structure and the batch shape, and so
    the reference's compiled functions; weights and inputs are drawn for each)."""
    cases = []
    batches = [[], [3], [2, 3]]
    for s, (family, layers) in enumerate(make_structures(rng, per_family)):
        batch = batches[s % 3]
        d = layers[-1]["event_size"]
        chain = len(layers) > 1
        if chain:
            spec = {"type": "Chain", "bijectors": [l["spec"] if "spec" in l else
                                                   {"type": "Permute", "permutation": l["permutation"]}
                                                   for l in layers]}
        else:
            spec = layers[0]["spec"]
        if family == "IAF":
            spec = {"type": "Invert", "bijector": spec}
        for dtype in ("float32", "float64"):
            weights = {}
            for i, layer in enumerate(layers):
                if layer["type"] != "Permute":
                    weights.update(draw_weights(rng, layer, f"{i}." if chain else "", dtype))
            x = rounded(rng.normal(size=batch + [d]) * float(rng.choice([0.5, 1.0, 2.0])), dtype)
            y = rounded(rng.normal(size=batch + [d]) * float(rng.choice([0.5, 1.0, 2.0])), dtype)
            cases.append({"id": len(cases), "structure": s, "family": family, "dtype": dtype, "layers": layers,
                          "batch": batch, "event_size": d, "weights": weights, "x": x, "y": y, "spec": spec})
    return cases


def driver_request(cases):
    return {"cases": [{"id": c["id"], "kind": "bijector", "dtype": c["dtype"], "bijector": c["spec"],
                       "x": to_json(c["x"]), "y": to_json(c["y"]),
                       "set_variables": {k: to_json(v) for k, v in c["weights"].items()}} for c in cases]}


# ---------------------------------------------------------------- the TFP reference

def soft_clip(raw):
    b = lax.full_like(raw, LOG_SCALE_BOUND)
    return lax.mul(b, lax.tanh(lax.div(raw, b)))


def shift_and_log_scale(out, n):
    """`[..., 2 n]` (unit `2 i + p` = parameter p of element i) -> (shift, clipped log-scale), each
    `[..., n]`."""
    out = lax.reshape(out, tuple(out.shape[:-1]) + (n, 2))
    last = out.ndim - 1
    return (lax.squeeze(lax.slice_in_dim(out, 0, 1, axis=last), (last,)),
            soft_clip(lax.squeeze(lax.slice_in_dim(out, 1, 2, axis=last), (last,))))


def dense_stack(params, prefix, n_layers, activation, h, masks=None):
    """h -> act(h W_0ᵀ + b_0) -> ... -> h W_Lᵀ + b_L, W [out, in] (times its mask)."""
    for k in range(n_layers):
        w = params[f"{prefix}layer{k}.weight"]
        if masks is not None:
            w = lax.mul(w, masks[k])
        # (lax rather than jnp operators: each jnp operator is a small jitted function of its own,
        # traced anew for every shape, which doubled the time of the whole run)
        h = lax.dot_general(h, w, (((h.ndim - 1,), (1,)), ((), ())))
        h = lax.add(h, lax.broadcast_in_dim(params[f"{prefix}layer{k}.bias"], h.shape, (h.ndim - 1,)))
        if k < n_layers - 1:
            h = ACTIVATIONS[activation](h)
    return h


def tfp_masks(layer, dtype):
    """TFP's MADE masks ([in, out]) transposed to the weights' [out, in]."""
    masks = ma._make_dense_autoregressive_masks(params=2, event_size=layer["event_size"],
                                                hidden_units=layer["hidden_units"],
                                                input_order=layer["input_order"])
    return [jnp.asarray(np.asarray(m, dtype=NP_DTYPE[dtype]).T) for m in masks]


def tfp_layer(layer, params, prefix, dtype):
    if layer["type"] == "Permute":
        return tfb.Permute(permutation=layer["permutation"])
    n_layers = len(layer["sizes"]) - 1
    if layer["type"] == "MaskedAutoregressiveFlow":
        masks = tfp_masks(layer, dtype)
        d = layer["event_size"]

        def made_fn(y, **_):
            out = dense_stack(params, prefix, n_layers, layer["activation"], y, masks)
            return shift_and_log_scale(out, d)

        return tfb.MaskedAutoregressiveFlow(shift_and_log_scale_fn=made_fn, unroll_loop=True)
    k = layer["event_size"] - abs(layer["num_masked"])

    def coupling_fn(x0, output_units, **_):
        assert output_units == k, (output_units, k)
        out = dense_stack(params, prefix, n_layers, layer["activation"], x0)
        return shift_and_log_scale(out, k)

    return tfb.RealNVP(num_masked=layer["num_masked"], shift_and_log_scale_fn=coupling_fn)


def tfp_bijector(case, params, dtype):
    layers = case["layers"]
    chain = len(layers) > 1
    members = [tfp_layer(l, params, f"{i}." if chain else "", dtype) for i, l in enumerate(layers)]
    b = tfb.Chain(members) if chain else members[0]
    return tfb.Invert(b) if case["family"] == "IAF" else b


_COMPILED = {}


def reference_fn(case, dtype):
    """The jitted `(params, x, y) -> ((J_x, (forward, fldj)), (J_y, (inverse, ildj)))` of the case's
    structure in dtype, J the Jacobians of the flattened pairs with respect to every variable
    (one compilation per structure and dtype, shared by the float32 and float64 cases)."""
    key = (case["structure"], dtype)
    if key not in _COMPILED:

        def flat(values):
            # (TFP's shapes as they come: a wrong one fails the comparison)
            return lax.concatenate([lax.reshape(t, (t.size,)) for t in values], 0), values

        def fx(p, x):
            b = tfp_bijector(case, p, dtype)
            return flat((b.forward(x), b.forward_log_det_jacobian(x, event_ndims=1)))

        def fy(p, y):
            b = tfp_bijector(case, p, dtype)
            return flat((b.inverse(y), b.inverse_log_det_jacobian(y, event_ndims=1)))

        _COMPILED[key] = jax.jit(lambda p, x, y: (jax.jacrev(fx, has_aux=True)(p, x),
                                                  jax.jacrev(fy, has_aux=True)(p, y)))
    return _COMPILED[key]


def reference(case, variables, dtype):
    """{quantity: (value, {var: grad of sum}, {var: sum of |per-element grad|})} in dtype, on the
    variables and inputs of the case rounded to dtype."""
    npd = NP_DTYPE[dtype]
    params = {k: jnp.asarray(v.astype(npd)) for k, v in variables.items()}
    x, y = jnp.asarray(case["x"].astype(npd)), jnp.asarray(case["y"].astype(npd))
    out = {}
    for names, (jac, values) in zip((("forward", "fldj"), ("inverse", "ildj")),
                                    reference_fn(case, dtype)(params, x, y)):
        n0 = values[0].size
        jac = {v: np.asarray(j, dtype=np.float64) for v, j in jac.items()}  # (numpy: no eager jax ops)
        for i, name in enumerate(names):
            sl = slice(0, n0) if i == 0 else slice(n0, None)
            grads = {v: jac[v][sl].sum(0) for v in params}
            mags = {v: np.abs(jac[v][sl]).sum(0) for v in params}
            out[name] = (np.asarray(values[i], dtype=np.float64), grads, mags)
    return out


def expected_variables(case):
    names = {}
    chain = len(case["layers"]) > 1
    for i, layer in enumerate(case["layers"]):
        if layer["type"] == "Permute":
            continue
        prefix = f"{i}." if chain else ""
        s = layer["sizes"]
        for k in range(len(s) - 1):
            names[f"{prefix}layer{k}.weight"] = (s[k + 1], s[k])
            names[f"{prefix}layer{k}.bias"] = (s[k + 1],)
    return names


# ---------------------------------------------------------------- comparison

class Report:
    def __init__(self):
        self.checks = {}
        self.failures = []

    def add(self, name, actual, expected, tol, case_id):
        c = self.checks.setdefault(name, {"cases": set(), "values": 0, "abs": 0.0, "rel": 0.0, "ratio": 0.0})
        c["cases"].add(case_id)
        actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
        if actual.shape != expected.shape:
            self.failures.append(f"{name} case {case_id}: shape {list(actual.shape)} != {list(expected.shape)}")
            return
        c["values"] += expected.size
        if expected.size == 0:
            return
        tol = np.broadcast_to(tol, expected.shape)
        err = np.abs(actual - expected)
        bad = ~(err <= tol)
        c["abs"] = max(c["abs"], float(err.max()))
        c["rel"] = max(c["rel"], float((err / np.maximum(np.abs(expected), 1e-300)).max()))
        c["ratio"] = max(c["ratio"], float((err / np.maximum(tol, 1e-300)).max()))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            self.failures.append(f"{name} case {case_id}: rust {actual.reshape(-1)[i]!r} vs tfp "
                                 f"{expected.reshape(-1)[i]!r} (tol {tol.reshape(-1)[i]:.3g}, at flat index {i})")

    def fail(self, msg):
        self.failures.append(msg)

    def print(self):
        print(f"{'check':52} {'cases':>5} {'values':>7} {'max abs err':>11} {'max rel err':>11} {'err/tol':>9}")
        for name, c in sorted(self.checks.items()):
            print(f"{name:52} {len(c['cases']):5d} {c['values']:7d} {c['abs']:11.3e} {c['rel']:11.3e} {c['ratio']:9.3e}")


def tolerance(ref64, ref32, dtype, roundings, magnitude):
    """4 E eps(D)/eps(f32) + R(D) M + tiny (see the module docstring)."""
    diff = np.abs(ref32 - ref64)
    finite = diff[np.isfinite(diff)]
    e = float(finite.max()) if finite.size else 0.0
    r = R64 if dtype == "float64" else roundings * EPS["float32"]
    return 4.0 * e * EPS[dtype] / EPS["float32"] + r * magnitude + TINY[dtype]


def check_case(report, case, res):
    tag = f"{case['family']} {case['dtype']}"
    if "error" in res:
        report.fail(f"{tag} case {case['id']}: driver error: {res['error']}")
        return
    variables = {k: from_json(v) for k, v in res["variables"].items()}
    want = expected_variables(case)
    got = {k: tuple(v.shape) for k, v in variables.items()}
    if got != want:
        report.fail(f"{tag} case {case['id']}: variables {got} != expected {want}")
        return
    for k, v in case["weights"].items():
        if not np.array_equal(variables[k], v):
            report.fail(f"{tag} case {case['id']}: variable {k} was not set to the requested value")
    r64, r32 = reference(case, variables, "float64"), reference(case, variables, "float32")
    for key, _ in QUANTITIES:
        v64, g64, m64 = r64[key]
        v32, g32, _ = r32[key]
        report.add(f"{tag} {key}", from_json(res[key]), v64,
                   tolerance(v64, v32, case["dtype"], C_VALUE, np.abs(v64)), case["id"])
        for name in g64:
            rust = from_json(res["grads"][key][name])
            tol = tolerance(g64[name], g32[name], case["dtype"], C_GRAD, m64[name])
            report.add(f"{tag} d{key}/dweights", rust, g64[name], tol, case["id"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--driver", default="target/debug/examples/json_driver")
    ap.add_argument("--seed", type=int, default=20250)
    ap.add_argument("--per-family", type=int, default=6, help="flow structures per family (each run in float32 and float64)")
    args = ap.parse_args()
    start = time.time()
    rng = np.random.default_rng(args.seed)
    cases = make_cases(rng, args.per_family)
    proc = subprocess.run([args.driver], input=json.dumps(driver_request(cases)), capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        sys.exit(f"parity_flows: the driver failed (exit {proc.returncode})")
    results = json.loads(proc.stdout)["results"]
    rust_s = time.time() - start
    layers = [l for c in cases[::2] for l in c["layers"] if l["type"] != "Permute"]
    print("coverage: MADE event sizes", sorted({l["event_size"] for l in layers if "input_order" in l}),
          "orders", sorted({l["input_order"] if isinstance(l["input_order"], str) else "explicit"
                            for l in layers if "input_order" in l}),
          "| RealNVP (D, num_masked)", sorted({(l["event_size"], l["num_masked"]) for l in layers if "num_masked" in l}),
          "| activations", sorted({l["activation"] for l in layers}),
          "| hidden layers", sorted({len(l["hidden_units"]) for l in layers}),
          "| batch shapes", sorted({str(c["batch"]) for c in cases}))
    report = Report()
    for case, res in zip(cases, results):
        check_case(report, case, res)
    report.print()
    print(f"parity_flows: {len(cases)} cases, driver {rust_s:.1f} s, total {time.time() - start:.1f} s "
          f"(after imports)")
    if report.failures:
        print(f"\n{len(report.failures)} FAILURES:")
        for f in report.failures[:40]:
            print("  " + f)
        sys.exit(1)
    print("parity_flows: all checks passed")


if __name__ == "__main__":
    main()
