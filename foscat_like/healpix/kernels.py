"""Compiled CPU kernels of the gathered HEALPix stencil (``stencil.Stencil``), with numba
(the loops: ``_jit.py``, imported on first use).

The operator is ``y[m, r, p] = sum_k w[g(p), r, k] x[m, index[p, k]]`` (``g(p)`` the pixel's
weight row, shared by the ``T`` quarter turns) and its adjoint. torch runs it as a gather, one
tiny matrix product per pixel (``(R, K) @ (K, T M)``: 8 x 9 x 4 for one map) and layout copies;
its batched product handles such matrices one at a time (~0.3 us each). Here it is one pass:
pixels are taken ``BLOCK`` at a time and every inner loop runs over the block's pixels, whose
weights, indices, inputs and outputs are contiguous, so the compiler vectorises it. Measured
(1 thread, float32, nside 128, one map): forward 4 ms and adjoint 4 ms against 18-30 ms and
23-34 ms for the torch path.

Layouts (``blocked_vals``, ``blocked_index``): weights ``(A nb, R, K, BLOCK)`` and indices ``(A T nb, K, BLOCK)``,
``nb = ceil(Q / BLOCK)`` blocks per base-pixel row; a row's last block is padded (weight 0,
index 0). Weights laid out pixel-last but unblocked put the ``R K`` rows a multiple of 4 kB
apart at every nside, so they all land in the same cache sets: measured 2-3x slower.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import heap, jit

BLOCK = 256          # pixels per block: the loops' trip count (vectorised loops want >= 64)
# Large outputs and input copies come from ``heap.empty`` (numpy memory, huge pages: 560 page
# faults instead of 24,600 for a 100 MB output).
MIN_THREAD_VALUES = 1 << 22     # values (of y) per extra thread: smaller calls run on one, where
                                # a pool's start and torch's idle threads cost more than they save


def available() -> bool:
    """Whether the compiled kernels can run (``jit.available``): called when stencils are built;
    where it fails (no numba, no writable cache location) the torch path runs instead."""
    return jit.available("foscat_like.healpix._jit")


def blocked_index(index: np.ndarray, A: int, T: int, Q: int) -> np.ndarray:
    """``index (A T Q, K)`` -> ``(A T nb, K, BLOCK)``."""
    return _blocks(index.reshape(A * T, Q, -1)).reshape(-1, index.shape[1], BLOCK)


def blocked_vals(vals: np.ndarray, A: int, Q: int) -> np.ndarray:
    """``vals (A Q, R, K)`` -> ``(A nb, R, K, BLOCK)``, written once (no padded or transposed
    intermediate). The grid writes its weights this way chunk by chunk instead (``put_rows``)."""
    return _blocks(vals.reshape(A, Q, *vals.shape[1:])).reshape(-1, *vals.shape[1:], BLOCK)


def blocked_zeros(A: int, Q: int, F: tuple[int, ...], dtype) -> np.ndarray:
    """The blocked layout ``(A nb, *F, BLOCK)`` of ``A Q`` rows of shape ``F``, zeros: filled chunk by
    chunk with ``put_rows`` (the weights are then never held in both layouts at once)."""
    return np.zeros((A * -(-Q // BLOCK),) + tuple(F) + (BLOCK,), dtype=dtype)


def put_rows(dst: np.ndarray, rows: np.ndarray, start: int, Q: int) -> None:
    """Write ``rows (c, *F)``, rows ``start .. start + c - 1`` of the ``A Q``, into ``dst``
    (``blocked_zeros``)."""
    g = np.arange(start, start + rows.shape[0])
    a, i = np.divmod(g, Q)
    nb = -(-Q // BLOCK)
    np.moveaxis(dst, -1, 1)[a * nb + i // BLOCK, i % BLOCK] = rows


def _blocks(a: np.ndarray) -> np.ndarray:
    """``a (rows, Q, *F)`` -> ``(rows, nb, *F, BLOCK)``, the last block of each row zero-padded."""
    rows, Q, F = a.shape[0], a.shape[1], a.shape[2:]
    nb, full = -(-Q // BLOCK), Q // BLOCK
    out = np.zeros((rows, nb) + F + (BLOCK,), dtype=a.dtype)
    move = lambda v: np.moveaxis(v, 2, -1)             # (rows, blocks, BLOCK, *F) -> (..., *F, BLOCK)
    out[:, :full] = move(a[:, :full * BLOCK].reshape((rows, full, BLOCK) + F))
    if full < nb:
        out[:, full, ..., :Q - full * BLOCK] = np.moveaxis(a[:, full * BLOCK:], 1, -1)
    return out


def unblocked(indexB: torch.Tensor, valsB: torch.Tensor, A: int, T: int, Q: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The inverse of ``blocked``: ``(A T Q, K)`` and ``(A Q, R, K)`` (for the torch path)."""
    K, R = indexB.shape[1], valsB.shape[1]
    idx = indexB.transpose(1, 2).reshape(A * T, -1, K)[:, :Q].reshape(A * T * Q, K)
    w = valsB.permute(0, 3, 1, 2).reshape(A, -1, R, K)[:, :Q].reshape(A * Q, R, K)
    return idx.contiguous(), w.contiguous()


def _threads(values: int, blocks: int) -> int:
    """Threads for a call (``jit.n_threads``): one per ``MIN_THREAD_VALUES`` output values."""
    return jit.n_threads(values, blocks, MIN_THREAD_VALUES)


def forward(x: torch.Tensor, indexB: torch.Tensor, valsB: torch.Tensor, T: int, Q: int,
            r0: int = 0, R: int | None = None) -> torch.Tensor:
    """``x (M, n)`` -> ``y (M, R, n)`` (CPU tensors; ``n = A T Q``) with the weight rows
    ``r0 .. r0 + R - 1`` of ``valsB`` (default: all)."""
    M, n = x.shape
    R, blocks = valsB.shape[1] - r0 if R is None else R, valsB.shape[0]
    xn = heap.contiguous(x.detach()).numpy()
    out = heap.empty((M, R, n), x.dtype)
    on, ib, vb = out.numpy(), indexB.numpy(), valsB.numpy()
    from ._jit import _forward
    jit.split(lambda i, j0, j1: _forward(xn, ib, vb, r0, R, T, Q, j0, j1, on), _threads(M * R * n, blocks), blocks)
    return out


def adjoint(y: torch.Tensor, indexB: torch.Tensor, valsB: torch.Tensor, T: int, Q: int,
            r0: int = 0, R: int | None = None) -> torch.Tensor:
    """``y (M, R, n)`` (any strides, or any shape of ``M R n`` values in that order: the gradient
    of a view of ``forward``'s output) -> ``x (M, n)``, the exact transpose of ``forward``. Threads
    take separate fields (their scatters never meet; one field runs on one thread)."""
    R, blocks, n = valsB.shape[1] - r0 if R is None else R, valsB.shape[0], y.shape[-1]
    M = y.numel() // (R * n)
    yn = heap.contiguous(y.detach()).numpy().reshape(M, R, n)
    out = heap.empty((M, n), y.dtype, zero=True)
    on, ib, vb = out.numpy(), indexB.numpy(), valsB.numpy()
    from ._jit import _adjoint
    jit.split(lambda i, m0, m1: _adjoint(yn[m0:m1], ib, vb, r0, R, T, Q, 0, blocks, on[m0:m1]),
           min(M, _threads(M * R * n, blocks)), M)
    return out
