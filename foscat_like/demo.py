"""The README's main job: ``foscat-like demo`` (or ``python -m foscat_like.demo --out out``).

Runs, on real data shipped with the package: the classic 2D scattering
transform of a texture and its scattering-disk figure; a texture synthesis
(scikit-image's brick) compared with its target; a full-sky synthesis of the
WMAP W-band map and the inpainting of its Galactic mask. Writes PNG files.
"""
from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default="out", help="output folder for the PNG files")
    p.add_argument("--quick", action="store_true", help="fewer iterations (a smoke test)")
    args = p.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    warnings.filterwarnings("ignore", message=".*[Ss]parse.*")
    import foscat_like as fl
    from .datasets import load_texture, load_wmap
    from .classic import Scattering2D
    from .classic.figures import plot_filter_bank, plot_scattering_disk
    from .report import compare_numbers, comparison_figure

    out = args.out
    os.makedirs(out, exist_ok=True)
    epochs = 30 if args.quick else 300

    img = load_texture("brick", 128)[::4, ::4].astype(np.float32)   # 32x32
    S = Scattering2D(J=3, shape=img.shape, L=6)
    plot_scattering_disk(S(img), 3, 6, image=img, path=os.path.join(out, "scattering_disk.png"))
    plot_filter_bank(S, path=os.path.join(out, "filter_bank.png"))

    x = load_texture("brick", 64 if args.quick else 128)
    t = time.perf_counter()
    y = fl.funct(NORIENT=4, grid="2d").synthesis(x, NUM_EPOCHS=epochs, seed=1, progress=False)
    comparison_figure(y, x, path=os.path.join(out, "texture_synthesis.png"), title="brick")
    print(f"texture synthesis {x.shape}: {time.perf_counter() - t:.1f} s  {_fmt(compare_numbers(y, x))}")

    I, mask = load_wmap()
    op = fl.funct(NORIENT=4, KERNELSZ=3)
    t = time.perf_counter()
    sky = op.synthesis(I, nstep=2, NUM_EPOCHS=epochs, seed=2, progress=False)
    comparison_figure(sky, I, path=os.path.join(out, "wmap_synthesis.png"), title="WMAP W nside 32")
    print(f"WMAP full-sky synthesis: {time.perf_counter() - t:.1f} s  {_fmt(compare_numbers(sky, I))}")
    t = time.perf_counter()
    filled = op.synthesis(I, grd_mask=1 - mask, in_mask=mask, nstep=2, NUM_EPOCHS=epochs, progress=False)
    _mollviews(I, mask, filled, os.path.join(out, "wmap_inpainting.png"))
    print(f"WMAP Galactic-mask inpainting: {time.perf_counter() - t:.1f} s")
    print(f"wrote PNG files to {out}/")
    return 0


def _fmt(d: dict) -> str:
    return ", ".join(f"{k} {v:.3g}" for k, v in d.items())


def _mollviews(I, mask, filled, path) -> None:
    import healpy as hp
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(12, 3.6))
    lim = np.percentile(I[mask > 0], [1, 99])
    hp.mollview(np.where(mask > 0, I, hp.UNSEEN), nest=True, fig=fig.number, sub=121,
                title="WMAP W, Galactic mask", min=lim[0], max=lim[1])
    hp.mollview(filled, nest=True, fig=fig.number, sub=122, title="inpainted", min=lim[0], max=lim[1])
    fig.savefig(path, dpi=80)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
