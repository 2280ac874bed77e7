"""The planar grids' real wavelet-diagonal basis (``stats.spectral``).

A real field ``x (..., *S)`` is represented by ``Y = view_as_real(rfftn(x) / P)``, flattened
to ``(..., K)`` with ``K = 2 prod(H)`` (``H``: the half spectrum ``S[:-1] + (S[-1]//2 + 1,)``,
real and imaginary parts interleaved). With ``psi`` the real Fourier multiplier of a wavelet
and ``psi_m(k) = psi(-k)``, the spatial mean of ``(a * psi) conj(b * psi)`` over the full
spectrum folds onto the half one as

    sum_H s (Ar Br + Ai Bi) + i sum_H d (Ai Br - Ar Bi),
    s = psi^2 + c psi_m^2,   d = psi^2 - c psi_m^2

(``c = 1`` on the columns whose mirror is not stored, ``0`` on the self-mirrored ones:
last-axis frequency 0 and Nyquist), i.e. ``Y_a . (w_re * Y_b) + i rot(Y_a) . (w_im * Y_b)``
with ``rot(A) = view_as_real(-i A)``. The wavelet output itself is
``irfft(X psi_e) + i irfft(-i X psi_o)`` with the even and odd parts of ``psi``, so no complex
field of full spectrum is formed, and downsampling is a crop of ``H``.
"""
from __future__ import annotations

import torch


def half(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Shape of the stored half spectrum."""
    return tuple(shape[:-1]) + (shape[-1] // 2 + 1,)


def analysis(x: torch.Tensor, nd: int) -> torch.Tensor:
    """``(..., *S)`` real -> ``(..., K)`` real coefficients."""
    X = torch.fft.rfftn(x, dim=tuple(range(-nd, 0)), norm="forward")     # fft / P
    return torch.view_as_real(X).flatten(-nd - 1)


def unpack(Y: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """``(..., K)`` -> complex half spectrum ``(..., *H)``."""
    return torch.view_as_complex(Y.unflatten(-1, half(shape) + (2,)))


def pack(X: torch.Tensor, nd: int) -> torch.Tensor:
    return torch.view_as_real(X.contiguous()).flatten(-nd - 1)


def rot(Y: torch.Tensor) -> torch.Tensor:
    """``view_as_real(-i A)``: interleaved ``(Ar, Ai)`` -> ``(Ai, -Ar)``."""
    p = Y.unflatten(-1, (-1, 2))
    return torch.stack([p[..., 1], -p[..., 0]], -1).flatten(-2)


def wavelet_parts(Y: torch.Tensor, shape: tuple[int, ...], pe: torch.Tensor, po: torch.Tensor) -> torch.Tensor:
    """Real and imaginary parts ``(B, 2L, *S)`` (the L real parts first) of the wavelet transform
    of the field ``Y (B, K)``;
    ``pe, po (L, K)``: the even and odd parts of the multipliers, interleaved as ``Y``. The
    products are real ones (``X psi_e`` and ``-i X psi_o = rot(X) psi_o``), which torch runs far
    faster than broadcast complex products."""
    nd, L = len(shape), pe.shape[0]
    F = _Scaled.apply(Y, pe, po)                                       # (B, 2, L, K)
    F = torch.view_as_complex(F.reshape((Y.shape[0], 2 * L) + half(shape) + (2,)))
    return torch.fft.irfftn(F, s=shape, dim=tuple(range(-nd, 0)), norm="forward")


class _Scaled(torch.autograd.Function):
    """``(Y * a[l], rot(Y) * b[l])_l``: ``Y (B, K)``, ``a, b (L, K)`` -> ``(B, 2, L, K)``."""

    @staticmethod
    def forward(ctx, Y, a, b):
        F = Y.new_empty((Y.shape[0], 2) + tuple(a.shape))
        torch.mul(Y[:, None], a, out=F[:, 0])
        torch.mul(rot(Y)[:, None], b, out=F[:, 1])
        ctx.save_for_backward(a, b)
        return F

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g[:, 0] * a).sum(1) - rot((g[:, 1] * b).sum(1)), None, None   # rot^T = -rot


def down(Y: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """The coefficients of ``grid.downsample(x)``: a crop of the half spectrum (the two bins
    at +-n/2 of an even new size fold onto its Nyquist bin, as the full-spectrum crop does)."""
    from .grid import _crop_spectrum
    nd = len(shape)
    X = unpack(Y, shape)
    new = tuple(n // 2 for n in shape)
    if nd == 2:
        X = _crop_spectrum(X, (-2,), new[:1])
    h = new[-1] // 2
    if new[-1] % 2:
        X = X[..., :h + 1]
    else:
        col = X[..., h]
        mirror = col if nd == 1 else col[..., (-torch.arange(new[0], device=X.device)) % new[0]]
        X = torch.cat([X[..., :h], (col + mirror.conj()).unsqueeze(-1)], -1)
    return pack(X, nd)


def weights(f: torch.Tensor) -> dict:
    """From the full multipliers ``f (L, *S)``: ``pe, po (L, K)`` (``wavelet_parts``) and the Gram weights
    ``w_re, w_im (L, K)`` of the module docstring."""
    shape = tuple(f.shape[1:])
    fm = f
    for ax, n in enumerate(shape, start=1):
        fm = fm.index_select(ax, (-torch.arange(n, device=f.device)) % n)
    H = half(shape)
    ph, pm = f[..., :H[-1]], fm[..., :H[-1]]
    k1 = torch.arange(H[-1], device=f.device)
    c = ((k1 > 0) & (2 * k1 != shape[-1])).to(f.dtype)
    s, d = ph * ph + c * pm * pm, ph * ph - c * pm * pm
    inter = lambda w: w.unsqueeze(-1).expand(w.shape + (2,)).flatten(1)
    return {"pe": inter(0.5 * (ph + pm)), "po": inter(0.5 * (ph - pm)), "w_re": inter(s), "w_im": inter(d)}
