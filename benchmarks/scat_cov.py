"""Scattering-covariance speed: foscat_like vs FOSCAT, same inputs, same run.

    python benchmarks/scat_cov.py [--foscat-python /path/to/venv/bin/python] [--threads 1]
                                  [--cases 2d_128 ...] [--dtypes float32 float64] [--repeat 2]

FOSCAT (pip install foscat, best in its own venv) is looked for in this
interpreter, then --foscat-python / $FOSCAT_PYTHON; absent, its rows are
skipped with a message. Each measurement runs in a fresh child process
(peak RSS is its own). eval+grad = eval with norm='self' and the backward
of the sum of squared coefficients. Both libraries run in float32 and in float64 (FOSCAT:
``all_type``). ``--repeat R`` runs every (case, dtype) R times, the two libraries alternating,
and reports each library's best time with the range of the R speed-ups (the machine is shared:
ratios of runs back to back, not absolute times). Writes benchmarks/results/scat_cov.json.
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


def child(lib: str, case: str, threads: int, dtype: str = "float32") -> None:
    import time

    import numpy as np
    import torch
    torch.set_num_threads(threads)
    from _common import peak_rss_mb, timeit
    dim, shape = CASES[case]
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    t0 = time.perf_counter()
    if lib == "foscat":
        import foscat.scat_cov1D as s1
        import foscat.scat_cov2D as s2
        op = (s2 if dim == 2 else s1).funct(NORIENT=4, all_type=dtype)
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
    tf = timeit(fwd, repeat=7)
    tg = timeit(fwd_grad, repeat=7)
    print(json.dumps({"build_s": build, "eval_s": tf, "eval_grad_s": tg, "n_coeffs": ncoef,
                      "peak_rss_mb": peak_rss_mb()}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--foscat-python", default=os.environ.get("FOSCAT_PYTHON"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--child", nargs=3)
    a = ap.parse_args()
    if a.child:
        return child(a.child[0], a.child[1], a.threads, a.child[2])
    fpy = peer_python("foscat", a.foscat_python, "pip install foscat")
    rows, results = [], {}
    for case in a.cases:
        for dt in a.dtypes:
            runs = {"foscat_like": [], "foscat": []}
            for _ in range(a.repeat):          # alternating, so both see the same machine
                for lib, py in (("foscat_like", sys.executable), ("foscat", fpy)):
                    if py:
                        r = run_child(py, __file__, ["--child", lib, case, dt, "--threads", str(a.threads)])
                        if r:
                            runs[lib].append(r)
            res = {lib: _best(rs) for lib, rs in runs.items()}
            key = f"{case}_{dt}"
            results[key] = res
            rows += compare_rows(key, res, "foscat_like", "foscat",
                                 {"speedup_eval": "eval_s", "speedup_eval_grad": "eval_grad_s"})
            if len(runs["foscat"]) == len(runs["foscat_like"]) > 0 and "eval_grad_s" in runs["foscat"][0]:
                sp = [f["eval_grad_s"] / o["eval_grad_s"] for f, o in zip(runs["foscat"], runs["foscat_like"])]
                res["speedup_eval_grad_range"] = [min(sp), max(sp)]
                rows[-1]["range"] = f"{min(sp):.1f}-{max(sp):.1f}"
    print_table(rows, ["case", "lib", "n_coeffs", "build_s", "eval_s", "eval_grad_s", "peak_rss_mb",
                       "speedup_eval", "speedup_eval_grad", "range", "error"])
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "scat_cov.json")
    if os.path.exists(path):        # keep the cases not run this time
        with open(path) as f:
            results = {**json.load(f).get("results", {}), **results}
    print("wrote", write_json("scat_cov", {"threads": a.threads, "results": results}))


def _best(rs: list) -> dict | None:
    """Fastest of repeated runs (times), the rest from the first."""
    if not rs:
        return None
    if any("error" in r for r in rs):
        return rs[0]
    out = dict(rs[0])
    for k in ("build_s", "eval_s", "eval_grad_s"):
        out[k] = min(r[k] for r in rs)
    return out


if __name__ == "__main__":
    main()
