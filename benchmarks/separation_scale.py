"""Full-sky HEALPix component separation at larger nside: time, memory, accuracy.

    python benchmarks/separation_scale.py [--nside 64 128] [--precision double single]

Truth: the WMAP W-band map upgraded to nside plus a small-scale Gaussian sky (C_l ~ l^-2.5,
30% of the std) so that every scale has structure; white noise at signal-to-noise 1; 16 draws;
default separate() settings (3 bias iterations x 100 L-BFGS-B steps). Each run in a fresh
child process (peak memory is its own). Writes benchmarks/results/separation_scale.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import print_table, run_child, write_json  # noqa: E402


def child(nside: int, precision: str) -> None:
    import time
    import warnings

    import healpy as hp
    import numpy as np
    import torch
    warnings.filterwarnings("ignore")
    torch.set_num_threads(2)
    import foscat_like as fl
    from _common import peak_rss_mb
    from foscat_like.datasets import load_wmap
    from foscat_like.healpix.spectra import cl_nest, wiener_nest
    I, _ = load_wmap()
    I = hp.ud_grade(I, nside, order_in="NEST", order_out="NEST")
    np.random.seed(0)
    ell = np.arange(3 * nside)
    small = hp.reorder(hp.synfast(np.where(ell > 1, np.maximum(ell, 1) ** -2.5, 0.0), nside), r2n=True)
    truth = (I - I.mean()) / I.std() + 0.3 * small / small.std()
    truth = (truth - truth.mean()) / truth.std()
    rng = np.random.default_rng(0)
    data = truth + rng.standard_normal(truth.shape)
    draws = rng.standard_normal((16,) + truth.shape)
    t = time.perf_counter()
    s = fl.funct().separate(data, draws, progress=False, precision=precision)
    dt = time.perf_counter() - t
    w = wiener_nest(data[None], draws, cl_nest(truth))[0]
    rms = lambda e: float(np.sqrt(np.mean((e - truth) ** 2)))
    print(json.dumps({"time_s": dt, "peak_rss_mb": peak_rss_mb(), "rms": rms(s), "rms_wiener": rms(w),
                      "rms_data": rms(data)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nside", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--precision", nargs="+", default=["double", "single"])
    ap.add_argument("--child", nargs=2)
    a = ap.parse_args()
    if a.child:
        return child(int(a.child[0]), a.child[1])
    rows, results = [], {}
    for nside in a.nside:
        for p in a.precision:
            r = run_child(sys.executable, __file__, ["--child", str(nside), p], timeout=3000)
            results[f"nside{nside}_{p}"] = r
            rows.append({"nside": nside, "precision": p, **(r or {})})
            print_table(rows[-1:], list(rows[-1]))
    print()
    print_table(rows, ["nside", "precision", "time_s", "peak_rss_mb", "rms", "rms_wiener", "rms_data"])
    print("wrote", write_json("separation_scale", {"results": results}))


if __name__ == "__main__":
    main()
