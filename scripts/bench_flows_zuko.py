#!/usr/bin/env python3
"""The workloads of examples/bench_flows.rs in zuko (eager PyTorch), for scripts/bench_flows.sh.
Prints one JSON object per line (impl "zuko"), as scripts/bench_torch.py does, with the same
sizes and repetition rule (warm-up call, at least 3 repetitions, then until 2 s or 50).

The flows (zuko_flow below) have the architecture of the Rust side's flow_models::spec with
FlowOptions::default(): 4 masked autoregressive transforms, MADE hidden (64, 64), ReLU,
ascending/descending orders alternating (zuko's randperm=False; ours: reversing permutations),
a standard normal base, float32. What zuko's API lets us set to ours:
- MAF: zuko soft-clips the log-scale as s / (1 + |s / log(slope)|); slope = exp(-5) makes its
  bound 5, as our 5 tanh(s / 5) (the two clips differ in shape, not in bound).
- NSF: zuko.flows.NSF fixes the spline's bound at 5; the same flow is built as a zuko MAF with
  univariate=MonotonicRQSTransform(bound=4) and the NSF's parameter shapes, so the interval is
  our [-4, 4]. Not settable: zuko soft-clips the raw widths, heights and log-slopes, has no
  minimum bin width or height (ours 1e-3 of the interval), and takes exp of the log-slopes
  (ours 1e-3 + softplus).
- Not settable either: zuko's MaskedMLP assigns hidden units cyclically over the reachable
  dependency sets (ours: TFP's "equal" degrees) and uses torch's default Linear init (ours:
  Glorot uniform, last layer zero). Neither changes the cost of a step.

F1 train step: loss = -flow().log_prob(x).mean(), zero_grad, backward, torch.optim.Adam step
(lr 1e-3, torch's defaults); "F1 train step (zuko, fused Adam)" the same with
torch.optim.Adam(fused=True), torch's fastest CPU update. F2 sample: flow().sample((10000,)) under no_grad.
"""
import math
import sys
from functools import partial

import torch
import zuko
from zuko.transforms import MonotonicAffineTransform, MonotonicRQSTransform
from bench_timing import timer

BINS = 8
BOUND = 4.0
LOG_SCALE_BOUND = 5.0


def zuko_flow(name, d, transforms=4, hidden=(64, 64)):
    """zuko's MAF or NSF with our architecture (see the module docstring)."""
    if name == "maf":
        univariate = partial(MonotonicAffineTransform, slope=math.exp(-LOG_SCALE_BOUND))
        shapes = [(), ()]
    elif name == "nsf":
        univariate = partial(MonotonicRQSTransform, bound=BOUND)
        shapes = [(BINS,), (BINS,), (BINS - 1,)]
    else:
        raise ValueError(name)
    return zuko.flows.MAF(d, transforms=transforms, hidden_features=hidden, activation=torch.nn.ReLU,
                          univariate=univariate, shapes=shapes)


timed = timer("zuko")


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    quick = "quick" in sys.argv
    torch.set_num_threads(threads)
    print(f"zuko {zuko.__version__}, torch {torch.__version__}, threads {torch.get_num_threads()}", file=sys.stderr)
    batches = [256] if quick else [256, 8192]
    for name in ("maf", "nsf"):
        for d in (2, 16):
            for n in batches:
                torch.manual_seed(0)
                flow = zuko_flow(name, d)
                torch.manual_seed(1)
                x = torch.randn(n, d)
                opt = torch.optim.Adam(flow.parameters(), lr=1e-3)

                def step():
                    loss = -flow().log_prob(x).mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                timed("F1 train step", f"{name} d={d} batch={n}", 50, step)
                # torch's best CPU Adam (one fused kernel for all parameters), for reference
                opt = torch.optim.Adam(flow.parameters(), lr=1e-3, fused=True)
                timed("F1 train step (zuko, fused Adam)", f"{name} d={d} batch={n}", 50, step)
            torch.manual_seed(0)
            flow = zuko_flow(name, d)

            def draw():
                with torch.no_grad():
                    flow().sample((10_000,))
            timed("F2 sample", f"{name} d={d} N=10000", 50, draw)


if __name__ == "__main__":
    main()
