"""The mother Morlet wavelet every grid and transform uses (Kymatio 0.3.0's 2D choice).

At the finest scale: Gaussian width ``SIGMA0`` pixels, central frequency ``XI0`` rad/px,
an envelope ``slant(L)`` times as wide across the wave as along it, and ``L``
orientations ``theta_l`` spanning pi. Scale ``j`` multiplies the width by ``2**j`` and
divides the frequency by ``2**j`` (Fourier grids), or applies the same stencil after ``j``
downsamplings (the scattering covariance).
"""
from __future__ import annotations

import numpy as np

SIGMA0 = 0.8              # finest envelope width (pixels); also the smoothing kernel's width
XI0 = 3.0 / 4.0 * np.pi   # finest central frequency (radians per pixel)


def slant(L: int) -> float:
    """Aspect ratio of the envelope for ``L`` orientations (Kymatio: ``4 / L``)."""
    return 4.0 / L


def orientations(L: int) -> np.ndarray:
    """Kymatio's orientation angles ``(L,)``: ``(int(L - L/2 - 1) - l) pi / L``."""
    return (int(L - L / 2 - 1) - np.arange(L)) * np.pi / L
