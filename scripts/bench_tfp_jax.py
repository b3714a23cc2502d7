#!/usr/bin/env python3
"""The workloads of examples/bench.rs in TensorFlow Probability on JAX (the JAX substrate, no
TensorFlow), each compiled with `jax.jit`, for scripts/bench.sh: the optional third column.
Run it with the Python of scripts/setup_tfp_jax.sh's environment. Prints one JSON object per
line (impl "tfp-jax"), as scripts/bench_torch.py does, with the same sizes and repetition rule.

The model: MixtureSameFamily(Categorical(logits), MultivariateNormalTriL(loc,
scale_tril=FillScaleTriL()(raw))), with the scale recomputed from the raw variables inside every
jitted function, as a training step would. float32 (JAX's default), CPU only.

Timing: each jitted function is called once first (compilation and warm-up), then timed to
`.block_until_ready()` on its outputs: at least 3 repetitions, then until 2 s have passed or
max_reps is reached.

- W2: one jitted function does value_and_grad of the negative mean log_prob and the optax Adam
  update (lr 1e-3, optax's defaults otherwise, as torch's and tch's Adam), with the parameter
  and optimizer-state buffers donated (updated in place, as the other two sides do).
- W3: one jitted function samples N points from a PRNG key and splits the key for the next call.
- W4: the W2 step, jitted once, called 1000 times from a Python loop (the Rust side calls its
  step 1000 times); JAX's asynchronous dispatch lets the loop run ahead, and the time ends when
  the last step's results are ready. An extra row, "W4 1000 Adam steps (fori_loop)",
  runs the same 1000 steps as a single jitted `lax.fori_loop`: JAX's best case, with no peer in
  the other columns.

Threads: scripts/jax_threads.py (imported first) limits the process to N CPUs.
"""
import os
import sys

from jax_threads import THREADS  # noqa: F401  (before JAX: limits this process to THREADS CPUs)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import tensorflow_probability  # noqa: E402
from tensorflow_probability.substrates import jax as tfp  # noqa: E402
from bench_timing import timer  # noqa: E402

jax.config.update("jax_platforms", "cpu")
tfd = tfp.distributions
tfb = tfp.bijectors


timed = timer("tfp-jax")


def ready(tree):
    return jax.block_until_ready(tree)


def model(k, d):
    """Initial parameters (logits 0, loc ~ N(0, 1), raw = FillScaleTriL.inverse(2 I)) and the
    function that builds the distribution from them."""
    loc = jax.random.normal(jax.random.PRNGKey(0), (k, d), jnp.float32)
    raw = tfb.FillScaleTriL().inverse(jnp.broadcast_to(2.0 * jnp.eye(d, dtype=jnp.float32), (k, d, d)))
    params = {"logits": jnp.zeros(k, jnp.float32), "loc": loc, "raw": raw}

    def dist(p):
        return tfd.MixtureSameFamily(
            tfd.Categorical(logits=p["logits"]),
            tfd.MultivariateNormalTriL(loc=p["loc"], scale_tril=tfb.FillScaleTriL()(p["raw"])))
    return params, dist


def train_step(dist, opt):
    def loss(p, x):
        return -jnp.mean(dist(p).log_prob(x))

    def step(p, state, x):
        value, grads = jax.value_and_grad(loss)(p, x)
        updates, state = opt.update(grads, state, p)
        return optax.apply_updates(p, updates), state, value
    return step


def main():
    quick = "quick" in sys.argv
    print(f"tfp-jax: jax {jax.__version__}, tensorflow-probability {tensorflow_probability.__version__}, "
          f"optax {optax.__version__}, devices {jax.devices()}, CPUs allowed {sorted(os.sched_getaffinity(0))}",
          file=sys.stderr)
    sizes = [(3, 4, 100), (3, 4, 10_000), (16, 32, 100)] if quick else \
        [(3, 4, 100), (3, 4, 10_000), (3, 4, 1_000_000), (16, 32, 100), (16, 32, 10_000), (16, 32, 100_000)]
    opt = optax.adam(1e-3)
    for k, d, n in sizes:
        size = f"K={k} d={d} N={n}"
        params, dist = model(k, d)
        x = jax.random.normal(jax.random.PRNGKey(1), (n, d), jnp.float32)
        log_prob = jax.jit(lambda p, x: dist(p).log_prob(x))
        timed("W1 log_prob", size, 50, lambda: ready(log_prob(params, x)))

        step = jax.jit(train_step(dist, opt), donate_argnums=(0, 1))
        state = {"p": jax.tree_util.tree_map(jnp.copy, params), "s": opt.init(params)}

        def train():
            state["p"], state["s"], loss = step(state["p"], state["s"], x)
            ready((state["p"], state["s"], loss))
        timed("W2 train step", size, 50, train)

        def draw_fn(p, key):
            key, sub = jax.random.split(key)
            return dist(p).sample(n, seed=sub), key
        draw_jit = jax.jit(draw_fn)
        keys = {"key": jax.random.PRNGKey(2)}

        def draw():
            s, keys["key"] = draw_jit(params, keys["key"])
            ready(s)
        timed("W3 sample", size, 50, draw)

    params, dist = model(3, 4)
    x = jax.random.normal(jax.random.PRNGKey(1), (64, 4), jnp.float32)
    step = jax.jit(train_step(dist, opt), donate_argnums=(0, 1))
    state = {"p": jax.tree_util.tree_map(jnp.copy, params), "s": opt.init(params)}

    def steps():
        p, s = state["p"], state["s"]
        for _ in range(1000):
            p, s, loss = step(p, s, x)
        state["p"], state["s"] = ready((p, s))
    timed("W4 1000 Adam steps", "K=3 d=4 N=64", 5, steps)

    one_step = train_step(dist, opt)

    def thousand(p, s, x):
        return jax.lax.fori_loop(0, 1000, lambda i, ps: one_step(ps[0], ps[1], x)[:2], (p, s))
    thousand_jit = jax.jit(thousand, donate_argnums=(0, 1))
    state2 = {"p": jax.tree_util.tree_map(jnp.copy, params), "s": opt.init(params)}

    def steps_fused():
        state2["p"], state2["s"] = ready(thousand_jit(state2["p"], state2["s"], x))
    timed("W4 1000 Adam steps (fori_loop)", "K=3 d=4 N=64", 5, steps_fused)

    bij = tfb.FillScaleTriL()
    raw = jax.random.normal(jax.random.PRNGKey(3), (100_000, 32 * 33 // 2), jnp.float32)
    fill = jax.jit(lambda r: (bij.forward(r), bij.forward_log_det_jacobian(r, event_ndims=1)))
    timed("W5 FillScaleTriL fwd+logdet", "B=1e5 d=32", 20, lambda: ready(fill(raw)))
    del raw
    matmul = jax.jit(lambda a: a @ a)
    for n in (512, 1024):
        a = jnp.asarray(np.random.default_rng(0).standard_normal((n, n), np.float32))
        timed("MM matmul", f"n={n}", 50, lambda: ready(matmul(a)))


if __name__ == "__main__":
    main()
