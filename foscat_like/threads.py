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
work (the batch chunks of a classic transform's plain forward) side by side, one torch thread
each, which needs no per-operation synchronisation between threads.
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager

import torch

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
    being split and synchronised across threads. torch's thread count is restored after. For
    work that records no autograd graph (the graph of one backward is not split)."""
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
