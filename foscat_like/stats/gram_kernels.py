"""The Gram products of ``stats.spectral`` as compiled CPU loops (numba; ``_gram_jit.py``).

``G[b, c, l, r1, r2] = sum_k W_c[l, k] X_c[b, r1, k] Z2[b, r2, k]`` (``X_0 = Z1``,
``X_1 = rot(Z1)``) and its adjoint. torch forms them as one matrix product over the ``2 L R1``
weighted copies of the rows (``spectral._left``): at the 128² level 0 that is 4 MB (float64) written
and read again per product, which is what bounds it. Here each chunk of ``k`` is weighted on the
fly in a 2 kB buffer and multiplied in cache, and an auto Gram (``Z2 is Z1``) forms only its upper
triangle (the real part is symmetric, the imaginary one antisymmetric). Measured (1 thread, the
two routes alternating in one process, ``benchmarks/gram.py``, ``results/gram_kernels.json``): the
level-0 product 2.2x faster, with its backward 1.4-2.1x; a whole eval+grad 1.10-1.28x (128² and
256², float32 and float64)."""
from __future__ import annotations

import numpy as np
import torch

from .. import heap, jit

CHUNK_BYTES = 2048        # per row and chunk of k: measured 2-4 kB best (256-1024 float64 values)


MIN_K = 1024      # coefficients per row from which the loops serve a level: below, the two routes
                  # measured alike (the 128² levels 3-4, 288 and 80 coefficients: 0.94-1.0x) and a
                  # small field does not pay numba's import (~0.4 s a process, ~2 s to compile once)


def usable(Z: torch.Tensor) -> bool:
    """Whether the compiled loops serve the rows ``Z (..., K)``: a float32/float64 CPU tensor with
    ``K >= MIN_K``, torch on one thread, numba available. With torch on two threads its matrix
    product uses both and measured faster (256² eval+grad: the loops 0.87-0.92x on one thread,
    0.52-0.73x split over two, where torch's idle workers compete with them; the same rule as
    ducc0's FFTs, ``fft._single_thread``). The library runs small fields on one thread."""
    return (Z.device.type == "cpu" and Z.dtype in (torch.float32, torch.float64)
            and Z.shape[-1] >= MIN_K and torch.get_num_threads() == 1
            and jit.available("foscat_like.stats._gram_jit"))


def _np(t: torch.Tensor) -> np.ndarray:
    return heap.contiguous(t.detach()).numpy()


def gram(Z1: torch.Tensor, rZ1: torch.Tensor, Z2: torch.Tensor, w_re: torch.Tensor,
         w_im: torch.Tensor, same: bool) -> torch.Tensor:
    """``G (B, 2, L, R1, R2)`` from ``Z1, rZ1 = rot(Z1) (B, R1, K)``, ``Z2 (B, R2, K)`` and the
    weights ``w_re, w_im (L, K)``; ``same``: ``Z2`` is ``Z1`` (half the work)."""
    from ._gram_jit import _forward, _symmetrize
    B, R1, K = Z1.shape
    R2, L = Z2.shape[1], w_re.shape[0]
    a = [_np(t) for t in (Z1, rZ1, Z2, w_re, w_im)]
    G = np.zeros((B, 2, L, R1, R2), dtype=a[0].dtype)
    _forward(*a, same, max(2, CHUNK_BYTES // a[0].itemsize), 0, 2 * L, G)
    if same:
        _symmetrize(G)
    return torch.from_numpy(G)


def apply(T: torch.Tensor, Y: torch.Tensor, rY: torch.Tensor, w_re: torch.Tensor,
          w_im: torch.Tensor) -> torch.Tensor:
    """``out (B, R, K)``, ``out[b, r] = sum_{c, l, q} T[b, r, c, l, q] W_c[l] Y_c[b, q]`` from
    ``T (B, R, 2, L, Q)``, ``Y, rY = rot(Y) (B, Q, K)`` (the adjoint of ``gram``)."""
    from ._gram_jit import _apply
    B, R = T.shape[:2]
    K = Y.shape[-1]
    a = [_np(t) for t in (T, Y, rY, w_re, w_im)]
    out = heap.empty((B, R, K), Y.dtype)
    on = out.numpy()
    _apply(*a, max(2, CHUNK_BYTES // a[1].itemsize), 0, R, on)
    return out
