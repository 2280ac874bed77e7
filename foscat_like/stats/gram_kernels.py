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


MIN_FIELD_K = 1 << 14   # coefficients of the field's finest level from which its statistics use the
                        # loops at all: a process's first use costs ~0.45 s (numba's import and its
                        # cached loops' load), which the 64² products' gain (eval+grad 1.07x, 32²
                        # 1.01x; 128² 1.15x, paired) does not repay in a synthesis (~400 evaluations)


def usable(Z: torch.Tensor, finest: int | None = None) -> bool:
    """Whether the compiled loops serve the rows ``Z (..., K)`` of a field whose finest level has
    ``finest`` coefficients (default ``K``): a float32/float64 CPU tensor with ``K >= MIN_K`` and
    ``finest >= MIN_FIELD_K``, torch on one thread, numba available. With torch on two threads its matrix
    product uses both and measured faster (256² eval+grad: the loops 0.87-0.92x on one thread,
    0.52-0.73x split over two, where torch's idle workers compete with them; the same rule as
    ducc0's FFTs, ``fft._single_thread``). The library runs small fields on one thread."""
    finest = Z.shape[-1] if finest is None else finest
    return (Z.device.type == "cpu" and Z.dtype in (torch.float32, torch.float64)
            and Z.shape[-1] >= MIN_K and finest >= MIN_FIELD_K and torch.get_num_threads() == 1
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


# ---- the pixel route's level products (``compute.moments``) ---------------------------------
STAGE_VALUES = 1 << 20     # the backward's rows, staged per chunk of pixels (values, all rows)
LEVEL_THREAD_WORK = 1 << 24    # the forward's multiply-adds per extra thread
MIN_PIXELS = 1 << 19      # pixels a level from which ``level_gram`` serves it: below, the whole
                          # eval+grad measured 0.88-0.96x (HEALPix nside 32-128, planar 64²-256² masked)
MAX_ROWS = 12             # rows a level up to which it serves it: the forward's X^2 / 2 multiply-adds
                          # a pixel are memory-bound for the first level (X = 10), compute-bound beyond,
                          # where BLAS is faster (nside 512 with level 1, X = 18, too: 0.75-1.16x)


def usable_pixels(F: torch.Tensor, W: torch.Tensor) -> bool:
    """Whether ``level_gram`` serves the level ``F (..., P)``, ``W (B, n, ...)``: float32/float64
    CPU fields with ``P >= MIN_PIXELS`` and ``2 (1 + n) <= MAX_ROWS`` rows, numba available."""
    return (F.device.type == "cpu" and F.dtype in (torch.float32, torch.float64)
            and F.shape[-1] >= MIN_PIXELS and 2 * (1 + W.shape[1]) <= MAX_ROWS
            and jit.available("foscat_like.stats._gram_jit"))


def level_gram(F: torch.Tensor, W: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    """``wmean_prod(r, r, w)`` of the rows ``r = product_rows(F, W)``, without keeping ``r``:
    ``F (B, 2, L3, P)``, ``W (B, n, 2, L3, P)`` (any strides, pixels contiguous), ``w (K, P)`` or
    ``None`` (the mean) -> ``(B, K, L3, X, X)``, ``X = 2 (1 + n)``. The forward reads the rows in
    place (compiled, half the Gram, sums in float64); the backward stages them chunk by chunk
    for torch's matrix product (``X^2`` multiply-adds a pixel, which BLAS runs fastest)."""
    return _LevelGram.apply(F, W, w)


def _rows(t: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``t (..., P)`` with contiguous rows as its flat storage ``(N,)`` and its rows' offsets
    ``(...)`` int64."""
    t = t.detach()
    if t.stride(-1) != 1:
        t = heap.contiguous(t)
    st = t.untyped_storage()
    base = torch.empty(0, dtype=t.dtype).set_(st, 0, (st.nbytes() // t.element_size(),), (1,))
    idx = np.indices(t.shape[:-1], dtype=np.int64)
    off = t.storage_offset() + sum(i * s for i, s in zip(idx, t.stride()[:-1]))
    return base.numpy(), np.asarray(off, dtype=np.int64)


class _LevelGram(torch.autograd.Function):
    """``level_gram``. Backward: ``d row_x = sum_k w_k sum_y (g + g^T)[k, x, y] row_y``, the rows
    of each chunk of pixels formed for one product and written back to ``F``'s and ``W``'s layouts."""

    @staticmethod
    def forward(ctx, F, W, w):
        from ._gram_jit import _rows_gram
        B, _, L3, P = F.shape
        X = 2 * (1 + W.shape[1])
        a = [*_rows(F), *_rows(W), P]
        wn = np.zeros((1, 1), a[0].dtype) if w is None else _np(w.to(F.dtype))
        G = np.zeros((B, 1 if w is None else w.shape[0], L3, X, X))
        chunk = max(2, CHUNK_BYTES // a[0].itemsize)
        n = jit.n_threads(B * L3 * G.shape[1] * X * X * P // 2, B * L3, LEVEL_THREAD_WORK)
        jit.split(lambda i, i0, i1: _rows_gram(*a, wn, w is None, chunk, i0, i1, G), n, B * L3)
        if w is None:
            G /= P
        ctx.save_for_backward(F, W, w)
        return torch.from_numpy(G).to(F.dtype)

    @staticmethod
    def backward(ctx, g):
        from .compute import product_rows
        F, W, w = ctx.saved_tensors
        B, _, L3, P = F.shape
        if torch.is_grad_enabled():    # a gradient that is itself differentiated (create_graph):
            r = product_rows(F, W)     # the rows and their product in differentiable operations
            G = (torch.matmul(r, r.mT) / P).unsqueeze(1) if w is None else \
                torch.matmul(r.unsqueeze(1) * w.to(r.dtype)[None, :, None, None, :], r.unsqueeze(1).mT)
            dF, dW = torch.autograd.grad(G, (F, W), g, create_graph=True, allow_unused=True)
            return dF, dW, None
        n = W.shape[1]
        H = g + g.transpose(-1, -2)                                   # (B, K, L3, X, X)
        if w is None:
            H = H / P
        dF, dW = heap.empty(tuple(F.shape), F.dtype), heap.empty(tuple(W.shape), W.dtype)
        step = max(1, STAGE_VALUES // (B * L3 * 2 * (1 + n)))
        for p0 in range(0, P, step):
            sl = slice(p0, min(P, p0 + step))
            r = product_rows(F[..., sl], W[..., sl])                  # (B, L3, X, p)
            d = torch.matmul(H[:, 0], r)
            if w is not None:
                d.mul_(w[0, sl])
                for k in range(1, H.shape[1]):
                    d.addcmul_(torch.matmul(H[:, k], r), w[k, sl])
            d = d.unflatten(2, (2, 1 + n))                            # (B, L3, 2, 1 + n, p)
            dF[..., sl] = d[:, :, :, 0].transpose(1, 2)
            dW[..., sl] = d[:, :, :, 1:].permute(0, 3, 2, 1, 4)
        return dF, dW, None
