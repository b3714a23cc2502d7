#!/usr/bin/env python3
"""Parity of tch-distributions with PyTorch (torch.distributions), driven through JSON.

Generates randomized cases (parameters including extreme ones, batch and sample shapes, points
far in the tails, and the six learnable distributions of the seed), runs them through the Rust
JSON driver (examples/json_driver.rs, format in docs/json.md) and compares, in float32 and
float64:

* bijectors: forward, inverse and both log-det-Jacobians, event ndims and shapes; Exp,
  Softplus, Identity, Shift and Scale against torch.distributions.transforms; FillTriangular,
  FillScaleTriL, TransformDiagonal, Pad, ConcatConstant and Chain against the implementations
  in this script (NumPy index maps of TFP's element order, torch ops for the rest);
* learnable bijectors (Shift, Scale, Sigmoid bounds, Power, ScaleMatvecTriL and a Chain whose
  parameters are trainable variables or TransformedVariables): the four quantities and the
  gradients of their sums with respect to every raw variable, against torch transforms built
  from the same raw values;
* distributions (Normal, Independent, Categorical, MultivariateNormalTriL, MixtureSameFamily):
  batch/event shapes, mean, log_prob and the gradients of sum(log_prob) with respect to every
  raw variable, against torch.distributions built from the same raw values through the
  bijectors above;
* the scalar families declared with a FamilySpec after the first ones (Exponential,
  HalfNormal, Cauchy, HalfCauchy, Gumbel, Chi2, Weibull, Pareto, Poisson, Geometric), 12 cases
  each, drawn from a generator of their own so that the other cases stay as they were;
* InverseGamma, Kumaraswamy, FisherSnedecor and GeneralizedPareto, 12 cases each from a third
  generator, with extreme parameters (concentrations 1e-3 .. 1e3, GeneralizedPareto's
  concentration exactly 0 and +-1e-8, +-1e-12); where torch is inaccurate (Kumaraswamy's
  transforms in the tails and its mode, GeneralizedPareto near concentration 0, InverseGamma's
  cdf) the reference is the closed form in torch ops (KumaraswamyReference,
  GeneralizedParetoReference, cdf_reference), and the float64 GeneralizedPareto and InverseGamma
  values are also compared with SciPy (scipy.stats, float64: "vs scipy");
* entropy, where both have it;
* KL divergences against td.kl_divergence, value and the gradients of the sum of its finite
  elements: pairs of one family (the first KL cases), then every pair of torch's registry added
  later (Cauchy, Exponential, Geometric, Gumbel, HalfNormal, Pareto, Poisson with themselves and
  torch's cross-family pairs among Bernoulli, Poisson, Beta, Exponential, Gamma, Chi2, Gumbel,
  Laplace, Normal, Pareto and Uniform), 3 cases per pair and dtype from a generator of their own,
  with parameters drawn so that both finite and `inf` elements (supports that do not nest) occur;
  there gradients are compared where torch's are finite (torch's are NaN where its discarded
  branch is, e.g. x log x of a negative bound); then torch's pairs with a ContinuousBernoulli
  side (3 cases per pair and dtype from a generator of their own, probs at and near 1/2, logits
  below 1e-3 and of ±30), whose finite pairs' float64 value and gradients (except a Beta's
  concentrations) come from 40-digit mpmath (cb_kl_mp), as torch's cancel near probs 1/2 and
  lose digits of log1p(-probs) at large logits;
* VonMises, ContinuousBernoulli and RelaxedBernoulli, 12 cases each from a third generator of
  their own (κ from 1e-4 to 1e4; probs exactly 1/2, 1/2 ± 1e-6 and 1e-6 from 0 and 1;
  temperatures 0.05 to 5), against torch where it is accurate and otherwise: VonMises's log I0
  from torch.special.i0e/i1e (checked against scipy.special) instead of torch's polynomial,
  ContinuousBernoulli's float64 moments and entropy in 40-digit mpmath and its cdf/icdf in
  closed form inside torch's unstable region, RelaxedBernoulli's log-det with an exact softplus
  (see VonMisesRef, ContinuousBernoulliRef, RelaxedBernoulliRef); VonMises's sample moments
  (its mean and variance are circular) and RelaxedBernoulli's (it has none) from torch draws;
* Logistic, GeneralizedNormal and TruncatedNormal (TFP's; torch has none of them), 12 cases each
  from a generator of their own appended after all other cases, against closed forms in torch ops
  (LogisticRef, GeneralizedNormalRef, TruncatedNormalRef, whose quantiles are SciPy's) and, in
  float64, SciPy's logistic, gennorm and truncnorm (log_prob, cdf, Logistic's icdf,
  TruncatedNormal's mean) and 40-digit mpmath for TruncatedNormal's icdf; TruncatedNormal's
  bounds lie around the location, on one side only (the other infinite) or 5 to 30 standard
  deviations out in either tail;
* LowRankMultivariateNormal (against torch's) and MultivariateStudentT (against Pyro's, with
  Pyro's patches of torch.distributions undone for every other case; in float64 also SciPy's
  multivariate_t for log_prob and entropy, and the entropy in 40-digit mpmath), 16 cases each
  from a generator of their own; then KL pairs with a low-rank side, each of the Gaussian
  families on the other, 4 per pair and dtype, against torch's three low-rank rules (the
  gradients' tolerances sum the sizes of the Woodbury terms' gradients, which cancel);
* Multinomial (one total_count per case: torch takes an int; its float64 entropy with
  lgamma(n + 1) in float64, MultinomialRef), OneHotCategoricalStraightThrough and
  RelaxedOneHotCategorical (one temperature per case, as torch), 12 cases each from a generator
  of their own;
* entropy, where both have it (VonMises: TFP's formula in the reference);
* icdf (Normal, Laplace, Uniform, LogNormal, Exponential, HalfNormal, Cauchy, HalfCauchy,
  Gumbel, Weibull, Pareto, ContinuousBernoulli) at probabilities from 1e-6 to 1 - 1e-6 against torch's icdf (for
  Weibull, Pareto and Gumbel, which torch builds by transforms, the closed form in torch ops);
* sample moments: z-tests of the sample mean and variance of Rust's samples against the true
  moments (the variance test uses the fourth central moment), Bonferroni-corrected so that the
  whole run has a false-failure rate of 1e-4 (with the fixed seed the run is deterministic).

Tolerances. The reference is PyTorch in float64 on exactly the inputs Rust saw (`ref64`). The
same computation in float32 (`ref32`) measures how sensitive each case is to rounding. A result
of dtype D passes when |rust - ref64| <= 4 * E * eps(D) / eps(float32) + C * eps(D) * |ref64| + tiny,
where E is the largest finite |ref32 - ref64| of the case (PyTorch's own float32 error) and
C = 16. For gradients of sum(log_prob), C is 256 (a gradient term passes through more
operations: a triangular solve of up to d = 4, its transpose, products: ~16 d^2) and |ref64| is replaced by the sum over
points of the magnitudes of the per-point gradients (from the Jacobian), since they may cancel;
for logits, whose per-point gradient r_k - pi_k is a difference of probabilities, 2 per point is
added: Rust must be as accurate as PyTorch in the same precision, up to a small factor, and in
every case within a few roundings of the value itself. Torch's float64 softplus returns x above
20 (an error up to exp(-x)); that is added to the float64 tolerance where the torch transform is
the reference.

Prints each check with its case count and max abs / rel error and the largest error/tolerance
ratio; exits 1 on any mismatch.
"""
import argparse
import json
import math
import statistics
import subprocess
import sys

import numpy as np
import scipy.special
import torch
import torch.distributions as td
import torch.distributions.transforms as tt
import torch.nn.functional as F


def _pyro_distributions():
    """Pyro's distributions (scripts/setup_flow_refs.sh installs Pyro), with the patches its
    import applies to torch.distributions undone (HalfCauchy.log_prob among them), so that every
    other case keeps torch's own reference."""
    import pyro.distributions
    for owner, name in ((td.HalfCauchy, "log_prob"), (tt.Transform, "__getstate__"), (tt.Transform, "clear_cache"),
                        (td.TransformedDistribution, "clear_cache"), (td.constraints._CorrCholesky, "check")):
        f = getattr(owner, name, None)
        if hasattr(f, "_pyro_unpatched"):
            setattr(owner, name, f._pyro_unpatched)
    return pyro.distributions


pyro_dist = _pyro_distributions()

EPS = {"float32": float(np.finfo(np.float32).eps), "float64": float(np.finfo(np.float64).eps)}
TORCH_DTYPE = {"float32": torch.float32, "float64": torch.float64}
TINY = {"float32": 1e-37, "float64": 1e-300}
C = 16.0
GRAD_ROUNDINGS = 256.0  # gradient terms go through more operations: solves, transposes, products (~16 d^2, d <= 4)
FALSE_FAILURE_RATE = 1e-4


def to_json(a):
    a = np.asarray(a, dtype=np.float64)
    # (JSON has no infinities: Rust reads the strings "inf" and "-inf", docs/json.md)
    return {"shape": list(a.shape), "data": [float(v) if np.isfinite(v) or np.isnan(v) else ("inf" if v > 0 else "-inf")
                                             for v in a.reshape(-1)]}


def from_json(t, dtype=torch.float64):
    data = [float(v.replace("Infinity", "inf")) if isinstance(v, str) else float(v) for v in t["data"]]
    return torch.tensor(data, dtype=dtype).reshape(t["shape"])


def as_dtype(a, dtype):
    """The values Rust sees: rounded to dtype, returned as float64 numpy."""
    return np.asarray(a, dtype=np.float32 if dtype == "float32" else np.float64).astype(np.float64)


def tolerance(ref64, ref32, dtype, extra=0.0, magnitude=None):
    """4 E eps(D)/eps(f32) + C eps(D) M + tiny + extra, with E PyTorch's own float32 error on the
    case and M the magnitude of the terms that make each value (|ref64| by default)."""
    eps = EPS[dtype]
    diff = (ref32.to(torch.float64) - ref64).abs()
    finite = diff[torch.isfinite(diff)]
    e = float(finite.max()) if finite.numel() else 0.0
    m = ref64.abs() if magnitude is None else magnitude
    return 4.0 * e * eps / EPS["float32"] + C * eps * m + TINY[dtype] + extra


class Report:
    def __init__(self):
        self.checks = {}
        self.failures = []

    def _entry(self, name):
        return self.checks.setdefault(name, {"cases": 0, "values": 0, "abs": 0.0, "rel": 0.0, "ratio": 0.0})

    def add(self, name, actual, expected, tol, case_id):
        actual = torch.as_tensor(actual, dtype=torch.float64)
        expected = torch.as_tensor(expected, dtype=torch.float64).detach()
        c = self._entry(name)
        c["cases"] += 1
        if actual.shape != expected.shape:
            self.failures.append(f"{name} case {case_id}: shape {list(actual.shape)} != {list(expected.shape)}")
            return
        tol = torch.as_tensor(tol, dtype=torch.float64).detach().expand_as(expected)
        c["values"] += expected.numel()
        if expected.numel() == 0:
            return
        err = (actual - expected).abs()
        err = torch.where(actual == expected, torch.zeros_like(err), err)  # -inf == -inf
        bad = ~(err <= tol)
        c["abs"] = max(c["abs"], float(err.max()))
        c["rel"] = max(c["rel"], float((err / expected.abs().clamp_min(1e-300)).max()))
        c["ratio"] = max(c["ratio"], float((err / tol.clamp_min(1e-300)).max()))
        if bool(bad.any()):
            i = int(torch.nonzero(bad.reshape(-1))[0])
            self.failures.append(
                f"{name} case {case_id}: rust {float(actual.reshape(-1)[i])!r} vs torch "
                f"{float(expected.reshape(-1)[i])!r} (tol {float(tol.reshape(-1)[i]):.3g})")

    def flag(self, name, ok, msg, case_id):
        c = self._entry(name)
        c["cases"] += 1
        c["values"] += 1
        if not ok:
            self.failures.append(f"{name} case {case_id}: {msg}")

    def print(self):
        print(f"{'check':64} {'cases':>5} {'values':>7} {'max abs err':>11} {'max rel err':>11} {'err/tol':>9}")
        for name, c in sorted(self.checks.items()):
            print(f"{name:64} {c['cases']:5d} {c['values']:7d} {c['abs']:11.3e} {c['rel']:11.3e} {c['ratio']:9.3e}")


# ---------------------------------------------------------------- bijectors, in Python
# Each has fwd_min / inv_min (event ndims), forward, inverse, and fldj at fwd_min event dims.

def sum_last(t, n):
    return t.sum(tuple(range(-n, 0))) if n > 0 else t


class Elementwise:
    fwd_min = inv_min = 0

    def __init__(self, f, inv, fldj):
        self.forward, self.inverse, self.fldj = f, inv, fldj


def softplus(x):
    return torch.logaddexp(x, torch.zeros_like(x))


def softplus_inverse(y):
    return y + torch.log(-torch.expm1(-y))


def tril_index(n, upper):
    """TFP's fill_triangular order: the lower matrix is the lower triangle of
    concat(x[n:], reverse(x)) reshaped to n x n; the upper one of concat(x, reverse(x[n:]))."""
    m = n * (n + 1) // 2
    idx = np.arange(m)
    full = np.concatenate([idx, idx[n:][::-1]]) if upper else np.concatenate([idx[n:], idx[::-1]])
    full = full.reshape(n, n)
    mask = np.triu(np.ones((n, n), bool)) if upper else np.tril(np.ones((n, n), bool))
    return full, mask


class FillTriangular:
    fwd_min, inv_min = 1, 2

    def __init__(self, upper=False):
        self.upper = upper

    def forward(self, x):
        m = x.shape[-1]
        n = int(round((math.sqrt(8 * m + 1) - 1) / 2))
        full, mask = tril_index(n, self.upper)
        return x[..., torch.tensor(full.reshape(-1))].reshape(*x.shape[:-1], n, n) * torch.tensor(mask, dtype=x.dtype)

    def inverse(self, y):
        n = y.shape[-1]
        full, mask = tril_index(n, self.upper)
        m = n * (n + 1) // 2
        pos = np.zeros(m, dtype=np.int64)  # where entry k of the vector sits in the matrix
        for flat, k in enumerate(full.reshape(-1)):
            if mask.reshape(-1)[flat]:
                pos[k] = flat
        return y.reshape(*y.shape[:-2], n * n)[..., torch.tensor(pos)]

    def fldj(self, x):
        return torch.zeros(x.shape[:-1], dtype=x.dtype)


class TransformDiagonal:
    fwd_min = inv_min = 2

    def __init__(self, inner):
        self.inner = inner

    def _map(self, x, f):
        d = torch.diagonal(x, dim1=-2, dim2=-1)
        return x - torch.diag_embed(d) + torch.diag_embed(f(d))

    def forward(self, x):
        return self._map(x, self.inner.forward)

    def inverse(self, y):
        return self._map(y, self.inner.inverse)

    def fldj(self, x):
        return self.inner.fldj(torch.diagonal(x, dim1=-2, dim2=-1)).sum(-1)


class Pad:
    def __init__(self, before, after, constant, axis):
        self.before, self.after, self.constant, self.axis = before, after, constant, axis
        self.fwd_min = self.inv_min = -axis

    def forward(self, x):
        spec = [0, 0] * (-self.axis - 1) + [self.before, self.after]
        return F.pad(x, spec, value=self.constant)

    def inverse(self, y):
        n = y.shape[self.axis]
        return y.narrow(y.dim() + self.axis, self.before, n - self.before - self.after)

    def fldj(self, x):
        return torch.zeros(x.shape[:x.dim() + self.axis], dtype=x.dtype)


class ConcatConstant:
    def __init__(self, constant, axis, position):
        self.constant, self.axis, self.position = constant, axis, position
        self.fwd_min = self.inv_min = -axis

    def forward(self, x):
        k = -self.axis
        c = self.constant.to(x.dtype).expand(*x.shape[:x.dim() - k], *self.constant.shape)
        parts = [c, x] if self.position == "before" else [x, c]
        return torch.cat(parts, dim=self.axis)

    def inverse(self, y):
        n = y.shape[self.axis] - self.constant.shape[0]
        start = self.constant.shape[0] if self.position == "before" else 0
        return y.narrow(y.dim() + self.axis, start, n)

    def fldj(self, x):
        return torch.zeros(x.shape[:x.dim() + self.axis], dtype=x.dtype)


class Chain:
    """TFP order: Chain([f, g]).forward(x) = f(g(x)); event ndims as TFP computes them."""

    def __init__(self, members):
        self.members = members
        m, changed = 0, 0
        for b in reversed(members):
            m = max(m, b.fwd_min - changed)
            changed += b.inv_min - b.fwd_min
        self.fwd_min, self.inv_min = m, m + changed

    def forward(self, x):
        for b in reversed(self.members):
            x = b.forward(x)
        return x

    def inverse(self, y):
        for b in self.members:
            y = b.inverse(y)
        return y

    def fldj(self, x):
        e, total = self.fwd_min, 0.0
        for b in reversed(self.members):
            total = total + sum_last(b.fldj(x), e - b.fwd_min)
            x = b.forward(x)
            e = e - b.fwd_min + b.inv_min
        return total


def fill_scale_tril(diag, shift):
    return Chain([TransformDiagonal(Chain([shift_by(shift), diag])), FillTriangular(False)])


def shift_by(s):
    return Elementwise(lambda x: x + s, lambda y: y - s, lambda x: torch.zeros_like(x))


class SoftmaxCentered:
    """TFP's: append 0 and softmax; log-det as TFP: 1/2 log K + sum(log y) (K entries)."""
    fwd_min = inv_min = 1

    def forward(self, x):
        return torch.softmax(F.pad(x, [0, 1]), -1)

    def inverse(self, y):
        return torch.log(y[..., :-1]) - torch.log(y[..., -1:])

    def fldj(self, x):
        y = self.forward(x)
        return 0.5 * math.log(y.shape[-1]) + torch.log(y).sum(-1)


class TorchMaps:
    """The maps of torch's transform `self.t`; subclasses give the log-det (`fldj`)."""

    def forward(self, x):
        return self.t(x)

    def inverse(self, y):
        return self.t.inv(y)


class StickBreaking(TorchMaps):
    """torch's StickBreakingTransform (event ndims 1 both ways) for the maps. Its log-det sums
    log(y) of the computed y, which loses digits where y is small: on one case torch gave
    -89.14760080387826 where a 40-digit mpmath evaluation gives -89.14760080387946. The
    reference log-det is therefore formed from u = x - log(K - i):
    sum(log sigmoid(u_i) + sum_{j<i} log sigmoid(-u_j) - u_i + log sigmoid(u_i))."""
    fwd_min = inv_min = 1

    def __init__(self):
        self.t = tt.StickBreakingTransform()

    def fldj(self, x):
        n = x.shape[-1]
        u = x - torch.log(torch.arange(n, 0, -1, dtype=x.dtype))
        log_z, log_rest = F.logsigmoid(u), F.logsigmoid(-u)
        before = torch.cumsum(log_rest, -1) - log_rest
        return (log_z + before - u + log_z).sum(-1)


class Cumsum:
    """TFP's Cumsum(axis=-1), in closed form: a unit-triangular Jacobian."""
    fwd_min = inv_min = 1

    def forward(self, x):
        return torch.cumsum(x, -1)

    def inverse(self, y):
        return torch.diff(y, dim=-1, prepend=torch.zeros_like(y[..., :1]))

    def fldj(self, x):
        return torch.zeros(x.shape[:-1], dtype=x.dtype)


class Ordered:
    """TFP's Ordered, in closed form: [x_1, log(x_i - x_{i-1})]."""
    fwd_min = inv_min = 1

    def forward(self, x):
        return torch.cat([x[..., :1], torch.log(torch.diff(x, dim=-1))], -1)

    def inverse(self, y):
        return torch.cat([y[..., :1], y[..., :1] + torch.cumsum(torch.exp(y[..., 1:]), -1)], -1)

    def fldj(self, x):
        return -torch.log(torch.diff(x, dim=-1)).sum(-1)


class CumulativeDistribution(TorchMaps):
    """torch's CumulativeDistributionTransform of a Normal (the only distribution the cases use)."""
    fwd_min = inv_min = 0

    def __init__(self, opts, dtype):
        d = opts["distribution"]
        self.t = tt.CumulativeDistributionTransform(td.Normal(from_json(d["loc"], dtype), from_json(d["scale"], dtype)))

    def fldj(self, x):
        return self.t.log_abs_det_jacobian(x, self.t(x))


class LowerCholesky(TorchMaps):
    """torch's LowerCholeskyTransform for the maps; the log-det (torch defines none) over the
    lower entries in closed form: the diagonal's sum."""
    fwd_min = inv_min = 2

    def __init__(self):
        self.t = tt.LowerCholeskyTransform()

    def fldj(self, x):
        return torch.diagonal(x, dim1=-2, dim2=-1).sum(-1)


class PositiveDefinite(TorchMaps):
    """torch's PositiveDefiniteTransform for the maps; the log-det as LowerCholesky's plus
    CholeskyOuterProduct's (this script's, TFP's formula) at L."""
    fwd_min = inv_min = 2

    def __init__(self):
        self.t = tt.PositiveDefiniteTransform()

    def fldj(self, x):
        return LowerCholesky().fldj(x) + CholeskyOuterProduct().fldj(LowerCholesky().forward(x))


class IndependentPy:
    """A bijector with n batch dimensions read as event dimensions: the inner maps, the inner
    log-det summed over those n dimensions."""

    def __init__(self, inner, n):
        self.inner, self.n = inner, n
        self.fwd_min, self.inv_min = inner.fwd_min + n, inner.inv_min + n

    def forward(self, x):
        return self.inner.forward(x)

    def inverse(self, y):
        return self.inner.inverse(y)

    def fldj(self, x):
        ldj = self.inner.fldj(x)
        full = x.shape[:x.dim() - self.inner.fwd_min]
        ldj = ldj.expand(full) if ldj.shape != full else ldj
        return ldj.sum(tuple(range(-self.n, 0))) if self.n else ldj


class CorrelationCholesky:
    """TFP's CorrelationCholesky, as TFP computes it: the strictly lower triangle filled in
    FillTriangular's order, a unit diagonal, rows normalised; log-det sum_i (i + 1) log L_ii."""
    fwd_min, inv_min = 1, 2

    def forward(self, x):
        t = FillTriangular(False).forward(x)
        y = F.pad(t, (0, 1, 1, 0)) + torch.eye(t.shape[-1] + 1, dtype=x.dtype)
        return y / torch.linalg.vector_norm(y, dim=-1, keepdim=True)

    def inverse(self, y):
        x = torch.tril(y, -1) / torch.diagonal(y, dim1=-2, dim2=-1)[..., None]
        return FillTriangular(False).inverse(x[..., 1:, :-1])

    def fldj(self, x):
        y = self.forward(x)
        n = y.shape[-1]
        return (torch.arange(2, n + 2, dtype=y.dtype) * torch.log(torch.diagonal(y, dim1=-2, dim2=-1))).sum(-1)


class CatPy:
    """A bijector per block of the axis, concatenated (elementwise parts: the log-dets too)."""

    def __init__(self, parts, lengths, axis):
        self.parts, self.lengths, self.axis = parts, lengths, axis
        self.fwd_min = self.inv_min = max(p.fwd_min for p in parts)

    def _map(self, t, f):
        return torch.cat([f(p, c) for p, c in zip(self.parts, torch.split(t, self.lengths, self.axis))], self.axis)

    def forward(self, x):
        return self._map(x, lambda p, c: p.forward(c))

    def inverse(self, y):
        return self._map(y, lambda p, c: p.inverse(c))

    def fldj(self, x):
        return self._map(x, lambda p, c: p.fldj(c).expand(c.shape))


