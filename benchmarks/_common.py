"""Shared helpers for the benchmark scripts: timing, peak memory in a child process, tables."""
from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def timeit(fn, repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_child(python: str, script: str, args: list[str], timeout: float = 900) -> dict | None:
    """Run ``python script args`` and parse the JSON it prints on its last line."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        r = subprocess.run([python, script] + args, capture_output=True, text=True,
                           timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout}s"}
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def print_table(rows: list[dict], cols: list[str]) -> None:
    widths = [max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in cols]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).ljust(w) for c, w in zip(cols, widths)))


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def write_json(name: str, payload: dict) -> str:
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    payload = dict(payload, machine={"cpus": os.cpu_count(), "python": platform.python_version(),
                                     "platform": platform.platform()})
    path = os.path.join(HERE, "results", name + ".json")
    with open(path, "w") as f:
        json.dump(payload, f, indent=1)
    return path


def find_python_with(module: str, candidates: list[str]) -> str | None:
    """First interpreter among ``candidates`` (and this one) that can import ``module``."""
    for py in [sys.executable] + [c for c in candidates if c]:
        if py and os.path.exists(py):
            ok = subprocess.run([py, "-c", f"import scipy.special as s; s.sph_harm=getattr(s,'sph_harm',None); import {module}"],
                                capture_output=True).returncode == 0
            if ok:
                return py
    return None


def peer_python(module: str, hint: str | None, install: str) -> str | None:
    """Interpreter that has the peer ``module``, or None with a message saying its rows are skipped."""
    py = find_python_with(module, [hint])
    if py is None:
        print(f"{module} not found ({install}, or pass its interpreter): its rows are skipped.")
    return py


def compare_rows(case: str, results: dict, ours: str, peer: str, speedups: dict) -> list[dict]:
    """Table rows for one case; ``speedups = {column: measured key}`` gives peer / ours ratios."""
    rows = []
    for lib, r in results.items():
        if r is None:
            continue
        row = {"case": case, "lib": lib, **r}
        mine = results.get(ours) or {}
        if lib == peer:
            for col, key in speedups.items():
                if key in r and key in mine:
                    row[col] = r[key] / mine[key]
        rows.append(row)
    return rows
