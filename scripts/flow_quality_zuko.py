#!/usr/bin/env python3
"""zuko's side of scripts/flow_quality.sh: fits zuko's MAF, RealNVP and NSF to the points that
examples/flow_quality.rs wrote (<dir>/<set>_train.npy, _test.npy, _meta.json; standardised,
float32) and prints the held-out NLL per point in the original units as JSON lines.

Usage: flow_quality_zuko.py <data dir> [steps] [threads] [set]   (FLOW_QUALITY_SEED: the seed, default 0)

Architecture as ours (flow_models::spec with FlowOptions::default()) where zuko's API allows it:
4 transforms, hidden (64, 64), ReLU, float32, a standard normal base.
- MAF and NSF: scripts/bench_flows_zuko.py's zuko_flow (zuko.flows.MAF with the affine
  log-scale bound 5, or with MonotonicRQSTransform(bound=4) and 8 bins: zuko's NSF with our
  interval); ascending/descending orders alternating (zuko's randperm=False), as our reversing
  permutations.
- RealNVP: zuko.flows.RealNVP alternates checkered masks (even/odd features); ours alternates
  halves (the first d/2 features condition the rest, then the other way), which for d = 2 is the
  same thing. To match it in 8-D the flow is built from zuko's GeneralCouplingTransform with our
  masks (mask = the features that pass through and condition), in the order our chain meets
  data, and the same affine transform (log-scale bound 5) as MAF.
- Differences that remain: zuko's soft clips (rational s / (1 + |s| / 5) for the log-scale, ours
  5 tanh(s / 5); the spline's raw widths, heights and log-slopes, which ours leaves unclipped),
  no minimum bin width/height in zuko (ours 1e-3 of the interval), exp vs 1e-3 + softplus
  slopes, hidden-unit degrees (zuko cyclic, ours TFP's "equal"), initialisation (torch's default
  Linear init; ours Glorot uniform with zero last layers, so a new flow is the identity).

FLOW_QUALITY_ZUKO=matched builds instead zuko's flows with our parametrisation, so that only the
implementations differ: TFP's direction for the affine maps (density pass z = (x - shift)
exp(-log_scale), log_scale = 5 tanh(raw / 5)) and for the spline (the density pass is the
spline's inverse), our spline map (softmax widths and heights with a minimum of 1e-3 of the
interval, slopes 1e-3 + softplus(raw + c) with c such that a raw 0 is slope 1, boundary slopes
1, no soft clip), and our initialisation (FLOW_QUALITY_INIT as on the Rust side: torch_linear
keeps torch's Linear init, glorot_uniform redraws weights Glorot-uniform with zero biases; the
last layer of every conditioner zero unless FLOW_QUALITY_ZERO_LAST=0). What still differs: the
MADE's hidden-unit assignment for d > 2 (zuko cyclic, ours TFP's "equal"; identical for d = 2),
the batch order (both random permutations per epoch, from different generators).

Training: Adam (lr 1e-3, torch's defaults), batch 256 drawn from a fresh permutation each epoch
(the last batch of an epoch may be smaller, as training::fit does), the same number of steps.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import zuko
from zuko.distributions import DiagNormal
from zuko.flows.coupling import GeneralCouplingTransform
from zuko.lazy import Flow, UnconditionalDistribution
from zuko.transforms import MonotonicAffineTransform, MonotonicRQSTransform
from functools import partial
from torch.distributions import constraints
from torch.distributions.transforms import Transform
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_flows_zuko import BINS, BOUND, LOG_SCALE_BOUND, zuko_flow  # noqa: E402

MIN = 1e-3  # our spline's minimum bin width, height (fractions of the interval) and slope


class TfpAffine(Transform):
    """Our affine map in the density direction: z = (x - shift) exp(-log_scale), with
    log_scale = 5 tanh(raw / 5) (TFP's MAF/RealNVP forward is x = z exp(log_scale) + shift)."""
    domain = constraints.real
    codomain = constraints.real
    bijective = True
    sign = +1

    def __init__(self, shift, raw, **kwargs):
        super().__init__(**kwargs)
        self.shift = shift
        self.log_scale = LOG_SCALE_BOUND * torch.tanh(raw / LOG_SCALE_BOUND)

    def _call(self, x):
        return (x - self.shift) * torch.exp(-self.log_scale)

    def _inverse(self, z):
        return z * torch.exp(self.log_scale) + self.shift

    def log_abs_det_jacobian(self, x, y):
        return -self.log_scale.expand(x.shape)


class OurRQS(MonotonicRQSTransform):
    """zuko's rational-quadratic spline on [-BOUND, BOUND] with our map from raw parameters."""

    def __init__(self, widths, heights, derivatives, bound=BOUND, **kwargs):
        Transform.__init__(self, **kwargs)
        k = widths.shape[-1]
        w = F.pad(torch.softmax(widths, -1) * (1 - MIN * k) + MIN, (1, 0), value=0)
        h = F.pad(torch.softmax(heights, -1) * (1 - MIN * k) + MIN, (1, 0), value=0)
        self.horizontal = bound * (2 * torch.cumsum(w, -1) - 1)
        self.vertical = bound * (2 * torch.cumsum(h, -1) - 1)
        offset = math.log(math.exp(1 - MIN) - 1)
        self.derivatives = F.pad(F.softplus(derivatives + offset) + MIN, (1, 1), value=1.0)


def our_spline(*phi):
    # TFP's direction: the density pass runs the spline's inverse
    return OurRQS(*phi).inv


def matched_init(flow, init, zero_last):
    """Our initialisation on zuko's conditioners: `init` as FlowOptions::init, the last Linear of
    every conditioner zero when `zero_last`."""
    with torch.no_grad():
        for t in flow.transform.transforms:
            linears = [m for m in t.hyper.modules() if isinstance(m, (torch.nn.Linear, zuko.nn.Linear))]
            for i, m in enumerate(linears):
                if zero_last and i == len(linears) - 1:
                    m.weight.zero_()
                    m.bias.zero_()
                elif init == "glorot_uniform":
                    out, inp = m.weight.shape
                    limit = math.sqrt(6.0 / (inp + out))
                    m.weight.uniform_(-limit, limit)
                    m.bias.zero_()
    return flow


def matched_flow(name, d, transforms=4, hidden=(64, 64)):
    if name == "realnvp":
        return realnvp(d, transforms, hidden, univariate=TfpAffine)
    univariate, shapes = (TfpAffine, [(), ()]) if name == "maf" else (our_spline, [(BINS,), (BINS,), (BINS - 1,)])
    return zuko.flows.MAF(d, transforms=transforms, hidden_features=hidden, activation=torch.nn.ReLU,
                          univariate=univariate, shapes=shapes)

SETS = ["two_moons", "8gaussians", "checkerboard", "pinwheel", "rings", "maf_toy8"]


def realnvp(d, transforms=4, hidden=(64, 64), univariate=None):
    """Affine couplings with our half masks. Our chain meets data with its last layer first:
    layer j = transforms - 1 - i is the i-th zuko transform (data -> base); even j keeps the first
    d // 2 features, odd j the last d - d // 2."""
    ts = []
    for i in range(transforms):
        j = transforms - 1 - i
        mask = torch.arange(d) < d // 2 if j % 2 == 0 else torch.arange(d) >= d // 2
        ts.append(GeneralCouplingTransform(
            features=d, mask=mask, hidden_features=hidden, activation=torch.nn.ReLU,
            univariate=univariate or partial(MonotonicAffineTransform, slope=math.exp(-LOG_SCALE_BOUND)),
            shapes=[(), ()]))
    base = UnconditionalDistribution(DiagNormal, loc=torch.zeros(d), scale=torch.ones(d), buffer=True)
    return Flow(ts, base)


def main():
    data = sys.argv[1]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    torch.set_num_threads(threads)
    only = sys.argv[4] if len(sys.argv) > 4 else None
    # the seed of the initial weights and of the batch order (default 0), as the Rust side's
    seed = int(os.environ.get("FLOW_QUALITY_SEED", "0"))
    matched = os.environ.get("FLOW_QUALITY_ZUKO") == "matched"
    init = os.environ.get("FLOW_QUALITY_INIT", "torch_linear")
    zero_last = os.environ.get("FLOW_QUALITY_ZERO_LAST", "1") != "0"
    for s in SETS:
        if only is not None and s != only:
            continue
        meta = json.load(open(os.path.join(data, f"{s}_meta.json")))
        train = torch.from_numpy(np.load(os.path.join(data, f"{s}_train.npy")))
        test = torch.from_numpy(np.load(os.path.join(data, f"{s}_test.npy")))
        d = train.shape[1]
        for name in ("maf", "realnvp", "nsf"):
            torch.manual_seed(seed)
            if matched:
                flow = matched_init(matched_flow(name, d), init, zero_last)
            else:
                flow = realnvp(d) if name == "realnvp" else zuko_flow(name, d)
            opt = torch.optim.Adam(flow.parameters(), lr=1e-3)
            gen = torch.Generator().manual_seed(seed)
            start = time.perf_counter()
            step, perm, pos = 0, torch.randperm(len(train), generator=gen), 0
            while step < steps:
                if pos >= len(train):
                    perm, pos = torch.randperm(len(train), generator=gen), 0
                batch = train[perm[pos:pos + 256]]
                pos += 256
                loss = -flow().log_prob(batch).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
            seconds = time.perf_counter() - start
            with torch.no_grad():
                nll = -flow().log_prob(test).double().mean().item() + meta["log_jacobian"]
            print(json.dumps({"impl": "zuko-matched" if matched else "zuko", "set": s, "flow": name, "nll": nll, "true_nll": meta["true_nll"],
                              "steps": steps, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
