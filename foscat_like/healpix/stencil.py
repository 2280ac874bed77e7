"""Stencil operators on HEALPix: a gather of each pixel's neighbours and one small matrix product.

A stencil operator maps fields ``x (M, n)`` to ``R`` fields per input,
``y[m, r, p] = sum_k w[p, r, k] x[m, index[p, k]]`` (``R = 2 L`` for the wavelets' real and
imaginary parts, 1 for the smoothing). Every pixel has ``K`` slots (a missing one points at
the pixel itself with weight 0). On the CPU, with numba, both stencils run as compiled loops
over blocks of pixels (``kernels.py``; 1.3-2.2x faster eval+grad, one blocked index shared by
both, 117 B per pixel in float32). Elsewhere (CUDA, no numba) it runs as ``x[index]`` gathered into ``(rows, K, cols)``
and one batched product with the weights ``(rows, R, K)``; its adjoint is the transposed
product, scattered back with ``index_add``. Nothing but the weights and one index array is
stored: no row pointers, no column index repeated for each of the ``R`` outputs and no
transposed copy, which a sparse CSR pair needs (1.15 KB per pixel in float32 for ``L = 4``,
``K = 9``, against 108 B here for the full sky, with an int32 index). A one-output
stencil (the smoothing) has nothing to share between outputs and stays a CSR matrix. When
its weights are a symmetric kernel normalised per row, ``w[p, q] = g(p, q) / Z[p]`` with ``g(p, q) = g(q, p)`` on a
symmetric neighbourhood (the smoothing's Gaussian of the distance), its transpose is
``Z (A (y / Z))``: no transposed copy is built (no sort) and half the memory is stored.

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

from .. import heap
from . import kernels as _kernels

CHUNK_VALUES = 1 << 18     # gathered values per chunk: temporaries stay in cache
# torch's CPU bmm multiplies matrices with m k n < 400 by a plain loop, 2-3x slower per matrix
# than its blocked path (measured, (8, 9) @ (9, n): 350 ns at n = 4 against 220 ns at n = 6);
# a matrix-vector product (n = 1, and n = 2) is faster unpadded (4096 (8, 9) @ (9, 1): 190 us
# plain against 780 us padded to n = 6; n = 2: 670 against 800 us; n = 3: 1040 against 770 us)
BMM_BLOCKED = 400
BMM_PLAIN_COLUMNS = 2


def _bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a (c, m, k) @ b (c, k, n)``: an outer product (``k = 1``) broadcast; a small product of
    more than ``BMM_PLAIN_COLUMNS`` columns padded with zero columns up to torch's blocked path."""
    c, m, k = a.shape
    n = b.shape[-1]
    if k == 1:
        return a * b
    if m > 1 and BMM_PLAIN_COLUMNS < n and m * k * n < BMM_BLOCKED and a.device.type == "cpu":
        pad = BMM_BLOCKED // (m * k) + 1 - n
        return torch.bmm(a, torch.nn.functional.pad(b, (0, pad)))[..., :n]
    return torch.bmm(a, b)


def _pixels_first(y: torch.Tensor) -> torch.Tensor:
    """``y (M, R, T, c)`` (pixels contiguous) -> ``(c, R, T, M)``, contiguous for ``M > 1``, in two
    cache-friendly copies: ``(R, T, M, c)`` (runs of ``c`` on both sides), then one 2D transpose
    (torch's blocked path). One permuted copy iterates over ``M`` innermost, reading values
    megabytes apart: measured 5.5x / 6x / 8x slower for ``M = 4 / 8 / 16`` (nside 128)."""
    M, R, T, c = y.shape
    if M == 1:                  # a view: the batched product reads it strided (measured faster)
        return y.permute(3, 1, 2, 0)
    return y.permute(1, 2, 0, 3).contiguous().view(R * T * M, c).t().contiguous().view(c, R, T, M)


