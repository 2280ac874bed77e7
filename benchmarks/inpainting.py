"""Can the filled holes be told apart? Holes cut where the truth is known, on textures and skies.

For every case a hole is cut, filled by ``synthesis(..., grd_mask=hole, in_mask=1 - hole)``,
and the fill is compared with the truth (``foscat_like.holes``: std ratio, roughness ratio,
mean offset, seam, pseudo-spectrum error), each next to its floor: the 5-95% range of the same
figure for other regions of the truth with the hole's shape (shifted squares on textures,
moved discs at |b| > 20 deg on the sky). A figure is "inside" when the fill is as close to the
truth as 95% of those honest regions. ``--before DIR`` also runs the same fills with the
package found in DIR (e.g. ``git archive`` of main before this change), in a child process.

    python benchmarks/inpainting.py [--epochs 300] [--before /tmp/flhead]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import print_table, write_json  # noqa: E402


def cases() -> list[dict]:
    from foscat_like import holes
    from foscat_like.datasets import load_texture, load_wmap
    out = []
    for name in ("brick", "gravel", "grass"):
        x = load_texture(name, 128)
        for size, (y0, x0) in ((32, (48, 48)), (32, (16, 80)), (16, (90, 20))):
            h = np.zeros(x.shape, dtype=bool)
            h[y0:y0 + size, x0:x0 + size] = True
            out.append({"case": f"{name} 128², {size}² hole at ({y0},{x0})", "grid": "2d", "truth": x, "hole": h,
                        "nstep": 3, "regions": holes.shifted_regions(h, 40)})
    I, _ = load_wmap()
    x = (I - I.mean()) / I.std()
    import healpy as hp
    lat_ok = np.abs(np.pi / 2 - hp.pix2ang(32, np.arange(x.size), nest=True)[0]) > np.radians(20)
    for r, (th, ph) in ((15, (30, 60)), (15, (140, 200)), (10, (35, 250)), (10, (130, 40))):
        c = (np.radians(th), np.radians(ph))
        h = holes.disc(32, *c, np.radians(r))
        out.append({"case": f"WMAP W nside 32, {r}° disc at (θ={th}°, φ={ph}°)", "grid": "healpix", "truth": x,
                    "hole": h, "nstep": 2, "regions": holes.moved_discs(32, c, np.radians(r), 30, allowed=lat_ok)})
    # a cell_ids patch: the northern cap above b = 20 deg, a 10 deg hole inside
    cells = np.nonzero(hp.pix2ang(32, np.arange(x.size), nest=True)[0] < np.radians(70))[0]
    c = (np.radians(35), np.radians(250))
    h = holes.disc(32, *c, np.radians(10))
    regions = [r_ for r_ in holes.moved_discs(32, c, np.radians(10), 60, allowed=lat_ok)
               if r_[cells].sum() == r_.sum()][:30]
    out.append({"case": "WMAP W patch (cell_ids: θ < 70°), 10° disc", "grid": "healpix", "truth": x, "hole": h,
                "nstep": 2, "regions": regions, "cells": cells})
    return out


def fill(case: dict, epochs: int) -> tuple[np.ndarray, float]:
    """The fill (full-size map) and its time, with whatever ``foscat_like`` is importable."""
    import foscat_like as fl
    x, h = case["truth"], case["hole"]
    op = fl.funct(NORIENT=4, grid=case["grid"])
    kw = dict(nstep=case["nstep"], NUM_EPOCHS=epochs, progress=False)
    t = time.perf_counter()
    if "cells" in case:
        ids = case["cells"]
        y = x.copy()
        y[ids] = op.synthesis(np.where(h, 0.0, x)[ids], grd_mask=h[ids] * 1.0, in_mask=1.0 - h[ids],
                              cell_ids=ids, nside=32, **kw)
    else:
        y = op.synthesis(np.where(h, 0.0, x), grd_mask=h * 1.0, in_mask=1.0 - h, **kw)
    return y, time.perf_counter() - t


def child(path_in: str, path_out: str, epochs: int) -> None:
    d = np.load(path_in, allow_pickle=True)
    fills, times = [], []
    for c in d["cases"]:
        y, t = fill(c, epochs)
        fills.append(y)
        times.append(t)
    np.savez(path_out, fills=np.array(fills, dtype=object), times=np.array(times))


def rows_for(label: str, c: dict, y: np.ndarray, t: float) -> dict:
    from foscat_like import holes
    rep = holes.hole_report(y, c["truth"], c["hole"])
    floor = holes.region_floor(c["truth"], c["hole"], c["regions"])
    ok = holes.indistinguishable(rep, floor)
    row = {"case": c["case"], "method": label, "time_s": round(t, 1), "inside": sum(ok.values())}
    for k in holes.FIGURES:
        lo, hi = np.quantile(floor[k], [0.05, 0.95])
        row[k] = f"{rep[k]:.3g} [{lo:.2f}, {hi:.2f}]{'' if ok[k] else ' ✗'}"
        row[k + "_value"] = float(rep[k])
        row[k + "_inside"] = ok[k]
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--before", default=None, help="directory holding main-before's foscat_like")
    ap.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--only", default=None, help="run cases whose name contains this")
    a = ap.parse_args()
    if a.child:
        return child(*a.child, a.epochs)
    cs = [c for c in cases() if a.only is None or a.only in c["case"]]
    results = {}
    if a.before:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = os.path.join(tmp, "in.npz"), os.path.join(tmp, "out.npz")
            np.savez(src, cases=np.array([{k: c[k] for k in c if k != "regions"} for c in cs], dtype=object))
            env = dict(os.environ, PYTHONPATH=a.before)
            subprocess.run([sys.executable, __file__, "--child", src, dst, "--epochs", str(a.epochs)],
                           check=True, env=env)
            d = np.load(dst, allow_pickle=True)
            results["main before"] = list(zip(d["fills"], d["times"]))
    results["foscat_like"] = [fill(c, a.epochs) for c in cs]
    rows = []
    for i, c in enumerate(cs):
        for label, res in results.items():
            rows.append(rows_for(label, c, *res[i]))
    from foscat_like import holes
    print_table(rows, ["case", "method", "time_s", "inside"] + list(holes.FIGURES))
    for label in results:
        mine = [r for r in rows if r["method"] == label]
        print(f"{label}: {sum(r['inside'] for r in mine)} of {len(holes.FIGURES) * len(mine)} figures inside "
              f"their floor; per figure: " + ", ".join(
                  f"{k} {sum(r[k + '_inside'] for r in mine)}/{len(mine)}" for k in holes.FIGURES))
    write_json("inpainting", {"epochs": a.epochs, "rows": rows})


if __name__ == "__main__":
    main()
