"""The spectral scattering covariance's Gram products: compiled loops (``stats.gram_kernels``)
against the torch route (``spectral._left`` and a batched matrix product), one thread.

    python benchmarks/gram.py [--pairs 30] [--sizes 128 256] [--synthesis 3]
                              [--healpix 256 512] [--healpix-rounds 2]

Two tables: every level's Gram alone (forward, and forward + backward), the two routes
alternating in this one process, median of ``--pairs`` calls each; then one whole eval+grad
(``funct(NORIENT=4).eval(x, norm="self")`` and the backward of its squared coefficients), the two
routes alternating call by call, with the median and quartiles of the paired ratios (the machine
is shared: a ratio of calls back to back, not absolute times); then the README's synthesis
(brick 128², nstep 3, 300 epochs; torch's threads as the optimiser chooses them), the routes
alternating ``--synthesis`` times; then the pixel route's level products (``level_gram``) on
HEALPix maps (torch's threads as they are, 2 here): eval+grad paired in one process, unmasked and
with a mask, and each route in fresh processes (time and peak memory), alternating
``--healpix-rounds`` times. Writes benchmarks/results/gram_kernels.json.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import print_table, write_json  # noqa: E402

import foscat_like as fl  # noqa: E402
from foscat_like import jit  # noqa: E402
from foscat_like.grid import make_grid  # noqa: E402
from foscat_like.heap import keep_freed_memory  # noqa: E402
from foscat_like.planar import spectral as pspec  # noqa: E402
from foscat_like.stats import gram_kernels, spectral  # noqa: E402


def route(jit: bool):
    """Switch the Gram route (the test suite's way: ``gram_kernels.usable``)."""
    gram_kernels.usable = _usable if jit else (lambda Z: False)


_usable = gram_kernels.usable


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def paired(fn, pairs: int) -> dict:
    """``fn()`` on both routes, alternating (which goes first alternates too)."""
    t = {True: [], False: []}
    for jit in (True, False):
        route(jit)
        for _ in range(3):
            fn()
    for i in range(pairs):
        for jit in ((True, False) if i % 2 else (False, True)):
            route(jit)
            t[jit].append(_time(fn))
    route(True)
    r = np.array(t[False]) / np.array(t[True])
    return {"jit_ms": 1e3 * statistics.median(t[True]), "torch_ms": 1e3 * statistics.median(t[False]),
            "ratio": float(np.median(r)), "ratio_q1": float(np.percentile(r, 25)),
            "ratio_q3": float(np.percentile(r, 75))}


def levels(n: int, dtype: torch.dtype, pairs: int) -> list[dict]:
    """Each level of an ``n x n`` field: ``Z (1, 1 + (j + 1) L, K)`` with the grid's weights."""
    grid, rows, shape = make_grid("2d"), [], (n, n)
    for j in range(int(np.log2(n)) - 2):
        w_re, w_im = grid.spectral_gram(shape, torch.zeros(1, dtype=dtype))
        Z = torch.randn(1, 1 + (j + 1) * w_re.shape[0], w_re.shape[1], dtype=dtype)
        Zg = Z.clone().requires_grad_()
        gG = torch.randn(1, 2, w_re.shape[0], Z.shape[1], Z.shape[1], dtype=dtype)
        fwd = lambda: spectral._Gram.apply(Z, Z, w_re, w_im, pspec.rot)
        fb = lambda: spectral._Gram.apply(Zg, Zg, w_re, w_im, pspec.rot).backward(gG)
        f, b = paired(fwd, pairs), paired(fb, pairs)
        rows.append({"case": f"{n}² level {j}", "dtype": str(dtype)[6:], "R x K": f"{Z.shape[1]} x {Z.shape[2]}",
                     "fwd_jit_ms": f["jit_ms"], "fwd_torch_ms": f["torch_ms"], "fwd_x": f["ratio"],
                     "fb_jit_ms": b["jit_ms"], "fb_torch_ms": b["torch_ms"], "fb_x": b["ratio"]})
        shape = grid.coarser(shape)
    return rows


def eval_grad(n: int, dtype: str, pairs: int) -> dict:
    op = fl.funct(NORIENT=4, grid="2d")
    x = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)

    def fg():
        xt = torch.tensor(x, requires_grad=True)
        s = op.eval(xt, norm="self", Jmax=int(np.log2(n)) - 2)
        sum((getattr(s, f).abs() ** 2).sum() for f in ("S1", "S2", "S3", "S4")).backward()
    r = paired(fg, pairs)
    return {"case": f"eval+grad {n}²", "dtype": dtype, **r}


def synthesis(rounds: int) -> dict:
    from foscat_like.datasets import load_texture
    x = load_texture("brick", 128)
    op = fl.funct(NORIENT=4, grid="2d")
    t = {True: [], False: []}
    for i in range(rounds):
        for jit in ((True, False) if i % 2 else (False, True)):
            route(jit)
            t[jit].append(_time(lambda: op.synthesis(x, nstep=3, NUM_EPOCHS=300, progress=False)))
    route(True)
    r = np.array(t[False]) / np.array(t[True])
    return {"case": "synthesis brick 128², nstep 3, 300 epochs", "dtype": "float64",
            "jit_ms": 1e3 * statistics.median(t[True]), "torch_ms": 1e3 * statistics.median(t[False]),
            "ratio": float(np.median(r)), "ratio_q1": float(r.min()), "ratio_q3": float(r.max())}


