"""HEALPix at scale: eval and eval+grad time, peak memory and first-call time, nside 64 to 2048.

    python benchmarks/healpix_scale.py [--nsides 64 128 256 512 1024] [--eval-nsides 2048]
                                       [--foscat-python PY] [--dask-nsides 64 128]

Modes: ``whole`` (one evaluation of the whole map), ``patches`` (``max_memory`` set so that
the map is split into NEST blocks: 8 GB, or a third of the whole map's estimate when that
is smaller, so that the split shows at every nside), ``dask`` (the same blocks on a
LocalCluster of 2 worker processes, 1 thread each) and FOSCAT's HEALPix ``funct`` where it
runs. float32 (FOSCAT's default), NORIENT=4, KERNELSZ=3, default Jmax. Every measurement runs
in a fresh child process; ``peak_rss_mb`` is its VmHWM (imports, map and evaluation),
``peak_mb`` / ``bytes_per_pixel`` what the evaluation added (the peak reset once the map is made). Maps:
healpy.synfast with C_l ~ 1/(1+l)^2. Writes benchmarks/results/healpix_scale.json (merged: the
measurements not run this time are kept).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import peer_python, print_table, run_child, write_json  # noqa: E402

EIGHT_GB = 8e9


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return float("nan")


def _vmhwm_mb() -> float:
    """Peak resident memory so far (MB)."""
    return _status_mb("VmHWM")


def _reset_peak() -> float:
    """Reset the peak to what is resident now (Linux clear_refs) and return that (MB): the peak
    of what follows is then its own, not the map generation's."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return _status_mb("VmRSS")


def _map(nside: int):
    import healpy as hp
    import numpy as np
    np.random.seed(nside)
    m = hp.reorder(hp.synfast(1.0 / (1.0 + np.arange(3 * nside)) ** 2, nside), r2n=True)
    return ((m - m.mean()) / m.std()).astype(np.float32)


def child(lib: str, mode: str, nside: int, what: str, repeat: int) -> None:
    import warnings

    import numpy as np
    import torch
    warnings.filterwarnings("ignore")
    torch.set_num_threads(2 if mode != "dask" else 1)
    m = _map(nside)
    npix = m.size
    out, client = {"npix": npix}, None
    if lib == "foscat":
        import foscat.scat_cov as sc
        base = _reset_peak()
        op = sc.funct(NORIENT=4, KERNELSZ=3)
    else:
        import foscat_like as fl
        from foscat_like.stats import split
        if mode == "dask":
            from distributed import Client, LocalCluster
            client = Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                         dashboard_address=None))
        mm = None
        if mode != "whole":
            whole = split.estimate(npix, 1, 4, 4, what == "grad", False)
            mm = int(min(EIGHT_GB, whole / 3))
            out["max_memory_gb"] = mm / 1e9
        else:
            mm = 10 ** 12
        base = _reset_peak()
        op = fl.funct(NORIENT=4, KERNELSZ=3, max_memory=mm, client=client)
        orig = split.split_plan

        def spy(*a, **k):
            p = orig(*a, **k)
            if p is not None:
                out["plan"] = {"js": p.js, "blocks": len(p.blocks),
                               "keep_operators": len(p.blocks) if p.keep < 0 else p.keep,
                               "halo_factor": round(sum(len(b.core[0]) for b in p.blocks) / npix, 3)}
            return p
        split.split_plan = spy

    def once():
        if what == "eval":
            with torch.no_grad():
                op.eval(m)
            return
        xt = torch.tensor(m, requires_grad=True)
        s = op.eval(xt, norm="self")
        sum((getattr(s, f).abs() ** 2).sum() for f in ("S1", "S2", "S3", "S4")).backward()
    t0 = time.perf_counter()
    once()
    out["first_call_s"] = time.perf_counter() - t0
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        once()
        ts.append(time.perf_counter() - t)
    if ts:
        out["eval_s" if what == "eval" else "eval_grad_s"] = float(np.median(ts))
    out["peak_rss_mb"] = _vmhwm_mb()               # the whole process (imports, map, evaluation)
    peak = out["peak_rss_mb"] - base
    out["peak_mb"] = peak
    out["bytes_per_pixel"] = peak * 2 ** 20 / npix
    if client is not None:
        client.close()
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nsides", type=int, nargs="*", default=[64, 128, 256, 512, 1024])
    ap.add_argument("--eval-nsides", type=int, nargs="*", default=[2048])
    ap.add_argument("--whole-max", type=int, default=512, help="largest nside run whole")
    ap.add_argument("--dask-nsides", type=int, nargs="*", default=[64, 128, 256])
    ap.add_argument("--foscat-nsides", type=int, nargs="*", default=[64, 128])
    ap.add_argument("--foscat-python", default=os.environ.get("FOSCAT_PYTHON"))
    ap.add_argument("--child", nargs=5)
    a = ap.parse_args()
    if a.child:
        lib, mode, nside, what, rep = a.child
        return child(lib, mode, int(nside), what, int(rep))
    fpy = peer_python("foscat", a.foscat_python, "pip install foscat")
    jobs = []
    for nside in a.nsides + a.eval_nsides:
        whats = ["eval"] if nside in a.eval_nsides else ["eval", "grad"]
        for what in whats:
            rep = 2 if nside <= 256 else 1 if nside <= 512 else 0
            modes = (["whole"] if nside <= a.whole_max else []) + ["patches"]
            modes += ["dask"] if nside in a.dask_nsides else []
            jobs += [("foscat_like", mode, nside, what, rep) for mode in modes]
            if fpy and nside in a.foscat_nsides:
                jobs.append(("foscat", "whole", nside, what, rep))
    rows, results = [], {}
    for lib, mode, nside, what, rep in jobs:
        py = fpy if lib == "foscat" else sys.executable
        r = run_child(py, __file__, ["--child", lib, mode, str(nside), what, str(rep)], 5400)
        results[f"{lib}_{mode}_{nside}_{what}"] = r
        row = {"nside": nside, "what": what, "lib": lib, "mode": mode, **{k: v for k, v in r.items() if k != "plan"}}
        if "plan" in r:
            row["plan"] = "js={js} blocks={blocks} halo={halo_factor} keep={keep_operators}".format(**r["plan"])
        rows.append(row)
        print(json.dumps(row), flush=True)
    print_table(rows, ["nside", "what", "lib", "mode", "first_call_s", "eval_s", "eval_grad_s", "peak_rss_mb", "peak_mb",
                       "bytes_per_pixel", "max_memory_gb", "plan", "error"])
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "healpix_scale.json")
    if os.path.exists(path):        # keep the measurements not run this time
        with open(path) as f:
            results = {**json.load(f).get("results", {}), **results}
    print("wrote", write_json("healpix_scale", {"threads": 2, "results": results}))


if __name__ == "__main__":
    main()
