"""Fourier transforms of the planar spectral path and the 1D classic transform, on ducc0 where
it is faster.

``analysis(x, nd)``: a real field ``(..., *S)`` -> its half spectrum ``rfftn(x) / P`` as real
coefficients ``(..., K)`` (real and imaginary parts interleaved, ``K = 2 prod(H)``, ``H`` the
half-spectrum shape ``S[:-1] + (S[-1] // 2 + 1,)``), differentiable. ``c2r(Y, shape, False)``
(no autograd) is its inverse without normalisation, ``y = sum_k Y_k e^{i k x}`` over the
Hermitian-completed spectrum. The adjoints (one transform each, of the same size):

    analysis^T(g) = irfftn(g d) / P     d = 1/2 on the columns whose mirror is not stored
    c2r^T(g)      = c rfftn(g)          c = 2 on those columns (1 on last-axis 0 and Nyquist)

On the CPU, when torch runs on one thread (``_single_thread``), the inverse transforms run on
ducc0, on the caller's temporary spectrum as work space where there is one (``overwrite``;
measured 2026-12-07, torch 2.13, 1 thread, 64²-256², 1-8 fields: 0.53-0.73x torch.fft's time in
float64, 0.8-0.9x in float32, where ducc0 without it took 0.84-1.2x). The forward transforms run
on ducc0 too, or on torch with ``FOSCAT_LIKE_FFT=torch`` (``_torch_forward``: they measured
either way round on the two machines the library was timed on). Elsewhere everything is
``torch.fft``. In one eval+grad on 2026-12-07's machine (paired, 7 rounds; with torch's r2c):
1.03x (128² float64), 1.04x (float32), 1.07x / 1.10x (256²), 1.00x (64²), of which the r2c's
share 1.02-1.03x. ``ifft``: the complex inverse transform of the 1D classic
transform, on ducc0 under the same conditions for the lengths where it measured faster. All are
checked against ``torch.fft`` and its autograd (tests/test_fft.py, tests/test_spectral.py).
"""
from __future__ import annotations

import functools
import math
import os

import torch

_COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128}


