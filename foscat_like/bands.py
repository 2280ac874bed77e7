"""Isotropic bands: a partition of a grid's Fourier (planar) or harmonic (sphere) modes into
``NBANDS`` groups, log-spaced in ``|k|`` or ``l`` (on a HEALPix ``cell_ids`` patch, which has
no harmonic transform: the NEST hierarchy's levels, ``healpix.patch``), used to combine
estimates band by band (``optim.posterior``). A grid's ``band_split(x)`` returns
``(B, nb, *S)`` whose sum over the bands is ``x``; the bands are orthogonal, so cross powers
are per-band pixel means."""
from __future__ import annotations

import numpy as np
import torch

from .checks import check_number

NBANDS = 16   # at most this many bands beyond the mean (and, on the sphere, the dipole)


def log_bands(k: np.ndarray, first: int, nb: int = NBANDS) -> np.ndarray:
    """Band of each mode from its integer scale ``k >= 0`` (``|k|`` ring, or ``l``): modes with
    ``k < first`` are each their own band; the others are grouped log-spaced into ``<= nb``
    bands. Returns consecutive integers from 0."""
    k = np.asarray(k, dtype=np.int64)
    top = max(int(k.max()), first)
    edges = np.unique(np.round(np.geomspace(first, top + 1, nb + 1)).astype(np.int64))
    band = np.where(k < first, k, first + np.searchsorted(edges[1:], k, side="right"))
    _, ids = np.unique(band, return_inverse=True)
    return ids.reshape(k.shape)


def cross(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    """Per-band cross power ``(nb,)`` of two band splits ``(B, nb, *S)`` (summed over ``B``)."""
    return (xb * yb).flatten(2).sum(-1).sum(0)


def combine(parts: list[torch.Tensor], gains: torch.Tensor) -> torch.Tensor:
    """``sum_i sum_b gains[i, b] parts[i][:, b]``: band splits ``(B, nb, *S)`` to a field ``(B, *S)``."""
    out = 0
    for p, g in zip(parts, gains):
        out = out + (p * g.reshape((1, -1) + (1,) * (p.dim() - 2))).sum(1)
    return out


def smooth_power(p: torch.Tensor, count: torch.Tensor, centre: torch.Tensor, width: float) -> torch.Tensor:
    """Per-band mean powers ``p (nb,)`` averaged with their neighbours: a Gaussian kernel of
    ``width`` octaves in the bands' centres ``centre (nb,)`` (mean ``log2`` scale of their modes),
    weighted by their mode counts ``count (nb,)``. Band 0 (the mean) and empty bands are left
    out and kept as they are. A band's power estimated from one realisation scatters; spectra
    are smooth in ``log k``, so the neighbours' powers lower that scatter at a small bias.
    ``width`` is the grids' ``wiener(..., smooth=)``: a finite number >= 0 (0: ``p`` itself)."""
    if check_number("smooth", width, minimum=0.0) == 0:
        return p
    use = count > 0
    use[0] = False
    d = (centre[:, None] - centre[None, :]) / width
    w = torch.exp(-0.5 * d ** 2) * (count * use)[None, :]
    out = p.clone()
    out[use] = (w @ p)[use] / w.sum(1)[use]
    return out


def wiener_gains(p_d: torch.Tensor, p_n: torch.Tensor, count: torch.Tensor, centre: torch.Tensor,
                 smooth: float) -> torch.Tensor:
    """Empirical Wiener gains ``(nb,)`` from the data's and the noise's band powers ``p_d``, ``p_n``
    (summed over each band's ``count`` modes): ``P_s / (P_s + P_n)`` with the signal power
    ``P_s = P_d - P_n`` per mode averaged over ``smooth`` octaves (``smooth_power``; 0: the gain
    is ``max(P_d - P_n, 0) / P_d``); the mean (band 0) keeps gain 1."""
    c = count.clamp_min(1)
    ps = smooth_power((p_d - p_n) / c, c, centre, smooth).clamp_min(0) * c
    gain = ps / (ps + p_n).clamp_min(1e-30)
    gain[0] = 1.0
    return gain
