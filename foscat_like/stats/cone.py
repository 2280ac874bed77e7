"""Which pixels of a partial grid carry exact statistics: the dependency cone of
``compute.scattering_covariance``, written next to it, over two grid primitives.

``grid.exact_after_stencil(ok)`` marks the pixels whose wavelet (or smoothing) stencil is
complete and reads only ``ok`` pixels; ``grid.exact_after_downsample(ok)`` the coarse pixels
whose downsampling reads only such pixels. Following the statistics' own chain (``x_j``
downsampled from ``x_{j-1}``; ``C_j = psi x_j``; ``|C_j2|`` brought down to level ``j3``;
``W = psi_j3 |C_j2|``), a pixel of level ``j3`` is exact when every integrand there is: the
patch statistics then equal the full-sky ones restricted to these pixels.
"""
from __future__ import annotations

import numpy as np


def exact_pixels(grid, n0: int, J: int) -> list[np.ndarray]:
    """Boolean masks ``[(n_j,)] * J`` of the exact pixels at each level of a field of ``n0`` pixels."""
    x = np.ones(n0, dtype=bool)          # validity of x_j
    mods: list[np.ndarray] = []          # validity of |C_j2| brought to the current level
    out = []
    for j3 in range(J):
        if j3:
            x = grid.exact_after_downsample(x)
            mods = [grid.exact_after_downsample(m) for m in mods]
        c = grid.exact_after_stencil(x)                  # C_j3 = psi x_j3 (and |C_j3|)
        mods.append(c)
        w = c.copy()
        for m in mods:                                   # W = psi_j3 |C_j2| for every j2 <= j3
            w &= grid.exact_after_stencil(m)
        out.append(w)
    return out
