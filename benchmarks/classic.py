"""Classic scattering speed: foscat_like vs Kymatio 0.3.0 (torch CPU), interleaved in one run.

    python benchmarks/classic.py [--kymatio-python /path/to/python] [--rounds 3] [--busy-rounds 2]

Kymatio is looked for in this interpreter, then in --kymatio-python (or $KYMATIO_PYTHON);
absent, its rows are skipped with a message. Every measurement runs in a fresh child process
(peak memory is its own). A round measures both libraries back to back; the speedups are the
median over rounds, with their range. Busy rounds run the same while another process keeps
one core busy (a bounded CPU hog started and stopped here). ``fft_bound`` times the Fourier
transforms of our algorithm alone (same sizes and counts, nothing else; twice that for
forward+backward): no Fourier implementation of these filters can go below it.
Writes benchmarks/results/classic.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import peer_python, print_table, run_child, write_json  # noqa: E402

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


def fft_calls(S, batch: tuple[int, ...]) -> list[tuple[str, tuple[int, ...]]]:
    """The Fourier transforms our forward performs: (kind, shape) for a 1D or 2D transform."""
    B = int(__import__("numpy").prod(batch))
    if hasattr(S, "M_padded"):                    # 2D: fft2 of x, per j1 ifft2 + fft2, per j2 ifft2
        J, L, M, N = S.J, S.L, S.M_padded, S.N_padded
        calls = [("fft2", (B, M, N))]
        for j1 in range(J):
            calls.append(("ifft2", (B, L, M >> j1, N >> j1)))
            if j1 < J - 1:
                calls.append(("fft2", (B, L, M >> j1, N >> j1)))
                calls += [("ifft2", (B, L, L, M >> j2, N >> j2)) for j2 in range(j1 + 1, J)]
        return calls
    ops = S._operators(True, 0)                     # 1D: fft of x, per group ifft + fft, lowpasses
    Np, calls = S.N_padded, [("fft", (B, S.N_padded))]
    for j1, ns1 in S._g1.items():
        k1 = ops["psi1"][j1][0]
        calls += [("ifft", (B, len(ns1), Np >> k1)), ("fft", (B, len(ns1), Np >> k1))]
        for j2, ns2 in S._g2.items():
            if (j1, j2) in ops["psi2"]:
                k2 = ops["psi2"][j1, j2][0]
                calls += [("ifft", (B, len(ns1), len(ns2), Np >> (k1 + k2))),
                          ("fft", (B, len(ns1), len(ns2), Np >> (k1 + k2)))]
    return calls


def child_fft(case: str, threads: int) -> None:
    """Time the Fourier transforms alone (inputs prepared beforehand: real where ours are real,
    the forward transforms of x, u1 and u2; complex for the inverse ones)."""
    import torch
    torch.set_num_threads(threads)
    from _common import timeit
    c = CASES[case]
    calls = fft_calls(_make("foscat_like", c), c["batch"])
    data = [(getattr(torch.fft, kind), torch.randn(shape, dtype=torch.complex64 if kind[0] == "i" else torch.float32))
            for kind, shape in calls]
    t = timeit(lambda: [f(z) for f, z in data], repeat=5)
    print(json.dumps({"fft_s": t, "n_ffts": len(calls)}))


def hog(limit_s: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c",
                             f"import time\nt = time.time()\nwhile time.time() - t < {limit_s}:\n    pass\n"])


def measure(ky_py, case: str, threads: int, busy: bool) -> dict:
    p = hog(600) if busy else None
    try:
        if p is not None:
            time.sleep(0.5)
        args = ["--child", None, case, "--threads", str(threads)]
        ours = run_child(sys.executable, __file__, [a if a else "foscat_like" for a in args])
        ky = run_child(ky_py, __file__, [a if a else "kymatio" for a in args]) if ky_py else None
    finally:
        if p is not None:
            p.kill(); p.wait()
    return {"foscat_like": ours, "kymatio": ky}


def summary(rounds: list[dict], key: str) -> dict | None:
    r = [m["kymatio"][key] / m["foscat_like"][key] for m in rounds if m["kymatio"] and m["foscat_like"]]
    return {"median": statistics.median(r), "min": min(r), "max": max(r), "n": len(r)} if r else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kymatio-python", default=os.environ.get("KYMATIO_PYTHON"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--busy-rounds", type=int, default=2)
    ap.add_argument("--cases", nargs="*", default=list(CASES))
    ap.add_argument("--child", nargs=2)
    ap.add_argument("--child-fft")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    if a.child:
        return child(a.child[0], a.child[1], a.threads, a.device)
    if a.child_fft:
        return child_fft(a.child_fft, a.threads)
    ky_py = peer_python("kymatio", a.kymatio_python, "pip install kymatio==0.3.0")
    rows, results = [], {}
    for case in a.cases:
        quiet = [measure(ky_py, case, a.threads, False) for _ in range(a.rounds)]
        busy = [measure(ky_py, case, a.threads, True) for _ in range(a.busy_rounds)] if CASES[case]["dim"] < 3 else []
        bound = run_child(sys.executable, __file__, ["--child-fft", case, "--threads", str(a.threads)]) \
            if CASES[case]["dim"] < 3 else None
        res = {"quiet": quiet, "busy": busy, "fft_bound": bound}
        for mode, rs in (("quiet", quiet), ("busy", busy)):
            for key in ("forward_s", "forward_backward_s"):
                res[f"speedup_{mode}_{key[:-2]}"] = summary(rs, key)
        if bound and quiet:
            fwd = statistics.median(m["foscat_like"]["forward_s"] for m in quiet)
            fb = statistics.median(m["foscat_like"]["forward_backward_s"] for m in quiet)
            res["over_fft_bound"] = {"forward": fwd / bound["fft_s"], "forward_backward": fb / (2 * bound["fft_s"])}
        results[case] = res
        for mode, rs in (("quiet", quiet), ("busy", busy)):
            if not rs:
                continue
            med = lambda lib, k: statistics.median(m[lib][k] for m in rs) if all(m[lib] for m in rs) else None
            sp = lambda k: res[f"speedup_{mode}_{k}"]
            fmt = lambda d: f"{d['median']:.2f} ({d['min']:.2f}-{d['max']:.2f})" if d else "-"
            rows.append({"case": case, "mode": mode, "ours_fwd_s": med("foscat_like", "forward_s"),
                         "ours_fwdbwd_s": med("foscat_like", "forward_backward_s"),
                         "kymatio_fwd_s": med("kymatio", "forward_s"),
                         "kymatio_fwdbwd_s": med("kymatio", "forward_backward_s"),
                         "speedup_fwd": fmt(sp("forward")), "speedup_fwd_bwd": fmt(sp("forward_backward")),
                         "x_fft_bound": (f"{res['over_fft_bound']['forward']:.2f} / "
                                         f"{res['over_fft_bound']['forward_backward']:.2f}")
                         if mode == "quiet" and "over_fft_bound" in res else "-"})
    print_table(rows, ["case", "mode", "ours_fwd_s", "ours_fwdbwd_s", "kymatio_fwd_s", "kymatio_fwdbwd_s",
                       "speedup_fwd", "speedup_fwd_bwd", "x_fft_bound"])
    print("wrote", write_json("classic", {"threads": a.threads, "rounds": a.rounds,
                                          "busy_rounds": a.busy_rounds, "results": results}))


if __name__ == "__main__":
    main()
