"""Small spatial-kernel Scattering2D: deviation from the FFT transform, and speed against it and
Kymatio 0.3.0 in the same run (seed 003 claims 60x-200x over Kymatio).

    python benchmarks/smallkernel.py [--kymatio-python PY] [--fit] [--device cpu|cuda]

Deviation: ||S_small x - S_fft x|| / ||S_fft x|| (all coefficients, and by order) on real
images: the shipped textures (brick is held out of the kernel fit, which used gravel and
grass) and scikit-image's camera (256x256), J = 2..4, L = 8, for the 'derived' and 'fitted'
kernels. ``--fit`` re-fits the shipped kernels first. Speed: the classic benchmark cases
(every measurement in a fresh child process). Writes benchmarks/results/smallkernel.json.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import peer_python, print_table, run_child, write_json  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def images() -> dict:
    from foscat_like.datasets import load_texture
    out = {t: load_texture(t, 128)[None] for t in ("brick", "gravel", "grass")}
    try:
        from skimage.data import camera
        c = camera().astype(float)[::2, ::2]
        out["camera_256"] = ((c - c.mean()) / c.std())[None]
    except ImportError:
        print("scikit-image missing: camera skipped")
    return out


def deviation_rows() -> list[dict]:
    from foscat_like.planar import Scattering2D
    from foscat_like.classic.smallkernel import SmallKernelScattering2D
    rows = []
    for name, x in images().items():
        for J in (2, 3, 4):
            ref = Scattering2D(J, x.shape[-2:], 8)(x)
            n1 = 1 + 8 * J
            for kern in ("derived", "fitted"):
                S = SmallKernelScattering2D(J, x.shape[-2:], 8, kernels=kern)(x)
                rel = lambda sl: float(np.linalg.norm(S[:, sl] - ref[:, sl]) / np.linalg.norm(ref[:, sl]))
                rows.append({"image": name, "J": J, "kernels": kern, "all": rel(slice(None)),
                             "S0": rel(slice(0, 1)), "S1": rel(slice(1, n1)), "S2": rel(slice(n1, None))})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kymatio-python", default=os.environ.get("KYMATIO_PYTHON"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--fit", action="store_true")
    a = ap.parse_args()
    if a.fit:
        from foscat_like.datasets import load_texture
        from foscat_like.classic.smallkernel import _DATA, fit_kernels
        tr = np.stack([load_texture(t, 128) for t in ("gravel", "grass")])
        k = fit_kernels(np.concatenate([tr, tr.transpose(0, 2, 1)]), J=3, maxiter=150)
        np.savez(os.path.join(_DATA, "smallkernel_L8_K7.npz"), h=k["h"], psi=k["psi"])
        print("fitted kernels, training loss", k["loss"])
    dev = deviation_rows()
    print_table(dev, ["image", "J", "kernels", "all", "S0", "S1", "S2"])
    ky_py = peer_python("kymatio", a.kymatio_python, "pip install kymatio==0.3.0")
    classic = os.path.join(HERE, "classic.py")
    rows, speed = [], {}
    for case in ("2d_16x128x128_J4_L8", "2d_4x3x256x256_J5_L8"):
        args = lambda lib: ["--child", lib, case, "--threads", str(a.threads), "--device", a.device]
        r = {"smallkernel": run_child(sys.executable, classic, args("smallkernel")),
             "foscat_like_fft": run_child(sys.executable, classic, args("foscat_like")),
             "kymatio": run_child(ky_py, classic, args("kymatio")) if ky_py else None}
        speed[case] = r
        for lib, v in r.items():
            if v is None:
                continue
            row = {"case": case, "lib": lib, **{k: v[k] for k in ("forward_s", "forward_backward_s")}}
            for ref in ("foscat_like_fft", "kymatio"):
                if r.get(ref) and lib == "smallkernel":
                    row[f"x_vs_{ref}"] = r[ref]["forward_s"] / v["forward_s"]
            rows.append(row)
    print_table(rows, ["case", "lib", "forward_s", "forward_backward_s", "x_vs_foscat_like_fft", "x_vs_kymatio"])
    print("wrote", write_json("smallkernel", {"device": a.device, "threads": a.threads, "deviation": dev,
                                              "speed": speed}))


if __name__ == "__main__":
    main()