class StackPy(CatPy):
    """A bijector per slice of the axis, stacked (elementwise parts)."""

    def __init__(self, parts, axis):
        super().__init__(parts, None, axis)

    def _map(self, t, f):
        return torch.stack([f(p, c) for p, c in zip(self.parts, torch.unbind(t, self.axis))], self.axis)


class CholeskyOuterProduct:
    fwd_min = inv_min = 2

    def forward(self, x):
        x = x.tril()
        return x @ x.transpose(-1, -2)

    def inverse(self, y):
        return torch.linalg.cholesky(y)

    def fldj(self, x):
        n = x.shape[-1]
        d = torch.diagonal(x, dim1=-2, dim2=-1).abs().log()
        return n * math.log(2.0) + (d * torch.arange(n, 0, -1, dtype=x.dtype)).sum(-1)


class ScaleMatvecTriL:
    fwd_min = inv_min = 1

    def __init__(self, tril):
        self.tril = tril.tril()

    def forward(self, x):
        return (self.tril @ x.unsqueeze(-1)).squeeze(-1)

    def inverse(self, y):
        return torch.linalg.solve_triangular(self.tril, y.unsqueeze(-1), upper=False).squeeze(-1)

    def fldj(self, x):
        ld = torch.diagonal(self.tril, dim1=-2, dim2=-1).abs().log().sum(-1)
        return ld.expand(x.shape[:-1]) if ld.dim() <= x.dim() - 1 else ld


class Invert:
    def __init__(self, inner):
        self.inner = inner
        self.fwd_min, self.inv_min = inner.inv_min, inner.fwd_min

    def forward(self, x):
        return self.inner.inverse(x)

    def inverse(self, y):
        return self.inner.forward(y)

    def fldj(self, x):
        return -self.inner.fldj(self.inner.inverse(x))


class Reshape:
    def __init__(self, shape_in, shape_out):
        self.shape_in, self.shape_out = list(shape_in), list(shape_out)
        self.fwd_min, self.inv_min = len(shape_in), len(shape_out)

    def forward(self, x):
        return x.reshape(*x.shape[:x.dim() - self.fwd_min], *self.shape_out)

    def inverse(self, y):
        return y.reshape(*y.shape[:y.dim() - self.inv_min], *self.shape_in)

    def fldj(self, x):
        return torch.zeros(x.shape[:x.dim() - self.fwd_min], dtype=x.dtype)


def sigmoid_py(low=None, high=None):
    if low is None:
        return Elementwise(torch.sigmoid, lambda y: torch.log(y) - torch.log1p(-y),
                          lambda x: F.logsigmoid(x) + F.logsigmoid(-x))
    return Elementwise(lambda x: low + (high - low) * torch.sigmoid(x),
                       lambda y: torch.log(y - low) - torch.log(high - y),
                       lambda x: torch.log(high - low) + F.logsigmoid(x) + F.logsigmoid(-x))


def py_bijector(spec, dtype):
    """The Python bijector for a JSON bijector spec, its tensors in `dtype`."""
    name = spec if isinstance(spec, str) else spec["type"]
    opts = {} if isinstance(spec, str) else spec
    if name == "Exp":
        return Elementwise(torch.exp, torch.log, lambda x: x)
    if name == "Softplus":
        return Elementwise(softplus, softplus_inverse, lambda x: -softplus(-x))
    if name == "Identity":
        return Elementwise(lambda x: x, lambda y: y, torch.zeros_like)
    if name == "Shift":
        s = from_json(opts["shift"], dtype)
        return Elementwise(lambda x: x + s, lambda y: y - s, lambda x: torch.zeros_like(x + s))
    if name == "Affine":
        loc, s = from_json(opts["loc"], dtype), from_json(opts["scale"], dtype)
        return Elementwise(lambda x: loc + s * x, lambda y: (y - loc) / s,
                           lambda x: torch.log(s.abs()).expand_as(loc + s * x))
    if name == "Scale":
        s = from_json(opts["scale"], dtype)
        return Elementwise(lambda x: x * s, lambda y: y / s, lambda x: torch.log(s.abs()).expand_as(x * s))
    if name == "FillTriangular":
        return FillTriangular(opts.get("upper", False))
    if name == "TransformDiagonal":
        return TransformDiagonal(py_bijector(opts["bijector"], dtype))
    if name == "FillScaleTriL":
        return fill_scale_tril(py_bijector(opts.get("diag_bijector", "Softplus"), dtype), opts.get("diag_shift", 1e-5))
    if name == "Pad":
        b, a = opts.get("paddings", [0, 1])
        return Pad(b, a, opts.get("constant", 0.0), opts.get("axis", -1))
    if name == "ConcatConstant":
        return ConcatConstant(from_json(opts["constant"], dtype), opts.get("axis", -1), opts.get("position", "before"))
    if name == "Chain":
        return Chain([py_bijector(m, dtype) for m in opts["bijectors"]])
    if name == "Sigmoid":
        if "low" in opts:
            return sigmoid_py(from_json(opts["low"], dtype), from_json(opts["high"], dtype))
        return sigmoid_py()
    if name == "Tanh":
        return Elementwise(torch.tanh, torch.atanh, lambda x: 2.0 * (math.log(2.0) - x - F.softplus(-2.0 * x)))
    if name == "Expm1":
        return Elementwise(torch.expm1, torch.log1p, lambda x: x.clone())
    if name == "Log1p":
        return Elementwise(torch.log1p, torch.expm1, lambda x: -torch.log1p(x))
    if name == "Reciprocal":
        return Elementwise(torch.reciprocal, torch.reciprocal, lambda x: -2.0 * torch.log(x.abs()))
    if name == "StickBreaking":
        return StickBreaking()
    if name == "Cumsum":
        return Cumsum()
    if name == "Ordered":
        return Ordered()
    if name == "CumulativeDistribution":
        return CumulativeDistribution(opts, dtype)
    if name == "SinhArcsinh":
        # TFP's map, its log-det written plainly (log of cosh, log1p of the square): the library
        # uses TFP's stable forms
        sk, tw = from_json(opts["skewness"], dtype), from_json(opts["tailweight"], dtype)
        m = 2.0 / torch.sinh(math.asinh(2.0) * tw)
        return Elementwise(lambda x: torch.sinh((torch.asinh(x) + sk) * tw) * m,
                           lambda y: torch.sinh(torch.asinh(y / m) / tw - sk),
                           lambda x: (torch.log(torch.cosh((torch.asinh(x) + sk) * tw)) - 0.5 * torch.log1p(x * x)
                                      + torch.log(tw) + torch.log(m)))
    if name == "CorrelationCholesky":
        return CorrelationCholesky()
    if name == "GeneralizedPareto":
        # TFP's bijector: loc + softplus(x) where concentration >= 0, else a sigmoid onto
        # (loc, loc + |scale / concentration|), per element
        loc, sc, xi = (from_json(opts[k], dtype) for k in ("loc", "scale", "concentration"))
        ratio = sc / xi
        neg = (ratio < 0) & torch.isfinite(ratio)
        w = torch.where(neg, ratio.abs(), torch.ones_like(ratio))
        fldj = lambda x: torch.where(neg, torch.log(w) + F.logsigmoid(x) + F.logsigmoid(-x), F.logsigmoid(x))
        return Elementwise(
            lambda x: loc + torch.where(neg, w * torch.sigmoid(x), F.softplus(x, threshold=1e9)),
            lambda y: torch.where(neg, torch.log(y - loc) - torch.log(w - (y - loc)), softplus_inverse(y - loc)),
            fldj)
    if name == "Stack":
        return StackPy([py_bijector(m, dtype) for m in opts["bijectors"]], opts.get("axis", -1))
    if name == "Cat":
        return CatPy([py_bijector(m, dtype) for m in opts["bijectors"]], opts["lengths"], opts.get("axis", -1))
    if name == "Independent":
        return IndependentPy(py_bijector(opts["bijector"], dtype), opts.get("reinterpreted_batch_ndims", 1))
    if name == "LowerCholesky":
        return LowerCholesky()
    if name == "PositiveDefinite":
        return PositiveDefinite()
    if name == "NormalCDF":
        return Elementwise(torch.special.ndtr, torch.special.ndtri, lambda x: -0.5 * x * x - 0.5 * math.log(2 * math.pi))
    if name == "Power":
        p = opts["power"]
        return Elementwise(lambda x: x ** p, lambda y: y ** (1.0 / p), lambda x: math.log(abs(p)) + (p - 1) * torch.log(x))
    if name == "Square":
        return Elementwise(lambda x: x * x, torch.sqrt, lambda x: math.log(2.0) + torch.log(x))
    if name == "SoftmaxCentered":
        return SoftmaxCentered()
    if name == "CholeskyOuterProduct":
        return CholeskyOuterProduct()
    if name == "ScaleMatvecTriL":
        return ScaleMatvecTriL(from_json(opts["scale_tril"], dtype))
    if name == "Invert":
        return Invert(py_bijector(opts["bijector"], dtype))
    if name == "Reshape":
        return Reshape(opts["event_shape_in"], opts["event_shape_out"])
    raise ValueError(f"unknown bijector {name}")


def torch_sigmoid(o, d):
    if "low" not in o:
        return tt.SigmoidTransform()
    low, high = from_json(o["low"], d), from_json(o["high"], d)
    return tt.ComposeTransform([tt.SigmoidTransform(), tt.AffineTransform(low, high - low)])


TORCH_TRANSFORMS = {  # bijectors checked against torch.distributions.transforms
    "Sigmoid": torch_sigmoid,
    "Tanh": lambda o, d: tt.TanhTransform(),
    "Power": lambda o, d: tt.PowerTransform(torch.tensor(o["power"], dtype=d)),
    "Square": lambda o, d: tt.PowerTransform(torch.tensor(2.0, dtype=d)),
    "Reciprocal": lambda o, d: tt.PowerTransform(torch.tensor(-1.0, dtype=d)),
    "Affine": lambda o, d: tt.AffineTransform(from_json(o["loc"], d), from_json(o["scale"], d)),
    "Cat": lambda o, d: tt.CatTransform([TORCH_TRANSFORMS[m if isinstance(m, str) else m["type"]](
        {} if isinstance(m, str) else m, d) for m in o["bijectors"]], dim=o.get("axis", -1), lengths=o["lengths"]),
    "Stack": lambda o, d: tt.StackTransform([TORCH_TRANSFORMS[m if isinstance(m, str) else m["type"]](
        {} if isinstance(m, str) else m, d) for m in o["bijectors"]], dim=o.get("axis", -1)),
    "Independent": lambda o, d: tt.IndependentTransform(
        TORCH_TRANSFORMS[o["bijector"]]({}, d), o.get("reinterpreted_batch_ndims", 1)),
    "Reshape": lambda o, d: tt.ReshapeTransform(torch.Size(o["event_shape_in"]), torch.Size(o["event_shape_out"])),
    "Exp": lambda o, d: tt.ExpTransform(),
    "Softplus": lambda o, d: tt.SoftplusTransform(),
    "Identity": lambda o, d: tt.identity_transform,
    "Shift": lambda o, d: tt.AffineTransform(from_json(o["shift"], d), 1.0),
    "Scale": lambda o, d: tt.AffineTransform(0.0, from_json(o["scale"], d)),
}


def reference_bijector(spec, dtype):
    """(forward, inverse, fldj, source) in `dtype`: torch's transform where it has one."""
    name = spec if isinstance(spec, str) else spec["type"]
    torch_inner = name != "Independent" or (isinstance(spec["bijector"], str) and spec["bijector"] in TORCH_TRANSFORMS)
    if name in TORCH_TRANSFORMS and not (name == "Sigmoid" and "low" in spec) and torch_inner:
        # (torch's sigmoid inverse clamps y to [tiny, 1 - eps]: for bounds, the rescaled value
        # near a bound is clamped, so the script's log(y - low) - log(high - y) is the reference)
        t = TORCH_TRANSFORMS[name]({} if isinstance(spec, str) else spec, dtype)
        return t, t.inv, lambda x: t.log_abs_det_jacobian(x, t(x)), "torch"
    b = py_bijector(spec, dtype)
    return b.forward, b.inverse, b.fldj, "script"


