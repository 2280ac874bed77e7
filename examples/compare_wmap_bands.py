"""Are the WMAP V and W band temperature maps statistically the same sky outside the Galaxy?

    python examples/compare_wmap_bands.py [--shared ../shared/data] [--sims 20]

chi-square distance between the scattering covariances of V and W inside the
analysis mask, with a p-value from Gaussian skies having W's power spectrum
(the null hypothesis "V is a Gaussian sky like W").
"""
import argparse
import os
import warnings

import healpy as hp
import numpy as np

import foscat_like as fl
from foscat_like.compare import chi2_test
from foscat_like.datasets import load_wmap
from foscat_like.healpix import read_map

warnings.filterwarnings("ignore")
ap = argparse.ArgumentParser()
ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
ap.add_argument("--sims", type=int, default=20)
a = ap.parse_args()
vpath = os.path.join(a.shared, "wmap_band_iqumap_r9_7yr_V_v4_udgraded32.fits")
if not os.path.exists(vpath):
    raise SystemExit(f"V band map not found at {vpath} (pass --shared)")

W, mask = load_wmap()
V = read_map(vpath)
std = lambda m: (m - m[mask > 0].mean()) / m[mask > 0].std()
W, V = std(W), std(V)
cl = hp.anafast(hp.reorder(W * mask, n2r=True), use_pixel_weights=False) / mask.mean()
rng = np.random.default_rng(0)


def gaussian_sky(k):
    np.random.seed(int(rng.integers(1 << 31)))
    return std(hp.reorder(hp.synfast(cl, 32), r2n=True))


op = fl.funct(NORIENT=4, KERNELSZ=3)
res = chi2_test(op, V, W, gaussian_sky, n_sims=a.sims, mask=mask)
print(f"chi2(V, W) = {res['chi2']:.3g}; Gaussian skies: median {np.median(res['null']):.3g}, "
      f"max {res['null'].max():.3g}; p-value {res['p_value']:.3g}")
