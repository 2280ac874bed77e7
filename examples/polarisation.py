"""Synthesise a polarised (Q, U) sky: E and B maps and C_l^EE, C_l^BB, C_l^EB of target and synthesis.

The target is a non-Gaussian polarised sky (a lognormal intensity with a smooth, coherent
polarisation angle, nside 32); the synthesis matches the scattering covariances of its E and B
maps (each, and E x B) and their C_l, through differentiable harmonic transforms.

    python examples/polarisation.py [--out out] [--nside 32]
"""
import argparse
import os

import healpy as hp
import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import foscat_like as fl  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--out", default="out")
ap.add_argument("--nside", type=int, default=32)
a = ap.parse_args()
os.makedirs(a.out, exist_ok=True)
nside = a.nside

np.random.seed(0)
ell = np.arange(3 * nside)
cl = 1.0 / (ell + 5.0) ** 2
g = hp.synfast(cl, nside)
p = 0.2 * np.exp(g / g.std())
psi = 2 * hp.synfast(0.5 * cl, nside)
qu = np.stack([hp.reorder(p * np.cos(2 * psi), r2n=True), hp.reorder(p * np.sin(2 * psi), r2n=True)])

op = fl.funct()
y = op.synthesis(qu, spin=2, nstep=3, NUM_EPOCHS=200, seed=1, progress=False)
eb_t = op.grid.spin_to_scalars(torch.tensor(qu)).numpy()
eb_s = op.grid.spin_to_scalars(torch.tensor(y)).numpy()

fig = plt.figure(figsize=(12, 7.5))
for row, (name, eb) in enumerate((("target", eb_t), ("synthesis", eb_s))):
    for col, comp in enumerate("EB"):
        hp.mollview(hp.reorder(eb[col], n2r=True), fig=fig.number, sub=(3, 2, 1 + 2 * row + col),
                    title=f"{name}: {comp}", cmap="RdBu_r", min=-3 * eb_t[col].std(), max=3 * eb_t[col].std(),
                    cbar=False)
ring = lambda m: hp.reorder(m, n2r=True)
for k, (label, i, j) in enumerate((("EE", 0, 0), ("BB", 1, 1), ("EB", 0, 1))):
    ax = fig.add_subplot(3, 3, 7 + k)
    for name, eb, style in (("target", eb_t, "k-"), ("synthesis", eb_s, "r--")):
        c = hp.anafast(ring(eb[i]), ring(eb[j]))
        ax.plot(np.arange(2, c.size), c[2:], style, label=name)
    ax.set_xscale("log"); ax.set_yscale("log" if i == j else "linear")
    ax.set_title(f"C_l^{label}"); ax.set_xlabel("l"); ax.legend(fontsize=8)
fig.tight_layout()
path = os.path.join(a.out, "polarisation.png")
fig.savefig(path, dpi=90)
print("wrote", path)
