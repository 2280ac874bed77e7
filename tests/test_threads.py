"""The optimiser picks torch's threads itself (problem size, free cores, Dask budget); the one
override is FOSCAT_LIKE_THREADS; torch's setting is restored afterwards."""
import os
import subprocess
import sys

import pytest
import torch

from foscat_like.lbfgs import minimize
from foscat_like.threads import ENV, MIN_VALUES_PER_THREAD, choose_threads, free_cores


def _threads_seen(x0, **kw):
    seen = []

    def loss(x):
        seen.append(torch.get_num_threads())
        return (x * x).sum()
    minimize(loss, x0, 3, **kw)
    return seen


def test_small_problems_run_on_one_thread_and_torch_is_restored(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    before = torch.get_num_threads()
    seen = _threads_seen(torch.ones(64, dtype=torch.float64))
    assert set(seen) == {1} and torch.get_num_threads() == before
    assert choose_threads(10) == 1
    assert free_cores() >= 1


def test_large_problems_take_the_free_cores_or_the_dask_budget(monkeypatch):
    import foscat_like.threads as th
    monkeypatch.delenv(ENV, raising=False)
    big = 64 * MIN_VALUES_PER_THREAD
    monkeypatch.setattr(th, "free_cores", lambda: 2)
    assert choose_threads(big) == 2 and choose_threads(MIN_VALUES_PER_THREAD) == 2
    assert choose_threads(MIN_VALUES_PER_THREAD - 1) == 1          # too small to gain
    monkeypatch.setattr(th, "free_cores", lambda: 1)                # another process holds a core
    assert choose_threads(big) == 1
    monkeypatch.setattr(th, "free_cores", lambda: 8)
    monkeypatch.setattr(th, "_dask_budget", lambda: 1)              # a 1-thread Dask worker
    assert choose_threads(big) == 1


def test_the_environment_setting_overrides_and_is_checked(monkeypatch):
    monkeypatch.setenv(ENV, "2")
    assert set(_threads_seen(torch.ones(8, dtype=torch.float64))) == {2}
    assert set(_threads_seen(torch.ones(8, dtype=torch.float64), threads=1)) == {1}
    for bad in ("0", "two"):
        monkeypatch.setenv(ENV, bad)
        with pytest.raises(ValueError, match="FOSCAT_LIKE_THREADS must be an integer >= 1"):
            choose_threads(100)


# ---- foscat_like.heap: freed memory stays mapped, so repeated evaluations take no page faults

_FAULTS = r"""
import resource, sys, numpy as np, torch
torch.set_num_threads(1)
import foscat_like as fl
op = fl.funct(NORIENT=4, grid="2d")
x = np.random.default_rng(0).standard_normal((128, 128))
def f():
    s = op.eval(torch.tensor(x, requires_grad=True), norm="self")
    sum((getattr(s, k).abs() ** 2).sum() for k in ("S1", "S2", "S3", "S4")).backward()
for _ in range(3):
    f()
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    f()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0) / 10)
"""


def _faults_per_call(setting: str) -> float:
    env = dict(os.environ, FOSCAT_LIKE_MALLOC=setting)
    out = subprocess.run([sys.executable, "-c", _FAULTS], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc only")
def test_kept_heap_removes_the_page_faults_of_repeated_evaluations():
    from foscat_like.heap import _glibc
    if _glibc() is None:
        pytest.skip("not glibc")
    kept = min(_faults_per_call("1") for _ in range(2))
    alone = max(_faults_per_call("0") for _ in range(2))
    # measured: 0-102 a call kept, 470-1065 with malloc left alone (128² float64 eval+grad,
    # 40 MB of temporaries); either varies from process to process, hence two of each
    assert kept < 150 and alone > 300, (kept, alone)


def test_the_malloc_setting_is_checked_and_can_be_switched_off(monkeypatch):
    from foscat_like import heap
    monkeypatch.setenv(heap.ENV, "0")
    assert heap.keep_freed_memory() is False
    monkeypatch.setenv(heap.ENV, "yes")
    with pytest.raises(ValueError, match="FOSCAT_LIKE_MALLOC must be 0"):
        heap.keep_freed_memory()
    monkeypatch.delenv(heap.ENV)
    assert heap.keep_freed_memory() is (heap._glibc() is not None)


_ARENAS = r"""
import ctypes, sys, tempfile, torch
from foscat_like.threads import parallel_map
import foscat_like.heap as heap
heap.keep_freed_memory()
parallel_map(lambda i: torch.randn(1 << 20).sum(), list(range(4)), 2)   # allocations on worker threads
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
path = tempfile.mktemp()
fp = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(fp))
libc.fclose(ctypes.c_void_p(fp))
print(open(path).read().count("<heap nr="))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc only")
def test_worker_threads_allocate_from_the_one_main_heap():
    """Worker threads (side-by-side chunks) share glibc's main heap: their own arenas were
    unmapped as they emptied and cost tens of thousands of page faults a call."""
    from foscat_like.heap import _glibc
    if _glibc() is None:
        pytest.skip("not glibc")
    heaps = {}
    for setting in ("1", "0"):
        env = dict(os.environ, FOSCAT_LIKE_MALLOC=setting)
        out = subprocess.run([sys.executable, "-c", _ARENAS], env=env, capture_output=True, text=True, check=True)
        heaps[setting] = int(out.stdout.split()[-1])
    assert heaps["1"] == 1 and heaps["0"] > 1, heaps
