"""Fill WMAP's Galactic mask with a scattering-covariance synthesis (HEALPix, NEST, nside 32).

    python examples/wmap_inpainting.py [--out out]
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
from foscat_like.datasets import load_wmap  # noqa: E402

warnings.filterwarnings("ignore")
ap = argparse.ArgumentParser()
ap.add_argument("--out", default="out")
a = ap.parse_args()
os.makedirs(a.out, exist_ok=True)

I, mask = load_wmap()                     # W band (mK) and analysis mask, NEST
op = fl.funct(NORIENT=4, KERNELSZ=3)      # HEALPix grid
filled = op.synthesis(I, grd_mask=1 - mask, in_mask=mask, nstep=2, NUM_EPOCHS=300)
assert np.array_equal(filled[mask > 0], I[mask > 0])

fig = plt.figure(figsize=(14, 4))
lim = np.percentile(I[mask > 0], [1, 99])
hp.mollview(np.where(mask > 0, I, hp.UNSEEN), nest=True, fig=fig.number, sub=131, title="WMAP W, masked",
            min=lim[0], max=lim[1])
hp.mollview(filled, nest=True, fig=fig.number, sub=132, title="inpainted", min=lim[0], max=lim[1])
hp.mollview(I, nest=True, fig=fig.number, sub=133, title="original (with Galaxy)", min=lim[0], max=lim[1])
path = os.path.join(a.out, "wmap_inpainting.png")
fig.savefig(path, dpi=80)
print("wrote", path)
