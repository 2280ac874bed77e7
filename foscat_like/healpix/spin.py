"""Spin-2 (Q, U) maps to scalar E and B maps (healpy spherical harmonics), NEST in and out.

``eval(image, spin=2)`` analyses the two rotation-invariant scalar fields E and
B instead of the frame-dependent Q and U. The conversion is a fixed linear map
computed with healpy (no autograd through it): use it for analysis and
comparison of polarisation maps.
"""
from __future__ import annotations

import numpy as np

from .grid import nside_of


def qu_to_eb(qu: np.ndarray, lmax: int | None = None) -> np.ndarray:
    """``(2, npix)`` NEST Q, U -> ``(2, npix)`` NEST E, B (full sky, no pixel weights)."""
    import healpy as hp
    qu = np.asarray(qu, dtype=np.float64)
    if qu.ndim != 2 or qu.shape[0] != 2:
        raise ValueError(f"a spin-2 map must have shape (2, 12*nside**2) holding (Q, U); got {qu.shape}")
    nside = nside_of(qu.shape[1])
    q, u = (hp.reorder(m, n2r=True) for m in qu)
    t = np.zeros_like(q)
    alms = hp.map2alm([t, q, u], lmax=lmax, pol=True, iter=3, use_pixel_weights=False)
    e = hp.alm2map(alms[1], nside, lmax=lmax)
    b = hp.alm2map(alms[2], nside, lmax=lmax)
    return np.stack([hp.reorder(e, r2n=True), hp.reorder(b, r2n=True)])
