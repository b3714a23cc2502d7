#!/usr/bin/env python3
"""The MAF workloads of examples/bench_flows.rs in TensorFlow Probability on JAX, each compiled
with `jax.jit`, for scripts/bench_flows.sh (the compiled peer: an extra column, no target).
Run it with the Python of scripts/setup_tfp_jax.sh's environment; prints one JSON object per
line (impl "tfp-jax"), with the repetition rule of scripts/bench_timing.py.

The flow, as `flow_models::spec("maf", d, FlowOptions::default())`: 4 `tfb.MaskedAutoregressiveFlow`
layers (TFP's direction: forward samples, `d` passes) with a reversing `tfb.Permute` between
consecutive ones, over `Independent(Normal(0, 1), 1)`. Each layer's `shift_and_log_scale_fn` is
a MADE with TFP's own masks (`_make_dense_autoregressive_masks(params=2, event_size, [64, 64])`,
left-to-right), ReLU, Glorot-uniform weights and zero biases (the last layer too is drawn
Glorot-random here, so that the timing does not run on zeros; the cost is the same), log-scale
`5 tanh(raw / 5)`. (TFP's Keras `tfb.AutoregressiveNetwork` needs TensorFlow; the JAX substrate
takes any function, so the MADE is written out here in jax.numpy with those masks.) float32.

- F1 train step: one jitted function does value_and_grad of `-mean(log_prob(x))` on a batch
  `x ~ N(0, I)` and the optax Adam update (lr 1e-3), parameter and optimizer buffers donated.
- F2 sample: one jitted function draws 1e4 points from a PRNG key (`unroll_loop=True`: the d
  passes unrolled in the program) and splits the key for the next call.

Threads: scripts/jax_threads.py (imported first) limits the process to N CPUs.
"""
import os
import sys

from jax_threads import THREADS  # noqa: F401  (before JAX: limits this process to THREADS CPUs)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from tensorflow_probability.substrates import jax as tfp  # noqa: E402
from tensorflow_probability.substrates.jax.bijectors import masked_autoregressive as ma  # noqa: E402
from bench_timing import timer  # noqa: E402

tfd = tfp.distributions
tfb = tfp.bijectors
timed = timer("tfp-jax")
LAYERS, HIDDEN, BOUND = 4, [64, 64], 5.0


def made_params(key, d):
    """Glorot-uniform weights [out, in] (masked entries zero) and zero biases of one MADE, and
    its masks."""
    masks = [jnp.asarray(np.asarray(m, np.float32).T)
             for m in ma._make_dense_autoregressive_masks(params=2, event_size=d, hidden_units=HIDDEN)]
    params = []
    for m in masks:
        key, sub = jax.random.split(key)
        out, inp = m.shape
        limit = np.sqrt(6.0 / (inp + out))
        params.append({"w": jax.random.uniform(sub, (out, inp), jnp.float32, -limit, limit) * m,
                       "b": jnp.zeros(out, jnp.float32)})
    return params, masks


def flow(params, masks, d):
    def layer(p, m):
        def fn(y, **_):
            h = y
            for k, (pk, mk) in enumerate(zip(p, m)):
                h = h @ (pk["w"] * mk).T + pk["b"]
                if k < len(p) - 1:
                    h = jax.nn.relu(h)
            h = h.reshape(h.shape[:-1] + (d, 2))
            return h[..., 0], BOUND * jnp.tanh(h[..., 1] / BOUND)
        return tfb.MaskedAutoregressiveFlow(shift_and_log_scale_fn=fn, unroll_loop=True)

    members = []
    for i in range(LAYERS):
        if i > 0 and d > 1:
            members.append(tfb.Permute(permutation=list(reversed(range(d)))))
        members.append(layer(params[i], masks[i]))
    base = tfd.Independent(tfd.Normal(jnp.zeros(d, jnp.float32), 1.0), 1)
    # TFP's Chain applies its last member first: layer 0 acts first on base draws
    return tfd.TransformedDistribution(base, tfb.Chain(list(reversed(members))))


def main():
    quick = "quick" in sys.argv
    print(f"tfp-jax flows: jax {jax.__version__}, optax {optax.__version__}, CPUs allowed "
          f"{sorted(os.sched_getaffinity(0))}", file=sys.stderr)
    batches = [256] if quick else [256, 8192]
    opt = optax.adam(1e-3)
    for d in (2, 16):
        keys = jax.random.split(jax.random.PRNGKey(0), LAYERS)
        built = [made_params(k, d) for k in keys]
        params = [p for p, _ in built]
        masks = [m for _, m in built]

        def loss(p, x):
            return -jnp.mean(flow(p, masks, d).log_prob(x))

        def step(p, state, x):
            value, grads = jax.value_and_grad(loss)(p, x)
            updates, state = opt.update(grads, state, p)
            return optax.apply_updates(p, updates), state, value

        for n in batches:
            x = jax.random.normal(jax.random.PRNGKey(1), (n, d), jnp.float32)
            step_jit = jax.jit(step, donate_argnums=(0, 1))
            state = {"p": jax.tree_util.tree_map(jnp.copy, params), "s": opt.init(params)}

            def train():
                state["p"], state["s"], value = step_jit(state["p"], state["s"], x)
                jax.block_until_ready((state["p"], value))
            timed("F1 train step", f"maf d={d} batch={n}", 50, train)

        def draw_fn(p, key):
            key, sub = jax.random.split(key)
            return flow(p, masks, d).sample(10_000, seed=sub), key
        draw_jit = jax.jit(draw_fn)
        rng = {"key": jax.random.PRNGKey(2)}

        def draw():
            s, rng["key"] = draw_jit(params, rng["key"])
            jax.block_until_ready(s)
        timed("F2 sample", f"maf d={d} N=10000", 50, draw)


if __name__ == "__main__":
    main()
