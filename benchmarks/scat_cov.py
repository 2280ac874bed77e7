"""Scattering-covariance speed: foscat_like vs FOSCAT, same inputs, same run.

    python benchmarks/scat_cov.py [--foscat-python /path/to/venv/bin/python] [--threads 1]

FOSCAT (pip install foscat, best in its own venv) is looked for in this
interpreter, then --foscat-python / $FOSCAT_PYTHON; absent, its rows are
skipped with a message. Each measurement runs in a fresh child process
(peak RSS is its own). eval+grad = eval with norm='self' and the backward
of the sum of squared coefficients. Writes benchmarks/results/scat_cov.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import compare_rows, peer_python, print_table, run_child, write_json  # noqa: E402

CASES = {"2d_128": (2, (128, 128)), "2d_256": (2, (256, 256)),
         "1d_4096": (1, (4096,)), "1d_65536": (1, (65536,))}


def child(lib: str, case: str, threads: int) -> None:
    import time

    import numpy as np
    import torch
    torch.set_num_threads(threads)
    from _common import peak_rss_mb, timeit
    dim, shape = CASES[case]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    t0 = time.perf_counter()
    if lib == "foscat":
        import foscat.scat_cov1D as s1
        import foscat.scat_cov2D as s2
        op = (s2 if dim == 2 else s1).funct(NORIENT=4)
        fields = ("S1", "S2", "S3", "S4")
    else:
        import foscat_like as fl
        op = fl.funct(NORIENT=4, grid=f"{dim}d")
        fields = ("S1", "S2", "S3", "S4")
        # same number of scales as FOSCAT where the grid allows it (2D: log2(N) - 2)
        J = min(op.grid.max_scales(shape), int(np.log2(shape[0])) - (2 if dim == 2 else 1))
        op_eval = op.eval
        op.eval = lambda *a, **k: op_eval(*a, Jmax=J, **k)
    build = time.perf_counter() - t0
    st = op.eval(x)
    ncoef = sum(int(np.prod(getattr(st, f).shape)) for f in fields)

    def fwd():
        op.eval(x)

    def fwd_grad():
        xt = torch.tensor(x, requires_grad=True)
        s = op.eval(xt, norm="self")
        loss = sum((getattr(s, f).abs() ** 2).sum() for f in fields)
        loss.backward()
    tf = timeit(fwd, repeat=5)
    tg = timeit(fwd_grad, repeat=5)
    print(json.dumps({"build_s": build, "eval_s": tf, "eval_grad_s": tg, "n_coeffs": ncoef,
                      "peak_rss_mb": peak_rss_mb()}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--foscat-python", default=os.environ.get("FOSCAT_PYTHON"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--child", nargs=2)
    a = ap.parse_args()
    if a.child:
        return child(a.child[0], a.child[1], a.threads)
    fpy = peer_python("foscat", a.foscat_python, "pip install foscat")
    rows, results = [], {}
    for case in CASES:
        ours = run_child(sys.executable, __file__, ["--child", "foscat_like", case, "--threads", str(a.threads)])
        fos = run_child(fpy, __file__, ["--child", "foscat", case, "--threads", str(a.threads)]) if fpy else None
        results[case] = {"foscat_like": ours, "foscat": fos}
        rows += compare_rows(case, results[case], "foscat_like", "foscat",
                             {"speedup_eval": "eval_s", "speedup_eval_grad": "eval_grad_s"})
    print_table(rows, ["case", "lib", "n_coeffs", "build_s", "eval_s", "eval_grad_s", "peak_rss_mb",
                       "speedup_eval", "speedup_eval_grad", "error"])
    print("wrote", write_json("scat_cov", {"threads": a.threads, "results": results}))


if __name__ == "__main__":
    main()
