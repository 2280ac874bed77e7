"""Full-sky synthesis at scale: time, peak memory and quality at nside 128 to 512 (1024 if asked),
each quality figure next to its sample-variance floor.

Target: a lognormal sky (``healpix_fidelity.lognormal``: exp of a Gaussian sky with
C_l ~ (l + 10)^-2, standardised), non-Gaussian, whose independent realisations (other seeds)
give the floor: C_l error (RMS log10 ratio, l >= 10), pixel-histogram KS and sphere Minkowski
functionals of a new realisation against the target. Synthesis: nstep levels coarse to fine,
single precision, ``max_memory`` (default 8 GB: the map is split into NEST blocks when it needs
more). Every synthesis runs in a fresh child (its peak memory is its own).

    python benchmarks/healpix_scale_synthesis.py [--nsides 128 256 512] [--epochs 100]
        [--nstep 3] [--max-memory 8GB]

Writes benchmarks/results/healpix_scale_synthesis.json (merged: the nsides not run this time are
kept; each row carries its own epochs).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import print_table, run_child, write_json  # noqa: E402


def child(nside: int, epochs: int, nstep: int, max_memory: str) -> None:
    import numpy as np
    from healpix_fidelity import lognormal, metrics

    import foscat_like as fl
    target = lognormal(nside, 1)
    floor = [metrics(lognormal(nside, s), target) for s in (2, 3)]
    t0 = time.perf_counter()
    op = fl.funct(NORIENT=4, max_memory=max_memory)
    y = np.asarray(op.synthesis(target, nstep=nstep, NUM_EPOCHS=epochs, precision="single",
                                progress=False, seed=5))
    out = {"nside": nside, "synthesis_s": time.perf_counter() - t0}
    with open("/proc/self/status") as f:
        out["peak_mb"] = next(int(l.split()[1]) / 1024 for l in f if l.startswith("VmHWM"))
    out.update(metrics(y, target))
    for k in ("cl_err", "ks", "minkowski"):
        out[k + "_floor"] = float(np.mean([f[k] for f in floor]))
    out["levels"] = [list(map(str, lv)) for lv in op.levels]
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nsides", type=int, nargs="+", default=[128, 256, 512])
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--nstep", type=int, default=3)
    ap.add_argument("--max-memory", default="8GB")
    ap.add_argument("--child", type=int)
    a = ap.parse_args()
    if a.child:
        return child(a.child, a.epochs, a.nstep, a.max_memory)
    rows = []
    for nside in a.nsides:
        r = run_child(sys.executable, __file__, ["--child", str(nside), "--epochs", str(a.epochs),
                                                 "--nstep", str(a.nstep), "--max-memory", a.max_memory], 4 * 3600)
        rows.append(dict(r, nside=nside, epochs=a.epochs, nstep=a.nstep, max_memory=a.max_memory))
        print(json.dumps(rows[-1]), flush=True)
    print_table(rows, ["nside", "synthesis_s", "peak_mb", "cl_err", "cl_err_floor", "ks", "ks_floor",
                       "minkowski", "minkowski_floor", "corr", "error"])
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "healpix_scale_synthesis.json")
    if os.path.exists(path):        # keep the nsides not run this time
        with open(path) as f:
            old = json.load(f)
        for r in old.get("results", []):
            r.setdefault("epochs", old.get("epochs"))
            r.setdefault("max_memory", old.get("max_memory"))
        rows = sorted([r for r in old.get("results", []) if r["nside"] not in a.nsides] + rows,
                      key=lambda r: r["nside"])
    print("wrote", write_json("healpix_scale_synthesis", {"epochs": a.epochs, "nstep": a.nstep,
                                                          "max_memory": a.max_memory, "results": rows}))


if __name__ == "__main__":
    main()
