"""Writes data/mixture2d.csv and data/mixture2d.npy: 600 points of a 3-component 2-D Gaussian mixture.

Run from the repository root with the project's environment (NumPy):

    .venv/bin/python data/make_mixture2d.py

The generating parameters below are also in data/README.md and in tests/cli.rs, which compares
fitted models with this truth. The .npy file holds exactly the values of the CSV (it is written
from the CSV read back), as float64, little-endian, C order, shape (600, 2).
"""
import os

import numpy as np

SEED = 6
N = 600
WEIGHTS = np.array([0.5, 0.3, 0.2])
LOCS = np.array([[0.0, 0.0], [4.0, 3.0], [-3.0, 4.0]])
# Lower-triangular scale factors L_k; covariance_k = L_k L_k^T.
SCALE_TRILS = np.array([
    [[1.0, 0.0], [0.0, 1.0]],
    [[1.2, 0.0], [0.6, 0.8]],
    [[0.7, 0.0], [-0.5, 1.0]],
])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    rng = np.random.default_rng(SEED)
    k = rng.choice(len(WEIGHTS), size=N, p=WEIGHTS)
    z = rng.standard_normal((N, 2))
    x = LOCS[k] + np.einsum("nij,nj->ni", SCALE_TRILS[k], z)
    csv = os.path.join(here, "mixture2d.csv")
    with open(csv + ".tmp", "w") as f:
        f.write("x0,x1\n")
        for row in x:
            f.write(f"{row[0]:.6f},{row[1]:.6f}\n")
    os.replace(csv + ".tmp", csv)
    back = np.loadtxt(csv, delimiter=",", skiprows=1, dtype=np.float64)
    npy = os.path.join(here, "mixture2d.npy")
    with open(npy + ".tmp", "wb") as f:
        np.save(f, np.ascontiguousarray(back))
    os.replace(npy + ".tmp", npy)
    print(f"wrote data/mixture2d.csv and data/mixture2d.npy: {back.shape[0]} points, mean {back.mean(0)}, counts {np.bincount(k)}")


if __name__ == "__main__":
    main()
