"""Classic scattering speed: foscat_like vs Kymatio 0.3.0 (torch CPU), same run.

    python benchmarks/classic.py [--kymatio-python /path/to/python]

Kymatio is looked for in this interpreter, then in --kymatio-python (or
$KYMATIO_PYTHON); absent, its rows are skipped with a message. Every
measurement runs in a fresh child process so peak memory (max RSS) is its own.
Writes benchmarks/results/classic.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import compare_rows, peer_python, print_table, run_child, write_json  # noqa: E402

CASES = {
    "2d_16x128x128_J4_L8": dict(dim=2, batch=(16, 1), shape=(128, 128), J=4, L=8),
    "2d_4x3x256x256_J5_L8": dict(dim=2, batch=(4, 3), shape=(256, 256), J=5, L=8),
    "1d_16x8192_J8_Q8": dict(dim=1, batch=(16,), shape=(8192,), J=8, Q=8),
    "3d_4x32x32x32_J2_L3": dict(dim=3, batch=(4,), shape=(32, 32, 32), J=2, L=3),
}


def _make(lib: str, c: dict):
    """The transform of ``lib`` ('kymatio', 'foscat_like' or 'smallkernel') for case ``c``."""
    if lib == "smallkernel":
        from foscat_like.classic.smallkernel import SmallKernelScattering2D
        return SmallKernelScattering2D(c["J"], c["shape"], L=c["L"])
    if lib == "kymatio":
        import scipy.special
        if not hasattr(scipy.special, "sph_harm"):     # Kymatio 0.3 on SciPy >= 1.17
            scipy.special.sph_harm = lambda m, n, az, pol: scipy.special.sph_harm_y(n, m, pol, az)
        from kymatio.torch import HarmonicScattering3D, Scattering1D, Scattering2D
        if c["dim"] == 3:
            return HarmonicScattering3D(J=c["J"], shape=c["shape"], L=c["L"])
        return (Scattering2D(J=c["J"], shape=c["shape"], L=c["L"]) if c["dim"] == 2
                else Scattering1D(J=c["J"], shape=c["shape"][0], Q=c["Q"]))
    from foscat_like.planar import HarmonicScattering3D, Scattering1D, Scattering2D
    if c["dim"] == 3:
        return HarmonicScattering3D(c["J"], c["shape"], L=c["L"])
    return (Scattering2D(c["J"], c["shape"], L=c["L"]) if c["dim"] == 2
            else Scattering1D(c["J"], c["shape"][0], Q=c["Q"]))


def child(lib: str, case: str, threads: int, device: str = "cpu") -> None:
    """Measure one (library, case) and print a JSON line."""
    import time

    import torch
    torch.set_num_threads(threads)
    from _common import peak_rss_mb, timeit
    c = CASES[case]
    t0 = time.perf_counter()
    S = _make(lib, c)
    build = time.perf_counter() - t0
    x = torch.randn(c["batch"] + c["shape"], device=device)
    if device != "cpu" and hasattr(S, "to"):
        S = S.to(device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    fwd = timeit(lambda: (S(x), sync()), repeat=5)
    xg = x.clone().requires_grad_()

    def fb():
        S(xg).sum().backward()
        sync()
    fwdbwd = timeit(fb, repeat=3)
    print(json.dumps({"build_s": build, "forward_s": fwd, "forward_backward_s": fwdbwd,
                      "peak_rss_mb": peak_rss_mb()}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kymatio-python", default=os.environ.get("KYMATIO_PYTHON"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--child", nargs=2)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    if a.child:
        return child(a.child[0], a.child[1], a.threads, a.device)
    ky_py = peer_python("kymatio", a.kymatio_python, "pip install kymatio==0.3.0")
    rows, results = [], {}
    for case in CASES:
        ours = run_child(sys.executable, __file__, ["--child", "foscat_like", case, "--threads", str(a.threads)])
        ky = run_child(ky_py, __file__, ["--child", "kymatio", case, "--threads", str(a.threads)]) if ky_py else None
        results[case] = {"foscat_like": ours, "kymatio": ky}
        rows += compare_rows(case, results[case], "foscat_like", "kymatio",
                             {"speedup_fwd": "forward_s", "speedup_fwd_bwd": "forward_backward_s"})
    print_table(rows, ["case", "lib", "build_s", "forward_s", "forward_backward_s", "peak_rss_mb",
                       "speedup_fwd", "speedup_fwd_bwd"])
    print("wrote", write_json("classic", {"threads": a.threads, "results": results}))


if __name__ == "__main__":
    main()
