"""What keeping freed memory mapped (``foscat_like.heap``) changes: time, page faults, peak memory.

    python benchmarks/heap.py [--rounds 3]

Every (work, setting) runs in a fresh child process, ``FOSCAT_LIKE_MALLOC=1`` (the default)
and ``=0`` (malloc left alone) alternating, ``--rounds`` times; the table gives each setting's
median time over the rounds (within a round: the median of the calls), the minor page faults
per call and the peak RSS, and the ratio ``malloc alone / kept`` with its range over the rounds.
``--env THP_MEM_ALLOC_ENABLE`` toggles torch's huge pages alone (the malloc setting kept).
Writes benchmarks/results/heap.json (``--json NAME``: NAME.json).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import peak_rss_mb, print_table, run_child, write_json  # noqa: E402

WORKS = ["scatcov_2d_128_f64_eval", "scatcov_2d_128_f64_grad", "scatcov_2d_128_f32_grad",
         "classic_2d_16x128_fwd", "classic_2d_16x128_fwdbwd", "classic_1d_16x8192_fwd",
         "healpix_64_f64_grad", "synthesis_brick_64", "healpix_512_f32_grad"]


def child(work: str) -> None:
    import resource
    import time

    import numpy as np
    import torch
    import foscat_like as fl
    kind = work.split("_")[0]
    torch.set_num_threads(1 if kind in ("scatcov", "synthesis") else 2)
    big = "512" in work
    calls = 2 if big else {"scatcov": 30, "classic": 7, "healpix": 7, "synthesis": 1}[kind]
    if kind == "scatcov":
        x = np.random.default_rng(0).standard_normal((128, 128)).astype("float64" if "f64" in work else "float32")
        op = fl.funct(NORIENT=4, grid="2d")

        def f():
            if work.endswith("eval"):
                return op.eval(x, Jmax=5)
            s = op.eval(torch.tensor(x, requires_grad=True), norm="self", Jmax=5)
            sum((getattr(s, k).abs() ** 2).sum() for k in ("S1", "S2", "S3", "S4")).backward()
    elif kind == "classic":
        from foscat_like.planar import Scattering1D, Scattering2D
        S, x = ((Scattering1D(8, 8192, 8), torch.randn(16, 8192)) if "1d" in work
                else (Scattering2D(4, (128, 128), L=8), torch.randn(16, 1, 128, 128)))

        def f():
            if work.endswith("fwd"):
                return S(x)
            S(x.clone().requires_grad_(True)).sum().backward()
    elif kind == "healpix":
        op = fl.funct(NORIENT=4, grid="healpix")
        nside = 512 if big else 64
        m = np.random.default_rng(0).standard_normal(12 * nside ** 2).astype("float32" if big else "float64")

        def f():
            s = op.eval(torch.tensor(m, requires_grad=True), norm="self")
            sum((getattr(s, k).abs() ** 2).sum() for k in ("S1", "S2", "S3", "S4")).backward()
    else:
        from foscat_like.datasets import load_texture
        x = load_texture("brick", 64)
        op = fl.funct(NORIENT=4, grid="2d")

        def f():
            op.synthesis(x, nstep=3, NUM_EPOCHS=300, progress=False)
    if kind != "synthesis":
        for _ in range(1 if big else 3):
            f()
    ts, f0 = [], resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / calls
    print(json.dumps({"time_s": statistics.median(ts), "faults_per_call": faults, "peak_rss_mb": peak_rss_mb()}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--works", nargs="+", default=WORKS, choices=WORKS)
    ap.add_argument("--child", default=None)
    ap.add_argument("--json", default="heap", help="results file name (benchmarks/results/NAME.json)")
    ap.add_argument("--env", default="FOSCAT_LIKE_MALLOC",
                    help="the variable set to 1 and to 0 in turn (THP_MEM_ALLOC_ENABLE: torch's huge pages alone)")
    a = ap.parse_args()
    if a.child:
        return child(a.child)
    results, rows = {}, []
    for work in a.works:
        runs = {"1": [], "0": []}
        for _ in range(a.rounds):
            for setting in ("1", "0"):
                os.environ[a.env] = setting
                r = run_child(sys.executable, __file__, ["--child", work])
                if r:
                    runs[setting].append(r)
        os.environ.pop(a.env, None)
        ratios = [o["time_s"] / k["time_s"] for k, o in zip(runs["1"], runs["0"])]
        med = lambda rs, key: statistics.median(r[key] for r in rs) if rs else None
        results[work] = {"kept": runs["1"], "malloc_alone": runs["0"], "ratio": ratios}
        for setting, name in (("1", f"{a.env}=1"), ("0", f"{a.env}=0")):
            rows.append({"work": work, "setting": name, "time_ms": 1e3 * med(runs[setting], "time_s"),
                         "faults/call": med(runs[setting], "faults_per_call"),
                         "peak_rss_mb": med(runs[setting], "peak_rss_mb"),
                         "time =0 / =1": (f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
                                        if setting == "1" and ratios else None)})
        print_table(rows[-2:], list(rows[-1]))
    print()
    print_table(rows, list(rows[0]))
    print("wrote", write_json(a.json, {"rounds": a.rounds, "results": results}))


if __name__ == "__main__":
    main()
