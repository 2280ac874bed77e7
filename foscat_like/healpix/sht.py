"""Differentiable spherical harmonic transforms of HEALPix NEST maps (ducc0), spin 0 and 2.

    alm2map : a_lm ``(..., ncomp, nalm)`` complex -> maps ``(..., ncomp, npix)`` (NEST)
    map2alm : maps -> a_lm, healpy's ``map2alm(iter=0)``: ``(4 pi / npix)`` times the adjoint
              of ``alm2map`` (no ring weights)

``ncomp`` is 1 for spin 0 (T) and 2 for spin 2 ((E, B) <-> (Q, U), healpy's sign
convention). a_lm follow healpy's layout (``m >= 0``, m-major, ``lmax = mmax``). Each
backward is the exact adjoint of its forward under torch's complex-gradient convention
(``grad = dL/dRe + i dL/dIm``): real maps carry ``m > 0`` terms twice, hence the factor
``c_m = 2 - delta_m0`` below. float32 and float64; tensors on another device (CUDA) go to
the CPU for the transform and come back.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .geometry import nside_of


class HealpixSHT:
    """Transforms for one ``nside`` and ``lmax`` (default ``3 nside - 1``)."""

    def __init__(self, nside: int, lmax: int | None = None, nthreads: int = 1):
        import ducc0
        import healpy as hp
        nside_of(12 * nside * nside)
        self.nside, self.npix = int(nside), 12 * nside * nside
        self.lmax = 3 * nside - 1 if lmax is None else int(lmax)
        if not 0 <= self.lmax <= 4 * nside:
            raise ValueError(f"lmax must be in [0, {4 * nside}] for nside={nside}; got {lmax}")
        self.nthreads = int(nthreads)
        info = ducc0.healpix.Healpix_Base(self.nside, "RING").sht_info()
        self._geom = {k: info[k] for k in ("theta", "phi0", "nphi", "ringstart")}
        self.r2n = hp.ring2nest(self.nside, np.arange(self.npix))     # ring pixel i is NEST pixel r2n[i]
        self.n2r = np.argsort(self.r2n)
        l, m = hp.Alm.getlm(self.lmax)
        self.l, self.m = l, m
        self.nalm = l.size
        self.cm = np.where(m > 0, 2.0, 1.0)                          # weight of each a_lm in a real map

    # -- raw numpy transforms (RING order inside) -----------------------------------------
    def _synth(self, alm: np.ndarray, spin: int) -> np.ndarray:
        from ducc0.sht.experimental import synthesis
        lead = alm.shape[:-2]
        a = np.ascontiguousarray(alm.reshape((-1,) + alm.shape[-2:]))
        out = np.stack([synthesis(alm=x, lmax=self.lmax, spin=spin, nthreads=self.nthreads, **self._geom)
                        for x in a])
        return out[..., self.n2r].reshape(lead + out.shape[-2:])

    def _adjoint(self, maps: np.ndarray, spin: int) -> np.ndarray:
        from ducc0.sht.experimental import adjoint_synthesis
        lead = maps.shape[:-2]
        m = np.ascontiguousarray(maps.reshape((-1,) + maps.shape[-2:])[..., self.r2n])
        out = np.stack([adjoint_synthesis(map=x, lmax=self.lmax, spin=spin, nthreads=self.nthreads, **self._geom)
                        for x in m])
        return out.reshape(lead + out.shape[-2:])

    # -- differentiable transforms ---------------------------------------------------------
    def alm2map(self, alm: torch.Tensor, spin: int = 0) -> torch.Tensor:
        """``(..., ncomp, nalm)`` complex -> ``(..., ncomp, npix)`` real NEST maps."""
        self._check(alm, spin, self.nalm, "alm")
        return _Synthesis.apply(alm, self, spin)

    def map2alm(self, maps: torch.Tensor, spin: int = 0) -> torch.Tensor:
        """``(..., ncomp, npix)`` real NEST maps -> ``(..., ncomp, nalm)`` complex (healpy iter=0)."""
        self._check(maps, spin, self.npix, "maps")
        return _Analysis.apply(maps, self, spin)

    def map2alm_iter(self, maps: torch.Tensor, spin: int = 0, n_iter: int = 3) -> torch.Tensor:
        """``map2alm`` refined by ``n_iter`` Jacobi iterations (healpy's ``iter``, default 3)."""
        a = self.map2alm(maps, spin)
        for _ in range(n_iter):
            a = a + self.map2alm(maps - self.alm2map(a, spin), spin)
        return a

    def cl(self, alm: torch.Tensor) -> torch.Tensor:
        """Auto spectra ``(..., ncomp, lmax + 1)``: ``sum_m c_m |a_lm|^2 / (2 l + 1)``."""
        w = torch.as_tensor(self.cm, dtype=alm.real.dtype, device=alm.device)
        p = (alm.real ** 2 + alm.imag ** 2) * w
        idx = torch.as_tensor(self.l, device=alm.device)
        out = torch.zeros(alm.shape[:-1] + (self.lmax + 1,), dtype=p.dtype, device=p.device)
        out = out.index_add(-1, idx, p)
        return out / torch.arange(1, 2 * self.lmax + 2, 2, dtype=p.dtype, device=p.device)

    def _check(self, t: torch.Tensor, spin: int, n: int, name: str) -> None:
        if spin not in (0, 2):
            raise ValueError(f"spin must be 0 or 2; got {spin!r}")
        ncomp = 1 if spin == 0 else 2
        if t.dim() < 2 or t.shape[-1] != n or t.shape[-2] != ncomp:
            raise ValueError(f"{name} must have shape (..., {ncomp}, {n}) for spin {spin} at nside "
                             f"{self.nside}, lmax {self.lmax}; got {tuple(t.shape)}")


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _complex_dtype(real: torch.dtype) -> torch.dtype:
    return torch.complex64 if real == torch.float32 else torch.complex128


class _Synthesis(torch.autograd.Function):
    @staticmethod
    def forward(ctx, alm, sht: HealpixSHT, spin: int):
        ctx.sht, ctx.spin, ctx.dtype = sht, spin, alm.dtype
        out = sht._synth(_np(alm), spin)
        return torch.from_numpy(np.ascontiguousarray(out)).to(device=alm.device)

    @staticmethod
    def backward(ctx, g):
        sht = ctx.sht
        a = sht._adjoint(_np(g), ctx.spin) * sht.cm
        return torch.from_numpy(a).to(dtype=ctx.dtype, device=g.device), None, None


class _Analysis(torch.autograd.Function):
    @staticmethod
    def forward(ctx, maps, sht: HealpixSHT, spin: int):
        ctx.sht, ctx.spin, ctx.dtype = sht, spin, maps.dtype
        k = 4 * math.pi / sht.npix
        out = k * sht._adjoint(_np(maps), spin)
        return torch.from_numpy(out.astype(np.complex64 if maps.dtype == torch.float32 else np.complex128)
                                ).to(device=maps.device)

    @staticmethod
    def backward(ctx, G):
        sht = ctx.sht
        k = 4 * math.pi / sht.npix
        m = k * sht._synth(_np(G) / sht.cm, ctx.spin)
        return torch.from_numpy(np.ascontiguousarray(m)).to(dtype=ctx.dtype, device=G.device), None, None
