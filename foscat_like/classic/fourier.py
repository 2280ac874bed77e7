"""Torch primitives shared by the planar transforms: padding, Fourier subsampling,
and the fused "multiply by a filter then subsample" operation."""
from __future__ import annotations

import itertools

import numpy as np
import torch


# Blocks of a folded filter whose largest value is below this fraction of the
# filter's maximum are skipped: their contribution is below float32 rounding.
NEGLIGIBLE = 1e-9


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
        for idx in itertools.product(range(k), repeat=ndim):
            sl = tuple(slice(i * s, (i + 1) * s) for i, s in zip(idx, self.sub))
            blk = f[(Ellipsis,) + sl]
            if np.abs(blk).max() > NEGLIGIBLE * peak:
                self.blocks.append((sl, blk / k ** ndim))
        self._torch: dict = {}

    def _blocks(self, like: torch.Tensor):
        key = (like.dtype, like.device)
        if key not in self._torch:
            # the real filter duplicated on (re, im): contiguous in-place multiply-add
            self._torch[key] = [(sl, torch.as_tensor(np.repeat(b[..., None], 2, axis=-1),
                                                     dtype=like.dtype, device=like.device))
                                for sl, b in self.blocks]
        return self._torch[key]

    def __call__(self, U: torch.Tensor) -> torch.Tensor:
        Ur = torch.view_as_real(U)                     # (..., *grid, 2)
        return torch.view_as_complex(_Fold.apply(Ur, self._blocks(Ur)))


class _Fold(torch.autograd.Function):
    """Block-wise multiply-and-fold with a single-allocation backward."""

    @staticmethod
    def forward(ctx, Ur: torch.Tensor, blocks: list) -> torch.Tensor:
        ctx.blocks, ctx.shape = blocks, Ur.shape
        sl, b = blocks[0]
        out = Ur[(Ellipsis,) + sl + (slice(None),)] * b
        for sl, b in blocks[1:]:
            out.addcmul_(Ur[(Ellipsis,) + sl + (slice(None),)], b)
        return out

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        gU = g.new_zeros(ctx.shape)
        for sl, b in ctx.blocks:
            view = gU[(Ellipsis,) + sl + (slice(None),)]
            view.copy_((g * b).sum_to_size(view.shape))
        return gU, None


class HalfFoldLowpass:
    """Low-pass ``phi`` then subsample by ``k`` of a real signal, from ``rfft2(u)`` only.

    For a real signal ``u`` and a real, even low-pass ``phi``: the folded spectrum
    is Hermitian, so only its first ``N'/2+1`` columns are formed (from the
    half spectrum and, for the upper column blocks, its conjugate mirror) and
    inverted with ``irfft2``. Input ``(..., M, N//2+1)`` complex, output
    ``(..., M/k, N/k)`` real.
    """

    def __init__(self, phi: np.ndarray, k: int):
        M, N = phi.shape
        self.k, Ms, Ns = k, M // k, N // k
        self.out_shape = (Ms, Ns)
        half = Ns // 2 + 1
        peak = np.abs(phi).max()
        self.blocks = []   # (row slice, col slice, mirrored rows or None, weight (Ms, half))
        for a in range(k):
            for b in range(k):
                rows = np.arange(Ms) + a * Ms
                cols = np.arange(half) + b * Ns
                w = phi[np.ix_(rows, cols % N)] / k ** 2
                if np.abs(w).max() <= NEGLIGIBLE * peak:
                    continue
                if 2 * b < k:
                    self.blocks.append((slice(a * Ms, (a + 1) * Ms), slice(b * Ns, b * Ns + half), None, w))
                else:   # full[m, n] = conj(H[-m mod M, N - n]): columns reversed, rows mirrored
                    c1 = N - b * Ns + 1
                    self.blocks.append((None, slice(c1 - half, c1), (-rows) % M, w))
        self._torch: dict = {}

    def _blocks(self, like: torch.Tensor):
        key = (like.dtype, like.device)
        if key not in self._torch:
            rdt = like.real.dtype
            self._torch[key] = [(rs, cs, None if mr is None else torch.as_tensor(mr, device=like.device),
                                 torch.as_tensor(w, dtype=rdt, device=like.device))
                                for rs, cs, mr, w in self.blocks]
        return self._torch[key]

    def __call__(self, H: torch.Tensor) -> torch.Tensor:
        return torch.fft.irfft2(_HalfFold.apply(H, self._blocks(H)), s=self.out_shape)


class _HalfFold(torch.autograd.Function):
    """Folded half spectrum (before ``irfft2``) with a single-allocation backward."""

    @staticmethod
    def forward(ctx, H: torch.Tensor, blocks: list) -> torch.Tensor:
        ctx.blocks, ctx.shape = blocks, H.shape
        acc = None
        for rs, cs, mirror, w in blocks:
            if mirror is None:
                part = H[..., rs, cs] * w
            else:
                part = H[..., cs].index_select(-2, mirror).flip(-1).conj() * w
            acc = part if acc is None else acc.add_(part)
        return acc

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        gH = g.new_zeros(ctx.shape)
        for rs, cs, mirror, w in ctx.blocks:
            if mirror is None:
                gH[..., rs, cs] += g * w
            else:
                gH[..., cs].index_add_(-2, mirror, (g * w).conj().flip(-1))
        return gH, None
