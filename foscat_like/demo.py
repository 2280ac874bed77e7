"""The README's main job: ``python -m foscat_like.demo --out out``.

Runs the classic 2D scattering transform on a real texture shipped with the
package and writes the scattering-disk and filter-bank figures as PNG.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default="out", help="output folder for the PNG files")
    args = p.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    from .datasets import load_texture
    from .planar import Scattering2D
    from .planar.figures import plot_filter_bank, plot_scattering_disk

    os.makedirs(args.out, exist_ok=True)
    img = load_texture("brick", 128)[::4, ::4].astype(np.float32)   # 32x32
    S = Scattering2D(J=3, shape=img.shape, L=6)
    t = time.perf_counter()
    Sx = S(img)
    print(f"Scattering2D(J=3, L=6) on a {img.shape} brick texture: {Sx.shape} in "
          f"{1e3 * (time.perf_counter() - t):.1f} ms")
    plot_scattering_disk(Sx, 3, 6, image=img, path=os.path.join(args.out, "scattering_disk.png"))
    plot_filter_bank(S, path=os.path.join(args.out, "filter_bank.png"))
    print(f"wrote {args.out}/scattering_disk.png and {args.out}/filter_bank.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
