"""``foscat_like.heap``: large CPU arrays in numpy memory (huge pages), small ones from torch."""
import numpy as np
import pytest
import torch

from foscat_like import heap


@pytest.mark.parametrize("zero", [False, True])
def test_large_arrays_come_from_numpy_small_ones_from_torch(zero, monkeypatch):
    calls = []
    real = np.zeros if zero else np.empty
    monkeypatch.setattr(heap.np, "zeros" if zero else "empty", lambda *a, **k: calls.append(a) or real(*a, **k))
    small = heap.empty((4, 5), torch.float32, zero=zero)
    assert not calls and small.shape == (4, 5) and small.dtype == torch.float32
    monkeypatch.setattr(heap, "MMAP_BYTES", 79)               # 4 * 5 float32 = 80 bytes: above
    big = heap.empty((4, 5), torch.float64, zero=zero)
    assert len(calls) == 1 and big.shape == (4, 5) and big.dtype == torch.float64
    if zero:
        assert (big == 0).all() and (small == 0).all()
    big.fill_(2.0)                                            # writable, shared with the numpy array
    assert big.sum() == 40


def test_contiguous_copies_only_strided_tensors(monkeypatch):
    monkeypatch.setattr(heap, "MMAP_BYTES", 0)
    t = torch.arange(12.0).reshape(3, 4)
    assert heap.contiguous(t) is t
    c = heap.contiguous(t.t())
    assert c.is_contiguous() and torch.equal(c, t.t())


def test_dtypes_numpy_lacks_stay_in_torch_memory(monkeypatch):
    monkeypatch.setattr(heap, "MMAP_BYTES", 0)
    t = heap.empty((3, 4), torch.bfloat16, zero=True)
    assert t.dtype == torch.bfloat16 and (t == 0).all()
