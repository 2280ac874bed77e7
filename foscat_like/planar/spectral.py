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

import functools

import torch

from .. import fft
from ..fft import half
from ..ops import put_add, take


def analysis(x: torch.Tensor, nd: int) -> torch.Tensor:
    """``(..., *S)`` real -> ``(..., K)`` real coefficients (``fft.analysis``: ducc0 on the CPU)."""
    return fft.analysis(x, nd)


def rot(Y: torch.Tensor) -> torch.Tensor:
    """``view_as_real(-i A)``: interleaved ``(Ar, Ai)`` -> ``(Ai, -Ar)``: one gather (the pairs
    swapped) and one multiply by the cached signs (two kernels; the stack of a negated copy
    took five operations, measured 1.2-1.9x slower)."""
    swap, sign = _rot_maps(Y.shape[-1], Y.dtype, Y.device)
    return take(Y, swap) * sign


@functools.lru_cache(maxsize=64)
def _rot_maps(K: int, dtype: torch.dtype, device: torch.device) -> tuple:
    """``rot``'s pair-swapping index and signs ``(K,)`` (never written to)."""
    swap = torch.arange(K, device=device).view(-1, 2).flip(-1).flatten()
    return swap, torch.tensor([1.0, -1.0], dtype=dtype, device=device).repeat(K // 2)


def wavelet_parts(Y: torch.Tensor, shape: tuple[int, ...], w: dict) -> torch.Tensor:
    """Real and imaginary parts ``(B, 2L, *S)`` (the L real parts first) of the wavelet transform
    of the field ``Y (B, K)``: ``c2r(Y pe[l])`` and ``c2r(rot(Y) po[l])``, with ``w`` from
    ``weights`` (``pe, po (L, K)``: the even and odd parts of the multipliers, interleaved as
    ``Y``). The products are real ones (``X psi_e`` and ``-i X psi_o = rot(X) psi_o``), which
    torch runs far faster than broadcast complex products."""
    return _WaveletParts.apply(Y, w["pe"], w["po"], w["pe_T"], w["po_T"], tuple(shape))


class _WaveletParts(torch.autograd.Function):
    """``wavelet_parts`` as one node. Backward: one real forward transform of the gradient
    (``fft.c2r^T = c rfftn``, the factor ``c`` already in ``pe_T = c pe``, ``po_T = c po``),
    then the products' adjoints summed over ``l`` (``rot^T = -rot``)."""

    @staticmethod
    def forward(ctx, Y, pe, po, pe_T, po_T, shape):
        B, (L, K) = Y.shape[0], pe.shape
        F = Y.new_empty((B, 2, L, K))
        torch.mul(Y[:, None], pe, out=F[:, 0])
        torch.mul(rot(Y)[:, None], po, out=F[:, 1])
        ctx.ducc, ctx.shape = fft.use_ducc(Y, shape), shape
        ctx.save_for_backward(pe_T, po_T)
        return fft.c2r(F.view(B, 2 * L, K), shape, False, ducc=ctx.ducc, overwrite=True)

    @staticmethod
    def backward(ctx, g):
        pe_T, po_T = ctx.saved_tensors
        # a differentiated gradient (create_graph) takes torch.fft, which autograd records
        ducc = ctx.ducc and not torch.is_grad_enabled()
        return _parts_adjoint(g, pe_T, po_T, len(ctx.shape), ducc), None, None, None, None, None


def _parts_adjoint(g, pe_T, po_T, nd: int, ducc: bool) -> torch.Tensor:
    B, L = g.shape[0], pe_T.shape[0]
    gF = fft.r2c(g.contiguous(), nd, False, ducc=ducc).view(B, 2, L, -1)
    return (gF[:, 0] * pe_T).sum(1) - rot((gF[:, 1] * po_T).sum(1))


def down(Y: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """The coefficients of ``grid.downsample(x)``: a crop of the half spectrum (the two bins
    at +-n/2 of an even new size fold onto its Nyquist bin, as the full-spectrum crop does).
    ``Y (..., K)`` -> ``(..., K')``: one gather, plus one scatter-add for the folded bins."""
    i0, dst, src, sign = _down_index(tuple(shape))
    out = take(Y, i0)
    if dst.numel():
        out = put_add(out, dst, take(Y, src) * sign.to(device=Y.device, dtype=Y.dtype))
    return out


@functools.lru_cache(maxsize=64)
def _down_index(shape: tuple[int, ...]) -> tuple:
    """``down`` as index maps (CPU int64, never written to): ``out = Y[i0]`` then
    ``out[dst] += sign * Y[src]``. In the complex half spectrum, the new row ``r`` (2D) sums the
    old rows ``rows(r)`` (two at the new Nyquist row of an even size), and an even new last size
    folds ``conj`` of the mirrored column onto its Nyquist column."""
    nd = len(shape)
    new = tuple(n // 2 for n in shape)
    H, Hn = half(shape), half(new)

    def rows(r: int) -> list:                  # old rows (dim -2) summed into new row r
        if nd == 1:
            return [0]
        m, N, h = new[0], shape[0], new[0] // 2
        if r < h or (m % 2 and r == h):
            return [r]
        return [h, N - h] if r == h else [N - m + r]

    h1 = new[-1] // 2
    i0, extra = [], []
    for r in range(Hn[0] if nd == 2 else 1):
        for c in range(Hn[-1]):
            o = r * Hn[-1] + c
            terms = [(q * H[-1] + c, False) for q in rows(r)]
            if new[-1] % 2 == 0 and c == h1:
                m = (-r) % new[0] if nd == 2 else 0
                terms += [(q * H[-1] + c, True) for q in rows(m)]
            i0 += [2 * terms[0][0], 2 * terms[0][0] + 1]
            for p, conj in terms[1:]:
                extra += [(2 * o, 2 * p, 1.0), (2 * o + 1, 2 * p + 1, -1.0 if conj else 1.0)]
    dst, src, sign = zip(*extra) if extra else ((), (), ())
    return (torch.tensor(i0, dtype=torch.int64), torch.tensor(dst, dtype=torch.int64),
            torch.tensor(src, dtype=torch.int64), torch.tensor(sign, dtype=torch.float64))


def weights(f: torch.Tensor) -> dict:
    """From the full multipliers ``f (L, *S)``: ``pe, po, pe_T, po_T (L, K)`` (``wavelet_parts``) and the Gram weights
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
    inter = lambda w: flush(w).unsqueeze(-1).expand(w.shape + (2,)).flatten(1)
    pe, po = inter(0.5 * (ph + pm)), inter(0.5 * (ph - pm))
    c = fft.column_weight(shape, 2.0, pe)                       # wavelet_parts' backward
    return {"pe": pe, "po": po, "pe_T": pe * c, "po_T": po * c, "w_re": inter(s), "w_im": inter(d)}


def flush(w: torch.Tensor) -> torch.Tensor:
    """``w (L, ...)`` with the entries below ``eps^2`` of their row's largest set to zero.

    A Gaussian wavelet's multiplier falls to ~1e-39 far from its band: such weights change no
    sum by more than a rounding error, but their products with the spectra are subnormal
    numbers, on which the CPU's multiplies run 10-100x slower (measured: the Gram's weighted
    rows at 64² took 195 us instead of 17)."""
    eps = torch.finfo(w.dtype).eps
    top = w.abs().flatten(1).amax(1).reshape((-1,) + (1,) * (w.dim() - 1))
    return torch.where(w.abs() < top * eps * eps, torch.zeros_like(w), w)
