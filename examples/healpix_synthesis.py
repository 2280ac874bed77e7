"""Synthesise a new sky with the scattering covariance of the WMAP W-band map.

    python examples/healpix_synthesis.py [--out out]
"""
import argparse
import os
import warnings

import matplotlib

matplotlib.use("Agg")
import foscat_like as fl  # noqa: E402
from foscat_like.datasets import load_wmap  # noqa: E402
from foscat_like.report import comparison_figure  # noqa: E402

warnings.filterwarnings("ignore")
ap = argparse.ArgumentParser()
ap.add_argument("--out", default="out")
a = ap.parse_args()
os.makedirs(a.out, exist_ok=True)

I, _ = load_wmap()
op = fl.funct(NORIENT=4, KERNELSZ=3)
y = op.synthesis(I, nstep=2, NUM_EPOCHS=300, seed=3)
path = os.path.join(a.out, "healpix_synthesis.png")
comparison_figure(y, I, path=path, title="WMAP W band, nside 32")
print("wrote", path)
