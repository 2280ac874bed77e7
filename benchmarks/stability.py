"""Stability of the classic 2D scattering transform (seed 003, Table 1), on real images.

    python benchmarks/stability.py [--size 128] [--J 3]

For scikit-image's camera, brick, grass and gravel (size x size crops, unit
variance): relative distances ||x - y|| / ||x|| and ||Sx - Sy|| / ||Sx|| for
y = x + white noise (std 0.1), a 2-pixel shift, and a random smooth deformation
(displacement field smoothed by a Gaussian of 3 px, 1 px rms). Scattering is
stable when the second ratio is much smaller than the first for shifts and
deformations. Two transforms: Scattering2D (equal to Kymatio 0.3) and the small-kernel
backend (SmallKernelScattering2D, fitted 7x7 kernels). Squared distances are the squares
of the relative distances reported.
Writes benchmarks/results/stability.json.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import print_table, write_json  # noqa: E402


def deform(x: np.ndarray, sigma: float = 3.0, rms: float = 1.0, seed: int = 0) -> np.ndarray:
    """Warp ``x`` by a random displacement field smoothed at ``sigma`` px with ``rms`` px amplitude."""
    rng = np.random.default_rng(seed)
    d = [gaussian_filter(rng.standard_normal(x.shape), sigma, mode="wrap") for _ in range(2)]
    scale = rms / np.sqrt(np.mean(d[0] ** 2 + d[1] ** 2))
    yy, xx = np.meshgrid(np.arange(x.shape[0]), np.arange(x.shape[1]), indexing="ij")
    return map_coordinates(x, [yy + scale * d[0], xx + scale * d[1]], order=3, mode="wrap")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--J", type=int, default=3)
    a = ap.parse_args()
    from skimage import data
    from foscat_like.planar import Scattering2D
    from foscat_like.classic.smallkernel import SmallKernelScattering2D
    S = Scattering2D(a.J, (a.size, a.size), L=8)
    Sk = SmallKernelScattering2D(a.J, (a.size, a.size), L=8)
    rel = lambda u, v: float(np.linalg.norm(u - v) / np.linalg.norm(v))
    rows, results = [], {}
    for name in ("camera", "brick", "grass", "gravel"):
        img = getattr(data, name)()[: a.size, : a.size].astype(np.float64)
        x = ((img - img.mean()) / img.std()).astype(np.float32)
        rng = np.random.default_rng(1)
        cases = {"noise 0.1": x + 0.1 * rng.standard_normal(x.shape).astype(np.float32),
                 "shift 2 px": np.roll(x, 2, axis=1),
                 "deformation": deform(x).astype(np.float32)}
        Sx, Skx = S(x), Sk(x)
        for case, y in cases.items():
            r = {"image_rel": rel(y, x), "scattering_rel": rel(S(y), Sx), "small_kernel_rel": rel(Sk(y), Skx)}
            r["ratio"] = r["scattering_rel"] / r["image_rel"]
            r["ratio_small"] = r["small_kernel_rel"] / r["image_rel"]
            results[f"{name}/{case}"] = r
            rows.append({"image": name, "perturbation": case, **r})
    print_table(rows, ["image", "perturbation", "image_rel", "scattering_rel", "ratio", "small_kernel_rel",
                       "ratio_small"])
    print("wrote", write_json("stability", {"J": a.J, "size": a.size, "results": results}))


if __name__ == "__main__":
    main()
