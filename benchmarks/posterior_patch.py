"""Posterior samples on a HEALPix patch (``cell_ids``): separation and inpainting of a sky cap.

    python benchmarks/posterior_patch.py [--snr 0.5 1 2] [--samples 8] [--json posterior_patch]
                                         [--figure docs/posterior_patch.png] [--lognormal NSIDE --theta T]

The WMAP W-band temperature (nside 32) on the cap ``theta < 1.2 rad`` (3904 cells), standardised
on the cap, processed as a patch (no full-sky array, no harmonic transform). Separation: the cap
plus white noise of std ``1/snr`` (16 draws), ``separate(..., cell_ids=..., n_samples=K)``;
printed against the truth: the pixel RMS of the data, of the patch's empirical Wiener filter
(``grid.wiener``: gains per ``band_split`` band; ``None`` where the grid has none), of the
separation, of the posterior mean and of one sample (the median over the samples), the coverage
of the 68% / 95% intervals and the mean std. Inpainting: four discs of 0.15 rad cut from the cap,
``inpaint(..., cell_ids=..., n_samples=6)``: kriging's RMS in the hole against the hole's std, and
the coverage there. Writes benchmarks/results/posterior_patch.json; ``--figure``: the cap at
the first SNR (truth, data, posterior mean, one sample, std). ``--lognormal NSIDE``: a lognormal
sky at that nside instead (``healpix_fidelity.lognormal``, seed 0; ``--theta``: the cap's radius).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import print_table, write_json  # noqa: E402

THETA = 1.2
HOLES = [(0.5, 1.0), (0.7, 3.0), (0.9, 5.0), (0.4, 4.0)]     # (theta, phi) of the discs' centres


def cap(lognormal: int | None = None, theta: float = THETA):
    """(nside, cell ids, truth on them): the WMAP W band (or a lognormal sky at nside ``lognormal``)
    on the cap ``theta < theta``, standardised there."""
    import healpy as hp
    if lognormal:
        from healpix_fidelity import lognormal as sky
        I = sky(lognormal, 0)
    else:
        from foscat_like.datasets import load_wmap
        I, _ = load_wmap()
    nside = hp.npix2nside(I.size)
    ids = np.arange(I.size)[hp.pix2ang(nside, np.arange(I.size), nest=True)[0] < theta]
    return nside, ids, (I[ids] - I[ids].mean()) / I[ids].std()


def separation(nside: int, ids, truth, snr: float, samples: int, seed: int) -> tuple[dict, np.ndarray, object]:
    import foscat_like as fl
    rng = np.random.default_rng(seed)
    data = truth + rng.standard_normal(truth.shape) / snr
    noise = rng.standard_normal((16,) + truth.shape) / snr
    t = time.perf_counter()
    post = fl.funct().separate(data, noise, cell_ids=ids, nside=nside, n_samples=samples, progress=False)
    dt = time.perf_counter() - t
    rms = lambda x: float(np.sqrt(np.mean((x - truth) ** 2)))
    grid = fl.funct()._grid_for(ids, nside)
    w = grid.wiener(torch.as_tensor(data)[None], torch.as_tensor(noise), smooth=0.25)
    return {"data": rms(data), "wiener_empirical": None if w is None else rms(w[0].numpy()),
            "separated": rms(post.separated), "mean": rms(post.mean),
            "sample_median": float(np.median([rms(s) for s in post.samples])),
            "cover68": post.coverage(truth, 0.68), "cover95": post.coverage(truth, 0.95),
            "std_mean": float(post.std.mean()), "time_s": dt}, data, post


def figure(path: str, nside: int, ids, truth, data, post, row: dict) -> None:
    """The cap seen from the pole: truth, data, posterior mean, one sample, std map."""
    import healpy as hp
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    full = lambda v: np.where(np.isin(np.arange(12 * nside ** 2), ids), 0.0, hp.UNSEEN) + np.bincount(
        ids, v, 12 * nside ** 2)
    panels = [("truth", truth), (f"data (SNR {row['snr']:g})", data), ("posterior mean", post.mean),
              ("one sample", post.samples[0]), ("posterior std", post.std)]
    fig = plt.figure(figsize=(15, 3.6))
    for k, (title, v) in enumerate(panels):
        lim = {} if title == "posterior std" else {"min": -2.5, "max": 2.5}
        hp.orthview(full(v), nest=True, rot=(0, 90), half_sky=True, sub=(1, 5, k + 1), title=title, cbar=False,
                    fig=fig.number, **lim)
    fig.suptitle(f"A cell_ids sky cap ({ids.size} cells, nside {nside}): the truth is inside the 68% / 95% "
                 f"intervals at {100 * row['cover68']:.0f}% / {100 * row['cover95']:.0f}% of the cells", y=1.06)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    print("wrote", path)


def inpainting(nside: int, ids, truth, samples: int) -> list[dict]:
    import healpy as hp

    import foscat_like as fl
    rows = []
    for theta, phi in HOLES:
        hole = np.isin(ids, hp.query_disc(nside, hp.ang2vec(theta, phi), 0.15, nest=True))
        if not hole.any() or hole.all():          # the disc is off this cap
            continue
        t = time.perf_counter()
        post = fl.funct().inpaint(truth, hole.astype(float), n_samples=samples, NUM_EPOCHS=60, progress=False,
                                  cell_ids=ids, nside=nside)
        rows.append({"hole": f"({theta}, {phi})", "pixels": int(hole.sum()),
                     "kriging_rms": float(np.sqrt(np.mean((post.mean - truth)[hole] ** 2))),
                     "hole_std": float(truth[hole].std()), "std_mean": float(post.std[hole].mean()),
                     "cover68": post.coverage(truth, 0.68, where=hole),
                     "cover95": post.coverage(truth, 0.95, where=hole), "time_s": time.perf_counter() - t})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--snr", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-inpainting", action="store_true")
    ap.add_argument("--json", default="posterior_patch")
    ap.add_argument("--figure", default=None, help="picture of the first SNR's posterior")
    ap.add_argument("--lognormal", type=int, default=None, metavar="NSIDE", help="a lognormal sky at NSIDE")
    ap.add_argument("--theta", type=float, default=THETA, help="the cap's radius (rad)")
    a = ap.parse_args()
    nside, ids, truth = cap(a.lognormal, a.theta)
    sep = []
    for snr in a.snr:
        row, data, post = separation(nside, ids, truth, snr, a.samples, a.seed)
        sep.append({"snr": snr, **row})
        print_table(sep[-1:], list(sep[-1]))
        if a.figure and len(sep) == 1:
            figure(a.figure, nside, ids, truth, data, post, sep[-1])
    inp = [] if a.no_inpainting else inpainting(nside, ids, truth, 6)
    print()
    print_table(sep, list(sep[0]))
    if inp:
        print_table(inp, list(inp[0]))
        w = np.array([r["pixels"] for r in inp], dtype=float)
        pooled = {k: float(np.average([r[k] for r in inp], weights=w)) for k in ("cover68", "cover95")}
        pooled["kriging_rms"] = float(np.sqrt(np.average([r["kriging_rms"] ** 2 for r in inp], weights=w)))
        print("pooled over the holes:", pooled)
    else:
        pooled = None
    print("wrote", write_json(a.json, {"sky": f"lognormal nside {a.lognormal}" if a.lognormal else "WMAP W",
                                       "theta": a.theta, "cells": int(ids.size), "nside": nside,
                                       "samples": a.samples, "seed": a.seed,
                                       "separation": sep, "inpainting": inp, "inpainting_pooled": pooled}))


if __name__ == "__main__":
    main()
