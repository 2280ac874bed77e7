"""Stencil operators on HEALPix: a gather of each pixel's neighbours and one small matrix product.

A stencil operator maps fields ``x (M, n)`` to ``R`` fields per input,
``y[m, r, p] = sum_k w[p, r, k] x[m, index[p, k]]`` (``R = 2 L`` for the wavelets' real and
imaginary parts, 1 for the smoothing). Every pixel has ``K`` slots (a missing one points at
the pixel itself with weight 0). It runs as ``x[index]`` gathered into ``(rows, K, cols)``
and one batched product with the weights ``(rows, R, K)``; its adjoint is the transposed
product, scattered back with ``index_add``. Nothing but the weights and one index array is
stored: no row pointers, no column index repeated for each of the ``R`` outputs and no
transposed copy, which a sparse CSR pair needs (1.3 KB per pixel in float32 for ``L = 4``,
``K = 9``, against 150 B here for the full sky).

The full sphere's stencils come in fours: base pixels ``f`` and ``f + r`` (same row of four)
are quarter turns of each other with the same weights (``geometry.full_sky_neighbourhood``).
So the weights are stored for base pixels 0, 4 and 8 only, and the four turns ride along as
the product's columns: rows ``g = a Q + i`` (``a`` the row of base pixels, ``i`` the pixel
inside one, ``Q = nside^2``) gather ``(K, T, M)`` values from the pixels ``(a T + t) Q + i``.
A patch is the case ``A = T = 1``, ``Q = n``.
"""
from __future__ import annotations

import numpy as np
import torch

CHUNK_VALUES = 1 << 18     # gathered values per chunk: temporaries stay in cache


class Stencil:
    """The stencil operator of ``index (n, K)`` and weights ``vals (A Q, R, K)`` shared by ``T``
    turns (``n = A T Q``; pixel ``(a T + t) Q + i`` has the weights of row ``a Q + i``)."""

    def __init__(self, index: np.ndarray, vals: np.ndarray, turns: int = 1,
                 dtype: torch.dtype = torch.float64, device="cpu"):
        n, K = index.shape
        G, R, K2 = vals.shape
        if K2 != K or n != G * turns or (turns > 1 and G % 3):
            raise ValueError(f"stencil shapes do not match: index {index.shape}, vals {vals.shape}, turns {turns}")
        self.n, self.K, self.R, self.T = n, K, R, turns
        self.A = 3 if turns > 1 else 1
        self.Q = G // self.A
        sel = index.reshape(self.A, self.T, self.Q, K).transpose(0, 2, 3, 1)     # (A, Q, K, T)
        self.sel = torch.from_numpy(np.ascontiguousarray(sel, dtype=np.int64)).reshape(G, K * turns).to(device)
        self.vals = torch.as_tensor(vals).to(dtype=dtype, device=device).contiguous()   # (G, R, K)

    def to(self, device) -> "Stencil":
        if self.vals.device == torch.device(device):
            return self
        out = object.__new__(Stencil)
        out.__dict__.update(self.__dict__)
        out.sel, out.vals = self.sel.to(device), self.vals.to(device)
        return out

    @property
    def nbytes(self) -> int:
        return self.sel.nbytes + self.vals.nbytes

    def _chunks(self, M: int):
        """``(a, i0, i1)``: row blocks of one base-pixel row, ``CHUNK_VALUES`` gathered values each."""
        c = max(1, CHUNK_VALUES // (self.K * self.T * M))
        for a in range(self.A):
            for i0 in range(0, self.Q, c):
                yield a, i0, min(self.Q, i0 + c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (M, n) -> y (M, R, n)``."""
        M = x.shape[0]
        xt = x.t().contiguous()                                       # (n, M): gathered rows
        out = x.new_empty((M, self.R, self.A, self.T, self.Q))
        for a, i0, i1 in self._chunks(M):
            g = slice(a * self.Q + i0, a * self.Q + i1)
            xg = xt.index_select(0, self.sel[g].reshape(-1)).view(i1 - i0, self.K, self.T * M)
            z = torch.bmm(self.vals[g], xg).view(i1 - i0, self.R, self.T, M)
            out[:, :, a, :, i0:i1] = z.permute(3, 1, 2, 0)
        return out.view(M, self.R, self.n)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """``y (M, R, n) -> x (M, n)``: the exact transpose of ``forward``."""
        M = y.shape[0]
        y5 = y.reshape(M, self.R, self.A, self.T, self.Q)
        xt = y.new_zeros((self.n, M))
        for a, i0, i1 in self._chunks(M):
            g = slice(a * self.Q + i0, a * self.Q + i1)
            gz = y5[:, :, a, :, i0:i1].permute(3, 1, 2, 0).reshape(i1 - i0, self.R, self.T * M)
            w = torch.bmm(self.vals[g].transpose(1, 2), gz)                # (c, K, T M)
            xt.index_add_(0, self.sel[g].reshape(-1), w.view(-1, M))
        return xt.t()

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """Differentiable ``forward`` (its backward is ``adjoint``)."""
        return _StencilApply.apply(x, self)

    def dense(self) -> torch.Tensor:
        """The operator as a dense ``(R n, n)`` matrix (row ``r n + p``): for tests, small ``n``."""
        eye = torch.eye(self.n, dtype=self.vals.dtype, device=self.vals.device)
        return self.forward(eye).permute(1, 2, 0).reshape(self.R * self.n, self.n)


class _StencilApply(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, op: Stencil) -> torch.Tensor:
        ctx.op = op
        return op.forward(x)

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        return ctx.op.adjoint(g), None
