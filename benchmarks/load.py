"""Quiet against busy: the README's synthesis while another process keeps one core busy.

Runs ``funct(grid="2d").synthesis(load_texture("brick", 128), nstep=3, NUM_EPOCHS=300)`` (and a
full-sky HEALPix nside-64 synthesis) with the library's own thread choice (``threads.py``)
and with torch's default of one thread per core (``FOSCAT_LIKE_THREADS`` = cores), each on a
quiet machine and next to a CPU hog (a bounded busy loop started and stopped here). The user's
own loop of ``eval`` + backward (2D 256², 20 calls; the library leaves torch's threads as the
caller set them there) runs with one torch thread and with torch's default. The classic
``Scattering2D`` (16x128², J=4, L=8, 5 forward+backward calls, torch's default threads) runs its
batch chunks side by side (the default) and, for comparison, with torch's own threads inside
every operation (``_side_by_side = False``).

    python benchmarks/load.py [--epochs 300] [--repeat 2]
                              [--cases synthesis_2d synthesis_healpix eval_grad classic]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import print_table, write_json  # noqa: E402

import foscat_like as fl  # noqa: E402
from foscat_like.datasets import load_texture, load_wmap  # noqa: E402
from foscat_like.threads import ENV, _cores  # noqa: E402

HOG = "import time\nt = time.time()\nwhile time.time() - t < {limit}:\n    pass\n"


def hog(limit_s: float) -> subprocess.Popen:
    """A process that keeps one core busy for at most ``limit_s`` seconds."""
    return subprocess.Popen([sys.executable, "-c", HOG.format(limit=limit_s)])


def run_case(fn, threads: str | None, busy: bool, limit_s: float) -> float:
    old = os.environ.pop(ENV, None)
    if threads is not None:
        os.environ[ENV] = threads
    p = hog(limit_s) if busy else None
    try:
        if p is not None:
            time.sleep(0.5)                       # let it take its core
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    finally:
        if p is not None:
            p.kill(); p.wait()
        os.environ.pop(ENV, None)
        if old is not None:
            os.environ[ENV] = old


def eval_grad(x: np.ndarray, threads: str) -> None:
    """20 x (eval with norm='self', backward of the sum of squared coefficients) in float32."""
    import torch
    from foscat_like.threads import torch_threads
    op = fl.funct(grid="2d")
    xt = torch.tensor(x, dtype=torch.float32)
    with torch_threads(int(threads)):
        for _ in range(20):
            u = xt.clone().requires_grad_(True)
            st = op.eval(u, norm="self")
            sum((getattr(st, f).abs() ** 2).sum() for f in ("S1", "S2", "S3", "S4")).backward()


def classic(S, x: np.ndarray, side_by_side: bool) -> None:
    """5 x (``S`` forward, backward of the sum) on 16 copies of ``x``, batch chunks side by side
    or not (``S`` built and warmed up before: its construction is not timed)."""
    import torch
    S._side_by_side = side_by_side
    xt = torch.tensor(np.broadcast_to(x, (16,) + x.shape), dtype=torch.float32)
    for _ in range(5):
        u = xt.clone().requires_grad_(True)
        S(u).sum().backward()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--cases", nargs="+", default=["synthesis_2d", "synthesis_healpix", "eval_grad", "classic"],
                    choices=["synthesis_2d", "synthesis_healpix", "eval_grad", "classic"])
    a = ap.parse_args()
    brick = load_texture("brick", 128)
    I, _ = load_wmap()
    import healpy as hp
    sky = hp.ud_grade(I, 64, order_in="NEST", order_out="NEST")
    cores = str(_cores())
    tex256 = np.tile(brick, (2, 2))                  # 256^2 (the time does not depend on content)
    S2 = None
    if "classic" in a.cases:
        from foscat_like.planar import Scattering2D
        S2 = Scattering2D(4, brick.shape, L=8)
        classic(S2, brick, True)                      # filters built and cached, not timed
    cases = {
        "synthesis brick 128^2 nstep 3": ("synthesis_2d", lambda t: fl.funct(grid="2d").synthesis(
            brick, nstep=3, NUM_EPOCHS=a.epochs, progress=False)),
        "synthesis HEALPix nside 64 nstep 3": ("synthesis_healpix", lambda t: fl.funct().synthesis(
            sky, nstep=3, NUM_EPOCHS=a.epochs // 3, progress=False)),
        "eval+grad 2D 256^2, 20 calls": ("eval_grad", lambda t: eval_grad(tex256, t)),
        "classic Scattering2D 16x128^2 fwd+bwd, 5 calls": ("classic", lambda t: classic(S2, brick, t)),
    }
    rows, payload = [], {}
    for name, (tag, fn) in cases.items():
        if tag not in a.cases:
            continue
        res = {}
        # (label, FOSCAT_LIKE_THREADS, argument of the case's function)
        if tag == "classic":
            labels = (("chunks side by side (default)", None, True), ("torch's own threads", None, False))
        elif tag == "eval_grad":
            labels = (("1 thread", "1", "1"), (f"torch default ({cores} threads)", cores, cores))
        else:
            labels = (("auto", None, None), (f"torch default ({cores} threads)", cores, cores))
        for label, threads, arg in labels:
            for busy in (False, True):
                ts = [run_case(lambda: fn(arg), threads, busy, limit_s=1200) for _ in range(a.repeat)]
                res[(label, busy)] = ts
        for label, _, _ in labels:
            quiet, busy = np.median(res[(label, False)]), np.median(res[(label, True)])
            rows.append({"case": name, "threads": label, "quiet_s": float(quiet), "busy_s": float(busy),
                         "busy/quiet": float(busy / quiet),
                         "quiet range": f"{min(res[(label, False)]):.1f}-{max(res[(label, False)]):.1f}",
                         "busy range": f"{min(res[(label, True)]):.1f}-{max(res[(label, True)]):.1f}"})
        payload[name] = {f"{k[0]}|{'busy' if k[1] else 'quiet'}": v for k, v in res.items()}
    print_table(rows, ["case", "threads", "quiet_s", "busy_s", "busy/quiet", "quiet range", "busy range"])
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "load.json")
    if os.path.exists(path):        # keep the cases not run this time
        import json
        with open(path) as f:
            old = json.load(f)
        rows = [r for r in old.get("rows", []) if r["case"] not in {x["case"] for x in rows}] + rows
        payload = {**old.get("times", {}), **payload}
    write_json("load", {"args": vars(a), "rows": rows, "times": payload})


if __name__ == "__main__":
    main()
