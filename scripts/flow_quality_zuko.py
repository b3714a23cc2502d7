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
from zuko.transforms import MonotonicAffineTransform
from functools import partial

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_flows_zuko import LOG_SCALE_BOUND, zuko_flow  # noqa: E402

SETS = ["two_moons", "8gaussians", "checkerboard", "pinwheel", "rings", "maf_toy8"]


def realnvp(d, transforms=4, hidden=(64, 64)):
    """Affine couplings with our half masks. Our chain meets data with its last layer first:
    layer j = transforms - 1 - i is the i-th zuko transform (data -> base); even j keeps the first
    d // 2 features, odd j the last d - d // 2."""
    ts = []
    for i in range(transforms):
        j = transforms - 1 - i
        mask = torch.arange(d) < d // 2 if j % 2 == 0 else torch.arange(d) >= d // 2
        ts.append(GeneralCouplingTransform(
            features=d, mask=mask, hidden_features=hidden, activation=torch.nn.ReLU,
            univariate=partial(MonotonicAffineTransform, slope=math.exp(-LOG_SCALE_BOUND)), shapes=[(), ()]))
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
    for s in SETS:
        if only is not None and s != only:
            continue
        meta = json.load(open(os.path.join(data, f"{s}_meta.json")))
        train = torch.from_numpy(np.load(os.path.join(data, f"{s}_train.npy")))
        test = torch.from_numpy(np.load(os.path.join(data, f"{s}_test.npy")))
        d = train.shape[1]
        for name in ("maf", "realnvp", "nsf"):
            torch.manual_seed(seed)
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
            print(json.dumps({"impl": "zuko", "set": s, "flow": name, "nll": nll, "true_nll": meta["true_nll"],
                              "steps": steps, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
