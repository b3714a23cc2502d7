#!/usr/bin/env python3
"""The workloads of examples/bench.rs in eager torch.distributions (validate_args=False), for
scripts/bench.sh. Prints one JSON object per line, as the Rust side does.

The model: MixtureSameFamily(Categorical(logits), MultivariateNormal(loc, scale_tril=L)) with
L = FillScaleTriL(raw) (TFP's element order, softplus diagonal + 1e-5) recomputed from the raw
variables at every call, as a training step would.
"""
import sys

import numpy as np
import torch
import torch.distributions as td
import torch.nn.functional as F
from bench_timing import timer


def tril_index(n):
    m = n * (n + 1) // 2
    idx = np.arange(m)
    full = np.concatenate([idx[n:], idx[::-1]]).reshape(n, n)
    return torch.tensor(full.reshape(-1)), torch.tensor(np.tril(np.ones((n, n), bool)))


def fill_scale_tril(raw, n, index, mask):
    l = raw[..., index].reshape(*raw.shape[:-1], n, n) * mask
    diag = torch.diagonal(l, dim1=-2, dim2=-1)
    return l - torch.diag_embed(diag) + torch.diag_embed(F.softplus(diag) + 1e-5), F.logsigmoid(diag).sum(-1)


timed = timer("torch")


def model(k, d):
    torch.manual_seed(0)
    index, mask = tril_index(d)
    logits = torch.zeros(k, requires_grad=True)
    loc = torch.randn(k, d, requires_grad=True)
    # raw = FillScaleTriL.inverse(2 I): softplus^-1(2 - 1e-5) on the diagonal entries, 0 elsewhere
    m = d * (d + 1) // 2
    diag_pos = index.reshape(d, d).diagonal()
    raw0 = torch.zeros(k, m)
    v = torch.tensor(2.0 - 1e-5)
    raw0[:, diag_pos] = v + torch.log(-torch.expm1(-v))
    raw = raw0.requires_grad_(True)

    def dist():
        l, _ = fill_scale_tril(raw, d, index, mask)
        return td.MixtureSameFamily(td.Categorical(logits=logits, validate_args=False),
                                    td.MultivariateNormal(loc, scale_tril=l, validate_args=False), validate_args=False)
    return dist, [logits, loc, raw]


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    quick = "quick" in sys.argv
    torch.set_num_threads(threads)
    sizes = [(3, 4, 100), (3, 4, 10_000), (16, 32, 100)] if quick else \
        [(3, 4, 100), (3, 4, 10_000), (3, 4, 1_000_000), (16, 32, 100), (16, 32, 10_000), (16, 32, 100_000)]
    for k, d, n in sizes:
        size = f"K={k} d={d} N={n}"
        dist, params = model(k, d)
        x = torch.randn(n, d)
        timed("W1 log_prob", size, 50, lambda: dist().log_prob(x))

        def evaluate():
            with torch.no_grad():
                dist().log_prob(x)
        timed("W1 log_prob (no_grad)", size, 50, evaluate)
        opt = torch.optim.Adam(params, lr=1e-3)

        def step():
            opt.zero_grad()
            loss = -dist().log_prob(x).mean()
            loss.backward()
            opt.step()
        timed("W2 train step", size, 50, step)

        def draw():
            with torch.no_grad():
                dist().sample((n,))
        timed("W3 sample", size, 50, draw)
    dist, params = model(3, 4)
    x = torch.randn(64, 4)
    opt = torch.optim.Adam(params, lr=1e-3)

    def steps():
        for _ in range(1000):
            opt.zero_grad()
            (-dist().log_prob(x).mean()).backward()
            opt.step()
    timed("W4 1000 Adam steps", "K=3 d=4 N=64", 5, steps)
    index, mask = tril_index(32)
    raw = torch.randn(100_000, 32 * 33 // 2)
    timed("W5 FillScaleTriL fwd+logdet", "B=1e5 d=32", 20, lambda: fill_scale_tril(raw, 32, index, mask))
    for n in (512, 1024):
        a = torch.randn(n, n)
        timed("MM matmul", f"n={n}", 50, lambda: a @ a)


if __name__ == "__main__":
    main()
