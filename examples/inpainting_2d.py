"""Inpainting a hole in a real texture: observed pixels are kept, the hole is synthesised.

    python examples/inpainting_2d.py [--out out]
"""
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import foscat_like as fl  # noqa: E402
from foscat_like.datasets import load_texture  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--out", default="out")
a = ap.parse_args()
os.makedirs(a.out, exist_ok=True)

x = load_texture("gravel", 128)
hole = np.zeros_like(x)
hole[40:88, 30:90] = 1                      # grd_mask: 1 = pixels to synthesise
observed = np.where(hole > 0, 0.0, x)
op = fl.funct(NORIENT=4, grid="2d")
y = op.synthesis(observed, grd_mask=hole, in_mask=1 - hole, nstep=3, NUM_EPOCHS=300)
assert np.array_equal(y[hole == 0], observed[hole == 0])

fig, ax = plt.subplots(1, 3, figsize=(12, 4))
for axi, img, title in zip(ax, (x, observed, y), ("truth", "observed (hole)", "inpainted")):
    axi.imshow(img, cmap="gray", vmin=x.min(), vmax=x.max()); axi.set_title(title); axi.axis("off")
path = os.path.join(a.out, "inpainting_2d.png")
fig.savefig(path, dpi=80, bbox_inches="tight")
print("wrote", path)