def healpix_child(nside: int, route: str) -> None:
    """One route in this fresh process: best of 2 eval+grad after one, and the peak RSS."""
    import json
    if route == "torch":
        gram_kernels.usable_pixels = lambda F, W: False
    fg = _healpix_call(nside, None)
    fg()
    best = min(_time(fg) for _ in range(2))
    # the peak of this process's own memory (VmHWM): getrusage's maxrss survives exec, so it
    # would report the parent's size at fork when that was larger
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    print(json.dumps({"time_s": best, "peak_rss_mb": hwm / 1024}))


def _healpix_call(nside: int, mask: str | None):
    op = fl.funct(NORIENT=4, grid="healpix")
    npix = 12 * nside ** 2
    x = np.random.default_rng(0).standard_normal(npix).astype(np.float32)
    w = None
    if mask == "band":                                    # a Galactic-cut-like mask
        import healpy as hp
        theta, _ = hp.pix2ang(nside, np.arange(npix), nest=True)
        w = (np.abs(np.cos(theta)) > 0.2).astype(np.float32)

    def fg():
        xt = torch.tensor(x, requires_grad=True)
        s = op.eval(xt, mask=w, norm="self")
        sum((getattr(s, f).abs() ** 2).sum() for f in ("S1", "S2", "S3", "S4")).backward()
    return fg


def healpix(nside: int, mask: str | None, pairs: int) -> dict:
    fg = _healpix_call(nside, mask)
    t = {True: [], False: []}
    for i in range(pairs):
        for on in ((True, False) if i % 2 else (False, True)):
            gram_kernels.usable_pixels = _usable_pixels if on else (lambda F, W: False)
            t[on].append(_time(fg))
    gram_kernels.usable_pixels = _usable_pixels
    r = np.array(t[False]) / np.array(t[True])
    return {"case": f"HEALPix nside {nside} eval+grad" + (", masked" if mask else ""), "dtype": "float32",
            "jit_ms": 1e3 * statistics.median(t[True]), "torch_ms": 1e3 * statistics.median(t[False]),
            "ratio": float(np.median(r)), "ratio_q1": float(np.percentile(r, 25)),
            "ratio_q3": float(np.percentile(r, 75))}


def healpix_fresh(nside: int, rounds: int) -> list[dict]:
    from _common import run_child
    rows = []
    for i in range(rounds):
        for route in (("jit", "torch") if i % 2 == 0 else ("torch", "jit")):
            r = run_child(sys.executable, __file__, ["--healpix-child", str(nside), route])
            rows.append({"case": f"HEALPix nside {nside}, fresh process", "route": route, "round": i, **r})
    return rows


_usable_pixels = gram_kernels.usable_pixels


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=30)
    ap.add_argument("--sizes", type=int, nargs="*", default=[128, 256])
    ap.add_argument("--synthesis", type=int, default=3, help="alternating rounds (0: none)")
    ap.add_argument("--healpix", type=int, nargs="*", default=[256, 512])
    ap.add_argument("--healpix-rounds", type=int, default=2)
    ap.add_argument("--healpix-child", nargs=2)
    a = ap.parse_args()
    if a.healpix_child:
        healpix_child(int(a.healpix_child[0]), a.healpix_child[1])
        return
    fresh = [r for nside in a.healpix[-1:] for r in healpix_fresh(nside, a.healpix_rounds)]
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    keep_freed_memory()          # as funct does: both routes without per-call page faults
    if not jit.available("foscat_like.stats._gram_jit"):
        sys.exit("numba is not available: nothing to compare")
    lv = [r for n in a.sizes for dt in (torch.float64, torch.float32) for r in levels(n, dt, a.pairs)]
    if lv:
        print_table(lv, list(lv[0]))
    eg = [eval_grad(n, dt, a.pairs) for n in a.sizes for dt in ("float64", "float32")]
    if a.synthesis:
        torch.set_num_threads(saved)
        eg.append(synthesis(a.synthesis))      # ratio_q1 / ratio_q3: the rounds' min and max
    torch.set_num_threads(saved)
    for nside in a.healpix:
        eg.append(healpix(nside, None, max(4, a.pairs // 5)))
        eg.append(healpix(nside, "band", max(4, a.pairs // 5)))
    print()
    print_table(eg, ["case", "dtype", "jit_ms", "torch_ms", "ratio", "ratio_q1", "ratio_q3"])
    if fresh:
        print()
        print_table(fresh, ["case", "route", "round", "time_s", "peak_rss_mb"])
    print("wrote", write_json("gram_kernels", {"threads": 1, "pairs": a.pairs, "levels": lv,
                                               "eval_grad": eg, "healpix_fresh": fresh}))


if __name__ == "__main__":
    main()