def _pixels_last(z: torch.Tensor) -> torch.Tensor:
    """``z (c, R, T, M)`` contiguous -> a ``(M, R, T, c)`` view to copy from: for ``M >= 8`` through
    one 2D transpose to ``(R, T, M, c)`` (measured 1.6x / 1.9x faster for ``M = 8 / 16``; alike
    at ``M = 4``, slower at ``M = 1``)."""
    c, R, T, M = z.shape
    if M < 8:
        return z.permute(3, 1, 2, 0)
    return z.view(c, R * T * M).t().contiguous().view(R, T, M, c).permute(2, 0, 1, 3)


class Stencil:
    """The stencil operator of ``index (n, K)`` and weights ``vals (A Q, R, K)`` shared by ``T``
    turns (``n = A T Q``; pixel ``(a T + t) Q + i`` has the weights of row ``a Q + i``).

    On the CPU with numba (``kernels=None``: where ``healpix.kernels.available()``) it runs as
    compiled kernels on a blocked layout (``kernels``); elsewhere (CUDA, or ``kernels=False``) as
    torch operations: a gather and batched products, or CSR matrices for one output."""

    def __init__(self, index: np.ndarray, vals: np.ndarray, turns: int = 1,
                 dtype: torch.dtype = torch.float64, device="cpu", row_sums: np.ndarray | None = None,
                 kernels: bool | None = None, index_blocks: torch.Tensor | None = None):
        """``row_sums (G,)`` (one output only): the weights are ``g / row_sums`` for a kernel
        ``g`` symmetric between a pixel and its neighbour; the torch path's adjoint then needs no
        transpose. ``index_blocks``: ``index`` already blocked for the kernels (by another
        stencil of the same index, ``self.index_blocks``): shared, not copied. ``vals`` may come
        already blocked, ``(A nb, R, K, BLOCK)`` (``kernels.blocked_zeros``; the kernels only)."""
        n, K = index.shape
        if vals.ndim == 4:           # already blocked (``kernels.blocked_zeros`` / ``put_rows``)
            if kernels is False:
                raise ValueError("blocked weights are for the kernels (kernels=None or True)")
            kernels = True
            G, R, K2 = n // turns, vals.shape[1], vals.shape[2]
        else:
            G, R, K2 = vals.shape
        if K2 != K or n != G * turns or (turns > 1 and G % 3):
            raise ValueError(f"stencil shapes do not match: index {index.shape}, vals {vals.shape}, turns {turns}")
        if row_sums is not None and (R != 1 or np.shape(row_sums) != (G,)):
            raise ValueError(f"row_sums must have shape ({G},) for a one-output stencil; got "
                             f"{np.shape(row_sums)} with {R} outputs")
        self.n, self.K, self.R, self.T = n, K, R, turns
        self.A = 3 if turns > 1 else 1
        self.Q = G // self.A
        self.dtype = dtype
        self.row_sums = row_sums
        self.r0 = 0              # the first of this stencil's weight rows (``outputs``)
        self.index = self.vals = self.csr = self.z = self.index_blocks = self.vals_blocks = None
        if kernels is None:
            kernels = torch.device(device).type == "cpu" and _kernels.available()
        elif kernels and not _kernels.available():
            raise ValueError("kernels=True needs numba (pip install numba)")
        self.kernels = bool(kernels)
        # int32 where it fits: half the bytes, and shared between the wavelets' and the
        # smoothing's stencils built from the same array
        idt = np.int32 if n < 2 ** 31 else np.int64
        index = np.ascontiguousarray(index, dtype=idt)
        if self.kernels:
            nbq = -(-self.Q // _kernels.BLOCK)          # blocks per base-pixel row
            if vals.ndim == 4 and (vals.shape[0] != self.A * nbq or vals.shape[3] != _kernels.BLOCK):
                raise ValueError(f"blocked vals must have shape ({self.A * nbq}, R, {K}, {_kernels.BLOCK}) "
                                 f"for this index; got {vals.shape}")
            if index_blocks is not None and tuple(index_blocks.shape) != (self.A * turns * nbq, K, _kernels.BLOCK):
                raise ValueError(f"index_blocks must have shape ({self.A * turns * nbq}, {K}, {_kernels.BLOCK}) "
                                 f"for this index; got {tuple(index_blocks.shape)}")
            self.index_blocks = (index_blocks if index_blocks is not None else
                                 torch.from_numpy(_kernels.blocked_index(index, self.A, turns, self.Q)))
            vb = vals if vals.ndim == 4 else _kernels.blocked_vals(np.asarray(vals), self.A, self.Q)
            self.vals_blocks = torch.as_tensor(vb).to(dtype=dtype)
            return
        if R == 1 and row_sums is not None:      # one CSR matrix; its transpose through ``z``
            self.csr = _csr_pair(index, vals, turns, dtype, device, transpose=False)
            z = torch.as_tensor(row_sums).to(dtype).reshape(self.A, 1, self.Q).expand(self.A, turns, self.Q)
            self.z = z.reshape(n, 1).to(device)
            return
        if R == 1:           # one output, any weights: the CSR pair (``_csr_pair``)
            self.csr = _csr_pair(index, vals, turns, dtype, device)
            return
        self.index = torch.from_numpy(index).to(device)                                  # (n, K)
        self.vals = torch.as_tensor(vals).to(dtype=dtype, device=device).contiguous()   # (G, R, K)

    def outputs(self, r0: int, R: int, row_sums: np.ndarray | None = None) -> "Stencil":
        """The stencil of this one's outputs ``r0 .. r0 + R - 1`` (the kernels' layout only): the
        same arrays, not copied. The grid stores the wavelets and the smoothing as one stencil of
        ``2 L + 1`` outputs and uses it whole (``wavelet_parts_and_downsample``) or by parts."""
        if not self.kernels or not 0 <= r0 < r0 + R <= self.R:
            raise ValueError(f"outputs({r0}, {R}) of a stencil of {self.R} outputs (kernels only)")
        out = object.__new__(Stencil)
        out.__dict__.update(self.__dict__)
        out.r0, out.R, out.row_sums = self.r0 + r0, R, row_sums
        return out

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """``(index (n, K), vals (A Q, R, K))`` as numpy arrays, from whichever layout is stored."""
        if self.kernels:
            vb = self.vals_blocks[:, self.r0:self.r0 + self.R]
            idx, w = _kernels.unblocked(self.index_blocks, vb, self.A, self.T, self.Q)
        elif self.csr is not None:
            idx = self.csr[0].col_indices().reshape(self.n, self.K)
            w = self.csr[0].values().reshape(self.A, self.T, self.Q, 1, self.K)[:, 0].reshape(-1, 1, self.K)
        else:
            idx, w = self.index, self.vals
        return idx.cpu().numpy(), w.cpu().numpy()

    def to(self, device) -> "Stencil":
        device = torch.device(device)
        if self.kernels and device.type != "cpu":     # the kernels' layout is for the CPU only
            index, vals = self.rows()
            return Stencil(index, vals, self.T, self.dtype, device, self.row_sums, kernels=False)
        move = lambda t: None if t is None else t.to(device)
        out = object.__new__(Stencil)
        out.__dict__.update(self.__dict__)
        for name in ("index", "vals", "z", "index_blocks", "vals_blocks"):
            setattr(out, name, move(getattr(self, name)))
        out.csr = None if self.csr is None else tuple(t.to(device) for t in self.csr)
        return out

    @property
    def nbytes(self) -> int:
        if self.kernels:      # this stencil's share of the weights (``outputs``)
            return self.index_blocks.nbytes + self.vals_blocks.nbytes * self.R // self.vals_blocks.shape[1]
        if self.csr is not None:
            z = 0 if self.z is None else self.z.nbytes
            return z + sum(t.values().nbytes + t.col_indices().nbytes + t.crow_indices().nbytes for t in self.csr)
        return self.index.nbytes + self.vals.nbytes

    def _chunks(self, M: int):
        """``(a, i0, i1)``: row blocks of one base-pixel row, ``CHUNK_VALUES`` gathered values each."""
        c = max(1, CHUNK_VALUES // (self.K * self.T * M))
        for a in range(self.A):
            for i0 in range(0, self.Q, c):
                yield a, i0, min(self.Q, i0 + c)

    def _sel(self, a: int, i0: int, i1: int) -> torch.Tensor:
        """The gathered pixels of rows ``a Q + i0 .. a Q + i1`` in ``(row, K, T)`` order, flat."""
        return self.index.view(self.A, self.T, self.Q, self.K)[a, :, i0:i1].permute(1, 2, 0).reshape(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (M, n) -> y (M, R, n)``."""
        M = x.shape[0]
        if self.kernels:
            return _kernels.forward(x, self.index_blocks, self.vals_blocks, self.T, self.Q, self.r0, self.R)
        if self.csr is not None:
            return (self.csr[0] @ x.t().contiguous()).t().reshape(M, 1, self.n)
        xt = x.t().contiguous()                                       # (n, M): gathered rows
        out = x.new_empty((M, self.R, self.A, self.T, self.Q))
        for a, i0, i1 in self._chunks(M):
            g = slice(a * self.Q + i0, a * self.Q + i1)
            xg = xt.index_select(0, self._sel(a, i0, i1)).view(i1 - i0, self.K, self.T * M)
            z = _bmm(self.vals[g], xg).view(i1 - i0, self.R, self.T, M)
            out[:, :, a, :, i0:i1] = _pixels_last(z)
        return out.view(M, self.R, self.n)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """``y (M, R, n) -> x (M, n)``: the exact transpose of ``forward`` (``y`` may be any shape
        holding ``M R n`` values in that order, e.g. the gradient of a view of the output)."""
        M = y.numel() // (self.R * self.n)
        if self.kernels:       # strided gradients are copied once, into numpy memory (``heap``)
            return _kernels.adjoint(y, self.index_blocks, self.vals_blocks, self.T, self.Q, self.r0, self.R)
        if self.z is not None:       # A^T = Z A Z^-1 for a row-normalised symmetric kernel
            return (self.csr[0] @ (y.reshape(M, self.n) / self.z.view(-1)).t().contiguous()).mul_(self.z).t()
        if self.csr is not None:
            return (self.csr[1] @ y.reshape(M, self.n).t().contiguous()).t()
        y5 = y.reshape(M, self.R, self.A, self.T, self.Q)
        xt = y.new_zeros((self.n, M))
        for a, i0, i1 in self._chunks(M):
            g = slice(a * self.Q + i0, a * self.Q + i1)
            gz = _pixels_first(y5[:, :, a, :, i0:i1]).view(i1 - i0, self.R, self.T * M)
            w = _bmm(self.vals[g].transpose(1, 2), gz)                # (c, K, T M)
            # int64 indices: torch's index_add_ is 10x slower with int32 ones (measured)
            xt.index_add_(0, self._sel(a, i0, i1).long(), w.reshape(-1, M))
        return xt.t()

    def apply(self, x: torch.Tensor, shape: tuple[int, ...] | None = None) -> torch.Tensor:
        """Differentiable ``forward`` (its backward is ``adjoint``), viewed as ``shape``: the
        gradient then reaches ``adjoint`` as it comes (autograd's view backward would copy a strided
        one into fresh torch memory first)."""
        return _StencilApply.apply(x, self, shape)

    def apply_split(self, x: torch.Tensor, shape: tuple[int, ...], split: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Differentiable ``forward`` cut after output ``split``: the first ``split`` outputs viewed
        as ``shape`` and the others ``(M, R - split, n)``, from one pass (one gather of the
        neighbours for both); its backward is one ``adjoint``."""
        return _StencilSplit.apply(x, self, shape, split)

    def dense(self) -> torch.Tensor:
        """The operator as a dense ``(R n, n)`` matrix (row ``r n + p``): for tests, small ``n``."""
        device = next(t for t in (self.vals_blocks, self.vals, self.csr and self.csr[0]) if t is not None).device
        eye = torch.eye(self.n, dtype=self.dtype, device=device)
        return self.forward(eye).permute(1, 2, 0).reshape(self.R * self.n, self.n)


def _csr_pair(index: np.ndarray, vals: np.ndarray, turns: int, dtype, device, transpose: bool = True) -> tuple:
    """A one-output stencil (``vals (G, 1, K)``) as a CSR matrix ``(n, n)`` and its transpose
    (``transpose=False``: the matrix alone): with one output the gathered product has nothing
    to share, and the sparse product, which gathers without storing, was 2-3x faster
    (smoothing at nside 128: 4 against 14 ms, M = 4)."""
    import warnings
    n, K = index.shape
    A, Q = (3, vals.shape[0] // 3) if turns > 1 else (1, vals.shape[0])
    w = torch.as_tensor(vals, dtype=dtype).reshape(A, 1, Q, K).expand(A, turns, Q, K).reshape(-1)
    col = torch.from_numpy(index.reshape(-1).astype(np.int32, copy=False))
    if not transpose:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                # "sparse CSR support is in beta"
            fwd = torch.sparse_csr_tensor(torch.arange(0, n * K + 1, K, dtype=torch.int32), col, w, size=(n, n))
        return (fwd.to(device),)
    rows, order = torch.sort(col, stable=True)            # the transpose: entries by column
    crow_t = torch.zeros(n + 1, dtype=torch.int32)
    crow_t[1:] = torch.cumsum(torch.bincount(rows, minlength=n), 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                    # "sparse CSR support is in beta"
        fwd = torch.sparse_csr_tensor(torch.arange(0, n * K + 1, K, dtype=torch.int32), col, w, size=(n, n))
        adj = torch.sparse_csr_tensor(crow_t, (order // K).to(torch.int32), w[order], size=(n, n))
    return fwd.to(device), adj.to(device)


class _StencilApply(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, op: Stencil, shape) -> torch.Tensor:
        ctx.op = op
        y = op.forward(x)
        return y if shape is None else y.view(shape)

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        return _adjoint(ctx.op, g), None, None


class _StencilAdjoint(torch.autograd.Function):
    """``op.adjoint(y)`` as a differentiable operation (its backward is ``op.forward``): the
    backward of a backward, for a differentiated gradient (``create_graph``)."""

    @staticmethod
    def forward(ctx, y: torch.Tensor, op: Stencil) -> torch.Tensor:
        ctx.op, ctx.shape = op, y.shape
        return op.adjoint(y)

    @staticmethod
    def backward(ctx, h: torch.Tensor):
        return _StencilApply.apply(h, ctx.op, ctx.shape), None


def _adjoint(op: Stencil, g: torch.Tensor) -> torch.Tensor:
    """``op.adjoint(g)``, differentiable where autograd records the backward (``create_graph``;
    the compiled kernels and the CSR products are not recorded by autograd)."""
    return _StencilAdjoint.apply(g, op) if torch.is_grad_enabled() else op.adjoint(g)


class _StencilSplit(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, op: Stencil, shape, split: int):
        ctx.op, ctx.shape, ctx.split = op, shape, split
        ctx.set_materialize_grads(False)
        y = op.forward(x)                                               # (M, R, n)
        return y[:, :split].view(shape), y[:, split:]

    @staticmethod
    def backward(ctx, ga: torch.Tensor | None, gb: torch.Tensor | None):
        op, split = ctx.op, ctx.split
        if ga is None and gb is None:
            return None, None, None, None
        like = ga if ga is not None else gb
        M = like.numel() // (like.shape[-1] * (split if ga is not None else op.R - split))
        if torch.is_grad_enabled():             # a differentiated gradient: recorded operations
            a = like.new_zeros((M, split, op.n)) if ga is None else ga.reshape(M, split, op.n)
            b = like.new_zeros((M, op.R - split, op.n)) if gb is None else gb
            return _adjoint(op, torch.cat([a, b], 1)), None, None, None
        g = heap.empty((M, op.R, op.n), like.dtype, like.device)       # both gradients, one adjoint
        a, b = g[:, :split], g[:, split:]
        a.zero_() if ga is None else a.view(ctx.shape).copy_(ga)
        b.zero_() if gb is None else b.copy_(gb)
        return op.adjoint(g), None, None, None
