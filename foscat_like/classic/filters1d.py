"""1D Morlet filter bank (Fourier domain), identical to Kymatio 0.3.0.

Parameters follow Anden & Mallat: ``Q`` wavelets per octave, constant-Q
above an elbow frequency, then ``Q-1`` linearly spaced wavelets of minimal
bandwidth ``sigma0 / 2^J`` below it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

R_PSI = math.sqrt(0.5)
SIGMA0 = 0.1
ALPHA = 5.0


def _periodize(h_f: np.ndarray, nperiods: int) -> np.ndarray:
    """Fold a Fourier filter ``(..., N)`` onto ``N / nperiods`` bins (mean)."""
    N = h_f.shape[-1] // nperiods
    return h_f.reshape(h_f.shape[:-1] + (nperiods, N)).mean(axis=-2)


def morlet_1d(N: int, xi: float | None, sigma: float) -> np.ndarray:
    """Fourier transform ``(N,)`` of a Morlet wavelet (``xi=None``: Gaussian low-pass).

    Normalised to unit L1 norm in time.
    """
    P = min(int(math.ceil(math.sqrt(-2 * sigma ** 2 * math.log(1e-7)) + 1)), 5)
    freqs = np.arange((1 - P) * N, P * N, dtype=float) / float(N)
    freqs_low = np.fft.fftfreq(N) if P == 1 else freqs
    low = _periodize(np.exp(-freqs_low ** 2 / (2 * sigma ** 2)), 2 * P - 1)
    if xi:
        gabor = _periodize(np.exp(-(freqs - xi) ** 2 / (2 * sigma ** 2)), 2 * P - 1)
        filt = gabor - gabor[0] / low[0] * low
    else:
        filt = low
    return filt / np.abs(np.fft.ifft(filt)).sum()


def _sigma_psi(xi: float, Q: int) -> float:
    factor = 1.0 / 2 ** (1.0 / Q)
    return xi * (1 - factor) / (1 + factor) / math.sqrt(2 * math.log(1.0 / R_PSI))


def _max_dyadic_subsampling(xi: float, sigma: float) -> int:
    return int(math.floor(-math.log2(min(xi + ALPHA * sigma, 0.5))) - 1)


def filterbank_params(J: int, Q: int) -> tuple[list, list, list]:
    """Centre frequencies ``xi``, bandwidths ``sigma`` and subsampling ``j`` of each wavelet."""
    sigma_min = SIGMA0 / 2 ** J
    xi_max = max(1.0 / (1.0 + 2 ** (3.0 / Q)), 0.35)
    sigma_max = _sigma_psi(xi_max, Q)
    if sigma_max <= sigma_min:
        xis, sigmas, elbow = [], [], sigma_max
    else:
        xis, sigmas = [xi_max], [sigma_max]
        while sigmas[-1] > sigma_min * 2 ** (1 / Q):
            xis.append(xis[-1] / 2 ** (1 / Q))
            sigmas.append(sigmas[-1] / 2 ** (1 / Q))
        elbow = xis[-1]
    for q in range(1, Q):
        xis.append(elbow - q / Q * elbow)
        sigmas.append(sigma_min)
    js = [_max_dyadic_subsampling(x, s) for x, s in zip(xis, sigmas)]
    return xis, sigmas, js


@dataclass
class Wavelet1D:
    xi: float
    sigma: float
    j: int
    levels: list = field(default_factory=list)  # Fourier filters at N, N/2, ...


@dataclass
class FilterBank1D:
    """``psi1`` / ``psi2``: first- and second-order wavelets; ``phi``: low-pass levels."""
    N: int
    log2_T: int
    psi1: list
    psi2: list
    phi: list


def filter_bank_1d(N: int, J: int, Q: tuple[int, int], T: int) -> FilterBank1D:
    """Kymatio 0.3.0's ``scattering_filter_factory`` on the padded length ``N``."""
    xi1, s1, j1s = filterbank_params(J, Q[0])
    xi2, s2, j2s = filterbank_params(J, Q[1])
    psi2 = []
    for xi, s, j in zip(xi2, s2, j2s):
        below = [a for a in j1s if j > a]
        psi_f = morlet_1d(N, xi, s)
        levels = [psi_f] + [_periodize(psi_f, 2 ** lev) for lev in range(1, (max(below) if below else 0) + 1)]
        psi2.append(Wavelet1D(xi, s, j, levels))
    psi1 = [Wavelet1D(xi, s, j, [morlet_1d(N, xi, s)]) for xi, s, j in zip(xi1, s1, j1s)]
    log2_T = int(math.floor(math.log2(T)))
    max_sub_phi = min(max(max(j1s), max(j2s)), log2_T)
    phi_f = morlet_1d(N, None, SIGMA0 / T)
    phi = [phi_f] + [_periodize(phi_f, 2 ** lev) for lev in range(1, max_sub_phi + 1)]
    return FilterBank1D(N, log2_T, psi1, psi2, phi)


def temporal_support(h_f: np.ndarray, criterion_amplitude: float = 1e-3) -> int:
    """Half-width (samples) beyond which the filter's L1 tail is below the criterion."""
    h = np.abs(np.fft.ifft(h_f))
    half = h.shape[-1] // 2
    tail = np.cumsum(h[:half][::-1])[::-1]
    ok = np.where(tail <= criterion_amplitude)[0]
    return int(ok.min()) + 1 if len(ok) else half
