"""The library's compiled CPU loops (numba), shared plumbing: whether they can run, and how a
call is split over threads.

The loops themselves live beside their users (``healpix/_jit.py``, ``stats/_gram_jit.py``) and
are imported on first use, so that only a process that runs them pays numba's import (~0.4-0.7 s)
and its cache load. Where numba is missing or its loops cannot load, the callers keep their
torch paths (which CUDA tensors always take)."""
from __future__ import annotations

import importlib
import importlib.util

import torch


def available(module: str) -> bool:
    """Whether the compiled loops of ``module`` (a dotted name) can run: numba is installed and the
    module loads (with numba's compiled cache beside it or in the user's cache directory)."""
    if importlib.util.find_spec("numba") is None:
        return False
    try:
        importlib.import_module(module)
    except Exception:                    # pragma: no cover - an environment numba cannot serve
        return False
    return True


def n_threads(work: int, items: int, min_work: int) -> int:
    """Threads for a call of ``work`` units over ``items`` separable items: torch's count (the
    library's choice, or 1 inside a worker), one per ``min_work`` units at most (a pool's start
    and torch's idle threads cost more than small work saves), at most one per item."""
    return max(1, min(torch.get_num_threads(), work // max(min_work, 1) + 1, items))


def split(run, n: int, count: int) -> None:
    """``run(i, j0, j1)`` for ``n`` contiguous ranges ``i`` of ``range(count)``, side by side (the
    loops release the GIL)."""
    edges = [count * i // n for i in range(n + 1)]
    if n <= 1:
        run(0, 0, count)
        return
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(lambda i: run(i, edges[i], edges[i + 1]), range(n)))
