"""Holes cut where the truth is known, filled, and checked: textures and the WMAP sky.

Each row: the truth, the observed field (hole cut), the fill; the hole figures
(``foscat_like.holes``) are printed next to the spread of other regions of the same field.

    python examples/inpainting_holes.py [--out out] [--epochs 300]
"""
import argparse
import os
import warnings

import matplotlib

matplotlib.use("Agg")
import healpy as hp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import foscat_like as fl  # noqa: E402
from foscat_like import holes  # noqa: E402
from foscat_like.datasets import load_texture, load_wmap  # noqa: E402

warnings.filterwarnings("ignore")
ap = argparse.ArgumentParser()
ap.add_argument("--out", default="out")
ap.add_argument("--epochs", type=int, default=300)
a = ap.parse_args()
os.makedirs(a.out, exist_ok=True)


def show(label, truth, hole, filled, regions):
    rep = holes.hole_report(filled, truth, hole)
    floor = holes.region_floor(truth, hole, regions)
    ok = holes.indistinguishable(rep, floor)
    print(label + ": " + ", ".join(f"{k} {rep[k]:.3g} (others {np.quantile(floor[k], 0.05):.2f}.."
                                   f"{np.quantile(floor[k], 0.95):.2f}){'' if ok[k] else ' !'}"
                                   for k in holes.FIGURES))


fig = plt.figure(figsize=(12, 12))
for row, name in enumerate(("brick", "gravel")):
    x = load_texture(name, 128)
    hole = np.zeros(x.shape, dtype=bool)
    hole[48:80, 48:80] = True
    y = fl.funct(NORIENT=4, grid="2d").synthesis(np.where(hole, 0.0, x), grd_mask=hole * 1.0, in_mask=1.0 - hole,
                                                 nstep=3, NUM_EPOCHS=a.epochs, progress=False)
    show(name, x, hole, y, holes.shifted_regions(hole, 40))
    for col, (img, title) in enumerate(((x, "truth"), (np.where(hole, np.nan, x), "observed"), (y, "filled"))):
        ax = fig.add_subplot(3, 3, 3 * row + col + 1)
        ax.imshow(img, cmap="gray", vmin=x.min(), vmax=x.max())
        ax.set_title(f"{name}: {title}")
        ax.axis("off")

I, _ = load_wmap()
x = (I - I.mean()) / I.std()
centre, radius = (np.radians(30), np.radians(60)), np.radians(15)
hole = holes.disc(32, *centre, radius)
y = fl.funct(NORIENT=4, grid="healpix").synthesis(np.where(hole, 0.0, x), grd_mask=hole * 1.0, in_mask=1.0 - hole,
                                                  nstep=2, NUM_EPOCHS=a.epochs, progress=False)
lat_ok = np.abs(np.pi / 2 - hp.pix2ang(32, np.arange(x.size), nest=True)[0]) > np.radians(20)
show("WMAP W, 15 deg disc", x, hole, y, holes.moved_discs(32, centre, radius, 30, allowed=lat_ok))
rot = (np.degrees(centre[1]), 90 - np.degrees(centre[0]))
lim = np.percentile(x[lat_ok], [1, 99])
for col, (m, title) in enumerate(((x, "truth"), (np.where(hole, hp.UNSEEN, x), "observed"), (y, "filled"))):
    hp.gnomview(m, nest=True, rot=rot, xsize=300, reso=12, fig=fig.number, sub=(3, 3, 7 + col),
                title=f"WMAP W: {title}", min=lim[0], max=lim[1], notext=True, cbar=False)
path = os.path.join(a.out, "inpainting_holes.png")
fig.savefig(path, dpi=70, bbox_inches="tight")
print("wrote", path)
