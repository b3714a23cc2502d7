"""TFP's own MADE masks, for tests/networks.rs (masks_equal_tfp).

Usage: python made_masks_reference.py REQUEST.json RESPONSE.json

REQUEST is a list of cases. A case {"params", "event_size", "hidden_units", "input_order",
"hidden_degrees"} (input_order "left-to-right", "right-to-left" or a list of degrees;
hidden_degrees "equal") is answered with TFP's `_make_dense_autoregressive_masks` and
`_create_degrees`. A case {"params", "degrees": [input degrees, hidden degrees...]} (random
hidden degrees, whose draws are not TFP's) is answered with TFP's `_create_masks` on those
degrees and the last mask tiled `params` times exactly as `_make_dense_autoregressive_masks`
does. Masks are TFP's `[in, out]` 0/1 lists. Runs with the TFP-JAX environment of
scripts/setup_tfp_jax.sh (TensorFlow Probability's JAX substrate, no TensorFlow).
"""
import json
import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")
import numpy as np  # noqa: E402
from tensorflow_probability.substrates.jax.bijectors import masked_autoregressive as ma  # noqa: E402


def answer(case):
    if "degrees" in case:
        degrees = [np.array(d) for d in case["degrees"]]
        masks = ma._create_masks(degrees)
        p, event_size = case["params"], len(degrees[0])
        masks[-1] = np.reshape(np.tile(masks[-1][..., np.newaxis], [1, 1, p]), [masks[-1].shape[0], event_size * p])
    else:
        kw = dict(params=case["params"], event_size=case["event_size"], hidden_units=case["hidden_units"],
                  input_order=case["input_order"], hidden_degrees=case["hidden_degrees"])
        masks = ma._make_dense_autoregressive_masks(**kw)
        degrees = ma._create_degrees(case["event_size"], case["hidden_units"], case["input_order"], case["hidden_degrees"])
    return {"masks": [m.astype(int).tolist() for m in masks], "degrees": [np.asarray(d).astype(int).tolist() for d in degrees]}


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    with open(sys.argv[2], "w") as f:
        json.dump([answer(c) for c in cases], f)


if __name__ == "__main__":
    main()
