"""Reductions of the orientation axes: isotropic mean and angular Fourier harmonics.

S3 / S3P ``[..., L, L]`` and S4 ``[..., L, L, L]`` are first re-indexed by
orientation differences relative to the first axis (``l1``):

    S3_rel[..., l1, d]         = S3[..., l1, (l1 + d) % L]
    S4_rel[..., l1, d12, d13]  = S4[..., l1, (l1 + d12) % L, (l1 + d13) % L]

then the absolute axis ``l1`` is averaged (``iso``) or projected on
``phi_k(l1) / L`` with ``phi = [1, cos(2 pi l/L), sin(2 pi l/L), cos(4 pi l/L), ...]``
(``fft``; ``k = 0`` equals the isotropic mean). S1 / S2 ``[..., L]`` are
projected directly. Standard deviations propagate as ``sqrt(sum_j A_jk^2 sigma_j^2)``.
"""
from __future__ import annotations

import numpy as np
import torch


def fourier_basis(L: int, nharm: int, imaginary: bool) -> np.ndarray:
    """``(L, nout)`` projection matrix ``phi_k(l) / L``; ``nout = 1 + nharm (x2 if imaginary)``."""
    l = np.arange(L)
    cols = [np.ones(L)]
    for k in range(1, nharm + 1):
        cols.append(np.cos(2 * np.pi * k * l / L))
        if imaginary:
            cols.append(np.sin(2 * np.pi * k * l / L))
    return np.stack(cols, axis=1) / L


def relative(x: torch.Tensor, naxes: int) -> torch.Tensor:
    """Re-index the last ``naxes`` (2 or 3) orientation axes by differences to the first."""
    L = x.shape[-1]
    l1 = torch.arange(L, device=x.device)
    d = torch.arange(L, device=x.device)
    if naxes == 2:
        idx = (l1[:, None] + d[None, :]) % L                                   # (L, L)
        return x.gather(-1, idx.expand(x.shape))
    i2 = ((l1[:, None, None] + d[None, :, None]) % L).expand(L, L, L)
    i3 = ((l1[:, None, None] + d[None, None, :]) % L).expand(L, L, L)
    return x[..., l1[:, None, None].expand(L, L, L), i2, i3]


def _project(x: torch.Tensor, A: np.ndarray, axis: int, square: bool = False) -> torch.Tensor:
    """Contract ``x``'s orientation axis ``axis`` with ``A (L, nout)``; the new axis goes last."""
    At = torch.as_tensor(A ** 2 if square else A, dtype=x.real.dtype, device=x.device)
    x = x.movedim(axis, -1)
    if x.is_complex():
        At = At.to(x.dtype)
    return x @ At


def reduce_field(x: torch.Tensor, kind: str, naxes: int, A: np.ndarray | None,
                 sigma: bool = False) -> torch.Tensor:
    """Apply ``kind`` in ('iso', 'fft') to one statistic with ``naxes`` orientation axes.

    ``sigma=True`` propagates standard deviations instead of values.
    """
    L = x.shape[-1]
    if A is None:                               # isotropic mean
        A = np.full((L, 1), 1.0 / L)
    if naxes == 1:
        y = _project(x ** 2 if sigma else x, A, -1, square=sigma)
    else:
        rel = relative(x ** 2 if sigma else x, naxes)
        y = _project(rel, A, -naxes, square=sigma)   # l1 axis -> last
    if sigma:
        y = torch.sqrt(y)
    if kind == "iso":
        y = y[..., 0]
    return y
