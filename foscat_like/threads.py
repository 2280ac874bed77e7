"""How many threads torch uses while the optimiser runs (synthesis, separation, reconstruction).

torch's default, one thread per core, makes each of the many small operations of an
evaluation wait for a thread that another process has descheduled: the README's brick
synthesis took 9.6 s on a quiet 2-core machine, 43.8 s with one other busy process and
595 s with two (issue 18). So the optimiser chooses, once per run:

* ``FOSCAT_LIKE_THREADS`` if set (an integer >= 1): the one documented override;
* otherwise the cores not busy with other processes (``/proc/stat`` sampled over 50 ms;
  inside a Dask worker, its own thread budget), and one thread for fields too small to gain
  from more (below ``MIN_VALUES_PER_THREAD`` values per extra thread).

Torch's setting is restored when the run ends. ``parallel_map`` runs independent pieces of
work side by side, one torch thread each, which needs no per-operation synchronisation between
threads; ``side_by_side`` does the same for a differentiable map over batch chunks (a classic
transform's forward and its backward).
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager

import torch
from torch.autograd.function import once_differentiable

MIN_VALUES_PER_THREAD = 1 << 15    # about a 181^2 image or an nside-52 map per extra thread
ENV = "FOSCAT_LIKE_THREADS"


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _proc_stat() -> tuple[float, float] | None:
    try:
        with open("/proc/stat") as f:
            v = [float(t) for t in f.readline().split()[1:]]
    except (OSError, ValueError):  # pragma: no cover - not Linux
        return None
    idle = v[3] + (v[4] if len(v) > 4 else 0.0)
    return sum(v), idle


def free_cores(sample_s: float = 0.05) -> int:
    """Cores of this process's affinity that other processes leave idle (at least 1)."""
    cores = _cores()
    a = _proc_stat()
    time.sleep(sample_s)
    b = _proc_stat()
    if a is None or b is None or b[0] <= a[0]:
        return cores
    busy = 1.0 - (b[1] - a[1]) / (b[0] - a[0])              # fraction of all host cores busy
    host = os.cpu_count() or cores
    return max(1, min(cores, int(round(host * (1.0 - busy)))))


def _dask_budget() -> int | None:
    """Threads of the Dask worker this runs in (so that threads x workers <= cores)."""
    if "distributed" not in sys.modules:      # not imported: not inside a Dask worker
        return None
    try:
        from distributed import get_worker
        return max(1, int(get_worker().state.nthreads))
    except Exception:
        return None


def choose_threads(n_values: int) -> int:
    """Threads for an optimisation over fields of ``n_values`` values in all."""
    env = os.environ.get(ENV)
    if env is not None:
        try:
            n = int(env)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"{ENV} must be an integer >= 1; got {env!r}")
        return n
    useful = max(1, 1 + int(n_values) // MIN_VALUES_PER_THREAD)
    if useful == 1:
        return 1
    budget = _dask_budget()
    return max(1, min(useful, budget if budget is not None else free_cores()))


def parallel_map(fn, items: list, n: int) -> list:
    """``[fn(i) for i in items]`` on ``n`` Python threads, each running torch on one thread:
    whole work items run side by side (inter-op parallelism) instead of every small operation
    being split and synchronised across threads. torch's thread count is restored after.
    Autograd graphs recorded in ``fn`` stay usable (``side_by_side`` runs their backwards the
    same way)."""
    if n <= 1 or len(items) <= 1:
        return [fn(i) for i in items]
    from concurrent.futures import ThreadPoolExecutor
    before = torch.get_num_threads()

    def run(item):
        torch.set_num_threads(1)             # this worker's torch (and MKL) threads
        return fn(item)
    try:
        with ThreadPoolExecutor(min(n, len(items))) as pool:
            return list(pool.map(run, items))
    finally:
        torch.set_num_threads(before)


@contextmanager
def torch_threads(n: int):
    """Run the block with ``torch.set_num_threads(n)``; restore the previous count after."""
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _as_tuple(y) -> tuple[torch.Tensor, ...]:
    return tuple(y) if isinstance(y, (list, tuple)) else (y,)


def cat_chunks(parts: list):
    """Outputs of the chunks (each a tensor or a list of tensors) concatenated on dim 0, in
    the same form."""
    if isinstance(parts[0], (list, tuple)):
        return [torch.cat(p) for p in zip(*parts)]
    return torch.cat(parts)


class _SideBySide(torch.autograd.Function):
    """``fn`` over batch chunks of ``x`` on parallel threads, forward and backward: each chunk
    records its own graph in its worker (one torch thread each), and the backward runs the
    chunks' backwards side by side (once differentiable, as the transforms' own operations)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, fn, size: int, n: int):
        def record(item):
            with torch.enable_grad():
                leaf = item.detach().requires_grad_()
                return leaf, _as_tuple(fn(leaf))
        graphs = parallel_map(record, list(x.split(size)), n)
        ctx.graphs, ctx.size, ctx.n = graphs, size, n
        return tuple(torch.cat([g[1][k].detach() for g in graphs]) for k in range(len(graphs[0][1])))

    @staticmethod
    @once_differentiable
    def backward(ctx, *grads):
        pieces = [tuple(g.split(ctx.size) if g is not None else [None] * len(ctx.graphs)) for g in grads]

        def run(i):
            leaf, ys = ctx.graphs[i]
            pairs = [(y, p[i]) for y, p in zip(ys, pieces) if p[i] is not None and y.requires_grad]
            if not pairs:
                return torch.zeros_like(leaf)
            g, = torch.autograd.grad([p[0] for p in pairs], leaf, [p[1] for p in pairs], allow_unused=True,
                                     retain_graph=True)        # freed with this node (retain_graph)
            return torch.zeros_like(leaf) if g is None else g
        gx = torch.cat(parallel_map(run, list(range(len(ctx.graphs))), ctx.n))
        return gx, None, None, None


def side_by_side(fn, x: torch.Tensor, size: int, n: int):
    """``fn`` applied to ``x.split(size)`` (dim 0) on ``n`` threads, outputs concatenated on
    dim 0; differentiable in ``x`` (each chunk's graph recorded and run back in its own worker).
    ``fn`` returns a tensor ``(chunk, ...)`` or a list of them; so does this."""
    if not (torch.is_grad_enabled() and x.requires_grad):
        return cat_chunks(parallel_map(fn, list(x.split(size)), n))
    probe = {}

    def call(item):
        y = fn(item)
        probe["list"] = isinstance(y, (list, tuple))
        return _as_tuple(y)
    out = _SideBySide.apply(x, call, size, n)
    return list(out) if probe["list"] else out[0]
