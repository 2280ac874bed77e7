"""Texture synthesis from scattering covariance: target, synthesis, spectra, Minkowski curves.

    python examples/texture_synthesis.py [--texture brick] [--size 128] [--out out]
"""
import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import foscat_like as fl  # noqa: E402
from foscat_like.datasets import load_texture  # noqa: E402
from foscat_like.report import comparison_figure  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--texture", default="brick", choices=["brick", "gravel", "grass"])
ap.add_argument("--size", type=int, default=128)
ap.add_argument("--out", default="out")
a = ap.parse_args()
os.makedirs(a.out, exist_ok=True)

target = load_texture(a.texture, a.size)            # real texture, zero mean / unit variance
op = fl.funct(NORIENT=4, grid="2d")
t = time.perf_counter()
synth = op.synthesis(target, nstep=3, NUM_EPOCHS=300, seed=1)
print(f"synthesis of {a.texture} {a.size}x{a.size}: {time.perf_counter() - t:.1f} s")
path = os.path.join(a.out, f"texture_synthesis_{a.texture}.png")
comparison_figure(synth, target, path=path, title=a.texture)
print("wrote", path)