def half(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Shape of the stored half spectrum."""
    return tuple(shape[:-1]) + (shape[-1] // 2 + 1,)


DUCC_MIN_SIZE = 4096    # points per transform from which ducc0 is used: below, a call's fixed
                        # cost (~8 us) exceeds what it saves (measured: 32² torch 7.6 us, ducc0 15 us)


def _single_thread() -> bool:
    """ducc0 only where torch runs on one thread: with two (a 2-core machine), the same
    eval+grad measured 5-15% slower on ducc0 than on torch.fft, with ducc0 on one thread or
    two (torch's idle workers and ducc0's compete for the cores)."""
    return torch.get_num_threads() == 1


def _ducc(t: torch.Tensor) -> bool:
    return t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64) and _single_thread()


ENV = "FOSCAT_LIKE_FFT"   # "ducc0" (default) or "torch": the forward transforms' library on one thread


def _torch_forward() -> bool:
    """Whether torch's forward transforms (the spectral path's r2c, the 1D classic transform's
    c2c) run instead of ducc0's on one thread: ``FOSCAT_LIKE_FFT`` = ``torch``;
    the default ``ducc0``. Which is faster depends on the machine: on 2026-12-06's, ducc0's float64
    r2c was 1.75x faster and its 1D c2c 1.4-1.6x; on 2026-12-07's (AVX-512, torch on MKL), torch's
    r2c 1.1-2.2x and c2c 1.4-2.8x, which made a 128² float64 eval+grad 1.02-1.03x faster (paired,
    9 rounds) and Scattering1D 16x8192 1.09-1.13x. A timing at first use was tried: torch's first
    calls run 2x slower than its later ones, so it picked ducc0 there. Both give the same transforms
    to rounding."""
    v = os.environ.get(ENV, "ducc0").strip()
    if v not in ("torch", "ducc0"):
        raise ValueError(f"{ENV} must be 'ducc0' (the default) or 'torch'; got {v!r}")
    return v == "torch"


def _axes(nd: int) -> tuple[int, ...]:
    return tuple(range(-nd, 0))


@functools.lru_cache(maxsize=64)
def _column_factor(shape: tuple[int, ...], value: float) -> torch.Tensor:
    """``(prod(H) * 2,)`` float64 (CPU; never written to): ``value`` on the interleaved
    coefficients of the columns whose mirror is not stored, 1 on the others."""
    H = half(shape)
    k = torch.arange(H[-1])
    c = torch.where((k > 0) & (2 * k != shape[-1]), value, 1.0).to(torch.float64)
    return c.repeat_interleave(2).repeat(math.prod(H[:-1]))


def column_weight(shape: tuple[int, ...], value: float, like: torch.Tensor) -> torch.Tensor:
    """``_column_factor`` as ``like``'s dtype and device ``(K,)`` (cached: a backward's)."""
    return _column_weight(tuple(shape), value, like.dtype, like.device)


@functools.lru_cache(maxsize=64)
def _column_weight(shape: tuple[int, ...], value: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return _column_factor(shape, value).to(device=device, dtype=dtype)


def r2c(x: torch.Tensor, nd: int, scale_by_size: bool, ducc: bool = False) -> torch.Tensor:
    """``rfftn`` over the last ``nd`` axes, divided by ``P`` or not, as interleaved reals (on
    ducc0 when ``ducc``, unless ``FOSCAT_LIKE_FFT=torch`` (``_torch_forward``): no autograd)."""
    shape = tuple(x.shape[-nd:])
    if ducc and not _torch_forward():
        import ducc0
        out = torch.empty(x.shape[:-nd] + half(shape), dtype=_COMPLEX[x.dtype])
        ducc0.fft.r2c(x.detach().numpy(), axes=_axes(nd), forward=True, inorm=2 if scale_by_size else 0,
                      nthreads=1, out=out.numpy())
    else:
        out = torch.fft.rfftn(x, dim=_axes(nd), norm="forward" if scale_by_size else "backward")
    return torch.view_as_real(out).flatten(-nd - 1)


def c2r(Y: torch.Tensor, shape: tuple[int, ...], scale_by_size: bool, ducc: bool = False,
        overwrite: bool = False) -> torch.Tensor:
    """``irfftn`` of interleaved reals ``(..., K)`` to ``(..., *shape)``, divided by ``P`` or not
    (on ducc0 when ``ducc``: no autograd). ``overwrite``: ``Y`` is a temporary of the caller's,
    which ducc0 may use as its work space (no copy of the spectrum; 128² float64, 8 fields:
    0.53-0.59x torch.fft's time, against 0.84-1.0x without)."""
    nd = len(shape)
    Z = torch.view_as_complex(Y.contiguous().view(Y.shape[:-1] + half(shape) + (2,)))
    if ducc:
        import ducc0
        out = torch.empty(Y.shape[:-1] + tuple(shape), dtype=Y.dtype)
        ducc0.fft.c2r(Z.detach().numpy(), axes=_axes(nd), lastsize=shape[-1], forward=False,
                      inorm=2 if scale_by_size else 0, nthreads=1, out=out.numpy(),
                      allow_overwriting_input=overwrite)
        return out
    return torch.fft.irfftn(Z, s=shape, dim=_axes(nd), norm="backward" if scale_by_size else "forward")


class _Analysis(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, nd):
        ctx.shape = tuple(x.shape[-nd:])
        return r2c(x.contiguous(), nd, True, ducc=True)

    @staticmethod
    def backward(ctx, g):
        return analysis_adjoint(g, ctx.shape), None


def analysis_adjoint(g: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """``analysis^T(g) = irfftn(g d) / P`` ``(..., *shape)`` of ``g (..., K)`` (module docstring;
    no autograd on ducc0, which it uses by ``use_ducc``)."""
    ducc = use_ducc(g, shape) and not torch.is_grad_enabled()     # create_graph: torch.fft, recorded
    return c2r(g * column_weight(shape, 0.5, g), shape, True, ducc=ducc, overwrite=True)


def use_ducc(t: torch.Tensor, shape: tuple[int, ...]) -> bool:
    """Whether transforms of ``t``'s fields of spatial ``shape`` run on ducc0."""
    return _ducc(t) and math.prod(shape) >= DUCC_MIN_SIZE


def analysis(x: torch.Tensor, nd: int) -> torch.Tensor:
    """``(..., *S)`` real -> ``(..., K)`` real coefficients of ``rfftn(x) / P``."""
    if use_ducc(x, tuple(x.shape[-nd:])):
        return _Analysis.apply(x, nd)
    # torch.fft and its own autograd: below ducc0's size the written-out adjoint (one node) measured
    # 0.96-0.98x in a 16²-32² loss eval+grad (paired, 9 rounds; a custom node's call costs more
    # than the ~10 operations of torch's rfftn backward it saves)
    return r2c(x, nd, True)


def _ducc_ifft(z: torch.Tensor) -> bool:
    """ducc0's complex transform where it measured faster than torch.fft (1 thread, 16x8 rows):
    power-of-two lengths from 4096 (complex64 8192: 2.1 against 3.0 ms; 16384: 5.0 against 7.3
    ms); at 1024-2048 it was up to 3x slower, and at 12288 no faster), unless
    ``FOSCAT_LIKE_FFT=torch`` (``_torch_forward``)."""
    n = z.shape[-1]
    return (z.device.type == "cpu" and z.dtype in _COMPLEX.values() and n >= 4096 and n & (n - 1) == 0
            and _single_thread() and not _torch_forward())


def _c2c(z: torch.Tensor, forward: bool) -> torch.Tensor:
    """ducc0's transform of the last axis, scaled by ``1/n`` (no autograd)."""
    import ducc0
    z = z.contiguous()
    out = torch.empty_like(z)
    ducc0.fft.c2c(z.detach().numpy(), axes=(-1,), forward=forward, inorm=2,
                  nthreads=1, out=out.numpy())
    return out


class _IFFT(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        return _c2c(z, False)

    @staticmethod
    def backward(ctx, g):                  # the adjoint of ifft is fft / n
        if torch.is_grad_enabled():        # a differentiated gradient: torch.fft, recorded
            return torch.fft.fft(g) / g.shape[-1]
        return _c2c(g, True)


def ifft(z: torch.Tensor) -> torch.Tensor:
    """``torch.fft.ifft(z)`` over the last axis (on ducc0 where ``_ducc_ifft``)."""
    return _IFFT.apply(z) if _ducc_ifft(z) else torch.fft.ifft(z)
