"""Kriging (the best linear interpolation of missing pixels), written once over the grid protocol.

The covariance is stationary and isotropic, ``C = sum_b c_b P_b`` over the grid's bands
(``grid.band_split``: the projections ``P_b``), with each band's power ``c_b`` read off the
observed pixels: the band power of the zero-filled field over that of zero-filled unit white
noise under the same mask, so that the mask's coupling of scales cancels to first order. The
interpolation solves ``(M C M + eps) alpha = M x`` by conjugate gradients on the known pixels
(``M``: for inpainting, the hole's surroundings; ``eps`` a small nugget that keeps the system
well posed) and fills the missing pixels with ``C alpha``; every other pixel keeps its value.

It is the ``m`` of the inpainting posterior (``optim.posterior``): any linear interpolator
gives calibrated samples there; a good one gives a low-error mean.
"""
from __future__ import annotations

import warnings

import torch

from .. import bands
from ..grid import Grid

NUGGET = 1e-3        # of the field's variance: white "noise" on the observed pixels
MAX_CG = 300
CG_TOL = 1e-6


def band_covariance(grid: Grid, x: torch.Tensor, valid: torch.Tensor, n_white: int = 4) -> torch.Tensor:
    """Band powers ``c (nb,)`` of the fields ``x (B, *S)`` from their pixels where ``valid``."""
    m = valid.to(x.dtype)
    xm = (x - x.flatten(1)[:, valid.flatten()].mean(1).reshape((-1,) + (1,) * (x.dim() - 1))) * m
    gen = torch.Generator().manual_seed(0)
    white = torch.randn((n_white,) + tuple(x.shape[1:]), generator=gen, dtype=x.dtype) * m
    px = bands.cross(grid.band_split(xm), grid.band_split(xm)) / x.shape[0]
    pw = bands.cross(grid.band_split(white), grid.band_split(white)) / n_white
    return px / pw.clamp_min(1e-30)


def krige(grid: Grid, x: torch.Tensor, known: torch.Tensor, c: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """``x (B, *S)`` with the pixels ``fill (*S)`` replaced by their kriging from the pixels
    ``known (*S)`` (covariance from the band powers ``c``, around the mean of ``known``); every
    other pixel keeps its value."""
    m = known.to(x.dtype)
    mean = x.flatten(1)[:, known.flatten()].mean(1).reshape((-1,) + (1,) * (x.dim() - 1))
    y = (x - mean) * m
    cov = lambda v: bands.combine([grid.band_split(v)], c[None])
    eps = NUGGET * float(c.mean())
    A = lambda v: cov(v * m) * m + eps * v
    a = torch.zeros_like(y)                   # conjugate gradients, one system per field
    r = y - A(a)
    p, rr = r.clone(), (r * r).flatten(1).sum(1)
    stop = CG_TOL ** 2 * rr
    for _ in range(MAX_CG):
        if bool((rr <= stop).all()):
            break
        Ap = A(p)
        step = rr / (p * Ap).flatten(1).sum(1).clamp_min(1e-300)
        a = a + step.reshape(mean.shape) * p
        r = r - step.reshape(mean.shape) * Ap
        rr_new = (r * r).flatten(1).sum(1)
        p = r + (rr_new / rr.clamp_min(1e-300)).reshape(mean.shape) * p
        rr = rr_new
    if not bool((rr <= stop).all()):
        warnings.warn(f"kriging: conjugate gradients stopped after {MAX_CG} iterations above the tolerance "
                      f"{CG_TOL:g} (residual {float((rr / stop.clamp_min(1e-300)).max().sqrt()) * CG_TOL:.2g})")
    return torch.where(fill, cov(a * m) + mean, x)