def rand_tril(rng, batch, n, dtype, shift=1e-5, scales=(0.3, 1.0, 3.0)):
    """Lower-triangular matrices with a positive diagonal above `shift`, and the raw vectors
    (via this script's FillScaleTriL inverse)."""
    x = rng.normal(size=list(batch) + [n * (n + 1) // 2]) * rng.choice(list(scales))
    return fill_scale_tril(py_bijector("Softplus", torch.float64), shift).forward(torch.tensor(as_dtype(x, dtype))).numpy()


def bijector_specs(rng):
    n = int(rng.integers(1, 5))
    eye_row = lambda n: fill_scale_tril(py_bijector("Softplus", torch.float64), 1e-5).inverse(
        torch.eye(n, dtype=torch.float64)).numpy()[None, :]
    shift = rng.normal(size=[3]) * 2
    scale = rng.choice([-1, 1], size=[3]) * 10 ** rng.uniform(-2, 2, size=[3])
    return [
        ("Exp", "elementwise"), ("Softplus", "elementwise"), ("Identity", "elementwise"),
        ({"type": "Shift", "shift": to_json(shift)}, "elementwise3"),
        ({"type": "Scale", "scale": to_json(scale)}, "elementwise3"),
        ({"type": "FillTriangular"}, "vector"), ({"type": "FillTriangular", "upper": True}, "vector"),
        ({"type": "FillScaleTriL"}, "vector"),
        ({"type": "FillScaleTriL", "diag_bijector": "Exp", "diag_shift": 0.0}, "vector"),
        ({"type": "TransformDiagonal", "bijector": "Softplus"}, "matrix"),
        ({"type": "Pad", "paddings": [1, 0]}, "vector"),
        ({"type": "Pad", "paddings": [1, 2], "constant": 3.5, "axis": -2}, "matrix"),
        ({"type": "ConcatConstant", "constant": to_json(eye_row(n)), "axis": -2, "position": "before"}, f"rows{n}"),
        ({"type": "Chain", "bijectors": ["Exp", {"type": "Shift", "shift": to_json(shift[:1])}]}, "elementwise"),
        ({"type": "Chain", "bijectors": [{"type": "FillScaleTriL"},
                                          {"type": "ConcatConstant", "constant": to_json(eye_row(n)), "axis": -2}]},
         f"rows{n}"),
        ("Sigmoid", "elementwise"),
        ({"type": "Sigmoid", "low": to_json(-np.abs(shift)), "high": to_json(np.abs(shift) + scale ** 2)}, "elementwise3"),
        ("Tanh", "elementwise"),
        ({"type": "Power", "power": float(rng.choice([0.5, 3.0, -1.5]))}, "positive"),
        ("Square", "positive"),
        ("SoftmaxCentered", "vector"),
        ("CholeskyOuterProduct", "cholesky"),
        ({"type": "ScaleMatvecTriL", "scale_tril": to_json(rand_tril(rng, [], 3, "float64"))}, "vector3"),
        ({"type": "Invert", "bijector": "Softplus"}, "positive"),
        ({"type": "Invert", "bijector": {"type": "FillScaleTriL"}}, "cholesky"),
        ({"type": "Reshape", "event_shape_in": [6], "event_shape_out": [2, 3]}, "vector6"),
        ({"type": "Chain", "bijectors": [{"type": "Shift", "shift": to_json(shift)},
                                          {"type": "ScaleMatvecTriL", "scale_tril": to_json(rand_tril(rng, [], 3, "float64"))}]},
         "vector3"),
    ]


def more_bijector_specs(rng):
    """Issue 15's bijectors (their own random stream: adding them leaves the draws of every other
    case as they were). References: closed forms in torch (`py_bijector`), torch's
    `PowerTransform(-1)` for Reciprocal, `StickBreakingTransform` for StickBreaking's maps,
    `AffineTransform` for Affine, `IndependentTransform` (of Softplus) for Independent,
    `CumulativeDistributionTransform` (of a Normal) for
    CumulativeDistribution, `LowerCholeskyTransform` and `PositiveDefiniteTransform` for those
    two's maps, `CatTransform` for Cat, `StackTransform` for Stack; TFP's GeneralizedPareto
    bijector, its SinhArcsinh (its log-det written plainly),
    CorrelationCholesky,
    Cumsum and Ordered in closed form."""
    loc = rng.normal(size=[3]) * 2
    scale = rng.choice([-1, 1], size=[3]) * 10 ** rng.uniform(-2, 2, size=[3])
    return [("Expm1", "elementwise"), ("Log1p", "positive"), ("Reciprocal", "positive"), ("NormalCDF", "elementwise"),
            ("StickBreaking", "vector"), ("Cumsum", "vector"), ("Ordered", "ordered"),
            ({"type": "Affine", "loc": to_json(loc), "scale": to_json(scale)}, "elementwise3"),
            ({"type": "CumulativeDistribution", "distribution": {
                "type": "Normal", "loc": to_json(loc / 4), "scale": to_json(1.0 + np.abs(scale) % 2.0)}}, "elementwise3"),
            ("LowerCholesky", "matrix"), ("PositiveDefinite", "matrix_tame"),
            ({"type": "Independent", "bijector": "Softplus", "reinterpreted_batch_ndims": 1}, "positive"),
            ({"type": "Independent", "bijector": {"type": "FillScaleTriL"}, "reinterpreted_batch_ndims": 1}, "rows3"),
            ({"type": "SinhArcsinh", "skewness": to_json(loc / 2), "tailweight": to_json(0.5 + np.abs(scale) % 1.5)},
             "elementwise3"),
            ({"type": "CorrelationCholesky"}, "vector"),
            ({"type": "Cat", "bijectors": ["Exp", {"type": "Affine", "loc": to_json(loc[:1]), "scale": to_json(scale[:1])},
                                           "Softplus"], "lengths": [1, 1, 1], "axis": -1}, "elementwise3"),
            ({"type": "Stack", "bijectors": ["Softplus", "Exp", {"type": "Affine", "loc": to_json(np.array(loc[0])),
                                                                "scale": to_json(np.array(scale[0]))}], "axis": -1}, "elementwise3"),
            ({"type": "GeneralizedPareto", "loc": to_json(loc), "scale": to_json(np.abs(scale) + 0.1),
              "concentration": to_json(np.array([0.4, -0.7, 0.0]))}, "elementwise3")]


def bijector_cases(rng, specs=bijector_specs):
    cases = []
    for dtype in ("float32", "float64"):
        for spec, domain in specs(rng):
            name = spec if isinstance(spec, str) else spec["type"]
            for rep in range(3):
                batch = [int(s) for s in rng.integers(1, 4, size=rng.integers(0, 3))]
                py = py_bijector(spec, torch.float64)
                if domain in ("positive", "cholesky", "vector3", "vector6", "ordered"):
                    if domain == "ordered":  # strictly increasing: a start and positive steps
                        steps = 10.0 ** rng.uniform(-2, 1, size=batch + [int(rng.integers(1, 6))])
                        steps[..., 0] = rng.normal(size=batch) * 3
                        x = np.cumsum(steps, -1)
                    elif domain == "positive":
                        x = 10.0 ** rng.uniform(-3, 2, size=batch + [3])
                    elif domain == "cholesky":
                        x = rand_tril(rng, batch, int(rng.integers(1, 5)), dtype)
                    else:
                        x = rng.normal(size=batch + [int(domain[6:])]) * rng.choice([0.3, 1.0, 5.0])
                    x = torch.tensor(as_dtype(x, dtype))
                    y = torch.tensor(as_dtype(py.forward(x).numpy(), dtype))
                elif domain.startswith("elementwise"):
                    shape = batch + ([3] if domain == "elementwise3" else [])
                    lim = 80.0 if name in ("Exp", "Expm1", "Chain") else 15.0 if name == "Tanh" else 100.0
                    # (a Normal's cdf: within 4 scales, where float32 keeps it below 1 and icdf finite)
                    lim = 4.0 if name == "CumulativeDistribution" else lim
                    x = np.clip(rng.normal(size=shape) * rng.choice([1.0, 10.0, 50.0]), -lim, lim)
                    if rep == 0 and domain == "elementwise":  # the documented ranges, end points included
                        x = np.linspace(-lim, lim, 41)
                    x = torch.tensor(as_dtype(x, dtype))
                    if name in ("Sigmoid", "Tanh", "NormalCDF", "GeneralizedPareto"):
                        # y strictly inside the image: forward rounds to the bound beyond these
                        lim_y = {("Sigmoid", "float32"): 15.0, ("Sigmoid", "float64"): 30.0,
                                 ("Tanh", "float32"): 8.0, ("Tanh", "float64"): 17.0,
                                 ("NormalCDF", "float32"): 5.0, ("NormalCDF", "float64"): 8.0,
                                 ("GeneralizedPareto", "float32"): 15.0, ("GeneralizedPareto", "float64"): 30.0}[(name, dtype)]
                        y = torch.tensor(as_dtype(py.forward(x.clamp(-lim_y, lim_y)).numpy(), dtype))
                    elif name in ("Exp", "Softplus"):
                        y = 10.0 ** rng.uniform(-7, 4, size=x.shape) if rep else np.logspace(-7, 4, x.numel())
                        y = torch.tensor(as_dtype(np.reshape(y, x.shape), dtype))
                    else:
                        y = torch.tensor(as_dtype(py.forward(x).numpy(), dtype))
                else:
                    m = int(rng.integers(1, 5))
                    if domain == "vector":
                        x = rng.normal(size=batch + [m * (m + 1) // 2]) * rng.choice([0.3, 1.0, 5.0])
                    elif domain == "matrix":
                        x = rng.normal(size=batch + [m, m]) * rng.choice([0.3, 1.0, 5.0])
                    elif domain == "matrix_tame":  # L L^T well conditioned enough for float32's cholesky
                        x = rng.normal(size=batch + [m, m]) * rng.choice([0.3, 0.6])
                    else:  # rows{n}: [.., k, n(n+1)/2]
                        nn_ = int(domain[4:])
                        x = rng.normal(size=batch + [int(rng.integers(1, 4)), nn_ * (nn_ + 1) // 2])
                    x = torch.tensor(as_dtype(x, dtype))
                    y = torch.tensor(as_dtype(py.forward(x).numpy(), dtype))
                cases.append({"kind": "bijector", "dtype": dtype, "bijector": spec, "x": to_json(x), "y": to_json(y),
                              "label": name if name != "Chain" else "Chain(" + ",".join(
                                  m if isinstance(m, str) else m["type"] for m in spec["bijectors"]) + ")"})
    return cases


def map_cases(rng):
    """Abs and Softmax, torch's two transforms that are no bijections: forward (and Softmax's
    right inverse log y) against torch's AbsTransform and SoftmaxTransform; the methods they
    lack must be errors naming them."""
    cases = []
    for dtype in ("float32", "float64"):
        for name in ("Abs", "Softmax"):
            for _ in range(3):
                batch = [int(s) for s in rng.integers(1, 4, size=rng.integers(0, 3))]
                x = torch.tensor(as_dtype(rng.normal(size=batch + [4]) * rng.choice([0.3, 1.0, 10.0]), dtype))
                y = torch.softmax(x.double(), -1).to(x.dtype) if name == "Softmax" else x.abs()
                cases.append({"kind": "bijector", "dtype": dtype, "bijector": name, "x": to_json(x), "y": to_json(y),
                              "label": name, "forward_only": True})
    return cases


def check_map(report, case, res):
    dtype, name = case["dtype"], case["label"]
    tag = f"map {name} {dtype}"
    torch_t = {"Abs": tt.AbsTransform(), "Softmax": tt.SoftmaxTransform()}[name]
    refs = {d: (torch_t(from_json(case["x"], d)), torch_t.inv(from_json(case["y"], d))) for d in (torch.float64, torch.float32)}
    report.add(f"{tag} forward", from_json(res["forward"]), refs[torch.float64][0],
               tolerance(refs[torch.float64][0], refs[torch.float32][0], dtype), case["id"])
    missing = ["fldj", "ildj"] + (["inverse"] if name == "Abs" else [])
    if name == "Softmax":
        report.add(f"{tag} inverse (log y)", from_json(res["inverse"]), refs[torch.float64][1],
                   tolerance(refs[torch.float64][1], refs[torch.float32][1], dtype), case["id"])
    for key in missing:
        err = res.get(f"{key}_error", "")
        report.flag(f"{tag} {key} refused", err.startswith(name.lower() + "."), f"got {err or res.get(key)!r}", case["id"])


def method_errors(report, case, res, tag):
    """Whether a bijector's method failed in the driver (reported as a failure)."""
    errors = [f"{k}: {v}" for k, v in res.items() if k.endswith("_error")]
    if errors:
        report.failures.append(f"case {case['id']} ({tag}): the driver's methods failed: {'; '.join(errors)}")
    return bool(errors)


def check_bijector(report, case, res):
    dtype, spec = case["dtype"], case["bijector"]
    tag = f"bijector {case['label']} {dtype}"
    if method_errors(report, case, res, tag):
        return
    py = py_bijector(spec, torch.float64)
    report.flag(f"{tag} event ndims", (res["forward_min_event_ndims"], res["inverse_min_event_ndims"]) == (py.fwd_min, py.inv_min),
                f"rust {res['forward_min_event_ndims']}/{res['inverse_min_event_ndims']} vs {py.fwd_min}/{py.inv_min}", case["id"])
    report.flag(f"{tag} forward_event_shape", res["forward_event_shape"] == res["forward_event_shape_actual"],
                f"{res['forward_event_shape']} vs forward's {res['forward_event_shape_actual']}", case["id"])
    refs = {}
    for d in (torch.float64, torch.float32):
        f, inv, fldj, source = reference_bijector(spec, d)
        x, y = from_json(case["x"], d), from_json(case["y"], d)
        refs[d] = {"forward": f(x), "inverse": inv(y), "fldj": fldj(x), "ildj": -fldj(inv(y))}
    x64 = from_json(case["x"])
    x_of_y = refs[torch.float64]["inverse"]
    for key, label in (("forward", "forward"), ("inverse", "inverse"), ("fldj", "forward_log_det_jacobian"),
                       ("ildj", "inverse_log_det_jacobian")):
        r64, r32 = refs[torch.float64][key], refs[torch.float32][key]
        extra = 0.0
        softplus_inside = case["label"] in ("Independent", "Cat", "Stack") and "Softplus" in json.dumps(spec)
        if dtype == "float64" and key != "inverse" and (case["label"] in ("Softplus", "Sigmoid", "Tanh") or softplus_inside):
            # torch's softplus(t) is t above 20, an error up to exp(-t), in its Softplus forward
            # and in the log-dets of Softplus (softplus(-x)), Sigmoid (softplus(±x)) and Tanh
            # (softplus(-2x)); also in the composites of Softplus (its blocks or slices: the
            # bound is applied to every entry)
            t = (x64 if key in ("forward", "fldj") else x_of_y).abs()
            t = 2 * t if case["label"] == "Tanh" else t
            extra = 4 * torch.exp(-t.clamp_min(20)) * (t > 20)
            if softplus_inside:  # (summed over an Independent's event: the largest, times its size)
                extra = extra.max() * max(1, x64.numel() // max(1, from_json(res[key]).numel()))
        r64 = r64.expand(from_json(res[key]).shape) if r64.dim() == 0 else r64
        r32 = r32.expand(r64.shape) if r32.dim() == 0 else r32
        report.add(f"{tag} {label}", from_json(res[key]), r64, tolerance(r64, r32, dtype, extra), case["id"])


# ---------------------------------------------------------------- learnable bijectors

def _affine(shift=None, scale=None):
    return tt.AffineTransform(0.0 if shift is None else shift, 1.0 if scale is None else scale)


def learnable_bijector_specs(rng, dtype):
    """(spec, domain, reference) for bijectors whose parameters are trainable. `reference(raw)`
    builds the torch transform from the raw variables (by full name) that Rust created, so the
    gradients of both flow to the same raw tensors."""
    shift = rng.normal(size=[3]) * 2
    scale = 10 ** rng.uniform(-1, 1, size=[3])
    p = float(rng.choice([0.5, 2.5, 3.0]))
    L = rand_tril(rng, [], 3, dtype)
    sp = lambda t: F.softplus(t)
    tril = lambda raw: fill_scale_tril(py_bijector("Softplus", raw.dtype), 1e-5).forward(raw)
    return [
        ({"type": "Shift", "shift": param_spec(shift, "variable", "shift", dtype)}, "elementwise3",
         lambda r: _affine(shift=r["shift"])),
        ({"type": "Scale", "scale": param_spec(scale, "transformed", "scale", dtype, "Softplus")}, "elementwise3",
         lambda r: _affine(scale=sp(r["scale"]))),
        ({"type": "Scale", "scale": param_spec(-scale, "variable", "scale", dtype)}, "elementwise3",
         lambda r: _affine(scale=r["scale"])),
        ({"type": "Sigmoid", "low": param_spec(-np.abs(shift), "variable", "low", dtype),
          "high": param_spec(np.abs(shift) + scale, "variable", "high", dtype)}, "elementwise3",
         lambda r: tt.ComposeTransform([tt.SigmoidTransform(), tt.AffineTransform(r["low"], r["high"] - r["low"])]),
         lambda u: -np.abs(shift) + (2 * np.abs(shift) + scale) * (0.05 + 0.9 * u)),
        ({"type": "Power", "power": param_spec(p, "transformed", "power", dtype, "Softplus")}, "positive",
         lambda r: tt.PowerTransform(sp(r["power"]))),
        ({"type": "ScaleMatvecTriL", "scale_tril": param_spec(L, "transformed", "scale_tril", dtype, "FillScaleTriL")},
         "vector3", lambda r: MatvecTransform(tril(r["scale_tril"]))),
        ({"type": "Chain", "bijectors": [
            {"type": "Shift", "shift": param_spec(shift, "variable", "shift", dtype)},
            {"type": "Scale", "scale": param_spec(scale, "transformed", "scale", dtype, "Exp")}]}, "elementwise3",
         # TFP order: the scale (member 1) is applied first
         lambda r: tt.ComposeTransform([_affine(scale=torch.exp(r["1.scale"])), _affine(shift=r["0.shift"])])),
    ]


class MatvecTransform:
    """y = L x for vectors, torch ops (the reference for a learnable ScaleMatvecTriL)."""
    def __init__(self, L):
        self.L = L
        self.inv = self

    def __call__(self, x):
        return (self.L.tril() @ x.unsqueeze(-1)).squeeze(-1)

    def log_abs_det_jacobian(self, x, y):
        return torch.log(torch.diagonal(self.L, dim1=-2, dim2=-1).abs()).sum(-1).expand(x.shape[:-1])


def learnable_bijector_cases(rng):
    cases = []
    for dtype in ("float32", "float64"):
        for spec, domain, reference, *y_of in learnable_bijector_specs(rng, dtype):
            batch = [int(s) for s in rng.integers(1, 4, size=rng.integers(0, 3))]
            if domain == "positive":
                x, y = 10.0 ** rng.uniform(-2, 1, size=[2] + batch + [3])
            else:
                x, y = rng.normal(size=[2] + batch + [3]) * rng.choice([0.5, 2.0])
            if y_of:  # inside the image (Sigmoid's bounds)
                y = y_of[0](rng.uniform(size=batch + [3]))
            label = "learnable " + (spec["type"] if spec["type"] != "Chain" else
                                    "Chain(" + ",".join(m["type"] for m in spec["bijectors"]) + ")")
            cases.append({"kind": "bijector", "dtype": dtype, "bijector": spec, "x": to_json(as_dtype(x, dtype)),
                          "y": to_json(as_dtype(y, dtype)), "label": label, "reference": reference})
    return cases


def _learnable_refs(case, res, d):
    """Values and per-element Jacobian magnitudes of the four quantities and their gradients."""
    raw = {k: from_json(v, d).requires_grad_(True) for k, v in res["variables"].items()}
    t = case["reference"](raw)
    x = from_json(case["x"], d)
    y = from_json(case["y"], d)
    inv = t.inv(y) if not isinstance(t, MatvecTransform) else torch.linalg.solve_triangular(
        t.L.tril(), y.unsqueeze(-1), upper=False).squeeze(-1)
    fwd = t(x)
    fldj = t.log_abs_det_jacobian(x, fwd)
    ildj = -t.log_abs_det_jacobian(inv, y)
    if isinstance(t, MatvecTransform):
        fldj, ildj = fldj.expand(x.shape[:-1]), ildj.expand(y.shape[:-1])
    out = {}
    for key, v in (("forward", fwd), ("inverse", inv), ("fldj", fldj), ("ildj", ildj)):
        v = v.expand(from_json(res[key]).shape) if v.shape != from_json(res[key]).shape else v
        grads, mags = {}, {}
        for name, r in raw.items():
            if not v.requires_grad:  # (a log-det that no parameter enters: Shift's)
                grads[name], mags[name] = torch.zeros_like(r), torch.zeros_like(r)
                continue
            g = torch.autograd.grad(v.sum(), r, retain_graph=True, allow_unused=True)[0]
            grads[name] = torch.zeros_like(r) if g is None else g
            rows = [torch.autograd.grad(e, r, retain_graph=True, allow_unused=True)[0] for e in v.reshape(-1)]
            mags[name] = sum((torch.zeros_like(r) if g is None else g.abs()) for g in rows) if rows else torch.zeros_like(r)
        out[key] = (v.detach(), grads, mags)
    return out


def check_learnable_bijector(report, case, res):
    dtype, tag = case["dtype"], f"bijector {case['label']} {case['dtype']}"
    if method_errors(report, case, res, tag):
        return
    r64, r32 = _learnable_refs(case, res, torch.float64), _learnable_refs(case, res, torch.float32)
    for key, label in (("forward", "forward"), ("inverse", "inverse"), ("fldj", "forward_log_det_jacobian"),
                       ("ildj", "inverse_log_det_jacobian")):
        v64, g64, m64 = r64[key]
        v32, g32, _ = r32[key]
        report.add(f"{tag} {label}", from_json(res[key]), v64, tolerance(v64, v32, dtype), case["id"])
        for name in g64:
            rust = from_json(res["grads"][key][name])
            tol = tolerance(g64[name], g32[name], dtype, magnitude=m64[name] * GRAD_ROUNDINGS / C)
            report.add(f"{tag} d{label}/draw", rust, g64[name], tol, case["id"])


# ---------------------------------------------------------------- distributions

def random_shape(rng, max_rank, lo=1, hi=4):
    return [int(s) for s in rng.integers(lo, hi, size=rng.integers(0, max_rank + 1))]


def param_spec(value, kind, name, dtype, bijector=None):
    v = to_json(as_dtype(value, dtype))
    if kind == "constant":
        return {"constant": v}
    if kind == "variable":
        return {"variable": v, "name": name}
    return {"transformed": v, "bijector": bijector, "name": name}


def normal_spec(rng, batch, dtype):
    scale_shape = [1 if rng.random() < 0.3 else s for s in batch][int(rng.integers(0, len(batch) + 1)):]
    loc = rng.normal(size=batch) * rng.choice([1.0, 1e3])
    scale = 10.0 ** rng.uniform(-3, 3, size=scale_shape)
    sk = str(rng.choice(["Softplus", "Exp", "variable", "constant"], p=[0.4, 0.3, 0.2, 0.1]))
    return {"type": "Normal",
            "loc": param_spec(loc, str(rng.choice(["variable", "constant"], p=[0.8, 0.2])), "loc", dtype),
            "scale": param_spec(scale, "transformed" if sk in ("Softplus", "Exp") else sk, "scale", dtype, sk)}


def categorical_spec(rng, batch, k, dtype, name="logits"):
    r = rng.random()
    if r < 0.15:
        return {"type": "Categorical", "probs": param_spec(rng.dirichlet(np.ones(k), size=batch), "constant", name, dtype)}
    logits = rng.normal(size=batch + [k]) * rng.choice([1.0, 5.0])
    if r < 0.4 and k > 1:  # the seed's first-fixed logits: Pad([1, 0]) of K-1 free ones
        logits[..., 0] = 0.0
        return {"type": "Categorical", "logits": param_spec(logits, "transformed", name, dtype, {"type": "Pad", "paddings": [1, 0]})}
    return {"type": "Categorical", "logits": param_spec(logits, str(rng.choice(["variable", "constant"], p=[0.8, 0.2])), name, dtype)}


def mvn_tril_spec(rng, batch, d, dtype):
    loc = rng.normal(size=batch + [d]) * rng.choice([1.0, 10.0])
    if batch and rng.random() < 0.3:  # the seed's first-fixed locations
        loc[..., 0, :] = 0.0
        loc_spec = param_spec(loc, "transformed", "loc", dtype, {"type": "Pad", "paddings": [1, 0], "axis": -2})
    else:
        loc_spec = param_spec(loc, str(rng.choice(["variable", "constant"], p=[0.8, 0.2])), "loc", dtype)
    tril = rand_tril(rng, batch, d, dtype)
    r = rng.random()
    if batch and r < 0.3:  # the seed's first component fixed at the identity: Chain([FillScaleTriL, PadEye])
        eye_row = fill_scale_tril(py_bijector("Softplus", torch.float64), 1e-5).inverse(torch.eye(d, dtype=torch.float64))
        tril[..., 0, :, :] = np.eye(d)
        b = {"type": "Chain", "bijectors": [{"type": "FillScaleTriL"},
                                            {"type": "ConcatConstant", "constant": to_json(eye_row.numpy()[None, :]), "axis": -2}]}
        tril_spec = param_spec(tril, "transformed", "scale_tril", dtype, b)
    elif r < 0.85:
        tril_spec = param_spec(tril, "transformed", "scale_tril", dtype, {"type": "FillScaleTriL"})
    else:
        tril_spec = param_spec(tril, str(rng.choice(["variable", "constant"])), "scale_tril", dtype)
    return {"type": "MultivariateNormalTriL", "loc": loc_spec, "scale_tril": tril_spec}


def seed_specs(rng, dtype):
    """The six learnable distributions of the seed (event size 4, 3 components)."""
    k, d = 3, 4
    sp = lambda v: {"transformed": to_json(as_dtype(v, dtype)), "bijector": "Softplus", "name": "scale"}
    var = lambda v, n: {"variable": to_json(as_dtype(v, dtype)), "name": n}
    eye_row = fill_scale_tril(py_bijector("Softplus", torch.float64), 1e-5).inverse(torch.eye(d, dtype=torch.float64))
    tril10 = 10 * np.broadcast_to(np.eye(d), (k, d, d))
    rademacher = rng.choice([-1.0, 1.0], size=[k, d])
    return [
        ("learnable_mvn_scaled_identity",
         {"type": "Independent", "reinterpreted_batch_ndims": 1,
          "distribution": {"type": "Normal", "loc": var(np.zeros(d), "loc"),
                           "scale": {"transformed": to_json(np.ones(1)), "bijector": "Exp", "name": "scale"}}}),
        ("learnable_mvn_diag",
         {"type": "Independent", "reinterpreted_batch_ndims": 1,
          "distribution": {"type": "Normal", "loc": var(np.zeros(d), "loc"), "scale": sp(np.ones(d))}}),
        ("learnable_mix_mvn_scaled_identity",
         {"type": "MixtureSameFamily", "mixture": {"type": "Categorical", "logits": var(np.zeros(k), "logits")},
          "components": {"type": "Independent", "reinterpreted_batch_ndims": 1,
                         "distribution": {"type": "Normal", "loc": var(rng.normal(size=[k, d]), "loc"),
                                          "scale": sp(10 * np.ones([k, 1]))}}}),
        ("learnable_mix_mvndiag_first_fixed",
         {"type": "MixtureSameFamily",
          "mixture": {"type": "Categorical", "logits": {"transformed": to_json(-np.log(1.5) * np.arange(k)),
                                                        "bijector": {"type": "Pad", "paddings": [1, 0]}, "name": "logits"}},
          "components": {"type": "Independent", "reinterpreted_batch_ndims": 1,
                         "distribution": {"type": "Normal", "loc": var(rademacher, "loc"), "scale": sp(10 * np.ones([k, 1]))}}}),
        ("learnable_mix_mvntril",
         {"type": "MixtureSameFamily", "mixture": {"type": "Categorical", "logits": var(np.zeros(k), "logits")},
          "components": {"type": "MultivariateNormalTriL", "loc": var(np.zeros([k, d]), "loc"),
                         "scale_tril": {"transformed": to_json(tril10), "bijector": {"type": "FillScaleTriL"}, "name": "scale_tril"}}}),
        ("learnable_mix_mvntril_fixed_first",
         {"type": "MixtureSameFamily",
          "mixture": {"type": "Categorical", "logits": {"transformed": to_json(np.zeros(k)),
                                                        "bijector": {"type": "Pad", "paddings": [1, 0]}, "name": "logits"}},
          "components": {"type": "MultivariateNormalTriL",
                         "loc": {"transformed": to_json(np.zeros([k, d])), "bijector": {"type": "Pad", "paddings": [1, 0], "axis": -2},
                                 "name": "loc"},
                         "scale_tril": {"transformed": to_json(tril10), "name": "scale_tril",
                                        "bijector": {"type": "Chain", "bijectors": [
                                            {"type": "FillScaleTriL"},
                                            {"type": "ConcatConstant", "constant": to_json(eye_row.numpy()[None, :]), "axis": -2}]}}}}),
    ]


def pos(rng, shape, lo, hi, dtype, name, kinds=("Softplus", "Exp", "variable", "constant")):
    """A positive parameter 10^U(lo, hi), as a transformed, plain or constant parameter."""
    k = str(rng.choice(list(kinds)))
    return param_spec(10.0 ** rng.uniform(lo, hi, size=shape), "transformed" if k in ("Softplus", "Exp") else k, name, dtype, k)


def real(rng, shape, scale, dtype, name):
    return param_spec(rng.normal(size=shape) * scale, str(rng.choice(["variable", "constant"], p=[0.8, 0.2])), name, dtype)


def more_spec(rng, family, batch, dtype, extreme=False):
    """A random distribution of one of the families beyond the seed (`extreme`: the
    NEW_FAMILIES_CONT1 ones with their extreme parameters, on a batch of 7)."""
    k = int(rng.integers(2, 6))
    if family == "Uniform":
        low = rng.normal(size=batch) * 3
        return {"type": "Uniform", "low": param_spec(low, "variable", "low", dtype),
                "high": param_spec(low + 10.0 ** rng.uniform(-1, 1.5, size=batch), "variable", "high", dtype)}
    if family == "Bernoulli":
        if rng.random() < 0.3:
            return {"type": "Bernoulli", "probs": param_spec(rng.uniform(0.05, 0.95, size=batch), "constant", "probs", dtype)}
        return {"type": "Bernoulli", "logits": real(rng, batch, rng.choice([1.0, 5.0]), dtype, "logits")}
    if family == "Gamma":
        return {"type": "Gamma", "concentration": pos(rng, batch, -0.5, 1.5, dtype, "concentration"),
                "rate": pos(rng, batch, -1, 1, dtype, "rate")}
    if family == "Beta":
        return {"type": "Beta", "concentration1": pos(rng, batch, -0.3, 1.3, dtype, "concentration1"),
                "concentration0": pos(rng, batch, -0.3, 1.3, dtype, "concentration0")}
    if family == "StudentT":
        return {"type": "StudentT", "df": pos(rng, batch, 0.0, 1.5, dtype, "df"), "loc": real(rng, batch, 3.0, dtype, "loc"),
                "scale": pos(rng, batch, -1, 1, dtype, "scale")}
    if family in ("Laplace", "LogNormal"):
        return {"type": family, "loc": real(rng, batch, 2.0 if family == "Laplace" else 0.5, dtype, "loc"),
                "scale": pos(rng, batch, -1, 0.5 if family == "Laplace" else 0.0, dtype, "scale")}
    if family in ("Exponential", "Poisson"):
        return {"type": family, "rate": pos(rng, batch, -1, 1 if family == "Exponential" else 2, dtype, "rate")}
    if family in ("HalfNormal", "HalfCauchy"):
        return {"type": family, "scale": pos(rng, batch, -1, 0.5, dtype, "scale")}
    if family in ("Cauchy", "Gumbel"):
        return {"type": family, "loc": real(rng, batch, 2.0, dtype, "loc"), "scale": pos(rng, batch, -1, 0.5, dtype, "scale")}
    if family == "TruncatedNormal":
        # standardized bounds (a, b) per element: around the location, one-sided (an infinite
        # bound), or far in either tail (5 to 30 standard deviations out)
        loc, scale = rng.normal(size=batch) * 2.0, 10.0 ** rng.uniform(-1, 1, size=batch)
        a, b = np.empty(batch), np.empty(batch)
        for i in np.ndindex(*batch):
            kind = rng.choice(["inside", "below", "above", "far_right", "far_left"])
            if kind == "inside":
                a[i], b[i] = -rng.uniform(0.1, 3), rng.uniform(0.1, 3)
            elif kind == "below":
                a[i], b[i] = -np.inf, rng.uniform(-3, 3)
            elif kind == "above":
                a[i], b[i] = rng.uniform(-3, 3), np.inf
            else:
                lo = rng.uniform(5, 30)
                hi = np.inf if rng.random() < 0.4 else lo + rng.uniform(0.05, 5)
                a[i], b[i] = (lo, hi) if kind == "far_right" else (-hi, -lo)
        finite = bool(np.isfinite(a).all() and np.isfinite(b).all())
        bk = str(rng.choice(["variable", "constant"])) if finite else "constant"
        sk = str(rng.choice(["Softplus", "Exp", "variable", "constant"]))
        return {"type": "TruncatedNormal", "loc": param_spec(loc, "variable", "loc", dtype),
                "scale": param_spec(scale, "transformed" if sk in ("Softplus", "Exp") else sk, "scale", dtype, sk),
                "low": param_spec(loc + scale * a, bk, "low", dtype), "high": param_spec(loc + scale * b, bk, "high", dtype)}
    if family == "GeneralizedNormal":
        # powers 0.8 (kurtosis ~8.6) to 5 (nearly flat)
        return {"type": "GeneralizedNormal", "loc": real(rng, batch, 3.0, dtype, "loc"),
                "scale": pos(rng, batch, -1, 1, dtype, "scale"), "power": pos(rng, batch, np.log10(0.8), np.log10(5.0), dtype, "power")}
    if family == "Logistic":
        # scales 0.03 to 30
        return {"type": "Logistic", "loc": real(rng, batch, 3.0, dtype, "loc"), "scale": pos(rng, batch, -1.5, 1.5, dtype, "scale")}
    if family == "Chi2":
        return {"type": "Chi2", "df": pos(rng, batch, -0.3, 1.5, dtype, "df")}
    if family == "Weibull":
        # concentration >= 1: finite moments of every order, so the sample-variance z-test holds
        return {"type": "Weibull", "scale": pos(rng, batch, -1, 1, dtype, "scale"),
                "concentration": pos(rng, batch, 0, 0.7, dtype, "concentration")}
    if family == "Pareto":
        # alpha > 4: a finite fourth moment for the sample-variance z-test
        return {"type": "Pareto", "scale": pos(rng, batch, -1, 1, dtype, "scale"), "alpha": pos(rng, batch, 0.7, 1.2, dtype, "alpha")}
    if family == "Geometric":
        if rng.random() < 0.5:
            return {"type": "Geometric", "probs": param_spec(rng.uniform(0.05, 0.95, size=batch), "constant", "probs", dtype)}
        return {"type": "Geometric", "logits": real(rng, batch, 1.5, dtype, "logits")}
    if family == "Binomial":
        count = rng.integers(0, 60, size=batch if rng.random() < 0.7 else [])
        spec = {"type": "Binomial", "total_count": param_spec(count, "constant", "total_count", dtype)}
        if rng.random() < 0.5:
            return dict(spec, probs=param_spec(rng.uniform(0.02, 0.98, size=batch), str(rng.choice(["variable", "constant"])), "probs", dtype))
        return dict(spec, logits=real(rng, batch, 1.5, dtype, "logits"))
    if family == "NegativeBinomial":
        spec = {"type": "NegativeBinomial", "total_count": pos(rng, batch, -0.5, 1.5, dtype, "total_count")}
        if rng.random() < 0.5:
            return dict(spec, probs=param_spec(rng.uniform(0.05, 0.9, size=batch), str(rng.choice(["variable", "constant"])), "probs", dtype))
        return dict(spec, logits=real(rng, batch, 1.0, dtype, "logits"))
    if family == "InverseGamma":
        # a third of the cases with concentrations 1e-3 .. 1e3 (moment z-tests masked by moment_mask)
        lo, hi = (-3, 3) if rng.random() < 0.35 or extreme else (0.6, 1.5)
        batch = [7] if extreme else batch
        return {"type": "InverseGamma", "concentration": pos(rng, batch, lo, hi, dtype, "concentration"),
                "rate": pos(rng, batch, -1, 1, dtype, "rate")}
    if family == "Kumaraswamy":
        # extreme concentrations 1e-2 .. 1e2 in a third of the cases (beyond them the draws round
        # to 0 or 1, where the density is 0 or infinite)
        lo, hi = (-2, 2) if rng.random() < 0.35 or extreme else (-0.5, 1)
        batch = [7] if extreme else batch
        return {"type": "Kumaraswamy", "concentration1": pos(rng, batch, lo, hi, dtype, "concentration1"),
                "concentration0": pos(rng, batch, max(lo, -0.5), hi, dtype, "concentration0")}
    if family == "FisherSnedecor":
        lo, hi = (-3, 3) if rng.random() < 0.35 or extreme else (0, 1.5)
        batch = [7] if extreme else batch
        return {"type": "FisherSnedecor", "df1": pos(rng, batch, lo, hi, dtype, "df1"),
                "df2": pos(rng, batch, max(lo, 0.0), hi + 0.5, dtype, "df2")}
    if family == "GeneralizedPareto":
        # concentrations in (-0.9, 0.8), and in a third of the cases exactly 0, +-1e-8 and
        # +-1e-12 (where torch switches to the exponential limit: see GeneralizedParetoReference)
        k = rng.uniform(-0.9, 0.8, size=batch)
        if extreme:
            batch, k = [7], rng.permutation([0.0, 1e-8, -1e-8, 1e-12, -1e-12, 1e-5, -3e-7])
        elif rng.random() < 0.35:
            k = rng.choice([0.0, 1e-8, -1e-8, 1e-12, -1e-12, 1e-5], size=batch)
        kk = str(rng.choice(["variable", "constant"], p=[0.8, 0.2]))
        kk = "variable" if extreme else kk  # the gradient to ξ near 0 is compared too
        return {"type": "GeneralizedPareto", "loc": real(rng, batch, 2.0, dtype, "loc"),
                "scale": pos(rng, batch, -1, 1, dtype, "scale"), "concentration": param_spec(k, kk, "concentration", dtype)}
    if family == "VonMises":
        # concentrations 1e-4 to 1e4 (the reference's log I0 is from the scaled Bessel functions,
        # see VonMisesRef)
        return {"type": "VonMises", "loc": real(rng, batch, 2.0, dtype, "loc"),
                "concentration": pos(rng, batch, -4, 4, dtype, "concentration")}
    if family == "ContinuousBernoulli":
        if rng.random() < 0.6:
            # probs exactly 1/2, 1/2 ± 1e-6, the edges of torch's unstable region, 1e-6 from 0 and 1
            special = np.array([0.5, 0.5 + 1e-6, 0.5 - 1e-6, 0.499, 0.5011, 1e-6, 1 - 1e-6, 0.3, 0.8])
            probs = rng.choice(special, size=batch) if rng.random() < 0.7 else rng.uniform(0.01, 0.99, size=batch)
            return {"type": "ContinuousBernoulli",
                    "probs": param_spec(probs, str(rng.choice(["constant", "variable"])), "probs", dtype)}
        return {"type": "ContinuousBernoulli", "logits": real(rng, batch, float(rng.choice([0.002, 1.0, 5.0])), dtype, "logits")}
    if family == "RelaxedBernoulli":
        # temperatures 0.05 to 5, scalar or one per batch member (torch's batch shape is the logits')
        t_shape = batch if rng.random() < 0.5 else []
        temperature = pos(rng, t_shape, np.log10(0.05), np.log10(5.0), dtype, "temperature")
        if rng.random() < 0.4:
            probs = rng.uniform(0.02, 0.98, size=batch)
            return {"type": "RelaxedBernoulli", "temperature": temperature,
                    "probs": param_spec(probs, str(rng.choice(["constant", "variable"])), "probs", dtype)}
        return {"type": "RelaxedBernoulli", "temperature": temperature,
                "logits": real(rng, batch, float(rng.choice([1.0, 3.0])), dtype, "logits")}
    if family == "TransformedDistribution":
        b = [rng.choice(["Exp", "Softplus", "Sigmoid", "Tanh"]),
             {"type": "Chain", "bijectors": [{"type": "Shift", "shift": to_json(rng.normal())},
                                             {"type": "Scale", "scale": to_json(10.0 ** rng.uniform(-1, 1))}]}][
            int(rng.random() < 0.3)]
        base = {"type": "Normal", "loc": real(rng, batch, 1.0, dtype, "loc"), "scale": pos(rng, batch, -1, 0, dtype, "scale")}
        return {"type": "TransformedDistribution", "distribution": base, "bijector": b if isinstance(b, dict) else str(b)}
    if family == "MultivariateNormalDiag":
        return {"type": "MultivariateNormalDiag", "loc": real(rng, batch + [k], 3.0, dtype, "loc"),
                "scale_diag": pos(rng, batch + [k], -1, 1, dtype, "scale_diag")}
    if family == "MultivariateNormal":
        tril = rand_tril(rng, batch, k, dtype)
        key = "covariance_matrix" if rng.random() < 0.6 else "precision_matrix"
        # L Lᵀ + 0.1 I: positive definite after rounding to float32 too
        matrix = tril @ np.swapaxes(tril, -1, -2) + 0.1 * np.eye(k)
        return {"type": "MultivariateNormal", "loc": real(rng, batch + [k], 3.0, dtype, "loc"),
                key: param_spec(matrix, str(rng.choice(["variable", "constant"])), key, dtype)}
    if family == "Dirichlet":
        return {"type": "Dirichlet", "concentration": pos(rng, batch + [k], -0.3, 1.0, dtype, "concentration")}
    if family == "LogisticNormal":
        return {"type": family, "loc": real(rng, batch + [k - 1], 1.5, dtype, "loc"),
                "scale": pos(rng, batch + [k - 1], -1, 0.3, dtype, "scale")}
    if family == "LKJCholesky":
        # concentrations 0.2 to 10 (below 1 the density is high near singular correlations)
        return {"type": family, "dim": k, "concentration": pos(rng, batch, -0.7, 1.0, dtype, "concentration")}
    if family == "Wishart":
        d = int(rng.integers(1, 5))
        df = (d - 1) + 10.0 ** rng.uniform(-0.5, 1.3, size=batch)
        tril = rand_tril(rng, batch, d, dtype, shift=0.05, scales=(0.3, 0.6, 1.0))
        key = str(rng.choice(["scale_tril", "covariance_matrix", "precision_matrix"]))
        if key == "scale_tril":
            matrix = param_spec(tril, "transformed", "scale_tril", dtype, {"type": "FillScaleTriL"})
        else:
            m = tril @ np.swapaxes(tril, -1, -2) + 0.05 * np.eye(d)
            matrix = param_spec(m if key == "covariance_matrix" else np.linalg.inv(m), str(rng.choice(["variable", "constant"])),
                                key, dtype)
        return {"type": family, "df": param_spec(df, str(rng.choice(["variable", "constant"])), "df", dtype), key: matrix}
    if family in ("Multinomial", "OneHotCategoricalStraightThrough", "RelaxedOneHotCategorical"):
        c = categorical_spec(rng, batch, k, dtype)
        c.update(type=family)
        if family == "Multinomial":
            c["total_count"] = param_spec(np.asarray(float(rng.choice([1, 3, 10, 100]))), "constant", "total_count", dtype)
        if family == "RelaxedOneHotCategorical":
            # torch takes one temperature: a scalar, from 0.2 to 5
            c["temperature"] = pos(rng, [], np.log10(0.2), np.log10(5.0), dtype, "temperature")
            if "probs" not in c:
                c["logits"] = real(rng, batch + [k], float(rng.choice([0.5, 2.0])), dtype, "logits")
        return c
    if family == "LowRankMultivariateNormal":
        r = int(rng.integers(1, 4))
        # W's and D's batch parts sometimes shorter (broadcast), D from 0.03 to 30
        w_batch = batch[int(rng.integers(0, len(batch) + 1)):]
        return {"type": family, "loc": real(rng, batch + [k], 3.0, dtype, "loc"),
                "cov_factor": real(rng, w_batch + [k, r], float(rng.choice([0.3, 1.0, 3.0])), dtype, "cov_factor"),
                "cov_diag": pos(rng, batch + [k], -1.5, 1.5, dtype, "cov_diag")}
    if family == "MultivariateStudentT":
        # df from 0.5 to 30: mean NaN below 1, variance inf between 1 and 2
        df_shape = batch if rng.random() < 0.6 else []
        # well conditioned (SciPy's multivariate_t drops eigenvalues below 2e-10 of the largest)
        tril = rand_tril(rng, batch, k, dtype, shift=0.05, scales=(0.3, 0.6, 1.0))
        return {"type": family, "df": pos(rng, df_shape, -0.3, 1.5, dtype, "df"), "loc": real(rng, batch + [k], 3.0, dtype, "loc"),
                "scale_tril": param_spec(tril, str(rng.choice(["variable", "constant"])), "scale_tril", dtype)
                if rng.random() < 0.3 else param_spec(tril, "transformed", "scale_tril", dtype, {"type": "FillScaleTriL"})}
    if family == "OneHotCategorical":
        c = categorical_spec(rng, batch, k, dtype)
        return dict(c, type="OneHotCategorical")
    if family == "Mixture":
        comps = []
        for _ in range(k):
            f = str(rng.choice(["Normal", "Laplace", "StudentT"]))
            comps.append(more_spec(rng, f, batch, dtype) if f != "Normal" else normal_spec(rng, batch, dtype))
        return {"type": "Mixture", "mixture": categorical_spec(rng, batch, k, dtype), "components": comps}
    if family == "BatchBroadcast":
        base_batch = [1 if rng.random() < 0.4 else s for s in batch]
        return {"type": "BatchBroadcast", "batch_shape": [int(rng.integers(1, 4))] + batch,
                "distribution": normal_spec(rng, base_batch, dtype) if rng.random() < 0.5 else more_spec(rng, "Gamma", base_batch, dtype)}
    raise ValueError(family)


MORE_FAMILIES = ["Uniform", "Bernoulli", "Gamma", "Beta", "StudentT", "Laplace", "LogNormal", "TransformedDistribution",
                 "MultivariateNormalDiag", "MultivariateNormal", "Dirichlet", "OneHotCategorical", "Mixture", "BatchBroadcast"]
# The families declared with a FamilySpec after the ones above; their cases come from a generator
# of their own, so that adding them leaves every other case (and the KL cases) as it was.
NEW_FAMILIES = ["Exponential", "HalfNormal", "Cauchy", "HalfCauchy", "Gumbel", "Chi2", "Weibull", "Pareto", "Poisson",
                "Geometric"]
# VonMises, ContinuousBernoulli and RelaxedBernoulli, from a generator of their own as well.
NEW_FAMILIES_CONT2 = ["VonMises", "ContinuousBernoulli", "RelaxedBernoulli"]

# TFP's families that torch lacks (Logistic, GeneralizedNormal, TruncatedNormal), from a generator
# of their own, appended after every other case so that those keep their draws; the reference is
# the closed form in torch ops (LogisticRef, GeneralizedNormalRef, TruncatedNormalRef) and, in
# float64, SciPy (check_scipy).
TFP_FAMILIES = ["Logistic", "GeneralizedNormal", "TruncatedNormal"]


# The structured families of issue 15 (torch's LowRankMultivariateNormal; MultivariateStudentT,
# whose reference is Pyro's and, in float64, SciPy's multivariate_t), from a generator of their
# own appended after the TFP families.
STRUCTURED_FAMILIES = ["LowRankMultivariateNormal", "MultivariateStudentT"]
# torch's categorical relatives (Multinomial, OneHotCategoricalStraightThrough,
# RelaxedOneHotCategorical), 12 cases each from a generator of their own, appended after the KL
# pairs above.
CATEGORICAL_FAMILIES = ["Multinomial", "OneHotCategoricalStraightThrough", "RelaxedOneHotCategorical"]
# torch's LogisticNormal, LKJCholesky and Wishart, 12 cases each from a generator of their own
# appended after the categorical ones.
MATRIX_FAMILIES = ["LogisticNormal", "LKJCholesky", "Wishart"]


def family_cases(rng, families, seed, per=6):
    """`per` cases per family and dtype, from a generator of their own (appended after the
    others, so that those keep their draws), seeded from `seed` on."""
    cases = []
    for dtype in ("float32", "float64"):
        for rep in range(per * len(families)):
            family = families[rep % len(families)]
            spec = more_spec(rng, family, random_shape(rng, 2), dtype)
            cases.append({"kind": "distribution", "dtype": dtype, "distribution": spec, "label": family,
                          "x_lead": random_shape(rng, 2), "sample_shape": [4000], "seed": seed + len(cases)})
    return cases


def structured_kl_cases(rng):
    """KL pairs with LowRankMultivariateNormal on one side or both, the other side each of the
    Gaussian families; torch's three low-rank rules are the reference (MultivariateNormalDiag
    enters them as a MultivariateNormal with a diagonal scale_tril, kl_reference)."""
    others = ["LowRankMultivariateNormal", "MultivariateNormalTriL", "MultivariateNormalDiag", "MultivariateNormal"]
    cases = []
    for dtype in ("float32", "float64"):
        for rep in range(4 * (2 * len(others) - 1)):
            i = rep % (2 * len(others) - 1)
            pf, qf = ("LowRankMultivariateNormal", others[i]) if i < len(others) else (others[i - len(others) + 1],
                                                                                     "LowRankMultivariateNormal")
            batch = random_shape(rng, 2)
            def one(f, d):
                if f == "MultivariateNormalTriL":
                    return mvn_tril_spec(rng, batch, d, dtype)
                spec = more_spec(rng, f, batch, dtype)
                while _event_size(spec) != d:  # the other families draw their size
                    spec = more_spec(rng, f, batch, dtype)
                return spec

            d = int(rng.integers(2, 6))
            p, q = one(pf, d), one(qf, d)
            cases.append({"kind": "kl", "dtype": dtype, "p": p, "q": q, "label": f"KL {pf}-{qf}"})
    return cases


# The count families (Binomial, NegativeBinomial), again from a generator of their own.
COUNT_FAMILIES = ["Binomial", "NegativeBinomial"]


def count_family_cases(rng):
    """6 random cases per count family and dtype, and the extreme ones of the discrete families
    (counts and rates up to 1e6, probabilities within 1e-9 of 0 and 1), which are also checked
    against closed forms in mpmath (check_extreme)."""
    cases = []
    for dtype in ("float32", "float64"):
        for rep in range(6 * len(COUNT_FAMILIES)):
            family = COUNT_FAMILIES[rep % len(COUNT_FAMILIES)]
            cases.append({"label": family, "spec": more_spec(rng, family, random_shape(rng, 2), dtype), "dtype": dtype,
                          "x_lead": random_shape(rng, 2)})
        for spec in extreme_specs(dtype):
            cases.append({"label": f"extreme {spec['type']}", "spec": spec, "dtype": dtype, "x_lead": [3], "extreme": True})
    return [{"kind": "distribution", "dtype": c["dtype"], "distribution": c["spec"], "label": c["label"], "x_lead": c["x_lead"],
             "sample_shape": [4000], "seed": 100_000 + i, **({"extreme": True} if c.get("extreme") else {})}
            for i, c in enumerate(cases)]


def extreme_specs(dtype):
    """Discrete families at extreme parameters: near-0 probabilities as probs, near-1 ones as
    logits (where they are representable), counts and rates from 1e-6 to 1e6."""
    c = lambda v, name: param_spec(np.asarray(v, dtype=np.float64), "constant", name, dtype)
    var = lambda v, name: param_spec(np.asarray(v, dtype=np.float64), "variable", name, dtype)
    counts = [1.0, 10.0, 1e3, 1e6, 1e6]
    return [
        {"type": "Binomial", "total_count": c(counts, "total_count"), "probs": var([1e-9, 1e-6, 0.5, 1e-6, 0.3], "probs")},
        {"type": "Binomial", "total_count": c(counts, "total_count"), "logits": var([20.0, 13.0, -8.0, 14.0, 0.4], "logits")},
        {"type": "NegativeBinomial", "total_count": var([1e-3, 0.5, 30.0, 1e4, 1e6], "total_count"),
         "probs": var([1e-9, 1e-6, 0.5, 1e-3, 0.2], "probs")},
        {"type": "NegativeBinomial", "total_count": var([2.0, 1e3, 1e6, 0.1, 5.0], "total_count"),
         "logits": var([-20.0, -13.0, -12.0, 3.0, 5.0], "logits")},
        {"type": "Poisson", "rate": var([1e-6, 1e-3, 1.0, 1e3, 1e6], "rate")},
        {"type": "Geometric", "probs": var([1e-9, 1e-6, 0.5, 0.999, 1 - 1e-6], "probs")},
        {"type": "Geometric", "logits": var([-20.0, -13.0, 0.0, 13.0, 20.0], "logits")},
    ]


def extreme_values(case, res, x):
    """The parameters of an extreme case as Rust saw them (variables or constants), as float64
    arrays broadcast to the points' shape."""
    spec = case["distribution"]
    out = {}
    for field, p in spec.items():
        if isinstance(p, dict) and ("variable" in p or "constant" in p):
            v = from_json(res["variables"][p["name"]]) if "variable" in p else from_json(p["constant"])
            out[field] = np.broadcast_to(v.numpy(), x.shape)
    return out


def mp_reference(t, par, k):
    """log_prob, its derivatives by the family's own parameters, and mean/variance/entropy where
    the family has them, at one point k, by closed forms in mpmath (50 digits) on the exact float64
    parameter values. Returns (log_prob, magnitude of its terms, {param: (derivative, magnitude)},
    {method: value})."""
    import mpmath as mp
    mp.mp.dps = 50
    k = mp.mpf(float(k))
    if "logits" in par:
        l = mp.mpf(float(par["logits"]))
        p, q = 1 / (1 + mp.exp(-l)), 1 / (1 + mp.exp(l))
    elif "probs" in par:
        p = mp.mpf(float(par["probs"]))
        q = 1 - p
    if t == "Binomial":
        n = mp.mpf(float(par["total_count"]))
        coef = mp.loggamma(n + 1) - mp.loggamma(k + 1) - mp.loggamma(n - k + 1)
        lp = coef + (k * mp.log(p) if k else 0) + ((n - k) * mp.log(q) if n - k else 0)
        mag = abs(k * mp.log(p)) + abs((n - k) * mp.log(q)) + 2 * mp.log(n + 1) + abs(coef)
        grads = {"probs": (k / p - (n - k) / q, k / p + (n - k) / q), "logits": ((k - n) + n * q, k + n * p)}
        methods = {"mean": n * p, "variance": n * p * q}
    elif t == "NegativeBinomial":
        r = mp.mpf(float(par["total_count"]))
        coef = mp.loggamma(r + k) - mp.loggamma(r) - mp.loggamma(k + 1)
        lp = coef + (k * mp.log(p) if k else 0) + r * mp.log(q)
        mag = abs(k * mp.log(p)) + abs(r * mp.log(q)) + 2 * abs(mp.log(r + k)) + abs(coef)
        dr = mp.digamma(r + k) - mp.digamma(r) + mp.log(q)
        grads = {"probs": (k / p - r / q, k / p + r / q), "logits": (k * q - r * p, k * q + r * p),
                 "total_count": (dr, abs(mp.digamma(r + k)) + abs(mp.digamma(r)) + abs(mp.log(q)))}
        methods = {"mean": r * p / q, "variance": r * p / q ** 2}
    elif t == "Poisson":
        lam = mp.mpf(float(par["rate"]))
        lp = (k * mp.log(lam) if k else 0) - lam - mp.loggamma(k + 1)
        mag = abs(k * mp.log(lam)) + lam + abs(mp.loggamma(k + 1))
        grads = {"rate": (k / lam - 1, k / lam + 1)}
        methods = {"mean": lam, "variance": lam}
    elif t == "Geometric":
        lp = mp.log(p) + (k * mp.log(q) if k else 0)
        mag = abs(mp.log(p)) + abs(k * mp.log(q))
        grads = {"probs": (1 / p - k / q, 1 / p + k / q), "logits": (q - k * p, q + k * p)}
        methods = {"mean": q / p, "variance": q / p ** 2, "entropy": -(p * mp.log(p) + (q * mp.log(q) if q else 0)) / p}
    else:
        raise ValueError(t)
    return lp, mag, grads, methods


def check_extreme(report, case, res):
    """An extreme discrete case against closed forms in mpmath (torch is inaccurate there: lgamma
    differences of counts near 1e6, probabilities clamped at eps before taking logits, 1 - p from
    a p near 1): log_prob, the gradients of sum(log_prob) by each parameter variable, and the
    moments. Tolerances are C eps(D) (GRAD_ROUNDINGS eps(D) for gradients) times the magnitude of
    the terms that make each value."""
    dtype, t = case["dtype"], case["distribution"]["type"]
    tag = f"{case['label']} {dtype}"
    x = from_json(case["x"]).numpy()
    par = extreme_values(case, res, x)
    lps, mags, grads, gmags = [], [], {}, {}
    for idx in np.ndindex(x.shape):
        lp, mag, g, _ = mp_reference(t, {f: v[idx] for f, v in par.items()}, x[idx])
        lps.append(float(lp))
        mags.append(float(mag))
        for f, (gv, gm) in g.items():
            grads.setdefault(f, []).append(float(gv))
            gmags.setdefault(f, []).append(float(gm))
    ref, mag = torch.tensor(lps, dtype=torch.float64).reshape(x.shape), torch.tensor(mags, dtype=torch.float64).reshape(x.shape)
    report.add(f"{tag} log_prob vs mpmath", from_json(res["log_prob"]), ref, C * EPS[dtype] * (ref.abs() + mag) + TINY[dtype],
               case["id"])
    bshape = res["batch_shape"]
    for field, p in case["distribution"].items():
        if not (isinstance(p, dict) and "variable" in p) or field not in grads:
            continue
        # sum over the sample dimensions of the points: the gradient has the batch shape
        lead = len(x.shape) - len(bshape)
        g = torch.tensor(grads[field], dtype=torch.float64).reshape(x.shape).sum(list(range(lead))) if lead else torch.tensor(grads[field], dtype=torch.float64)
        gm = torch.tensor(gmags[field], dtype=torch.float64).reshape(x.shape).sum(list(range(lead))) if lead else torch.tensor(gmags[field], dtype=torch.float64)
        report.add(f"{tag} grad sum(log_prob) wrt {field} vs mpmath", from_json(res["grads"][p["name"]]), g,
                   GRAD_ROUNDINGS * EPS[dtype] * gm + TINY[dtype], case["id"])
    flat = {f: v[(0,) * (len(x.shape) - len(bshape))] for f, v in par.items()}  # the batch's parameters
    for method in ("mean", "variance", "entropy"):
        vals = [mp_reference(t, {f: v[idx] for f, v in flat.items()}, 0)[3].get(method) for idx in np.ndindex(tuple(bshape))]
        if method not in res or any(v is None for v in vals):
            continue
        ref = torch.tensor([float(v) for v in vals], dtype=torch.float64).reshape(bshape)
        # moments computed through exp(log terms) carry the exponent's rounding: |log ref| eps
        tol = C * EPS[dtype] * ref.abs() * (1 + ref.abs().clamp_min(1e-300).log().abs()) + TINY[dtype]
        report.add(f"{tag} {method} vs mpmath", from_json(res[method]), ref, tol, case["id"])


# The next continuous families (issue 13), from a generator of their own again.
NEW_FAMILIES_CONT1 = ["InverseGamma", "Kumaraswamy", "FisherSnedecor", "GeneralizedPareto"]


# Families with a closed-form icdf, checked against torch's icdf.
ICDF_FAMILIES = ("Normal", "Laplace", "Uniform", "LogNormal", "Exponential", "HalfNormal", "Cauchy", "HalfCauchy", "Gumbel",
                 "Weibull", "Pareto", "Kumaraswamy", "GeneralizedPareto", "ContinuousBernoulli", "Logistic", "TruncatedNormal")


def distribution_cases(rng, new_rng, cont1_rng, cont2_rng):
    cases = []
    for dtype in ("float32", "float64"):
        for label, spec in seed_specs(rng, dtype):
            cases.append({"label": f"seed {label}", "spec": dict(spec, name=label), "dtype": dtype, "x_lead": [16]})
        for rep in range(100):
            family = ["Normal", "Independent", "Categorical", "MultivariateNormalTriL", "MixtureNormal", "MixtureMVN"][rep % 6]
            batch = random_shape(rng, 2)
            if family == "Normal":
                spec = normal_spec(rng, batch, dtype)
            elif family == "Independent":
                batch = random_shape(rng, 3)
                spec = {"type": "Independent", "reinterpreted_batch_ndims": int(rng.integers(0, len(batch) + 1)),
                        "distribution": normal_spec(rng, batch, dtype)}
            elif family == "Categorical":
                spec = categorical_spec(rng, batch, int(rng.integers(1, 6)), dtype)
            elif family == "MultivariateNormalTriL":
                spec = mvn_tril_spec(rng, batch, int(rng.integers(1, 5)), dtype)
            else:
                k, d = int(rng.integers(1, 4)), int(rng.integers(1, 5))
                # torch's MixtureSameFamily.sample needs the mixture's batch shape to equal the
                # components' (Rust also broadcasts them; tests/mixture.rs covers that).
                mixture = categorical_spec(rng, batch, k, dtype)
                if family == "MixtureNormal":
                    comp = {"type": "Independent", "reinterpreted_batch_ndims": 1,
                            "distribution": normal_spec(rng, batch + [k, d], dtype)}
                else:
                    comp = mvn_tril_spec(rng, batch + [k], d, dtype)
                spec = {"type": "MixtureSameFamily", "mixture": mixture, "components": comp}
            cases.append({"label": family, "spec": spec, "dtype": dtype, "x_lead": random_shape(rng, 2)})
        for rep in range(6 * len(MORE_FAMILIES)):
            family = MORE_FAMILIES[rep % len(MORE_FAMILIES)]
            spec = more_spec(rng, family, random_shape(rng, 2), dtype)
            cases.append({"label": family, "spec": spec, "dtype": dtype, "x_lead": random_shape(rng, 2)})
    for dtype in ("float32", "float64"):
        for rep in range(6 * len(NEW_FAMILIES)):
            family = NEW_FAMILIES[rep % len(NEW_FAMILIES)]
            spec = more_spec(new_rng, family, random_shape(new_rng, 2), dtype)
            cases.append({"label": family, "spec": spec, "dtype": dtype, "x_lead": random_shape(new_rng, 2)})
    for dtype in ("float32", "float64"):
        for rep in range(6 * len(NEW_FAMILIES_CONT1)):
            family = NEW_FAMILIES_CONT1[rep % len(NEW_FAMILIES_CONT1)]
            # the first case of each family: its extreme parameters
            spec = more_spec(cont1_rng, family, random_shape(cont1_rng, 2), dtype, extreme=rep < len(NEW_FAMILIES_CONT1))
            cases.append({"label": family, "spec": spec, "dtype": dtype, "x_lead": random_shape(cont1_rng, 2)})
        for rep in range(6 * len(NEW_FAMILIES_CONT2)):
            family = NEW_FAMILIES_CONT2[rep % len(NEW_FAMILIES_CONT2)]
            spec = more_spec(cont2_rng, family, random_shape(cont2_rng, 2), dtype)
            cases.append({"label": family, "spec": spec, "dtype": dtype, "x_lead": random_shape(cont2_rng, 2)})
    return [{"kind": "distribution", "dtype": c["dtype"], "distribution": c["spec"], "label": c["label"],
             "x_lead": c["x_lead"], "sample_shape": [4000], "seed": i} for i, c in enumerate(cases)]


class PyMixture:
    """tfd.Mixture's reference (torch has none): a categorical over a list of components."""

    def __init__(self, cat, components):
        self.cat, self.components = cat, components
        self.batch_shape, self.event_shape = components[0].batch_shape, components[0].event_shape

    def _weights(self):
        w = self.cat.probs
        return w.movedim(-1, 0).reshape(w.shape[-1], *w.shape[:-1], *([1] * len(self.event_shape)))

    def log_prob(self, x):
        lp = torch.stack([c.log_prob(x) for c in self.components], -1)
        return torch.logsumexp(lp + self.cat.logits, -1)

    @property
    def mean(self):
        return (self._weights() * torch.stack([c.mean for c in self.components])).sum(0)

    @property
    def variance(self):
        w, m = self._weights(), torch.stack([c.mean for c in self.components])
        v = torch.stack([c.variance for c in self.components])
        return (w * (v + m ** 2)).sum(0) - self.mean ** 2

    def sample(self, shape):
        draws = torch.stack([c.sample(shape) for c in self.components], 0)
        k = self.cat.sample(shape)
        k = k.reshape(1, *k.shape, *([1] * len(self.event_shape))).expand(1, *draws.shape[1:])
        return draws.gather(0, k)[0]


def _log1mexp(t):
    """log(1 - exp(t)), t <= 0, accurate at both ends."""
    return torch.where(t > -math.log(2.0), torch.log(-torch.expm1(t)), torch.log1p(-torch.exp(t)))


class LKJCholeskyRef(td.LKJCholesky):
    """torch's LKJCholesky with the onion method's Beta(i/2, ...) for row i (torch 2.11 uses
    Beta(i - 1/2, ...), the paper's only for row 1: for dim 3, concentration 1 -- the uniform
    distribution over correlation matrices -- its C[2, 0] has variance 0.30 in 400 000 draws,
    where a rejection sampler over the elliptope and the LKJ marginal Beta(3/2, 3/2) give 0.25)."""

    def __init__(self, dim, concentration, validate_args=None):
        super().__init__(dim, concentration, validate_args=validate_args)
        rows = torch.arange(dim, dtype=self.concentration.dtype) * 0.5
        self._beta = td.Beta(rows.clamp_min(0.5), self._beta.concentration0)


class MultinomialRef(td.Multinomial):
    """torch's Multinomial with its entropy's lgamma(n + 1) in the parameters' dtype: torch
    computes it from torch.tensor(total_count), an int64 tensor whose lgamma is float32 (4e-6
    off at n = 100 in a float64 entropy)."""

    def entropy(self):
        n = torch.tensor(float(self.total_count), dtype=self.probs.dtype)
        term1 = n * self._categorical.entropy() - torch.lgamma(n + 1)
        support = self._binomial.enumerate_support(expand=False)[1:]
        term2 = (torch.exp(self._binomial.log_prob(support)) * torch.lgamma(support + 1)).sum([0, -1])
        return term1 + term2


class LocationRef(td.Distribution):
    """The shared part of the references below: a real support, draws by rsample, and the
    location as mean and mode (symmetric unimodal families)."""
    support = td.constraints.real
    has_rsample = True

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc


class LogisticRef(LocationRef):
    """TFP's Logistic (torch has none) in closed form in torch ops, in TFP's forms (Rust's are
    written differently): log_prob -z - 2 softplus(-z) - log s with an exact softplus
    (logaddexp(t, 0); torch's returns t above 20), cdf sigmoid(z), icdf loc + s (log u - log1p(-u)),
    mean and mode loc, variance (pi s)^2 / 3, entropy log s + 2; draws by the inverse cdf."""
    arg_constraints = {"loc": td.constraints.real, "scale": td.constraints.positive}

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = torch.broadcast_tensors(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def _z(self, x):
        return (x - self.loc) / self.scale

    def log_prob(self, x):
        z = self._z(x)
        return -z - 2 * torch.logaddexp(-z, torch.zeros_like(z)) - self.scale.log()

    def cdf(self, x):
        return torch.sigmoid(self._z(x))

    def icdf(self, u):
        return self.loc + self.scale * (u.log() - torch.log1p(-u))

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        fi = torch.finfo(self.loc.dtype)
        u = torch.rand(shape, dtype=self.loc.dtype).clamp(fi.tiny, 1 - fi.eps)
        return self.icdf(u)

    @property
    def variance(self):
        return (math.pi * self.scale) ** 2 / 3

    def entropy(self):
        return self.scale.log() + 2


class GeneralizedNormalRef(LocationRef):
    """TFP's GeneralizedNormal (torch has none) in closed form in torch ops: log_prob
    log p - log 2 - log s - lgamma(1/p) - |z|^p, cdf from the regularized upper incomplete gamma
    Q(1/p, |z|^p)/2 on either side (TFP's 1/2 + sign(z) P/2 cancels in the left tail), mean and
    mode loc, variance s^2 Gamma(3/p)/Gamma(1/p), entropy 1/p - log p + log(2 s) + lgamma(1/p);
    draws loc + s * sign * Gamma(1/p)^(1/p) (TFP's sampler, torch's gamma draws)."""
    arg_constraints = {"loc": td.constraints.real, "scale": td.constraints.positive, "power": td.constraints.positive}

    def __init__(self, loc, scale, power, validate_args=None):
        self.loc, self.scale, self.power = torch.broadcast_tensors(loc, scale, power)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def log_prob(self, x):
        z = ((x - self.loc) / self.scale).abs()
        return self.power.log() - math.log(2) - self.scale.log() - torch.lgamma(1 / self.power) - z ** self.power

    def cdf(self, x):
        z = (x - self.loc) / self.scale
        q = 0.5 * torch.special.gammaincc(1 / self.power, z.abs() ** self.power)
        return torch.where(z < 0, q, 1 - q)

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        g = td.Gamma(1 / self.power, torch.ones_like(self.power)).rsample(sample_shape)
        sign = torch.where(torch.rand(shape, dtype=self.loc.dtype) < 0.5, -1.0, 1.0).to(self.loc.dtype)
        return self.loc + self.scale * sign * g ** (1 / self.power)

    @property
    def variance(self):
        return self.scale ** 2 * torch.exp(torch.lgamma(3 / self.power) - torch.lgamma(1 / self.power))

    def entropy(self):
        return 1 / self.power - self.power.log() + math.log(2) + self.scale.log() + torch.lgamma(1 / self.power)


class TruncatedNormalRef(td.Distribution):
    """TFP's TruncatedNormal (torch has none) in torch ops, in TFP's log-space form: log Z =
    log(Phi(b) - Phi(a)) as log_ndtr(hi) + log(-expm1(log_ndtr(lo) - log_ndtr(hi))) with (lo, hi)
    = (-b, -a) where a > 0; log_prob, cdf from the same difference, TFP's mean, variance and
    entropy. The quantile (icdf, and the draws through it) is SciPy's truncnorm.ppf of the
    standardized bounds in float64 (stable in the tails), mapped back in the distribution's dtype;
    float64 values are also compared with SciPy's logpdf, cdf and mean (check_scipy)."""
    arg_constraints = {"loc": td.constraints.real, "scale": td.constraints.positive}
    has_rsample = True

    def __init__(self, loc, scale, low, high, validate_args=None):
        self.loc, self.scale, self.low, self.high = torch.broadcast_tensors(loc, scale, low, high)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def support(self):
        return td.constraints.interval(self.low, self.high)

    def _ab(self):
        big = 1e10

        def standard(bound):
            finite = torch.isfinite(bound)
            z = ((torch.where(finite, bound, 0.0) - self.loc) / self.scale).clamp(-big, big)
            return torch.where(finite, z, torch.sign(bound) * big)
        return standard(self.low), standard(self.high)

    @staticmethod
    def _log_diff(lo, hi):
        right = lo > 0
        l, h = torch.where(right, -hi, lo), torch.where(right, -lo, hi)
        ll, lh = torch.special.log_ndtr(l), torch.special.log_ndtr(h)
        return lh + torch.log(-torch.expm1(ll - lh))

    def _log_z(self):
        return self._log_diff(*self._ab())

    def log_prob(self, x):
        z = (x - self.loc) / self.scale
        lp = -0.5 * z ** 2 - 0.5 * math.log(2 * math.pi) - self.scale.log() - self._log_z()
        return torch.where((x >= self.low) & (x <= self.high), lp, -torch.inf)

    def cdf(self, x):
        a, b = self._ab()
        z = torch.minimum(torch.maximum((x - self.loc) / self.scale, a), b)
        return torch.exp(self._log_diff(a, z) - self._log_z())

    def icdf(self, u):
        import scipy.stats as st
        a, b = self._ab()
        shape = torch.broadcast_shapes(u.shape, a.shape)
        a64, b64 = (t.detach().double().expand(shape).numpy() for t in (a, b))
        z = st.truncnorm.ppf(u.detach().double().expand(shape).numpy(), a64, b64)
        x = self.loc + self.scale * torch.as_tensor(z, dtype=self.loc.dtype)
        return torch.minimum(torch.maximum(x, self.low), self.high)

    def rsample(self, sample_shape=torch.Size()):
        fi = torch.finfo(self.loc.dtype)
        return self.icdf(torch.rand(self._extended_shape(sample_shape), dtype=self.loc.dtype).clamp(fi.tiny, 1 - fi.eps))

    def _ratios(self):
        a, b = self._ab()
        log_z, log_phi = self._log_z(), lambda t: -0.5 * t ** 2 - 0.5 * math.log(2 * math.pi)
        return a, b, torch.exp(log_phi(a) - log_z), torch.exp(log_phi(b) - log_z)

    @property
    def mean(self):
        _, _, ra, rb = self._ratios()
        return self.loc + self.scale * (ra - rb)

    @property
    def mode(self):
        return torch.minimum(torch.maximum(self.loc, self.low), self.high)

    @property
    def variance(self):
        a, b, ra, rb = self._ratios()
        return self.scale ** 2 * (1 + a * ra - b * rb - (ra - rb) ** 2)

    def entropy(self):
        a, b, ra, rb = self._ratios()
        return self.scale.log() + self._log_z() + 0.5 * math.log(2 * math.pi) + 0.5 + 0.5 * (a * ra - b * rb)


class KumaraswamyReference(td.Kumaraswamy):
    """torch's Kumaraswamy with closed forms in torch ops for log_prob, cdf, icdf and mode:
    torch composes transforms of a uniform, which rounds 1 - x^a to 1 in the left tail (its
    float64 log_prob is -inf at x = 1e-9 for a = 3, the true value -40.3) and 1 - u^(1/b) in
    the right one; its mode, exp(log1p(-b)/b - log1p(-ab)), is NaN for every b > 1, so the
    reference is TFP's ((a - 1)/(ab - 1))^(1/a), NaN where a < 1 or b < 1 as torch. Mean, variance
    and entropy are torch's."""

    def log_prob(self, x):
        a, b = self.concentration1, self.concentration0
        log_x = torch.log(x)
        return torch.log(a) + torch.log(b) + torch.special.xlogy(a - 1, x) + (b - 1) * _log1mexp(a * log_x)

    def cdf(self, x):
        return -torch.expm1(self.concentration0 * _log1mexp(self.concentration1 * torch.log(x)))

    def icdf(self, u):
        a, b = self.concentration1, self.concentration0
        return torch.exp(torch.log(-torch.expm1(torch.log1p(-u) / b)) / a)

    @property
    def mode(self):
        a, b = self.concentration1, self.concentration0
        m = ((a - 1) / (a * b - 1)) ** (1 / a)
        return torch.where((a < 1) | (b < 1), torch.nan, m)


class GeneralizedParetoReference(td.GeneralizedPareto):
    """torch's GeneralizedPareto, except near concentration 0: torch switches to the exponential
    limit where isclose(concentration, 0) (|ξ| <= 1e-8), which in float64 costs a relative |ξ| z
    and gives no gradient to ξ (the true one, z²/2 - z at ξ = 0, is not 0). Here
    A(z) = log1p(ξz)/ξ and Q(L) = expm1(ξL)/ξ come from their Taylor series in w = ξz (ξL) for
    |w| < 1e-3 (6 terms, error < 1e-19) and from torch's own forms elsewhere; log_cdf is
    log1mexp(-A) (torch's log1p(-exp(log_sf)) loses the left tail); -inf outside the support, as
    Rust (torch returns the formula's value there). The float64 values are also compared with
    SciPy's genpareto (check_scipy)."""

    def _a(self, z):
        k = self.concentration
        w = k * z
        small = (w.abs() < 1e-3) | (k == 0)
        ws = torch.where(small, w, torch.zeros_like(w)).nan_to_num(0.0)
        series = z * (1 - ws / 2 + ws ** 2 / 3 - ws ** 3 / 4 + ws ** 4 / 5 - ws ** 5 / 6)
        kf = torch.where(small, torch.ones_like(k), k)
        wf = torch.where(small, torch.zeros_like(w), w)
        return torch.where(small, series, torch.log1p(wf) / kf)

    def _inside(self, z):
        return (z >= 0) & (self.concentration * z >= -1)

    def log_prob(self, x):
        z = self._z(x)
        inside = self._inside(z)
        a = self._a(torch.where(inside, z, torch.zeros_like(z)))
        lp = -torch.log(self.scale) - torch.where(self.concentration == -1, torch.zeros_like(a), (1 + self.concentration) * a)
        return torch.where(inside, lp, -torch.inf)

    def cdf(self, x):
        z = self._z(x)
        a = self._a(torch.where(self._inside(z), z, torch.zeros_like(z)))
        c = torch.where(self.concentration * z >= -1, -torch.expm1(-a), 1.0)
        return torch.where(z >= 0, c, 0.0)

    def log_cdf(self, x):
        return torch.log(self.cdf(x))

    def icdf(self, u):
        k = self.concentration
        ell = -torch.log1p(-u)
        v = k * ell
        small = (v.abs() < 1e-3) | (k == 0)
        vs = torch.where(small, v, torch.zeros_like(v)).nan_to_num(0.0)
        series = ell * (1 + vs / 2 + vs ** 2 / 6 + vs ** 3 / 24 + vs ** 4 / 120 + vs ** 5 / 720)
        kf = torch.where(small, torch.ones_like(k), k)
        vf = torch.where(small, torch.zeros_like(v), v)
        return self.loc + self.scale * torch.where(small, series, torch.expm1(vf) / kf)


def cdf_reference(d, x):
    """torch's cdf, except InverseGamma's, which torch computes as 1 - P(α, β/x) (it loses the left
    tail): the regularized upper incomplete gamma Q(α, β/x) (torch.special.gammaincc) instead."""
    if isinstance(d, td.InverseGamma):
        return torch.special.gammaincc(d.concentration, d.rate / x).detach()
    return d.cdf(x).detach()


def truncnorm_ppf_mp(u, loc, scale, low, high, start):
    """The standardized quantile z of u for N(loc, scale) truncated to [low, high], in 40-digit
    mpmath from the exact float64 inputs: Phi(z) = Phi(a) + u Z, or in the upper tail's terms
    (Q = 1 - Phi) where Phi rounds towards 1, solved in log space from `start`."""
    import mpmath as mp
    with mp.workdps(40):
        a = (mp.mpf(low) - mp.mpf(loc)) / mp.mpf(scale) if np.isfinite(low) else -mp.inf
        b = (mp.mpf(high) - mp.mpf(loc)) / mp.mpf(scale) if np.isfinite(high) else mp.inf
        lower, upper = mp.ncdf, (lambda t: mp.ncdf(-t))
        if a >= 0 or (b > 0 and u > 0.5):
            # the mass above z: Q(z) = Q(b) + (1 - u) Z
            z_mass = upper(a) - upper(b) if a >= 0 else lower(b) - lower(a)
            f, target = upper, upper(b) + (1 - mp.mpf(u)) * z_mass
        else:
            f, target = lower, lower(a) + mp.mpf(u) * (lower(b) - lower(a))
        root = mp.findroot(lambda t: mp.log(f(t)) - mp.log(target), mp.mpf(float(start)))
        return float(root)


def mvt_entropy_mp(nu, diag):
    """The multivariate t's entropy Σ log|L_ii| + d/2 log(νπ) + lgamma(ν/2) - lgamma((ν+d)/2)
    + (ν+d)/2 (ψ((ν+d)/2) - ψ(ν/2)) in 40-digit mpmath (SciPy's multivariate_t.entropy checks
    the formula itself, at its own accuracy)."""
    import mpmath as mp
    with mp.workdps(40):
        nu, n = mp.mpf(float(nu)), len(diag)
        h = (sum(mp.log(abs(mp.mpf(float(v)))) for v in diag) + n / mp.mpf(2) * mp.log(nu * mp.pi) + mp.loggamma(nu / 2)
             - mp.loggamma((nu + n) / 2) + (nu + n) / 2 * (mp.digamma((nu + n) / 2) - mp.digamma(nu / 2)))
        return float(h)


def mvt_scipy(report, tag, case, res, d, xn):
    """MultivariateStudentT's float64 log_prob (returned, for check_scipy) and entropy (checked
    here) against SciPy's multivariate_t, one batch element at a time. The tolerances' sizes:
    log_prob sums |log_prob|, the normaliser's terms and, for the whitened point z = L⁻¹(x - loc),
    its slope (ν+d)|z|/(ν+|z|²) times the rounding of z (|L⁻¹| (|x| + |loc|) + cond(L) |z|)."""
    import scipy.special as sp_special
    import scipy.stats as st
    df, loc, tril = (t.detach().numpy() for t in (d.df, d.loc, d.scale_tril))
    n = loc.shape[-1]
    lp, size = np.empty(xn.shape[:-1]), np.empty(xn.shape[:-1])
    entropy, h_size, entropy_mp = np.empty(df.shape), np.empty(df.shape), np.empty(df.shape)
    for idx in np.ndindex(*df.shape):
        nu, mu, L = float(df[idx]), loc[idx], tril[idx]
        dist = st.multivariate_t(mu, L @ L.T, df=nu)
        pts = xn[(Ellipsis,) + idx + (slice(None),)]
        lp[(Ellipsis,) + idx] = np.asarray(dist.logpdf(pts.reshape(-1, n))).reshape(pts.shape[:-1])
        l_inv = np.linalg.inv(L)
        z = np.linalg.norm((pts - mu) @ l_inv.T, axis=-1)
        rounding = np.linalg.norm(l_inv) * (np.linalg.norm(pts, axis=-1) + np.linalg.norm(mu)) + np.linalg.cond(L) * z
        normaliser = (np.abs(np.log(np.abs(np.diag(L)))).sum() + n / 2 * abs(np.log(nu * np.pi))
                      + abs(sp_special.gammaln(nu / 2)) + abs(sp_special.gammaln((nu + n) / 2)))
        size[(Ellipsis,) + idx] = np.abs(lp[(Ellipsis,) + idx]) + normaliser + (nu + n) * z / (nu + z * z) * rounding
        entropy[idx] = dist.entropy()
        # SciPy's log-determinant comes from an eigendecomposition of L Lᵀ: d cond(L)² roundings
        h_size[idx] = (abs(entropy[idx]) + normaliser + n * np.linalg.cond(L) ** 2
                       + (nu + n) / 2 * (abs(sp_special.digamma((nu + n) / 2)) + abs(sp_special.digamma(nu / 2))))
        entropy_mp[idx] = mvt_entropy_mp(nu, np.diag(L))
    if "entropy" in res:
        tol = 4 * C * EPS["float64"] * torch.as_tensor(h_size) + TINY["float64"]
        report.add(f"{tag} entropy vs scipy", from_json(res["entropy"]), torch.as_tensor(entropy), tol, case["id"])
        # the closed form at 40 digits: the float64 result within a few roundings of its terms
        tol = 4 * C * EPS["float64"] * torch.as_tensor(h_size - n * np.linalg.cond(tril) ** 2) + TINY["float64"]
        report.add(f"{tag} entropy vs mpmath", from_json(res["entropy"]), torch.as_tensor(entropy_mp), tol, case["id"])
    return {"log_prob": (lp, size)}


def check_scipy(report, tag, case, res, d):
    """float64 cases of GeneralizedPareto, InverseGamma and Logistic against SciPy (scipy.stats, float64):
    an independent reference for the extreme parameters (concentration near 0, 1e-3 .. 1e3),
    where torch's own forms are inaccurate or are not the reference above."""
    import scipy.special as sp_special
    import scipy.stats as st
    x = case["x"] if isinstance(case["x"], torch.Tensor) else from_json(case["x"])
    xn = x.numpy()
    if isinstance(d, td.GeneralizedPareto):
        k, loc, scale = (torch.broadcast_to(p.detach(), x.shape).numpy() for p in (d.concentration, d.loc, d.scale))
        dist = st.genpareto(k, loc=loc, scale=scale)
        z = np.abs((xn - loc) / scale)
        refs = {"log_prob": (dist.logpdf(xn), np.abs(dist.logpdf(xn)) + np.abs(np.log(scale)) + 2 * z),
                "cdf": (dist.cdf(xn), np.abs(dist.cdf(xn)) + np.exp(-z) * z)}
    elif isinstance(d, td.InverseGamma):
        a, b = (torch.broadcast_to(p.detach(), x.shape).numpy() for p in (d.concentration, d.rate))
        dist = st.invgamma(a, scale=b)
        # the cdf's condition number: |x f(x)| per unit relative change of x. libtorch's igammac
        # (torch.special.gammaincc, what Rust calls) switches to an asymptotic series above
        # α = 20 whose relative error is up to 1.5e-9 in float64 (against mpmath at 40 digits;
        # SciPy's is 2e-16): that much more is allowed there, so the check still bounds it.
        libtorch = np.where(a > 20, 2e-9 * np.abs(dist.cdf(xn)) / (4 * C * EPS["float64"]), 0.0)
        refs = {"cdf": (dist.cdf(xn), np.abs(dist.cdf(xn)) + np.abs(xn * dist.pdf(xn)) * (1 + np.abs(np.log(np.maximum(b / xn, 1e-300))))
                        + libtorch),
                # torch's log_prob overflows where 1/x² does (its Jacobian; x ~ 1e-308 gives -inf
                # for a finite true value): SciPy is the float64 reference there
                "log_prob": (dist.logpdf(xn), np.abs(dist.logpdf(xn)) + (a + 1) * np.abs(np.log(xn)) + b / xn
                             + np.abs(a * np.log(b)) + np.abs(sp_special.gammaln(a)))}
    elif isinstance(d, GeneralizedNormalRef):
        loc, scale, power = (torch.broadcast_to(p.detach(), x.shape).numpy() for p in (d.loc, d.scale, d.power))
        dist = st.gennorm(power, loc=loc, scale=scale)
        # z rounds at (|x| + |loc|)/s units; |z|^p moves by p |z|^(p-1) per unit of z
        zz = (np.abs(xn) + np.abs(loc)) / scale
        z = np.abs((xn - loc) / scale)
        slope = power * z ** (power - 1)
        refs = {"log_prob": (dist.logpdf(xn), np.abs(dist.logpdf(xn)) + np.abs(np.log(scale)) + np.abs(sp_special.gammaln(1 / power))
                             + zz * slope),
                "cdf": (dist.cdf(xn), np.abs(dist.cdf(xn)) * (1 + zz * slope))}
    elif isinstance(d, TruncatedNormalRef):
        loc, scale, low, high = (torch.broadcast_to(p.detach(), x.shape).numpy() for p in (d.loc, d.scale, d.low, d.high))
        a, b = (low - loc) / scale, (high - loc) / scale
        dist = st.truncnorm(a, b, loc=loc, scale=scale)
        # z rounds at (|x| + |loc|)/s units; log_prob moves by |z| per unit, log cdf by the
        # density over the mass below, bounded by |z| + 1/(|z| + ...) (Mills): |z| + 2
        zz = (np.abs(xn) + np.abs(loc)) / scale
        z = np.abs((xn - loc) / scale)
        log_z = np.log(np.abs(dist.pdf(loc) * scale * np.sqrt(2 * np.pi)) + 1e-300)
        refs = {"log_prob": (dist.logpdf(xn), np.abs(dist.logpdf(xn)) + np.abs(np.log(scale)) + z * z + zz * (z + 2)
                             + np.abs(log_z)),
                "cdf": (dist.cdf(xn), np.abs(dist.cdf(xn)) * (1 + zz * (z + 2)))}
        if "mean" in res:
            # the mean, once per batch element: |loc| + s (|a| + 1) for a finite lower bound
            # (the mean is near it far in the right tail), |b| likewise
            pl, ps, pa, pb = (p.detach().numpy() for p in (d.loc, d.scale) + d._ab())
            mean = st.truncnorm.mean(pa, pb, loc=pl, scale=ps)
            size = np.abs(pl) + ps * (np.minimum(np.abs(pa), np.abs(pb)) + 1)
            tol = 4 * C * EPS["float64"] * torch.as_tensor(np.abs(mean) + size) + TINY["float64"]
            report.add(f"{tag} mean vs scipy", from_json(res["mean"]), torch.as_tensor(mean), tol, case["id"])
    elif isinstance(d, pyro_dist.MultivariateStudentT):
        refs = mvt_scipy(report, tag, case, res, d, xn)
    elif isinstance(d, LogisticRef):
        loc, scale = (torch.broadcast_to(p.detach(), x.shape).numpy() for p in (d.loc, d.scale))
        dist = st.logistic(loc=loc, scale=scale)
        # z = (x - loc)/s rounds at (|x| + |loc|)/s units; log_prob and log cdf move by at most
        # one per unit of z
        zz = (np.abs(xn) + np.abs(loc)) / scale
        refs = {"log_prob": (dist.logpdf(xn), np.abs(dist.logpdf(xn)) + np.abs(np.log(scale)) + zz),
                "cdf": (dist.cdf(xn), np.abs(dist.cdf(xn)) * (1 + zz))}
    else:
        return
    for name, (ref, magnitude) in refs.items():
        ref = torch.as_tensor(np.asarray(ref, dtype=np.float64))
        tol = 4 * C * EPS["float64"] * torch.as_tensor(magnitude) + TINY["float64"]
        report.add(f"{tag} {name} vs scipy", from_json(res[name]), ref, tol, case["id"])
    if "u" in case and isinstance(d, TruncatedNormalRef):
        # SciPy's truncnorm.ppf is off by up to ~3e-13 relative in a tail (against mpmath), so
        # the float64 quantiles come from 40-digit mpmath (truncnorm_ppf_mp), started at SciPy's
        u = from_json(case["u"]).numpy()
        loc, scale, low, high = (torch.broadcast_to(p.detach(), u.shape).numpy() for p in (d.loc, d.scale, d.low, d.high))
        start = st.truncnorm.ppf(u, (low - loc) / scale, (high - loc) / scale)
        z = np.array([truncnorm_ppf_mp(*v) for v in zip(u.ravel(), loc.ravel(), scale.ravel(), low.ravel(), high.ravel(),
                                                         start.ravel())]).reshape(u.shape)
        q = loc + scale * z
        tol = 4 * C * EPS["float64"] * torch.as_tensor(np.abs(q) + np.abs(loc) + scale * np.abs(z)) + TINY["float64"]
        report.add(f"{tag} icdf vs mpmath", from_json(res["icdf"]), torch.as_tensor(q), tol, case["id"])
    if "u" in case and isinstance(d, LogisticRef):
        u = from_json(case["u"]).numpy()
        loc, scale = (torch.broadcast_to(p.detach(), u.shape).numpy() for p in (d.loc, d.scale))
        q = st.logistic(loc=loc, scale=scale).ppf(u)
        tol = 4 * C * EPS["float64"] * torch.as_tensor(np.abs(q) + np.abs(loc)) + TINY["float64"]
        report.add(f"{tag} icdf vs scipy", from_json(res["icdf"]), torch.as_tensor(q), tol, case["id"])
    if "u" in case and isinstance(d, td.GeneralizedPareto):
        u = from_json(case["u"]).numpy()
        k, loc, scale = (torch.broadcast_to(p.detach(), u.shape).numpy() for p in (d.concentration, d.loc, d.scale))
        q = st.genpareto(k, loc=loc, scale=scale).ppf(u)
        tol = 4 * C * EPS["float64"] * torch.as_tensor(np.abs(q) + np.abs(loc)) + TINY["float64"]
        report.add(f"{tag} icdf vs scipy", from_json(res["icdf"]), torch.as_tensor(q), tol, case["id"])
class VonMisesRef(td.VonMises):
    """torch's VonMises (mean, mode, sampler) with log I0 from the exponentially scaled Bessel
    functions torch.special.i0e/i1e, TFP's form, instead of torch's polynomial approximation (a
    relative error of about 1e-7, far above float64's rounding; i0e/i1e are checked against
    scipy.special in float64), and TFP's entropy (torch has none)."""

    def __init__(self, loc, concentration, **kw):
        super().__init__(loc, concentration, **kw)
        if self.concentration.dtype == torch.float64:
            k = self.concentration.detach()
            for ours, ref in ((torch.special.i0e, scipy.special.i0e), (torch.special.i1e, scipy.special.i1e)):
                want = ref(k.numpy())
                assert np.allclose(ours(k).numpy(), want, rtol=1e-14, atol=0), "torch.special vs scipy.special"

    def log_prob(self, value):
        k = self.concentration
        return k * (torch.cos(value - self.loc) - 1) - math.log(2 * math.pi) - torch.log(torch.special.i0e(k))

    @property
    def variance(self):
        k = self.concentration
        return 1 - torch.special.i1e(k) / torch.special.i0e(k)

    def entropy(self):
        k = self.concentration
        i0e = torch.special.i0e(k)
        return k * (1 - torch.special.i1e(k) / i0e) + torch.log(i0e) + math.log(2 * math.pi)


def _cb_moments_mp(lam):
    """ContinuousBernoulli's mean, variance and entropy at logits `lam` (float64 tensor), in
    40-digit arithmetic (mpmath, installed with torch)."""
    import mpmath
    mpmath.mp.dps = 40
    out = []
    for l in lam.detach().reshape(-1).tolist():
        l = mpmath.mpf(l)
        if l == 0:
            mean, var, log_c = mpmath.mpf(1) / 2, mpmath.mpf(1) / 12, mpmath.log(2)
        else:
            mean = 1 / (1 - mpmath.exp(-l)) - 1 / l
            var = 1 / l ** 2 - 1 / (4 * mpmath.sinh(l / 2) ** 2)
            log_c = mpmath.log(l / mpmath.tanh(l / 2))
        out.append([float(mean), float(var), float(-l * mean + mpmath.log1p(mpmath.exp(l)) - log_c)])
    return torch.tensor(out, dtype=torch.float64).reshape(*lam.shape, 3).unbind(-1)


class ContinuousBernoulliRef(td.ContinuousBernoulli):
    """torch's ContinuousBernoulli, except where torch loses accuracy: in its unstable region
    (probs in (0.499, 0.501]) its cdf and icdf are those of the uniform (x and u: an error up to
    5e-4 there), so there the closed forms expm1(λx)/expm1(λ) and log1p(u expm1(λ))/λ (in the
    reference's dtype) are used; and just outside it, its float64 variance cancels (1/λ² and
    p(p-1)/(1-2p)² ≈ 6e4 each, λ from logs of p: errors up to 1e-9), so the float64 mean,
    variance and entropy come from 40-digit arithmetic at torch's own λ (`_cb_moments_mp`)."""

    def _moment(self, i, fallback):
        if self.logits.dtype != torch.float64:
            return fallback()
        # the 40-digit value with torch's gradient (the KL formulas differentiate the moments)
        torch_value = fallback()
        return torch_value + (_cb_moments_mp(self.logits)[i] - torch_value).detach()

    @property
    def mean(self):
        return self._moment(0, lambda: td.ContinuousBernoulli.mean.fget(self))

    @property
    def variance(self):
        return self._moment(1, lambda: td.ContinuousBernoulli.variance.fget(self))

    def entropy(self):
        return self._moment(2, lambda: td.ContinuousBernoulli.entropy(self))

    def _lam(self):
        lam = self.logits
        return torch.where(lam == 0, torch.ones_like(lam), lam), lam == 0

    def cdf(self, value):
        lam, zero = self._lam()
        x = value.clamp(0, 1)
        exact = torch.where(zero, x, torch.expm1(lam * x) / torch.expm1(lam))
        return torch.where(self._outside_unstable_region(), super().cdf(value),
                           torch.where(value <= 0, 0.0, torch.where(value >= 1, 1.0, exact)))

    def icdf(self, value):
        lam, zero = self._lam()
        exact = torch.where(zero, value, torch.log1p(value * torch.expm1(lam)) / lam)
        return torch.where(self._outside_unstable_region(), super().icdf(value), exact)


class RelaxedBernoulliRef(td.RelaxedBernoulli):
    """torch's RelaxedBernoulli; its log_prob with the log-det of the sigmoid from an exact
    softplus (torch's F.softplus returns x above 20: an error up to 2e-9 at the logits of points
    near 0 and 1, which low temperatures draw)."""

    def log_prob(self, value):
        x = self.transforms[0].inv(value)  # torch's clamp to [tiny, 1 - eps], then the logit
        return self.base_dist.log_prob(x) + softplus(x) + softplus(-x)


def torch_transform(spec, dtype):
    """torch.distributions.transforms for an elementwise bijector spec (TFP's Chain reversed)."""
    name = spec if isinstance(spec, str) else spec["type"]
    if name == "Chain":
        return tt.ComposeTransform([torch_transform(m, dtype) for m in reversed(spec["bijectors"])])
    return TORCH_TRANSFORMS[name]({} if isinstance(spec, str) else spec, dtype)


def torch_distribution(spec, leaves, dtype, prefix=""):
    """The torch.distributions counterpart of a JSON spec; variables from `leaves` (raw values,
    by their VarStore names, which start with `prefix`)."""
    def param(field):
        p = spec[field]
        if not isinstance(p, dict) or "data" in p:
            return from_json(p, dtype) if isinstance(p, dict) else torch.tensor(p, dtype=dtype)
        if "constant" in p:
            return from_json(p["constant"], dtype) if isinstance(p["constant"], dict) else torch.tensor(p["constant"], dtype=dtype)
        r = leaves[prefix + p.get("name", field)]
        if "variable" in p:
            return r
        return py_bijector(p["bijector"], dtype).forward(r)

    def sub(key, pre=prefix):
        return torch_distribution(spec[key], leaves, dtype, pre)

    def prob():
        """The probability parameter as torch's keyword: probs= or logits=."""
        return {"probs": param("probs")} if "probs" in spec else {"logits": param("logits")}

    t, v = spec["type"], dict(validate_args=False)
    if t == "Normal":
        return td.Normal(param("loc"), param("scale"), **v)
    if t == "Independent":
        return td.Independent(sub("distribution"), spec["reinterpreted_batch_ndims"], **v)
    if t in ("Categorical", "OneHotCategorical", "Bernoulli", "OneHotCategoricalStraightThrough"):
        cls = {"Categorical": td.Categorical, "OneHotCategorical": td.OneHotCategorical, "Bernoulli": td.Bernoulli,
               "OneHotCategoricalStraightThrough": td.OneHotCategoricalStraightThrough}[t]
        return cls(**prob(), **v)
    if t == "MultivariateNormalTriL":
        return td.MultivariateNormal(param("loc"), scale_tril=param("scale_tril").tril(), **v)
    if t == "MultivariateNormalDiag":
        return td.Independent(td.Normal(param("loc"), param("scale_diag")), 1, **v)
    if t == "MultivariateNormal":
        if "covariance_matrix" in spec:
            return td.MultivariateNormal(param("loc"), covariance_matrix=param("covariance_matrix"), **v)
        return td.MultivariateNormal(param("loc"), precision_matrix=param("precision_matrix"), **v)
    if t == "MixtureSameFamily":
        return td.MixtureSameFamily(sub("mixture"), sub("components"), **v)
    if t == "Multinomial":
        # torch's total_count is one int (the cases give a scalar)
        n = int(param("total_count"))
        return MultinomialRef(n, **prob(), **v)
    if t == "RelaxedOneHotCategorical":
        return td.RelaxedOneHotCategorical(param("temperature"), **prob(), **v)
    if t == "LogisticNormal":
        return td.LogisticNormal(param("loc"), param("scale"), **v)
    if t == "LKJCholesky":
        return LKJCholeskyRef(spec["dim"], param("concentration"), **v)
    if t == "Wishart":
        key = next(k for k in ("scale_tril", "covariance_matrix", "precision_matrix") if k in spec)
        m = param(key)
        return td.Wishart(param("df"), **{key: m.tril() if key == "scale_tril" else m}, **v)
    if t == "LowRankMultivariateNormal":
        return td.LowRankMultivariateNormal(param("loc"), param("cov_factor"), param("cov_diag"), **v)
    if t == "MultivariateStudentT":
        return pyro_dist.MultivariateStudentT(param("df"), param("loc"), param("scale_tril").tril(), **v)
    if t == "Uniform":
        return td.Uniform(param("low"), param("high"), **v)
    if t == "Gamma":
        return td.Gamma(param("concentration"), param("rate"), **v)
    if t == "Beta":
        return td.Beta(param("concentration1"), param("concentration0"), **v)
    if t == "StudentT":
        return td.StudentT(param("df"), param("loc"), param("scale"), **v)
    if t == "Laplace":
        return td.Laplace(param("loc"), param("scale"), **v)
    if t == "LogNormal":
        return td.LogNormal(param("loc"), param("scale"), **v)
    if t == "Dirichlet":
        return td.Dirichlet(param("concentration"), **v)
    if t in ("Exponential", "Poisson"):
        return getattr(td, t)(param("rate"), **v)
    if t in ("HalfNormal", "HalfCauchy"):
        return getattr(td, t)(param("scale"), **v)
    if t in ("Cauchy", "Gumbel"):
        return getattr(td, t)(param("loc"), param("scale"), **v)
    if t == "Chi2":
        return td.Chi2(param("df"), **v)
    if t == "Weibull":
        return td.Weibull(param("scale"), param("concentration"), **v)
    if t == "Pareto":
        return td.Pareto(param("scale"), param("alpha"), **v)
    if t == "Geometric":
        return td.Geometric(**prob(), **v)
    if t in ("Binomial", "NegativeBinomial"):
        return getattr(td, t)(param("total_count"), **prob(), **v)
    if t == "InverseGamma":
        return td.InverseGamma(param("concentration"), param("rate"), **v)
    if t == "Logistic":
        return LogisticRef(param("loc"), param("scale"), **v)
    if t == "GeneralizedNormal":
        return GeneralizedNormalRef(param("loc"), param("scale"), param("power"), **v)
    if t == "TruncatedNormal":
        return TruncatedNormalRef(param("loc"), param("scale"), param("low"), param("high"), **v)
    if t == "Kumaraswamy":
        return KumaraswamyReference(param("concentration1"), param("concentration0"), **v)
    if t == "FisherSnedecor":
        return td.FisherSnedecor(param("df1"), param("df2"), **v)
    if t == "GeneralizedPareto":
        return GeneralizedParetoReference(param("loc"), param("scale"), param("concentration"), **v)
    if t == "VonMises":
        return VonMisesRef(param("loc"), param("concentration"), **v)
    if t == "ContinuousBernoulli":
        return ContinuousBernoulliRef(**prob(), **v)
    if t == "RelaxedBernoulli":
        return RelaxedBernoulliRef(param("temperature"), **prob(), **v)
    if t == "TransformedDistribution":
        return td.TransformedDistribution(sub("distribution"), [torch_transform(spec["bijector"], dtype)], **v)
    if t == "BatchBroadcast":
        return sub("distribution").expand(torch.Size(spec["batch_shape"]))
    if t == "Mixture":
        comps = [torch_distribution(c, leaves, dtype, f"{prefix}component{i}.") for i, c in enumerate(spec["components"])]
        return PyMixture(sub("mixture"), comps)
    raise ValueError(t)


def categorical_moments(d):
    k = torch.arange(d.probs.shape[-1], dtype=d.probs.dtype)
    mu = (d.probs * k).sum(-1)
    return mu.detach(), (d.probs * (k - mu.unsqueeze(-1)) ** 2).sum(-1).detach()


def fourth_central_moment(d):
    """E[(X - mean)^4] per batch/event element, for the families above."""
    if isinstance(d, td.Categorical):
        k = torch.arange(d.probs.shape[-1], dtype=d.probs.dtype)
        return (d.probs * (k - categorical_moments(d)[0].unsqueeze(-1)) ** 4).sum(-1)
    if isinstance(d, td.MixtureSameFamily):
        comp = d.component_distribution
        e = len(d.event_shape)
        w = d.mixture_distribution.probs.reshape(d.mixture_distribution.probs.shape + (1,) * e)
        delta = comp.mean - d.mean.unsqueeze(-1 - e)
        v = comp.variance
        return (w * (delta ** 4 + 6 * delta ** 2 * v + 3 * v ** 2)).sum(-1 - e)
    return 3 * d.variance ** 2  # Gaussian families


REAL_SUPPORT = {"Normal", "Independent", "MultivariateNormalTriL", "MultivariateNormalDiag", "MultivariateNormal",
                "MixtureSameFamily", "Laplace", "StudentT", "Mixture", "Logistic", "GeneralizedNormal",
                "LowRankMultivariateNormal", "MultivariateStudentT"}


def draw_points(case, raw, gen):
    x = _draw_points(case, raw, gen)
    if case["distribution"]["type"] in NEW_FAMILIES_CONT1:
        # extreme parameters (and the tail factors) draw beyond the dtype's range: keep the
        # points finite and normal
        fi = torch.finfo(TORCH_DTYPE[case["dtype"]])
        x = torch.where(x > 0, x.clamp(fi.tiny, fi.max), x.clamp(-fi.max, fi.max))
    return x


def _draw_points(case, raw, gen):
    spec = case["distribution"]
    d = torch_distribution(spec, raw, torch.float64)
    x = d.sample(case["x_lead"])
    if spec["type"] == "BatchBroadcast":
        spec = spec["distribution"]
    if spec["type"] in REAL_SUPPORT and not (spec["type"] == "Mixture" and any(c["type"] == "StudentT" for c in spec["components"])):
        # Stretch each point away from the mean by 1, 10 or 1000: some points far in the tails.
        factor = torch.tensor([1.0, 10.0, 1e3], dtype=torch.float64)[torch.randint(0, 3, x.shape, generator=gen)]
        center = d.loc if spec["type"] == "MultivariateStudentT" else d.mean  # its mean is NaN for df <= 1
        return center + (x - center) * factor
    if spec["type"] == "VonMises":
        # Angles up to two periods away: log_prob is 2π-periodic.
        return x + 2 * math.pi * torch.randint(-2, 3, x.shape, generator=gen).to(torch.float64)
    if spec["type"] in ("Gamma", "LogNormal", "Exponential", "HalfNormal", "HalfCauchy", "Chi2", "Weibull", "InverseGamma",
                        "FisherSnedecor"):
        # Scale points by 0.01, 1 or 100: far into both tails of a positive variable.
        factor = torch.tensor([0.01, 1.0, 100.0], dtype=torch.float64)[torch.randint(0, 3, x.shape, generator=gen)]
        return x * factor
    return x


def logit_names(spec):
    """Names of the raw variables behind Categorical logits in a spec."""
    names = set()
    if spec.get("type") in ("Categorical", "OneHotCategorical", "Bernoulli", "OneHotCategoricalStraightThrough",
                            "RelaxedOneHotCategorical") and isinstance(spec.get("logits"), dict):
        names.add(spec["logits"].get("name", "logits"))
    for key in ("distribution", "mixture", "components"):
        if isinstance(spec.get(key), dict):
            names |= logit_names(spec[key])
    return names


KL_FAMILIES = ["Normal", "Independent", "Categorical", "MultivariateNormalTriL", "Bernoulli", "Gamma", "Beta",
               "Dirichlet", "Uniform", "Laplace", "OneHotCategorical", "MultivariateNormalDiag", "MultivariateNormal",
               "TriL-vs-Full"]


def kl_cases(rng):
    """Pairs (p, q) of one family (and MultivariateNormalTriL against a full covariance)."""
    cases = []
    for dtype in ("float32", "float64"):
        for rep in range(4 * len(KL_FAMILIES)):
            family = KL_FAMILIES[rep % len(KL_FAMILIES)]
            batch = random_shape(rng, 2)

            def one(f):
                if f == "Normal":
                    return normal_spec(rng, batch, dtype)
                if f == "Independent":
                    return {"type": "Independent", "reinterpreted_batch_ndims": 1,
                            "distribution": normal_spec(rng, batch + [3], dtype)}
                if f == "Categorical":
                    return categorical_spec(rng, batch, 4, dtype)
                if f == "MultivariateNormalTriL":
                    return mvn_tril_spec(rng, batch, 3, dtype)
                return more_spec(rng, f, batch, dtype)

            if family == "TriL-vs-Full":
                p, q = one("MultivariateNormalTriL"), one("MultivariateNormal")
                while _event_size(q) != _event_size(p):
                    q = one("MultivariateNormal")
            else:
                p, q = one(family), one(family)
                while _event_size(q) != _event_size(p):  # vector families draw their size
                    q = one(family)
            if family == "Uniform" and rng.random() < 0.5:
                # q's support around p's: a finite KL (otherwise it is often infinite)
                q = {"type": "Uniform", "low": param_spec(_uniform_bound(p, "low", dtype) - 1.0, "variable", "low", dtype),
                     "high": param_spec(_uniform_bound(p, "high", dtype) + 1.0, "variable", "high", dtype)}
            cases.append({"kind": "kl", "dtype": dtype, "p": p, "q": q, "label": f"KL {family}"})
    return cases


# The KL pairs of torch's registry added after KL_FAMILIES, and Chi2 (a Gamma subclass in torch,
# so its KL uses the Gamma rules) in place of Gamma on either side.
_CROSS_Q = {"Beta": ["Exponential", "Gamma", "Normal", "Pareto", "Uniform"],
            "Exponential": ["Beta", "Gamma", "Gumbel", "Normal", "Pareto", "Uniform"],
            "Gamma": ["Beta", "Exponential", "Gumbel", "Normal", "Pareto", "Uniform"],
            "Gumbel": ["Beta", "Exponential", "Gamma", "Normal", "Pareto", "Uniform"],
            "Laplace": ["Beta", "Exponential", "Gamma", "Normal", "Pareto", "Uniform"],
            "Normal": ["Beta", "Exponential", "Gamma", "Gumbel", "Laplace", "Pareto", "Uniform"],
            "Pareto": ["Beta", "Exponential", "Gamma", "Normal", "Uniform"],
            "Uniform": ["Beta", "Exponential", "Gamma", "Gumbel", "Normal", "Pareto"]}
NEW_KL_PAIRS = ([(f, f) for f in ("Cauchy", "Exponential", "Geometric", "Gumbel", "HalfNormal", "Pareto", "Poisson")]
                + [("Bernoulli", "Poisson"), ("Poisson", "Bernoulli")]
                + [(p, q) for p, qs in _CROSS_Q.items() for q in qs])
NEW_KL_PAIRS += ([("Chi2", "Chi2"), ("Chi2", "Gamma"), ("Gamma", "Chi2")]
                 + [("Chi2", q) for p, q in NEW_KL_PAIRS if p == "Gamma"]
                 + [(p, "Chi2") for p, q in NEW_KL_PAIRS if q == "Gamma"])


def _spec_value(param):
    """The (constrained) initial value of a parameter spec, as float64 numpy."""
    v = param.get("variable", param.get("constant", param.get("transformed")))
    return np.asarray(v["data"], dtype=np.float64).reshape(v["shape"])


def kl_spec(rng, family, batch, dtype, other=None, role="p"):
    """A distribution for the new KL pairs: moderate parameters (so no exp overflows in float32),
    Pareto's alpha from 0.5 to 6 (alpha <= 1 and <= 2 both occur), and Uniform bounds that are
    inside and outside the other side's support (`other`: its family and, for Pareto, its spec)."""
    if family in ("Normal", "Laplace", "Gumbel"):
        return {"type": family, "loc": real(rng, batch, 1.0, dtype, "loc"), "scale": pos(rng, batch, -0.5, 0.5, dtype, "scale")}
    if family == "Cauchy":
        return {"type": family, "loc": real(rng, batch, 2.0, dtype, "loc"), "scale": pos(rng, batch, -1, 1, dtype, "scale")}
    if family == "Exponential":
        return {"type": family, "rate": pos(rng, batch, -0.7, 0.7, dtype, "rate")}
    if family == "Poisson":
        return {"type": family, "rate": pos(rng, batch, -1, 1.5, dtype, "rate")}
    if family == "Gamma":
        return {"type": "Gamma", "concentration": pos(rng, batch, -0.5, 1, dtype, "concentration"),
                "rate": pos(rng, batch, -0.7, 0.7, dtype, "rate")}
    if family == "Chi2":
        return {"type": "Chi2", "df": pos(rng, batch, -0.3, 1.2, dtype, "df")}
    if family == "Pareto":
        return {"type": "Pareto", "scale": pos(rng, batch, -0.5, 0.5, dtype, "scale"),
                "alpha": pos(rng, batch, -0.3, 0.8, dtype, "alpha")}
    if family == "Uniform":
        o = other[0] if other else None
        if role == "q" and o in ("Beta", "ContinuousBernoulli"):
            # around [0, 1] or not: finite and inf
            low, high = rng.uniform(-0.5, 0.2, size=batch), rng.uniform(0.8, 1.5, size=batch)
        elif role == "p" and o in ("Beta", "ContinuousBernoulli"):
            low = rng.uniform(-0.3, 0.8, size=batch)
            high = low + 10.0 ** rng.uniform(-1.3, -0.3, size=batch)
        elif role == "p" and o in ("Exponential", "Gamma", "Chi2"):
            low = rng.uniform(-1, 3, size=batch)
            high = low + 10.0 ** rng.uniform(-1, 0.7, size=batch)
        elif role == "p" and o == "Pareto":
            low = _spec_value(other[1]["scale"]) * 10.0 ** rng.uniform(-0.3, 0.5, size=batch)
            high = low + 10.0 ** rng.uniform(-1, 0.7, size=batch)
        else:
            low = rng.normal(size=batch) * 1.5
            high = low + 10.0 ** rng.uniform(-1, 0.7, size=batch)
        return {"type": "Uniform", "low": param_spec(low, "variable", "low", dtype),
                "high": param_spec(high, "variable", "high", dtype)}
    return more_spec(rng, family, batch, dtype)  # Beta, HalfNormal, Geometric, Bernoulli


def new_kl_cases(rng):
    """3 cases per pair of NEW_KL_PAIRS and dtype, from their own generator."""
    cases = []
    for dtype in ("float32", "float64"):
        for pf, qf in NEW_KL_PAIRS:
            for _ in range(3):
                batch = random_shape(rng, 2)
                q = kl_spec(rng, qf, batch, dtype, (pf, None), "q")
                p = kl_spec(rng, pf, batch, dtype, (qf, q), "p")
                cases.append({"kind": "kl", "dtype": dtype, "p": p, "q": q, "label": f"KL {pf}-{qf}", "partial_grads": True})
    return cases


# torch's KL pairs with a ContinuousBernoulli side (Chi2 through the Gamma rule).
CB_KL_PAIRS = ([("ContinuousBernoulli", "ContinuousBernoulli"), ("Beta", "ContinuousBernoulli")]
               + [("ContinuousBernoulli", q) for q in ("Exponential", "Normal", "Pareto", "Uniform")]
               + [(p, "ContinuousBernoulli") for p in ("Exponential", "Gamma", "Chi2", "Gumbel", "Laplace", "Normal",
                                                       "Pareto", "Uniform")])


def cb_kl_spec(rng, batch, dtype):
    """A ContinuousBernoulli for the KL cases: probs at and near 1/2 (torch's unstable region and
    its edges), near 0 and 1, or logits of scale 1e-4 (|λ| < 1e-3), 1, 5 or exactly ±30."""
    if rng.random() < 0.35:
        special = np.array([0.5, 0.5 + 1e-6, 0.5 - 1e-6, 0.499, 0.5011, 1e-6, 1 - 1e-6, 0.3, 0.8])
        probs = rng.choice(special, size=batch) if rng.random() < 0.7 else rng.uniform(0.01, 0.99, size=batch)
        return {"type": "ContinuousBernoulli", "probs": param_spec(probs, str(rng.choice(["constant", "variable"])), "probs", dtype)}
    scale = float(rng.choice([1e-4, 1.0, 5.0, 30.0]))
    if scale == 30.0:
        return {"type": "ContinuousBernoulli",
                "logits": param_spec(rng.choice([-30.0, 30.0], size=batch), "variable", "logits", dtype)}
    return {"type": "ContinuousBernoulli", "logits": real(rng, batch, scale, dtype, "logits")}


def cb_kl_cases(rng):
    """3 cases per pair of CB_KL_PAIRS and dtype, from their own generator; the finite pairs'
    float64 reference value is cb_kl_mp's (see there), the gradients torch's."""
    cases = []
    for dtype in ("float32", "float64"):
        for pf, qf in CB_KL_PAIRS:
            for _ in range(3):
                batch = random_shape(rng, 2)
                q = cb_kl_spec(rng, batch, dtype) if qf == "ContinuousBernoulli" else kl_spec(rng, qf, batch, dtype, (pf, None), "q")
                p = cb_kl_spec(rng, batch, dtype) if pf == "ContinuousBernoulli" else kl_spec(rng, pf, batch, dtype, (qf, q), "p")
                finite = (pf, qf) in CB_KL_FINITE
                cases.append({"kind": "kl", "dtype": dtype, "p": p, "q": q, "label": f"KL {pf}-{qf}", "partial_grads": True,
                              "mp_value": finite})
    return cases


CB_KL_FINITE = {("ContinuousBernoulli", "ContinuousBernoulli"), ("Beta", "ContinuousBernoulli"),
                ("ContinuousBernoulli", "Exponential"), ("ContinuousBernoulli", "Normal"),
                ("ContinuousBernoulli", "Uniform"), ("Uniform", "ContinuousBernoulli")}


def cb_kl_mp(p, q):
    """The finite ContinuousBernoulli pairs' KL and its derivatives in 40-digit mpmath, on the
    float64 parameters of torch's p and q (λ = torch's logits, or the logit of its clamped
    probs), with torch's inf conditions. torch's own float64 values are inaccurate: in and near
    its unstable region (probs within 1e-3 of 1/2) its mean and log-normalizer cancel (errors
    ~1e-11), and at large |λ| its log1p(-probs) of a rounded probs loses digits (an error ~1e-3
    in the value and ~1e-4 relative in the gradient at |λ| = 30).

    Returns the KL (float64, the broadcast shape) and a list of (parameter tensor of torch's
    distribution, with its graph to the raw variables; the derivative of the KL with respect to
    it on the broadcast shape, 0 where the KL is inf), for the chain rule to the raw variables.
    A Beta's concentrations are left out: there torch's gradient stays the reference, as Rust's
    Beta entropy is differentiated through libtorch's digamma, whose trigamma derivative has a
    relative error ~1e-9 in float64 (shared by every Beta pair)."""
    import mpmath
    mpmath.mp.dps = 40
    mpf = mpmath.mpf

    def params(d):
        """(names, tensors) of a side's parameters as torch holds them."""
        if isinstance(d, td.ContinuousBernoulli):
            # torch's logits where it was given them, else its clamped probs
            return (["logits"], [d.logits]) if d._param is d.__dict__.get("logits") else (["probs"], [d.probs])
        if isinstance(d, td.Beta):
            return ["a", "b"], [d.concentration1, d.concentration0]
        if isinstance(d, td.Exponential):
            return ["rate"], [d.rate]
        if isinstance(d, td.Normal):
            return ["loc", "scale"], [d.loc, d.scale]
        if isinstance(d, td.Uniform):
            return ["low", "high"], [d.low, d.high]
        raise ValueError(type(d))

    def cb(side):
        """(λ, A(λ), mean, variance), A(λ) = log(expm1(λ)/λ) the log-normalizer."""
        l = side["logits"] if "logits" in side else mpmath.log(side["probs"]) - mpmath.log1p(-side["probs"])
        if l == 0:
            return l, mpf(0), mpf(1) / 2, mpf(1) / 12
        mean = 1 / (1 - mpmath.exp(-l)) - 1 / l
        var = 1 / l ** 2 - 1 / (4 * mpmath.sinh(l / 2) ** 2)
        return l, mpmath.log(mpmath.expm1(l) / l), mean, var

    def kl(pp, qq):
        if isinstance(p, td.ContinuousBernoulli):
            lp, ap, mp_, vp = cb(pp)
            neg_h = lp * mp_ - ap  # -H(p) = λ mean - A(λ)
            if isinstance(q, td.ContinuousBernoulli):
                lq, aq, _, _ = cb(qq)
                return neg_h + aq - lq * mp_
            if isinstance(q, td.Exponential):
                return neg_h - mpmath.log(qq["rate"]) + qq["rate"] * mp_
            if isinstance(q, td.Normal):
                mu, sig = qq["loc"], qq["scale"]
                return neg_h + mpmath.log(sig) + mpmath.log(2 * mpmath.pi) / 2 + (vp + (mp_ - mu) ** 2) / (2 * sig ** 2)
            return neg_h + mpmath.log(qq["high"] - qq["low"])  # Uniform
        lq, aq, _, _ = cb(qq)
        if isinstance(p, td.Beta):
            a, b = pp["a"], pp["b"]
            lbeta = mpmath.loggamma(a) + mpmath.loggamma(b) - mpmath.loggamma(a + b)
            h = lbeta - (a - 1) * mpmath.digamma(a) - (b - 1) * mpmath.digamma(b) + (a + b - 2) * mpmath.digamma(a + b)
            return -h + aq - lq * a / (a + b)
        lo, hi = pp["low"], pp["high"]  # Uniform
        return -mpmath.log(hi - lo) + aq - lq * (lo + hi) / 2

    def outside(pp, qq):
        """torch's conditions: bounds exactly at 0 or 1 count as outside."""
        if isinstance(q, td.Uniform):
            return qq["low"] >= 0 or qq["high"] <= 1
        if isinstance(p, td.Uniform):
            return pp["high"] >= 1 or pp["low"] <= 0
        return False

    pn, pt = params(p)
    qn, qt = params(q)
    names = [("p", n) for n in pn] + [("q", n) for n in qn]
    grid = torch.broadcast_tensors(*[t.detach() for t in pt + qt])
    shape = grid[0].shape
    flat = [g.reshape(-1).tolist() for g in grid]
    value, derivs = [], [[] for _ in names]
    for i in range(len(flat[0])):
        x = [mpf(f[i]) for f in flat]

        def at(xs):
            sides = {"p": {}, "q": {}}
            for (side, n), v in zip(names, xs):
                sides[side][n] = v
            return sides["p"], sides["q"]

        if outside(*at(x)):
            value.append(math.inf)
            for d in derivs:
                d.append(0.0)
            continue
        value.append(float(kl(*at(x))))
        for j, d in enumerate(derivs):
            if names[j][1] not in ("a", "b"):
                # a central difference of step 1e-25 (relative) in 120 digits: the closed forms
                # near λ = 0 lose as many digits as 1/λ has (1/(1 - e^-λ) - 1/λ), so mpmath.diff's
                # default step (of the working precision) would leave none
                with mpmath.workdps(120):
                    h = mpf("1e-25") * max(1, abs(x[j]))
                    d.append(float(mpmath.diff(lambda v: kl(*at(x[:j] + [v] + x[j + 1:])), x[j], h=h)))
    as_t = lambda v: torch.tensor(v, dtype=torch.float64).reshape(shape)
    return as_t(value), [(t, as_t(d)) for (t, d, (_, n)) in zip(pt + qt, derivs, names) if n not in ("a", "b")]


def count_kl_cases(rng):
    """Binomial–Binomial (q's counts equal to p's, or below them: inf there; torch raises where
    they are above) and Poisson–Binomial (inf), 3 cases each per dtype, from their own generator."""
    cases = []
    for dtype in ("float32", "float64"):
        for _ in range(3):
            batch = random_shape(rng, 2)
            count = rng.integers(1, 40, size=batch)
            q_count = np.where(rng.random(size=batch) < 0.3, np.maximum(count - rng.integers(1, 5, size=batch), 0), count)
            p, q = (dict(more_spec(rng, "Binomial", batch, dtype), total_count=param_spec(c, "constant", "total_count", dtype))
                    for c in (count, q_count))
            cases.append({"kind": "kl", "dtype": dtype, "p": p, "q": q, "label": "KL Binomial-Binomial", "partial_grads": True})
            batch = random_shape(rng, 2)
            cases.append({"kind": "kl", "dtype": dtype, "p": kl_spec(rng, "Poisson", batch, dtype),
                          "q": more_spec(rng, "Binomial", batch, dtype), "label": "KL Poisson-Binomial", "partial_grads": True})
    return cases


def _event_size(spec):
    if spec["type"] not in ("Dirichlet", "OneHotCategorical", "MultivariateNormalDiag", "MultivariateNormal",
                            "MultivariateNormalTriL", "LowRankMultivariateNormal", "MultivariateStudentT"):
        return None
    for key in ("concentration", "logits", "probs", "loc", "scale_diag"):
        if key in spec:
            v = spec[key]
            v = v.get("variable", v.get("constant", v.get("transformed", v)))
            return v["shape"][-1]
    return None


def _uniform_bound(spec, key, dtype):
    v = spec[key]
    v = v.get("variable", v.get("constant", v))
    return np.asarray(v["data"]).reshape(v["shape"])


def kl_reference(p, q):
    """torch's kl_divergence; against a LowRankMultivariateNormal, an Independent Normal (the
    reference of MultivariateNormalDiag) as the MultivariateNormal with its diagonal scale_tril
    (torch registers the low-rank rules with MultivariateNormal only)."""
    if isinstance(p, td.LowRankMultivariateNormal) or isinstance(q, td.LowRankMultivariateNormal):
        p, q = _as_mvn(p), _as_mvn(q)
    return td.kl_divergence(p, q)


def _as_mvn(d):
    if isinstance(d, td.Independent) and isinstance(d.base_dist, td.Normal):
        return td.MultivariateNormal(d.base_dist.loc, scale_tril=torch.diag_embed(d.base_dist.scale), validate_args=False)
    return d


def lowrank_kl_terms(p, q):
    """The additive terms of a Gaussian KL with a low-rank side, in torch ops (float64, with
    their graph): the tolerance of the gradients sums the sizes of the terms' gradients, which
    cancel (the Woodbury pairs |D^-½ M|² - |L_C⁻¹ Wᵀ D⁻¹ M|²). torch's forms, for sizes only."""
    p, q = _as_mvn(p), _as_mvn(q)

    def factor(d):
        if isinstance(d, td.LowRankMultivariateNormal):
            return torch.cat([d.cov_factor, torch.diag_embed(d.cov_diag.sqrt())], -1)
        return d.scale_tril

    def half_log_det(d):
        if isinstance(d, td.LowRankMultivariateNormal):
            return [d._capacitance_tril.diagonal(0, -2, -1).log().sum(-1), 0.5 * d.cov_diag.log().sum(-1)]
        return [d.scale_tril.diagonal(0, -2, -1).log().sum(-1)]

    def inverse_quadratic(d, m):
        if isinstance(d, td.LowRankMultivariateNormal):
            wt_dinv = d.cov_factor.mT / d.cov_diag.unsqueeze(-2)
            low = torch.linalg.solve_triangular(d._capacitance_tril, wt_dinv @ m, upper=False)
            return [(m / d.cov_diag.sqrt().unsqueeze(-1)).square().sum((-2, -1)), -low.square().sum((-2, -1))]
        return [torch.linalg.solve_triangular(d.scale_tril, m, upper=False).square().sum((-2, -1))]

    return (half_log_det(q) + half_log_det(p) + inverse_quadratic(q, factor(p))
            + inverse_quadratic(q, (q.loc - p.loc).unsqueeze(-1)))


def check_kl(report, case, res):
    dtype = case["dtype"]
    tag = f"{case['label']} {dtype}"
    refs = {}
    for dt in (torch.float64, torch.float32):
        raw = {k: from_json(v, dt).requires_grad_(True) for k, v in res["variables"].items()}
        p = torch_distribution(case["p"], raw, dt, "p.")
        q = torch_distribution(case["q"], raw, dt, "q.")
        kl = kl_reference(p, q)
        finite = torch.isfinite(kl)
        # an all-inf KL (torch's _infinite_like) has no graph: no gradients
        differentiable = raw and kl.requires_grad
        grads = torch.autograd.grad(kl[finite].sum(), list(raw.values()), allow_unused=True) if differentiable else [None] * len(raw)
        refs[dt] = {"kl": kl.detach(), "grads": dict(zip(raw, grads)), "finite": finite, "pq": (p, q)}
    k64, k32 = refs[torch.float64]["kl"], refs[torch.float32]["kl"]
    if case.get("mp_value"):
        # ContinuousBernoulli's finite pairs: the float64 value and gradients from mpmath, torch's
        # are inaccurate near probs 1/2 and at large |logits| (see cb_kl_mp); the derivatives
        # reach the raw variables through torch's parameter transforms (a fresh graph)
        raw = {k: from_json(v, torch.float64).requires_grad_(True) for k, v in res["variables"].items()}
        p = torch_distribution(case["p"], raw, torch.float64, "p.")
        q = torch_distribution(case["q"], raw, torch.float64, "q.")
        k64, derivs = cb_kl_mp(p, q)
        k64 = k64.expand_as(refs[torch.float64]["kl"])
        if raw:
            ts, ds = zip(*derivs)
            used = [i for i, t in enumerate(ts) if t.requires_grad]
            if used:
                grids = torch.broadcast_tensors(*ts)
                grads = torch.autograd.grad([grids[i] for i in used], list(raw.values()),
                                            grad_outputs=[ds[i] for i in used], allow_unused=True)
                refs[torch.float64]["grads"] = {k: (g if g is not None else refs[torch.float64]["grads"][k])
                                                for k, g in zip(raw, grads)}
    rust = from_json(res["kl"])
    report.add(f"{tag} value", rust, k64, tolerance(k64, k32, dtype), case["id"])
    # The first KL cases compare gradients where the KL is finite everywhere; the later pairs
    # also with inf elements, where torch's gradients (of the sum of the finite elements) are finite.
    partial = case.get("partial_grads", False)
    term_sizes = {}
    p64, q64 = refs[torch.float64]["pq"]
    if any(isinstance(_as_mvn(t), td.LowRankMultivariateNormal) for t in (p64, q64)):
        raw = {k: from_json(v).requires_grad_(True) for k, v in res["variables"].items()}
        p, q = (torch_distribution(case[side], raw, torch.float64, f"{side}.") for side in ("p", "q"))
        for term in (t for t in lowrank_kl_terms(p, q) if t.requires_grad):
            for name, g in zip(raw, torch.autograd.grad(term.sum(), list(raw.values()), allow_unused=True, retain_graph=True)):
                if g is not None:
                    term_sizes[name] = term_sizes.get(name, 0.0) + g.abs()
    if bool(refs[torch.float64]["finite"].all()) or partial:
        for name, g64 in refs[torch.float64]["grads"].items():
            g32 = refs[torch.float32]["grads"][name]
            if g64 is None or g32 is None:
                continue
            rust_g = from_json(res["grads"][name])
            if partial:
                keep = torch.isfinite(g64) & torch.isfinite(g32)
                rust_g, g64, g32 = rust_g[keep], g64[keep], g32[keep]
            size = g64.abs() + term_sizes[name] if name in term_sizes else g64.abs()
            report.add(f"{tag} grad wrt {name.split('.')[0]}.{name.split('.')[-1]}", rust_g, g64,
                       tolerance(g64, g32, dtype, magnitude=GRAD_ROUNDINGS / C * size), case["id"])


def bernoulli_entropy_mp(logits):
    """-(p log p + q log q), p = sigmoid(l), q = sigmoid(-l), in mpmath (50 digits)."""
    import mpmath as mp
    mp.mp.dps = 50

    def h(l):
        l = mp.mpf(float(l))
        p, q = 1 / (1 + mp.exp(-l)), 1 / (1 + mp.exp(l))
        return float(-(p * mp.log(p) + q * mp.log(q)))
    return torch.tensor([h(l) for l in logits.reshape(-1).tolist()], dtype=torch.float64).reshape(logits.shape)


def torch_method(d, name):
    """A torch distribution's method value, or None where torch has none."""
    try:
        v = getattr(d, name)
        v = v() if callable(v) else v  # entropy is a method, the moments are properties
        return v.detach() if isinstance(v, torch.Tensor) else None
    except (NotImplementedError, AttributeError):
        return None


def moment_mask(d, spec, n):
    """Elements whose mean and variance z-tests are valid: finite variance for the mean test,
    finite fourth moment for the variance test (Student's t needs df > 2 and df > 4); for the
    count families, a variance of at least 10 over the n draws (below it the counts are too few
    and too skewed for the normal approximation: the Poisson regime)."""
    var = torch.as_tensor(d.variance).detach()
    ok_mean = torch.isfinite(var) & (var > 0)
    if isinstance(d, (td.Binomial, td.NegativeBinomial, td.Poisson, td.Geometric)):
        ok_mean &= var * n >= 10
    ok_var = ok_mean.clone()
    t = spec["distribution"]["type"] if spec["type"] == "BatchBroadcast" else spec["type"]
    if t in ("StudentT", "MultivariateStudentT"):
        df = (d.base_dist if isinstance(d, td.Independent) else d).df.detach()
        df = df.unsqueeze(-1) if t == "MultivariateStudentT" else df
        ok_mean &= (df > 2.5).expand_as(ok_mean)
        ok_var &= (df > 4.5).expand_as(ok_var)
    if t == "Mixture":
        ok_var &= torch.zeros_like(ok_var) if any(c["type"] == "StudentT" for c in spec["components"]) else True
    # Heavy tails: the mean test needs a few finite moments beyond the variance, the variance test
    # a finite eighth moment (the fourth central moment is estimated from the same draws).
    # InverseGamma: moments of order < α; FisherSnedecor: < df2/2; GeneralizedPareto: < 1/ξ.
    if t in ("InverseGamma", "FisherSnedecor", "GeneralizedPareto"):
        order = {"InverseGamma": lambda: d.concentration, "FisherSnedecor": lambda: d.df2 / 2,
                 "GeneralizedPareto": lambda: 1 / d.concentration.clamp_min(1e-300)}[t]().detach().expand_as(ok_mean)
        ok_mean &= order > 4.5
        ok_var &= order > 8.5
    if t == "FisherSnedecor":
        # a tiny df1 (1e-3) makes X1 ~ Gamma(df1/2) almost always ~0 with rare huge values (excess
        # kurtosis ~ 12/df1): 4000 draws are far from the normal approximation of the z-tests
        df1 = d.df1.detach().expand_as(ok_mean)
        ok_mean &= df1 > 0.5
        ok_var &= df1 > 2
    if t == "Kumaraswamy":
        # for large concentration0 it is nearly Weibull with shape concentration1: heavy
        # kurtosis below shape 1 (excess ~75 at (0.5, 100), 1.9e5 at (0.18, 63)), as for Weibull
        a = d.concentration1.detach().expand_as(ok_mean)
        ok_mean &= a >= 0.5
        ok_var &= a >= 1
    return ok_mean, ok_var


def icdf_reference(d, u):
    """torch's icdf; for the families torch builds by transforms (Weibull, Pareto, Gumbel) the
    closed form in torch ops instead: TransformedDistribution.icdf first maps u to
    sign * (u - 1/2) + 1/2 (_monotonize_cdf), a rounding that moves quantiles near u = 1 by
    more than float64's tolerance."""
    if isinstance(d, td.Weibull):
        return (d.scale * (-torch.log1p(-u)) ** d.concentration.reciprocal()).detach()
    if isinstance(d, td.Pareto):
        return (d.scale * torch.exp(torch.log1p(-u) / -d.alpha)).detach()
    if isinstance(d, td.Gumbel):
        return (d.loc - d.scale * torch.log(-torch.log(u))).detach()
    return d.icdf(u).detach()


def log_prob_magnitude(d, x, lp):
    """The size of the terms torch's float64 log_prob sums, where they cancel: for the count
    families, the three lgamma of the binomial coefficient (torch's own rounding is eps times
    their size; Rust's cancelled forms are more accurate); |log_prob| otherwise."""
    if isinstance(d, td.Binomial):
        n = d.total_count.detach()
        terms = torch.lgamma(n + 1).abs() + torch.lgamma(x + 1).abs() + torch.lgamma(n - x + 1).abs()
        return lp.abs() + terms
    if isinstance(d, td.NegativeBinomial):
        r = d.total_count.detach()
        return lp.abs() + torch.lgamma(r + x).abs() + torch.lgamma(x + 1).abs() + torch.lgamma(r).abs()
    return lp.abs()


def check_distribution(report, case, res):
    dtype = case["dtype"]
    tag = f"{case['label']} {dtype}"
    spec = case["distribution"]
    refs = {}
    for dt in (torch.float64, torch.float32):
        raw = {k: from_json(v, dt).requires_grad_(True) for k, v in res["variables"].items()}
        d = torch_distribution(spec, raw, dt)
        x = from_json(case["x"], dt)
        if isinstance(d, td.Categorical):
            x = x.long()
        lp = d.log_prob(x)
        grads = torch.autograd.grad(lp.sum(), list(raw.values()), allow_unused=True) if raw else []
        refs[dt] = {"d": d, "lp": lp.detach(), "grads": dict(zip(raw, grads)), "x": x}
    d = refs[torch.float64]["d"]
    report.flag(f"{tag} batch/event shapes",
                res["batch_shape"] == list(d.batch_shape) and res["event_shape"] == list(d.event_shape),
                f"rust {res['batch_shape']}/{res['event_shape']} vs torch {list(d.batch_shape)}/{list(d.event_shape)}",
                case["id"])
    if isinstance(d, td.Categorical):  # torch's Categorical.mean is NaN; TFP and Rust have none
        report.flag(f"{tag} mean is an error", "mean_error" in res, "Rust gave a mean", case["id"])
    # The closed-form methods, where both have them (finite values compared; NaN must match NaN).
    if case.get("extreme"):
        check_extreme(report, case, res)
    for method in ("mean", "variance", "stddev", "mode", "entropy") if not case.get("extreme") else ():
        if isinstance(d, td.Categorical) and method == "mean":
            continue
        m64, m32 = torch_method(refs[torch.float64]["d"], method), torch_method(refs[torch.float32]["d"], method)
        if m64 is None or method not in res:
            continue
        if method == "mode" and isinstance(d, (td.Categorical, td.OneHotCategorical)):
            continue  # ties may break differently; checked in the Rust tests
        if method == "entropy" and isinstance(d, td.Bernoulli):
            # torch's binary_cross_entropy_with_logits form loses ~1e-13 relative for |logits| > 5
            # in float64; the reference is the closed form in mpmath on the same logits
            m64 = bernoulli_entropy_mp(d.logits.detach())
        if method == "mode" and isinstance(d, td.Dirichlet):
            # TFP's mode is NaN unless every concentration > 1; torch clamps instead
            m64 = torch.where((d.concentration.detach() > 1).all(-1, keepdim=True), m64, torch.nan)
        rust = from_json(res[method])
        same_nan = torch.isnan(m64) == torch.isnan(rust)
        report.flag(f"{tag} {method} NaN pattern", bool(same_nan.all()), f"rust {rust} vs torch {m64}", case["id"])
        keep = ~torch.isnan(m64)
        report.add(f"{tag} {method}", rust[keep], m64[keep], tolerance(m64[keep], m32[keep], dtype), case["id"])
    r64, r32 = refs[torch.float64]["lp"], refs[torch.float32]["lp"]
    if not case.get("extreme"):
        report.add(f"{tag} log_prob", from_json(res["log_prob"]), r64,
                   tolerance(r64, r32, dtype, magnitude=log_prob_magnitude(d, refs[torch.float64]["x"], r64)), case["id"])
    if "cdf" in res:
        def standard(dt):
            dd, xx = refs[dt]["d"], refs[dt]["x"]
            base = dd if isinstance(dd, td.Normal) else dd.base_dist
            return ((xx if isinstance(dd, td.Normal) else xx.log()) - base.loc).detach() / base.scale.detach()

        gaussian = isinstance(d, (td.Normal, td.LogNormal))
        try:
            if gaussian:
                # torch's Normal.cdf (0.5 (1 + erf)) and special.ndtr lose the left tail even in
                # float64; erfc and log_ndtr are accurate there
                c64, c32 = (0.5 * torch.special.erfc(-standard(dt) / math.sqrt(2.0)) for dt in (torch.float64, torch.float32))
            else:
                c64, c32 = (cdf_reference(refs[dt]["d"], refs[dt]["x"]) for dt in (torch.float64, torch.float32))
        except NotImplementedError:
            c64 = None
        if c64 is not None:
            report.add(f"{tag} cdf", from_json(res["cdf"]), c64, tolerance(c64, c32, dtype), case["id"])
            if gaussian:
                keep = torch.ones_like(c64, dtype=torch.bool)
                l64, l32 = (torch.special.log_ndtr(standard(dt))[keep] for dt in (torch.float64, torch.float32))
            else:
                # log(torch's cdf) is accurate only away from cdf = 1 (and above underflow)
                keep = (c64 > 1e-30) & (c64 <= 0.5)
                l64, l32 = c64[keep].log(), c32[keep].to(torch.float64).clamp_min(1e-300).log()
            report.add(f"{tag} log_cdf", from_json(res["log_cdf"])[keep], l64, tolerance(l64, l32, dtype), case["id"])
    if "u" in case:
        if "icdf" not in res:
            report.failures.append(f"case {case['id']} ({tag}): no icdf: {res.get('icdf_error')}")
        else:
            q64, q32 = (icdf_reference(refs[dt]["d"], from_json(case["u"], dt)) for dt in (torch.float64, torch.float32))
            report.add(f"{tag} icdf", from_json(res["icdf"]), q64, tolerance(q64, q32, dtype), case["id"])
    raw64 = {k: from_json(v) for k, v in res["variables"].items()}
    x64 = refs[torch.float64]["x"]
    for name, g64 in refs[torch.float64]["grads"].items() if not case.get("extreme") else ():
        g32 = refs[torch.float32]["grads"][name]
        if g64 is None:
            continue

        # The gradient of a sum over points: its terms are the per-point gradients (Jacobian rows).
        def per_point(r, name=name):
            return torch_distribution(spec, dict(raw64, **{name: r}), torch.float64).log_prob(x64).reshape(-1)

        jac = torch.autograd.functional.jacobian(per_point, raw64[name]).abs()
        m = jac.sum(0)
        if spec.get("type") in ("MixtureSameFamily", "Mixture"):
            # A mixture's responsibilities are exp(c_nk - logsumexp_k c_nk): c_nk, of the size of
            # log_prob, carries an absolute rounding error of eps |log_prob| in any evaluation
            # (torch's reference included), which becomes a relative error of each point's
            # gradient term. (Seen: points 2e4 scales out, |log_prob| 3e6: torch's float64
            # gradients 1e-10 off mpmath's 40-digit values, the library's 1e-14 off.)
            lp = per_point(raw64[name]).detach().abs().reshape(-1, *([1] * (jac.dim() - 1)))
            m = m + 4.0 / GRAD_ROUNDINGS * (jac * lp).sum(0)
        if name in logit_names(spec):
            # d log_prob / d logit_k = r_k - pi_k per point: a difference of two probabilities,
            # which may vanish (identical components) while each is up to 1.
            m = m + 2.0 * x64.numel() / max(1, int(np.prod(res["event_shape"])))
        if spec.get("type") == "Multinomial" and name == spec.get("logits", {}).get("name"):
            # x_k - n p_k per point: a difference of counts up to n
            m = m + 2.0 * float(_spec_value(spec["total_count"])) * x64.numel() / res["event_shape"][0]
        report.add(f"{tag} grad sum(log_prob) wrt {name}", from_json(res["grads"][name]), g64,
                   tolerance(g64, g32, dtype, magnitude=GRAD_ROUNDINGS / C * m), case["id"])
    if dtype == "float64":
        check_scipy(report, tag, case, res, d)
    # Sample moments: z-scores of the mean and variance of each batch/event element.
    n = res["sample_count"]
    report.flag(f"{tag} sample shape", res["sample_shape_out"] == [n] + list(d.batch_shape) + list(d.event_shape),
                f"{res['sample_shape_out']}", case["id"])
    inflate = 1.0
    if isinstance(d, td.Categorical):
        mu, var = categorical_moments(d)
        mu4 = fourth_central_moment(d).detach()
    if not isinstance(d, td.Categorical) and (torch_method(d, "mean") is None or isinstance(d, td.VonMises)):
        # No closed-form moments (a transformed distribution; VonMises's are circular, not those
        # of its draws in [-π, π)): the reference moments come from N = 100 n torch draws, whose
        # own error widens the test by sqrt(1 + n/N).
        big = d.sample([100 * n]).detach()
        mu, var = big.mean(0), big.var(0)
        mu4, inflate = ((big - mu) ** 4).mean(0), math.sqrt(1.01)
        ok_mean = ok_var = torch.isfinite(var) & (var > 0)
    elif not isinstance(d, td.Categorical):
        mu, var = torch.as_tensor(d.mean).detach(), torch.as_tensor(d.variance).detach()
        known = isinstance(d, (td.Normal, td.MultivariateNormal, td.LowRankMultivariateNormal, td.MixtureSameFamily)) or (
            isinstance(d, td.Independent) and isinstance(d.base_dist, td.Normal))
        # The fourth central moment: exact for the Gaussian families and mixtures of them,
        # otherwise estimated from the same draws (Rust's sample_m4).
        mu4 = fourth_central_moment(d).detach() if known else from_json(res["sample_m4"])
        ok_mean, ok_var = moment_mask(d, spec, n)
    else:
        ok_mean = ok_var = var > 0
    if isinstance(d, (td.Bernoulli, td.OneHotCategorical, td.Categorical, td.Multinomial)) or (
            isinstance(d, td.Independent) and isinstance(d.base_dist, td.Bernoulli)):
        # The normal approximation needs a few occurrences of each outcome: skip elements with
        # an outcome expected fewer than 10 times in n draws (Poisson regime); a multinomial
        # count sums total_count draws.
        p = d.probs.detach() * (d.total_count if isinstance(d, td.Multinomial) else 1)
        rare = ((n * p < 10) | (n * (1 - p) < 10))
        rare = rare.any(-1) if isinstance(d, td.Categorical) else rare
        ok_mean, ok_var = ok_mean & ~rare, ok_var & ~rare
    s_mean, s_var = from_json(res["sample_mean"]), from_json(res["sample_var"])
    z_mean = ((s_mean - mu) / (var / n).sqrt() / inflate)[ok_mean]
    var_of_s2 = (mu4 - var ** 2 * (n - 3) / (n - 1)) / n * inflate ** 2
    z_var = ((s_var - var) / var_of_s2.clamp_min(1e-300).sqrt())[ok_var & (var_of_s2 > 0)]
    return z_mean.reshape(-1), z_var.reshape(-1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--driver", default="target/debug/examples/json_driver")
    ap.add_argument("--seed", type=int, default=20261125)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    new_rng = np.random.default_rng([args.seed, 1])
    cont1_rng = np.random.default_rng([args.seed, 2])
    cont2_rng = np.random.default_rng([args.seed, 3])
    kl_rng = np.random.default_rng([args.seed, 4])
    cases = (bijector_cases(rng) + learnable_bijector_cases(rng) + distribution_cases(rng, new_rng, cont1_rng, cont2_rng)
             + count_family_cases(np.random.default_rng([args.seed, 5])) + kl_cases(rng) + new_kl_cases(kl_rng)
             + count_kl_cases(np.random.default_rng([args.seed, 6])) + cb_kl_cases(np.random.default_rng([args.seed, 7]))
             + bijector_cases(np.random.default_rng([args.seed, 8]), more_bijector_specs)
             + map_cases(np.random.default_rng([args.seed, 9])) + family_cases(np.random.default_rng([args.seed, 10]), TFP_FAMILIES, 1_000_000)
             + family_cases(np.random.default_rng([args.seed, 11]), STRUCTURED_FAMILIES, 2_000_000, per=8)
             + structured_kl_cases(np.random.default_rng([args.seed, 12]))
             + family_cases(np.random.default_rng([args.seed, 13]), CATEGORICAL_FAMILIES, 3_000_000)
             + family_cases(np.random.default_rng([args.seed, 14]), MATRIX_FAMILIES, 4_000_000))
    for i, c in enumerate(cases):
        c["id"] = i
    # The first pass gives the raw variables (what Rust made of the initial values); the points
    # are then drawn around each distribution, and the second pass evaluates them.
    first = run_driver(args.driver, [c for c in cases if c["kind"] == "distribution"], with_x=False)
    for c, r in zip([c for c in cases if c["kind"] == "distribution"], first):
        if "error" in r:
            sys.exit(f"case {c['id']} ({c['label']}) failed in the driver: {r['error']}\n{json.dumps(c)[:3000]}")
        raw = {k: from_json(v) for k, v in r["variables"].items()}
        c["x"] = to_json(as_dtype(draw_points(c, raw, gen).numpy(), c["dtype"]))
        if c["distribution"]["type"] in ICDF_FAMILIES:
            # Probabilities for icdf, 1e-6 to 1 - 1e-6 (log-uniform towards both ends).
            tail = 10.0 ** rng.uniform(-6, np.log10(0.5), size=[5] + r["batch_shape"])
            u = np.where(rng.random(size=tail.shape) < 0.5, tail, 1.0 - tail)
            c["u"] = to_json(as_dtype(u, c["dtype"]))
    results = run_driver(args.driver, cases)

    report = Report()
    zs_mean, zs_var, worst_z = [], [], []
    for c, r in zip(cases, results):
        if "error" in r:
            report.failures.append(f"case {c['id']} ({c.get('label')}): driver error {r['error']}")
            continue
        if c.get("forward_only"):
            check_map(report, c, r)
        elif c["kind"] == "bijector" and "reference" in c:
            check_learnable_bijector(report, c, r)
        elif c["kind"] == "bijector":
            check_bijector(report, c, r)
        elif c["kind"] == "kl":
            check_kl(report, c, r)
        else:
            zm, zv = check_distribution(report, c, r)
            zs_mean.append(zm)
            zs_var.append(zv)
            worst_z.append((float(torch.cat([zm.abs(), zv.abs(), torch.zeros(1)]).max()), c["id"], c["label"], c["dtype"]))
    zm, zv = torch.cat(zs_mean), torch.cat(zs_var)
    n_tests = zm.numel() + zv.numel()
    crit = statistics.NormalDist().inv_cdf(1 - FALSE_FAILURE_RATE / (2 * n_tests))
    n_dist = sum(c["kind"] == "distribution" for c in cases)
    for name, zz in (("sample mean z-score", zm), ("sample variance z-score", zv)):
        worst = float(zz.abs().max())
        report.checks[name] = {"cases": n_dist, "values": zz.numel(), "abs": worst, "rel": float("nan"), "ratio": worst / crit}
        if not worst < crit:
            bad = [f"case {i} ({label} {dt}) |z| {z:.2f}" for z, i, label, dt in sorted(worst_z, reverse=True)[:3]]
            report.failures.append(f"{name}: max |z| {worst:.2f} >= {crit:.2f}; worst cases: {', '.join(bad)}")
    n_kl = sum(c["kind"] == "kl" for c in cases)
    print(f"parity: {len(cases)} cases ({len(cases) - n_dist - n_kl} bijector, {n_dist} distribution, {n_kl} KL), seed {args.seed}; "
          f"moment tests: {n_tests} z-scores against |z| < {crit:.2f} (false-failure rate {FALSE_FAILURE_RATE:g} in all)")
    report.print()
    print_label_summary(report, cases)
    if report.failures:
        print(f"\nFAILED: {len(report.failures)} mismatch(es)")
        for f in report.failures[:40]:
            print("  " + f)
        sys.exit(1)
    print("\nparity: all checks passed")


def print_label_summary(report, cases):
    """Per case label (a family, a bijector, a KL pair): the number of cases and the largest
    err/tol over all its checks (both dtypes)."""
    counts = {}
    for c in cases:
        counts[c.get("label", c["kind"])] = counts.get(c.get("label", c["kind"]), 0) + 1
    worst = {}
    for name, c in report.checks.items():
        for label in counts:
            if name.startswith(label + " float") or name.startswith(f"bijector {label} float"):
                worst[label] = max(worst.get(label, 0.0), c["ratio"])
    print(f"\n{'label':48} {'cases':>5} {'max err/tol':>11}")
    for label in sorted(counts):
        ratio = worst.get(label)
        print(f"{label:48} {counts[label]:5d} {ratio:11.3e}" if ratio is not None else f"{label:48} {counts[label]:5d} {'-':>11}")


def run_driver(driver, cases, with_x=True):
    keep = ("id", "kind", "dtype", "bijector", "distribution", "x", "y", "sample_shape", "seed", "p", "q", "u")
    sent = [{k: v for k, v in c.items() if k in keep and (with_x or k not in ("x", "sample_shape", "u"))} for c in cases]
    out = subprocess.run([driver], input=json.dumps({"cases": sent}), capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"driver failed ({out.returncode}): {out.stderr[-3000:]}")
    return json.loads(out.stdout)["results"]


if __name__ == "__main__":
    main()
