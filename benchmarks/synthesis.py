"""Texture synthesis: time and quality of foscat_like vs FOSCAT on scikit-image textures.

    python benchmarks/synthesis.py [--foscat-python PY] [--sizes 64 128] [--textures brick gravel grass]
                                   [--single]   (also foscat_like with precision="single")

Both run ``synthesis(target, nstep=3, NUM_EPOCHS=300)`` (FOSCAT:
``foscat.scat_cov2D.funct(NORIENT=4)``) on the same standardised crops, each in a
fresh child process. Quality (lower is better): RMS log10 power-spectrum ratio,
Minkowski-functional error, pixel-histogram KS; the same metrics for a Gaussian
field with the target's power spectrum (phase-randomised target) are the
baseline a synthesis must beat. Novelty (``metrics.novelty``): the largest normalised
cross-correlation with the target over shifts and the dihedral group, next to that of a
phase-randomised twin of the target. Writes benchmarks/results/synthesis.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import peer_python, print_table, run_child, write_json  # noqa: E402


def child(lib: str, texture: str, size: int, threads: int, epochs: int) -> None:
    """One synthesis; ``lib``: 'foscat', 'foscat_like' or 'foscat_like_single'."""
    import time

    import numpy as np
    import torch
    torch.set_num_threads(threads)
    from foscat_like.datasets import load_texture
    from foscat_like.metrics import quality_report
    x = load_texture(texture, size)
    t0 = time.perf_counter()
    if lib == "foscat":
        import foscat.scat_cov2D as sc
        y = np.asarray(sc.funct(NORIENT=4).synthesis(x.astype(np.float32), nstep=3, NUM_EPOCHS=epochs))
    else:
        import foscat_like as fl
        precision = "single" if lib.endswith("_single") else "double"
        y = fl.funct(NORIENT=4, grid="2d").synthesis(x, nstep=3, NUM_EPOCHS=epochs, progress=False,
                                                     precision=precision)
    dt = time.perf_counter() - t0
    y = np.asarray(y, dtype=np.float64).reshape(x.shape)
    a, b = (x - x.mean()) / x.std(), (y - y.mean()) / y.std()
    xc = float(np.real(np.fft.ifft2(np.fft.fft2(a) * np.conj(np.fft.fft2(b)))).max() / a.size)
    from foscat_like.metrics import novelty
    out = dict(time_s=dt, max_shift_corr=xc, **novelty(y, x), **quality_report(y, x))
    np.save(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", f"synth_{lib}_{texture}_{size}.npy"), y)
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--foscat-python", default=os.environ.get("FOSCAT_PYTHON"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--textures", nargs="+", default=["brick", "gravel", "grass"])
    ap.add_argument("--foscat-sizes", type=int, nargs="+", default=[128],
                    help="sizes at which FOSCAT runs too (it takes minutes per texture)")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--single", action="store_true", help='also run foscat_like with precision="single"')
    ap.add_argument("--child", nargs=3)
    a = ap.parse_args()
    if a.child:
        return child(a.child[0], a.child[1], int(a.child[2]), a.threads, a.epochs)
    from foscat_like.datasets import load_texture
    from foscat_like.metrics import phase_randomized, quality_report
    os.makedirs(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"), exist_ok=True)
    fpy = peer_python("foscat", a.foscat_python, "pip install foscat")
    rows, results = [], {}
    for size in a.sizes:
        for tex in a.textures:
            key = f"{tex}_{size}"
            x = load_texture(tex, size)
            res = {"gaussian": quality_report(phase_randomized(x), x)}
            args = ["--threads", str(a.threads), "--epochs", str(a.epochs), "--child"]
            res["foscat_like"] = run_child(sys.executable, __file__, args + ["foscat_like", tex, str(size)], 1800)
            if a.single:
                res["foscat_like_single"] = run_child(sys.executable, __file__,
                                                      args + ["foscat_like_single", tex, str(size)], 1800)
            if fpy and size in a.foscat_sizes:
                res["foscat"] = run_child(fpy, __file__, args + ["foscat", tex, str(size)], 1800)
            results[key] = res
            for lib, r in res.items():
                if r:
                    row = {"target": key, "method": lib, **r}
                    if lib == "foscat" and "time_s" in r:
                        for ours in ("foscat_like", "foscat_like_single"):
                            if "time_s" in (res.get(ours) or {}):
                                sfx = "" if ours == "foscat_like" else "_single"
                                row["speedup" + sfx] = r["time_s"] / res[ours]["time_s"]
                    rows.append(row)
    print_table(rows, ["target", "method", "time_s", "ps_log10_rms", "minkowski", "hist_ks",
                       "max_shift_corr", "max_xcorr", "max_xcorr_twin", "speedup", "speedup_single", "error"])
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "synthesis.json")
    if os.path.exists(path):        # keep the targets (and methods) not run this time
        with open(path) as f:
            old = json.load(f).get("results", {})
        results = {k: {**old.get(k, {}), **v} for k, v in {**{k: {} for k in old}, **results}.items()}
    print("wrote", write_json("synthesis", {"threads": a.threads, "epochs": a.epochs, "results": results}))


if __name__ == "__main__":
    main()
