"""HEALPix speed and memory: foscat_like vs FOSCAT's HEALPix funct, same maps, same run.

    python benchmarks/healpix.py [--foscat-python PY] [--nsides 32 64 128 256]
                                 [--synth-nsides 32 64 128 256] [--foscat-nsides 32 64]

Maps: the WMAP W-band map at nside 32 (shipped), healpy.synfast maps with
C_l ~ 1/(1+l)^2 beyond. eval and eval+grad in float32 (FOSCAT's default);
synthesis with nstep=3, NUM_EPOCHS=300 (ours in single precision). Every
measurement runs in a fresh child (peak RSS is its own). Writes
benchmarks/results/healpix.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import compare_rows, peer_python, print_table, run_child, write_json  # noqa: E402


def _map(nside: int):
    import numpy as np
    if nside == 32:
        from foscat_like.datasets import load_wmap
        m = load_wmap()[0]
    else:
        import healpy as hp
        np.random.seed(nside)
        m = hp.reorder(hp.synfast(1.0 / (1.0 + np.arange(3 * nside)) ** 2, nside), r2n=True)
    return ((m - m.mean()) / m.std()).astype(np.float32)


def child(lib: str, what: str, nside: int, threads: int, epochs: int) -> None:
    import time
    import warnings

    import numpy as np
    import torch
    warnings.filterwarnings("ignore")
    torch.set_num_threads(threads)
    from _common import peak_rss_mb, timeit
    m = _map(nside)
    t0 = time.perf_counter()
    if lib == "foscat":
        import foscat.scat_cov as sc
        op = sc.funct(NORIENT=4, KERNELSZ=3)
    else:
        import foscat_like as fl
        op = fl.funct(NORIENT=4, KERNELSZ=3)
    out = {}
    if what == "eval":
        op.eval(m)
        out["first_call_s"] = time.perf_counter() - t0
        out["eval_s"] = timeit(lambda: op.eval(m), repeat=3)

        def fg():
            xt = torch.tensor(m, requires_grad=True)
            s = op.eval(xt, norm="self")
            sum((getattr(s, f).abs() ** 2).sum() for f in ("S1", "S2", "S3", "S4")).backward()
        out["eval_grad_s"] = timeit(fg, repeat=3)
    else:
        kw = dict(nstep=3, NUM_EPOCHS=epochs)
        if lib == "foscat_like":
            kw.update(progress=False, precision="single")
        y = np.asarray(op.synthesis(m, **kw)).reshape(-1)
        out["synthesis_s"] = time.perf_counter() - t0
        import healpy as hp
        cl = lambda a: hp.anafast(hp.reorder(a.astype(np.float64), n2r=True), use_pixel_weights=False)[2:]
        out["cl_log10_rms"] = float(np.sqrt(np.mean(np.log10(cl(y) / cl(m)) ** 2)))
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--foscat-python", default=os.environ.get("FOSCAT_PYTHON"))
    ap.add_argument("--nsides", type=int, nargs="+", default=[32, 64, 128, 256])
    ap.add_argument("--synth-nsides", type=int, nargs="*", default=[32, 64, 128, 256])
    ap.add_argument("--foscat-nsides", type=int, nargs="+", default=[32, 64, 128])
    ap.add_argument("--foscat-synth-nsides", type=int, nargs="*", default=[32])
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--child", nargs=3)
    a = ap.parse_args()
    if a.child:
        return child(a.child[0], a.child[1], int(a.child[2]), a.threads, a.epochs)
    fpy = peer_python("foscat", a.foscat_python, "pip install foscat")
    common = ["--threads", str(a.threads), "--epochs", str(a.epochs), "--child"]
    rows, results = [], {}
    for what, nsides, fos in (("eval", a.nsides, a.foscat_nsides), ("synthesis", a.synth_nsides, a.foscat_synth_nsides)):
        for nside in nsides:
            key = f"{what}_{nside}"
            res = {"foscat_like": run_child(sys.executable, __file__, common + ["foscat_like", what, str(nside)], 1800)}
            if fpy and nside in fos:
                res["foscat"] = run_child(fpy, __file__, common + ["foscat", what, str(nside)], 1800)
            results[key] = res
            rows += compare_rows(key, res, "foscat_like", "foscat",
                                 {"speedup": "eval_grad_s" if what == "eval" else "synthesis_s"})
    print_table(rows, ["case", "lib", "first_call_s", "eval_s", "eval_grad_s", "synthesis_s", "cl_log10_rms",
                       "peak_rss_mb", "speedup", "error"])
    print("wrote", write_json("healpix", {"threads": a.threads, "epochs": a.epochs, "results": results}))


if __name__ == "__main__":
    main()
