"""Torch primitives shared by the planar transforms: padding, Fourier subsampling,
and the fused "multiply by a filter then subsample" operation."""
from __future__ import annotations

import itertools

import numpy as np
import torch

from .. import jit


# Blocks of a folded filter whose largest value is below this fraction of the
# filter's maximum are skipped: their contribution is below float32 rounding.
NEGLIGIBLE = 1e-9
MIN_JIT = 1 << 15     # spectrum values from which the folds run as compiled loops (``_fold_jit``)


def reflect_index(n: int, pad_left: int, pad_right: int) -> np.ndarray:
    """Indices of a reflect padding (no edge repeat) of any width, period ``2(n-1)``.

    Equal to ``numpy.pad(mode='reflect')`` and to Kymatio's padding, including
    its special case where the padding equals the signal length.
    """
    idx = np.arange(-pad_left, n + pad_right)
    if n == 1:
        return np.zeros_like(idx)
    period = 2 * (n - 1)
    idx = np.mod(idx, period)
    return np.where(idx >= n, period - idx, idx)


class FoldedFilter:
    """Fourier-domain "multiply by ``f`` then subsample by ``k``", block by block.

    Spatial subsampling by ``k`` folds the spectrum: the result is the mean over the
    ``k**ndim`` blocks of ``U * f``, so ``ifft(result)[n] == ifft(U * f)[k n]``. Blocks where
    ``f`` is negligible are skipped.

    ``f`` is a real Fourier filter ``(..., *grid)`` on an ``ndim``-dimensional grid.
    Calling with a complex spectrum ``U`` broadcastable against ``f`` returns the
    folded product ``(..., *grid/k)`` without forming the full-size product.
    """

    def __init__(self, f: np.ndarray, k: int, ndim: int):
        self.k, self.ndim = k, ndim
        grid = f.shape[-ndim:]
        self.sub = tuple(n // k for n in grid)
        peak = np.abs(f).max()
        self.blocks: list[tuple[tuple[slice, ...], np.ndarray]] = []
        kept = []
        for idx in itertools.product(range(k), repeat=ndim):
            sl = tuple(slice(i * s, (i + 1) * s) for i, s in zip(idx, self.sub))
            blk = f[(Ellipsis,) + sl]
            if np.abs(blk).max() > NEGLIGIBLE * peak:
                self.blocks.append((sl, blk / k ** ndim))
                kept.append(((0,) + idx)[-2:])
        self._f, self._kept = f, np.array(kept, dtype=np.int64).reshape(-1, 2)
        self._torch: dict = {}
        self._jit: dict = {}

    def _jit_operands(self, dtype: torch.dtype) -> tuple[np.ndarray, np.ndarray]:
        """The compiled loops' filter ``(L, M, 2N)`` (scaled by ``1 / k**ndim``, duplicated on
        (re, im); ``M = 1`` in 1D) and block indices ``(nb, 2)``."""
        if dtype not in self._jit:
            f = self._f.reshape((-1,) + ((1,) if self.ndim == 1 else ()) + self._f.shape[-self.ndim:])
            dup = np.repeat(f / self.k ** self.ndim, 2, axis=-1)
            self._jit[dtype] = (np.ascontiguousarray(dup, dtype=_NP[dtype]), self._kept)
        return self._jit[dtype]

    @property
    def banks(self) -> int:
        """Filters in the bank (``L``; 1 for a single filter ``(*grid)``)."""
        return self._f.shape[0] if self._f.ndim > self.ndim else 1

    def _blocks(self, like: torch.Tensor):
        key = (like.dtype, like.device)
        if key not in self._torch:
            # the real filter duplicated on (re, im): contiguous in-place multiply-add
            self._torch[key] = [(sl, torch.as_tensor(np.repeat(b[..., None], 2, axis=-1),
                                                     dtype=like.dtype, device=like.device))
                                for sl, b in self.blocks]
        return self._torch[key]

    def __call__(self, U: torch.Tensor) -> torch.Tensor:
        return fold_many(U, [self])[0]


_NP = {torch.float32: np.float32, torch.float64: np.float64}


def fold_many(U: torch.Tensor, filters: list[FoldedFilter]) -> list[torch.Tensor]:
    """``[f(U) for f in filters]`` as one autograd node: the gradient of ``U`` is gathered in
    one buffer (zeroed once, each filter adding its blocks), not one full-size tensor per
    filter summed afterwards. Compiled where ``_jit_fold`` allows it."""
    if _jit_fold(U, filters):
        Ur = torch.view_as_real(U.contiguous())
        return [torch.view_as_complex(o) for o in _FoldJit.apply(Ur, filters)]
    Ur = torch.view_as_real(U)                         # (..., *grid, 2)
    banks = [(f._blocks(Ur), f.k ** f.ndim) for f in filters]
    return [torch.view_as_complex(o) for o in _Fold.apply(Ur, banks)]


def _jit_fold(U: torch.Tensor, filters: list[FoldedFilter]) -> bool:
    """Whether the folds of ``U`` run as compiled loops (``_fold_jit``): a CPU complex64/128
    spectrum of ``MIN_JIT`` values or more, torch on one thread (the classic transforms'
    side-by-side chunks; with two, torch's passes use both cores), numba available, and each
    filter either one ``(*grid)`` or a bank ``(L, *grid)`` applied along a singleton axis of
    ``U (..., 1, *grid)``, at most 2D. Each output row is formed in cache and each row of the
    gradient summed over the bank in cache, where torch reads and writes them once a block
    (forward) and once a filter of the bank (backward)."""
    if not filters:
        return False
    nd = filters[0].ndim
    return (U.device.type == "cpu" and U.dtype in (torch.complex64, torch.complex128)
            and U.numel() >= MIN_JIT and torch.get_num_threads() == 1 and nd <= 2
            and all(f.ndim == nd and f._f.ndim <= nd + 1 and tuple(f._f.shape[-nd:]) == tuple(U.shape[-nd:])
                    and (f._f.ndim == nd or (U.dim() > nd and U.shape[-nd - 1] == 1)) for f in filters)
            and jit.available("foscat_like.classic._fold_jit"))


class _FoldJit(torch.autograd.Function):
    """``fold_many`` on the compiled loops; a differentiated gradient (``create_graph``) takes
    the torch formulas of ``_Fold``."""

    @staticmethod
    def forward(ctx, Ur: torch.Tensor, filters: list) -> tuple[torch.Tensor, ...]:
        from ._fold_jit import fold
        nd = filters[0].ndim
        grid = tuple(Ur.shape[-nd - 1:-1])
        U = Ur.detach().numpy().reshape(-1, grid[0] if nd == 2 else 1, 2 * grid[-1])
        ctx.filters, ctx.shape = filters, Ur.shape
        ctx.set_materialize_grads(False)
        outs = []
        for f in filters:
            w, blocks = f._jit_operands(Ur.dtype)
            lead = Ur.shape[:-nd - 2] + (f.banks,) if f._f.ndim > nd else Ur.shape[:-nd - 1]
            out = torch.empty(lead + f.sub + (2,), dtype=Ur.dtype)
            fold(U, w, blocks, out.numpy().reshape(U.shape[0], -1, f.sub[0] if nd == 2 else 1, 2 * f.sub[-1]))
            outs.append(out)
        return tuple(outs)

    @staticmethod
    def backward(ctx, *gs: torch.Tensor | None):
        used = [(f, g) for f, g in zip(ctx.filters, gs) if g is not None]
        if not used:
            return None, None
        if torch.is_grad_enabled():
            banks = [(f._blocks(used[0][1]), f.k ** f.ndim) for f in ctx.filters]
            return _Fold.backward(_Saved(banks, ctx.shape), *gs)
        from ._fold_jit import fold_adjoint
        nd = used[0][0].ndim
        used.sort(key=lambda fg: len(fg[0].blocks) < fg[0].k ** nd)     # a tiling filter first
        full = len(used[0][0].blocks) == used[0][0].k ** nd
        gU = torch.empty(ctx.shape, dtype=used[0][1].dtype) if full else \
            torch.zeros(ctx.shape, dtype=used[0][1].dtype)
        G = gU.numpy().reshape(-1, ctx.shape[-3] if nd == 2 else 1, 2 * ctx.shape[-2])
        for i, (f, g) in enumerate(used):
            w, blocks = f._jit_operands(g.dtype)
            fold_adjoint(g.contiguous().numpy().reshape(G.shape[0], -1, f.sub[0] if nd == 2 else 1, 2 * f.sub[-1]),
                         w, blocks, G, i > 0 or not full)
        return gU, None


class _Saved:
    """The context ``_Fold.backward`` reads (``banks``, ``shape``)."""

    def __init__(self, banks: list, shape: torch.Size):
        self.banks, self.shape = banks, shape


def _mul_reduce(g: torch.Tensor, b: torch.Tensor, out: torch.Tensor, add: bool) -> None:
    """``out (+)= (g * b).sum_to_size(out.shape)`` without forming the broadcast product: where
    ``out`` was broadcast along one axis (the filter bank's), multiply-add slice by slice."""
    if out.shape == g.shape:
        out.addcmul_(g, b) if add else torch.mul(g, b, out=out)
        return
    axes = [d for d in range(g.dim()) if out.shape[d] == 1 and g.shape[d] != 1]
    if len(axes) == 1 and g.numel() >= 2 ** 15:     # small tensors: fewer calls win
        d = axes[0]
        db = d - (g.dim() - b.dim())
        if db >= 0 and b.shape[db] == g.shape[d]:
            if not add:
                torch.mul(g.narrow(d, 0, 1), b.narrow(db, 0, 1), out=out)
            for k in range(0 if add else 1, g.shape[d]):
                out.addcmul_(g.narrow(d, k, 1), b.narrow(db, k, 1))
            return
    prod = (g * b).sum_to_size(out.shape)
    out.add_(prod) if add else out.copy_(prod)


class _Fold(torch.autograd.Function):
    """Block-wise multiply-and-fold by several filters, with a single-buffer backward.

    ``banks``: per filter, its ``(slices, block)`` list and its number of blocks ``k**ndim``.
    """

    @staticmethod
    def forward(ctx, Ur: torch.Tensor, banks: list) -> tuple[torch.Tensor, ...]:
        ctx.banks, ctx.shape = banks, Ur.shape
        ctx.set_materialize_grads(False)
        outs = []
        for blocks, _ in banks:
            sl, b = blocks[0]
            out = Ur[(Ellipsis,) + sl + (slice(None),)] * b
            for sl, b in blocks[1:]:
                out.addcmul_(Ur[(Ellipsis,) + sl + (slice(None),)], b)
            outs.append(out)
        return tuple(outs)

    @staticmethod
    def backward(ctx, *gs: torch.Tensor | None):
        used = [(bank, g) for bank, g in zip(ctx.banks, gs) if g is not None]
        if not used:
            return None, None
        # a filter whose blocks tile the input writes first: no zeros needed
        used.sort(key=lambda bg: len(bg[0][0]) < bg[0][1])
        (blocks, n_blocks), g0 = used[0]
        full = len(blocks) == n_blocks
        gU = g0.new_empty(ctx.shape) if full else g0.new_zeros(ctx.shape)
        for i, ((blocks, _), g) in enumerate(used):
            for sl, b in blocks:
                _mul_reduce(g, b, gU[(Ellipsis,) + sl + (slice(None),)], add=i > 0 or not full)
        return gU, None


def lowpass_matrix(a: np.ndarray, k: int, rows: slice = slice(None)) -> np.ndarray:
    """Real matrix ``(len(rows), n)`` of "multiply the spectrum by ``a``, subsample by ``k``
    (Fourier folding), keep ``rows``" on real length-``n`` signals; ``a`` is a real, even 1D
    Fourier filter, so the result is real: row ``r`` is the kernel ``h = ifft(a)`` centred on
    ``k r`` (periodic), ``W[r, m] = h[(k r - m) mod n]``."""
    n = len(a)
    h = np.fft.ifft(a).real
    r = np.arange(n // k)[rows]
    return np.ascontiguousarray(h[(k * r[:, None] - np.arange(n)[None, :]) % n])


def separable_factors(f: np.ndarray, rtol: float = 1e-12) -> list[np.ndarray]:
    """``[a, b]`` with ``f == outer(a, b)`` to ``rtol`` of its peak (``ValueError`` otherwise)."""
    i, j = np.unravel_index(np.abs(f).argmax(), f.shape)
    a, b = f[:, j], f[i, :] / f[i, j]
    if np.abs(np.outer(a, b) - f).max() > rtol * np.abs(f).max():
        raise ValueError("the low-pass filter is not separable")
    return [a, b]


class SeparableLowpass:
    """Low-pass by a separable real Fourier filter, subsample by ``k`` and crop, of a real
    signal ``(..., N)`` or image ``(..., M, N)``, as one small real matrix per axis: ``u Aᵀ`` or
    ``A u Bᵀ``. Exact: Kymatio's Gaussian ``phi`` is separable in Fourier, so its folded product
    is too. Replaces a full-size FFT, a fold and an inverse FFT; its autograd is torch's matmul.

    ``factors``: the 1D Fourier filter of each axis (one or two); ``crops``: their output slices.
    """

    def __init__(self, factors: list[np.ndarray], k: int, crops: list[slice]):
        if len(factors) not in (1, 2) or len(crops) != len(factors):
            raise ValueError(f"SeparableLowpass takes one or two factors and as many crops; got "
                             f"{len(factors)} factors and {len(crops)} crops")
        self.mats = [lowpass_matrix(a, k, c) for a, c in zip(factors, crops)]
        self._torch: dict = {}

    def __call__(self, u: torch.Tensor) -> torch.Tensor:
        key = (u.dtype, u.device)
        if key not in self._torch:
            self._torch[key] = [torch.as_tensor(m, dtype=u.dtype, device=u.device) for m in self.mats]
        *A, B = self._torch[key]
        uB = torch.matmul(u, B.mT)
        return torch.matmul(A[0], uB) if A else uB
