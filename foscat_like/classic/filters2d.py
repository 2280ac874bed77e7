"""2D Morlet filter bank in the Fourier domain, identical to Kymatio 0.3.0.

All filters of one scale are built at once (vectorised over orientations),
in float64. Fourier filters of Morlet wavelets are real (the spatial filters
are Hermitian up to the Gaussian periodisation), so only real arrays are kept.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..wavelets import SIGMA0, XI0, orientations, slant


def gabor_2d(M: int, N: int, sigma: float, theta: np.ndarray, xi: float,
             slant: float = 1.0) -> np.ndarray:
    """Periodised 2D Gabor filters in space.

    Parameters
    ----------
    M, N : spatial size.
    sigma : Gaussian width (pixels).
    theta : array of angles, shape ``(K,)``.
    xi : central frequency (radians / pixel).
    slant : ellipticity of the envelope.

    Returns
    -------
    complex array of shape ``(K, M, N)``.
    """
    theta = np.atleast_1d(np.asarray(theta, dtype=np.float64))
    c, s = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    # curvature R D R^-1 / (2 sigma^2), per angle
    d = slant * slant
    c00 = (c * c + d * s * s) / (2 * sigma * sigma)
    c01 = (c * s - d * s * c) / (2 * sigma * sigma)
    c11 = (s * s + d * c * c) / (2 * sigma * sigma)
    lam_min = min(1.0, d) / (2 * sigma * sigma)   # smallest eigenvalue of the curvature
    gab = np.zeros((len(theta), M, N), np.complex128)
    # Kymatio sums the 5x5 periodic images; images whose envelope is below
    # exp(-80) everywhere contribute nothing in float64 and are skipped.
    for ex in range(-2, 3):
        x = np.arange(M) + ex * M
        dx = 0 if x[0] <= 0 <= x[-1] else min(abs(x[0]), abs(x[-1]))
        for ey in range(-2, 3):
            y = np.arange(N) + ey * N
            dy = 0 if y[0] <= 0 <= y[-1] else min(abs(y[0]), abs(y[-1]))
            if lam_min * (dx * dx + dy * dy) > 80:
                continue
            X, Y = x[None, :, None], y[None, None, :]
            arg = -(c00 * X * X + 2 * c01 * X * Y + c11 * Y * Y) + 1j * xi * (X * c + Y * s)
            gab += np.exp(arg)
    return gab / (2 * 3.1415 * sigma * sigma / slant)


def morlet_2d(M: int, N: int, sigma: float, theta: np.ndarray, xi: float,
              slant: float = 0.5) -> np.ndarray:
    """Zero-mean Morlet wavelets ``(K, M, N)`` (Gabor minus its mean-cancelling envelope)."""
    wv = gabor_2d(M, N, sigma, theta, xi, slant)
    env = gabor_2d(M, N, sigma, theta, 0.0, slant)
    K = wv.sum(axis=(-2, -1)) / env.sum(axis=(-2, -1))
    return wv - K[:, None, None] * env


def periodize_filter_fft(x: np.ndarray, res: int) -> np.ndarray:
    """Crop a Fourier filter ``(..., M, N)`` to ``(..., M/2^res, N/2^res)``.

    Frequencies above the new Nyquist band are zeroed and the rest folded
    (summed), as Kymatio does for filters applied after subsampling by ``2^res``.
    """
    M, N = x.shape[-2:]
    k = 2 ** res
    mask = np.ones((M, N))
    sx, lx = int(M * 2 ** (-res - 1)), int(M * (1 - 2 ** (-res)))
    sy, ly = int(N * 2 ** (-res - 1)), int(N * (1 - 2 ** (-res)))
    mask[sx:sx + lx, :] = 0
    mask[:, sy:sy + ly] = 0
    y = (x * mask).reshape(x.shape[:-2] + (k, M // k, k, N // k))
    return y.sum(axis=(-4, -2))


@dataclass
class FilterBank2D:
    """Fourier-domain filters on the padded grid ``(M, N)``.

    psi[j][res] : array ``(L, M/2^res, N/2^res)`` for ``res < min(j+1, max(J-1, 1))``
    phi[res]    : array ``(M/2^res, N/2^res)`` for ``res < J``
    """
    M: int
    N: int
    J: int
    L: int
    psi: list
    phi: list


def filter_bank_2d(M: int, N: int, J: int, L: int = 8) -> FilterBank2D:
    """Kymatio 0.3.0's 2D Morlet bank: ``sigma=0.8*2^j``, ``xi=3pi/4/2^j``, slant ``4/L``."""
    theta = orientations(L)
    psi = []
    for j in range(J):
        spatial = morlet_2d(M, N, SIGMA0 * 2 ** j, theta, XI0 / 2 ** j, slant(L))
        fourier = np.real(np.fft.fft2(spatial))
        psi.append([periodize_filter_fft(fourier, res)
                    for res in range(min(j + 1, max(J - 1, 1)))])
    phi_f = np.real(np.fft.fft2(gabor_2d(M, N, SIGMA0 * 2 ** (J - 1), np.zeros(1), 0.0)[0]))
    phi = [periodize_filter_fft(phi_f, res) for res in range(J)]
    return FilterBank2D(M, N, J, L, psi, phi)
