"""1D synthesis: new realisations of an intermittent signal (a multiplicative cascade).

    python examples/synthesis_1d.py [--out out]
"""
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

import foscat_like as fl  # noqa: E402
from foscat_like.report import comparison_figure  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--out", default="out")
a = ap.parse_args()
os.makedirs(a.out, exist_ok=True)

rng = np.random.default_rng(0)
n = 4096
vol = np.exp(np.cumsum(rng.standard_normal(n)) * 0.05)          # slowly varying volatility
x = np.cumsum(rng.standard_normal(n) * vol)
x = np.diff(x, prepend=0)                                        # intermittent increments
op = fl.funct(grid="1d")
y = op.synthesis(x, NUM_EPOCHS=300, seed=2)
path = os.path.join(a.out, "synthesis_1d.png")
comparison_figure(y, x, path=path, title="1D multiplicative signal")
print("wrote", path)
