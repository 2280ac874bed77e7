"""Building the HEALPix operators: time and peak memory, all levels of a full-sky map.

    python benchmarks/healpix_build.py [--nsides 128 256 512] [--dtype float32] [--rounds 2]
                                       [--before /path/to/an/older/checkout]

Each build runs in a fresh child (1 thread): the wavelet and smoothing operators of every level
from nside down to 2, as the first evaluation builds them, then the same build again in that
child (``warm``: memory the process has touched before; on this VM the first touch of fresh
memory costs up to ~3 s per GB). ``--before`` builds the same with
another checkout of foscat_like, alternated round by round with this one (this machine's
timings vary up to 2x; compare within a round). Writes benchmarks/results/healpix_build.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import print_table, run_child, write_json  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child(repo: str, nside: int, dtype: str) -> None:
    import importlib
    sys.path.insert(0, repo)
    importlib.import_module("healpy")        # imported before the clock: not part of the build
    import torch
    torch.set_num_threads(1)
    from foscat_like.healpix.grid import HealpixGrid
    like = torch.zeros((), dtype=getattr(torch, dtype))
    with open("/proc/self/status") as f:
        base = next(int(l.split()[1]) / 1024 for l in f if l.startswith("VmRSS"))

    def build() -> float:
        g = HealpixGrid(4, 3)
        t0 = time.perf_counter()
        ns = nside
        while ns >= 2:
            g.operators(12 * ns * ns, like)
            ns //= 2
        return time.perf_counter() - t0

    dt = build()
    with open("/proc/self/status") as f:
        peak = next(int(l.split()[1]) / 1024 for l in f if l.startswith("VmHWM"))
    warm = build()       # the same build again: memory the process has touched before
    mpix = 12 * nside ** 2 / 1e6
    print(json.dumps({"build_s": dt, "s_per_mpix": dt / mpix, "warm_s_per_mpix": warm / mpix,
                      "peak_mb": peak - base}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nsides", type=int, nargs="+", default=[128, 256, 512])
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--before")
    ap.add_argument("--child", nargs=3)
    a = ap.parse_args()
    if a.child:
        return child(a.child[0], int(a.child[1]), a.child[2])
    repos = {"now": REPO, **({"before": os.path.abspath(a.before)} if a.before else {})}
    rows, results = [], {}
    for nside in a.nsides:
        runs = {k: [] for k in repos}
        for _ in range(a.rounds):
            for k, repo in repos.items():
                runs[k].append(run_child(sys.executable, __file__, ["--child", repo, str(nside), a.dtype], 3600))
        for k, rs in runs.items():
            ok = [r for r in rs if "build_s" in r]
            res = {"build_s": [r["build_s"] for r in ok], "peak_mb": [r["peak_mb"] for r in ok],
                   "warm_s_per_mpix": [r.get("warm_s_per_mpix") for r in ok]}
            results[f"{k}_{nside}_{a.dtype}"] = res
            if ok:
                rows.append({"nside": nside, "code": k, "build_s": f"{min(res['build_s']):.2f}-{max(res['build_s']):.2f}",
                             "s_per_Mpix": f"{statistics.median(r['s_per_mpix'] for r in ok):.2f}",
                             "warm_s_per_Mpix": f"{statistics.median(r['warm_s_per_mpix'] for r in ok):.2f}",
                             "peak_mb": f"{max(res['peak_mb']):.0f}"})
    print_table(rows, ["nside", "code", "build_s", "s_per_Mpix", "warm_s_per_Mpix", "peak_mb"])
    print("wrote", write_json("healpix_build", {"dtype": a.dtype, "rounds": a.rounds, "results": results}))


if __name__ == "__main__":
    main()
