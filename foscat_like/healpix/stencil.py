"""Stencil operators on HEALPix as CSR matrices, written directly from the stencil arrays.

A stencil operator maps a field ``x (n,)`` to ``R`` fields ``y[r, p] = sum_k vals[r, p, k]
x[index[p, k]]`` (``R = 2 L`` for the wavelets' real and imaginary parts, 1 for smoothing).
Every row has exactly ``K`` slots (missing ones point at the pixel itself with weight 0),
so the row pointers are multiples of ``K`` and nothing is sorted. The transpose, needed by
the hand-written backward, uses the symmetry of the neighbour relation: ``q`` is in the
stencil of ``p`` exactly when ``p`` is in the stencil of ``q``, so row ``q`` of ``A^T``
reads ``vals[r, index[q, k], rev[q, k]]`` where ``rev`` is ``q``'s slot in its neighbour's
stencil. No scipy conversion, no COO triplets: the build costs a few passes over
``(R, n, K)`` arrays and its peak is the operators themselves.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

CHUNK = 1 << 16


def reverse_slots(index: np.ndarray, valid: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray | None:
    """``rev (n, K)``: for each valid slot ``k`` of pixel ``q``, the slot of ``q`` in the stencil
    of ``p = index[q, k]`` (0 for missing slots); ``None`` if some ``p`` does not list ``q``.
    ``rows``: only these pixels (``(len(rows), K)``)."""
    rows = np.arange(index.shape[0]) if rows is None else rows
    rev = np.zeros((rows.size, index.shape[1]), dtype=np.int64)
    for s in range(0, rows.size, CHUNK):
        q = rows[s:s + CHUNK]
        back = (index[index[q]] == q[:, None, None]) & valid[index[q]]      # (c, K, K)
        found = back.any(-1) | ~valid[q]
        if not found.all():
            return None
        rev[s:s + q.size] = np.where(valid[q], back.argmax(-1), 0)
    return rev


def _torch_csr(crow: np.ndarray, col: np.ndarray, val: np.ndarray, shape, dtype) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(torch.from_numpy(crow), torch.from_numpy(col),
                                       torch.from_numpy(val).to(dtype), size=shape)


def _itype(nnz: int):
    return np.int32 if nnz < 2 ** 31 else np.int64


def stencil_csr(index: np.ndarray, valid: np.ndarray, vals: np.ndarray, dtype: torch.dtype,
                rev: np.ndarray | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``A (R n, n)`` with ``A[r n + p, index[p, k]] = vals[r, p, k]`` and its transpose ``(n, R n)``.

    index, valid : ``(n, K)`` local indices (missing slots: the pixel itself, ``valid`` False);
    vals : ``(R, n, K)`` weights, zero on missing slots; rev : ``reverse_slots`` (computed if
    ``None``). A neighbour relation that is not symmetric falls back to scipy's transpose.
    """
    R, n, K = vals.shape
    vals = vals.astype(torch.empty((), dtype=dtype).numpy().dtype, copy=False)
    nnz = R * n * K
    it = _itype(nnz)
    crow = np.arange(0, nnz + 1, K, dtype=it)
    col = np.broadcast_to(index.astype(it), (R, n, K)).reshape(-1)
    A = _torch_csr(crow, np.ascontiguousarray(col), vals.reshape(-1), (R * n, n), dtype)
    if rev is None:
        rev = reverse_slots(index, valid)
    if rev is None:
        import scipy.sparse as sp
        mt = sp.csr_matrix((vals.reshape(-1), col, crow), shape=(R * n, n)).T.tocsr()
        At = _torch_csr(mt.indptr.astype(it), mt.indices.astype(it), mt.data, (n, R * n), dtype)
        return A, At
    # row q of A^T: for r, k -> column r n + index[q, k], value vals[r, index[q, k], rev[q, k]]
    colt = (np.arange(R, dtype=it)[None, :, None] * n + index.astype(it)[:, None, :]).reshape(-1)
    del col
    valt = np.empty((n, R, K), dtype=vals.dtype)
    flat_vals = vals.reshape(R, n * K)
    for s in range(0, n, CHUNK):              # chunks: no full-size temporary
        q = slice(s, min(n, s + CHUNK))
        # a missing slot of q points at q itself: no entry (weight 0)
        part = np.take(flat_vals, index[q] * K + rev[q], axis=1) * valid[q]   # (R, c, K)
        valt[q] = part.transpose(1, 0, 2)
    valt = valt.reshape(-1)
    At = _torch_csr(np.arange(0, nnz + 1, R * K, dtype=it), colt, valt, (n, R * n), dtype)
    return A, At
