"""HEALPix (NEST) grid for the scattering covariance and the synthesis.

Wavelets are oriented Morlet stencils on each pixel's ``KERNELSZ x KERNELSZ``
neighbourhood in its tangent plane (``sigma = 0.8`` px for 3x3, 1.2 px for
5x5, ``xi = 3pi/4`` rad/px, made exactly zero-mean pixel by pixel, so the
base-pixel corners with 7 neighbours are handled like any other pixel). Scale
``j`` is the same stencil on the map downgraded ``j`` times. Operators are
precomputed once per nside as sparse CSR matrices (and their transposes, for a
hand-written backward): no Python loop over pixels at run time.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..grid import Grid
from .geometry import neighbourhood

MIN_NSIDE = 2          # coarsest level allowed
DEFAULT_MIN_NSIDE = 4  # coarsest level used when Jmax is not given


class _SparseApply(torch.autograd.Function):
    """``y = A x`` for a fixed real CSR ``A``; backward ``A^T g`` with a precomputed ``A^T``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, A: torch.Tensor, At: torch.Tensor) -> torch.Tensor:
        ctx.At = At
        return A @ x

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        return ctx.At @ g, None, None


def _csr(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, shape, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """The CSR matrix and its transpose as torch tensors (int32 indices: less memory traffic)."""
    import warnings

    import scipy.sparse as sp
    m = sp.csr_matrix((vals, (rows, cols)), shape=shape)
    mt = m.T.tocsr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "sparse CSR support is in beta"
        conv = lambda s: torch.sparse_csr_tensor(torch.from_numpy(s.indptr.astype(np.int32)),
                                                 torch.from_numpy(s.indices.astype(np.int32)),
                                                 torch.from_numpy(s.data).to(dtype), size=s.shape)
        return conv(m), conv(mt)


def nside_of(npix: int) -> int:
    """nside of a full-sky map, or ValueError."""
    nside = int(round(math.sqrt(npix / 12)))
    if 12 * nside * nside != npix:
        raise ValueError(f"a HEALPix map must have npix = 12*nside**2 pixels; got {npix}")
    if nside & (nside - 1):
        raise ValueError(f"nside must be a power of 2 (NEST downgrading); got nside={nside}")
    return nside


class HealpixGrid(Grid):
    """Full-sky HEALPix NEST maps ``(..., 12 nside^2)``."""

    spatial_ndim = 1
    can_upsample_beyond_input = False

    def __init__(self, L: int = 4, KERNELSZ: int = 3):
        self.L, self.KERNELSZ, self.name = int(L), int(KERNELSZ), "healpix"
        self._ops: dict = {}

    # -- shapes -----------------------------------------------------------------
    def check_field(self, x: torch.Tensor, name: str) -> None:
        if x.dim() < 1:
            raise ValueError(f"{name} must be a HEALPix map (..., 12*nside**2); got a scalar")
        try:
            nside_of(x.shape[-1])
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None

    def max_scales(self, spatial_shape, edge: bool = False, coarsest: int = MIN_NSIDE) -> int:
        nside = nside_of(spatial_shape[-1])
        J = 0
        while nside >= coarsest:
            J += 1
            nside //= 2
        return J

    def coarser(self, spatial_shape):
        nside = nside_of(spatial_shape[-1])
        return (spatial_shape[-1] // 4,) if nside > 1 else None

    def default_scales(self, spatial_shape, edge: bool = False) -> int:
        return max(1, self.max_scales(spatial_shape, edge, DEFAULT_MIN_NSIDE))

    # -- operators ----------------------------------------------------------------
    def operators(self, nside: int, like: torch.Tensor) -> dict:
        """Sparse wavelet (real parts then imaginary parts, ``(2 L npix, npix)``) and smoothing."""
        key = (nside, like.dtype, like.device)
        if key not in self._ops:
            self._ops[key] = {k: tuple(t.to(like.device) for t in v)
                              for k, v in self._build(nside, like.dtype).items()}
        return self._ops[key]

    def _build(self, nside: int, dtype: torch.dtype) -> dict:
        index, xy, valid = neighbourhood(nside, self.KERNELSZ)
        npix, K = index.shape
        sigma = 0.8 if self.KERNELSZ == 3 else 1.2
        xi, slant = 3 * np.pi / 4, min(1.0, 4.0 / self.L)
        r2 = (xy ** 2).sum(-1)
        rows_l, re_l, im_l = [], [], []
        for l in range(self.L):
            th = l * np.pi / self.L
            u = xy[..., 0] * np.cos(th) + xy[..., 1] * np.sin(th)           # along the wave
            v = -xy[..., 0] * np.sin(th) + xy[..., 1] * np.cos(th)
            env = np.exp(-(u ** 2 + (slant * v) ** 2) / (2 * sigma ** 2)) * valid
            env = env / env.sum(1, keepdims=True)
            wave = np.exp(1j * xi * u)
            beta = (env * wave).sum(1, keepdims=True)                        # zero mean per pixel
            w = env * (wave - beta)
            rows_l.append(l * npix + np.repeat(np.arange(npix), K))
            re_l.append(w.real.ravel()); im_l.append(w.imag.ravel())
        rows = np.concatenate(rows_l)
        rows = np.concatenate([rows, rows + self.L * npix])           # real parts, then imaginary
        cols = np.tile(index.ravel(), 2 * self.L)
        shape = (2 * self.L * npix, npix)
        smooth = np.exp(-r2 / (2 * 0.8 ** 2)) * valid
        smooth = smooth / smooth.sum(1, keepdims=True)
        return {"psi": _csr(rows, cols, np.concatenate(re_l + im_l), shape, dtype),
                "smooth": _csr(np.repeat(np.arange(npix), K), index.ravel(), smooth.ravel(),
                               (npix, npix), dtype)}

    @staticmethod
    def _apply(pair, x: torch.Tensor) -> torch.Tensor:
        """``(npix_in, M)`` -> ``(rows, M)`` through a sparse operator pair."""
        return _SparseApply.apply(x, pair[0], pair[1])

    def wavelet(self, x: torch.Tensor, lead: bool = False) -> torch.Tensor:
        npix = x.shape[-1]
        ops = self.operators(nside_of(npix), x)
        cols = x.reshape(-1, npix).T.contiguous()                         # (npix, M)
        y = self._apply(ops["psi"], cols).reshape(2, self.L, npix, -1)
        out = torch.complex(y[0], y[1]).permute(2, 0, 1)                   # (M, L, npix)
        out = out.reshape(x.shape[:-1] + (self.L, npix))                   # (B, *C, L, npix)
        if lead and x.dim() > 2:
            out = out.movedim(-2, 1)
        return out

    def smooth(self, x: torch.Tensor) -> torch.Tensor:
        npix = x.shape[-1]
        ops = self.operators(nside_of(npix), x)
        return self._apply(ops["smooth"], x.reshape(-1, npix).T.contiguous()).T.reshape(x.shape)

    def downsample(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_complex():
            return torch.complex(self.downsample(x.real), self.downsample(x.imag))
        y = self.smooth(x)
        return y.reshape(x.shape[:-1] + (x.shape[-1] // 4, 4)).mean(-1)

    def upsample(self, x: torch.Tensor) -> torch.Tensor:
        return self.smooth(x.repeat_interleave(4, dim=-1))

    def downsample_mask(self, w: torch.Tensor) -> torch.Tensor:
        return w.reshape(w.shape[:-1] + (w.shape[-1] // 4, 4)).mean(-1)
