"""The optimiser picks torch's threads itself (problem size, free cores, Dask budget); the one
override is FOSCAT_LIKE_THREADS; torch's setting is restored afterwards."""
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
