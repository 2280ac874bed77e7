"""Quality metrics for syntheses of 2D fields (lower is better for the ``*_error`` ones).

- ``power_spectrum``: radially averaged power spectrum, integer |k| bins 1..N/2.
- ``power_spectrum_error``: RMS over k of log10(P_a / P_b).
- ``histogram_ks``: two-sample Kolmogorov-Smirnov distance of the pixel values.
- ``minkowski_functionals``: area fraction, boundary length per pixel and Euler
  characteristic per pixel of the excursion sets {x > nu}, nu in units of std
  (2D fields: periodic grid; HEALPix NEST maps: on the 12 base faces, each an
  nside x nside square grid, without crossing face edges: a set that crosses
  an edge counts once per face, the same for every map compared).
- ``minkowski_error``: mean over the three functionals of
  RMS_nu(f_a - f_b) / RMS_nu(f_b).
- ``phase_randomized``: a Gaussian field with exactly the power spectrum of x.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import ks_2samp

THRESHOLDS = np.linspace(-2.5, 2.5, 21)


def _std(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean()) / x.std()


def power_spectrum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(k, P(k))`` of a 2D field ``(N, M)`` averaged in rings of integer |k| (1..min(N,M)/2)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2D field; got shape {x.shape}")
    N, M = x.shape
    P = np.abs(np.fft.fft2(x - x.mean())) ** 2 / (N * M)
    ky, kx = np.meshgrid(np.fft.fftfreq(N) * N, np.fft.fftfreq(M) * M, indexing="ij")
    kr = np.rint(np.sqrt(kx ** 2 + ky ** 2)).astype(int)
    kmax = min(N, M) // 2
    sums = np.bincount(kr.ravel(), P.ravel(), minlength=kmax + 1)[1:kmax + 1]
    counts = np.bincount(kr.ravel(), minlength=kmax + 1)[1:kmax + 1]
    return np.arange(1, kmax + 1), sums / np.maximum(counts, 1)


def power_spectrum_error(a: np.ndarray, b: np.ndarray) -> float:
    """RMS of log10 of the ratio of radially averaged power spectra."""
    _, pa = power_spectrum(a)
    _, pb = power_spectrum(b)
    return float(np.sqrt(np.mean(np.log10(pa / pb) ** 2)))


def histogram_ks(a: np.ndarray, b: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance between the two pixel histograms."""
    return float(ks_2samp(np.ravel(a), np.ravel(b)).statistic)


def _cubical_counts(b: np.ndarray, periodic: bool) -> tuple[int, int, int]:
    """(Euler characteristic, boundary length, area) of the closed pixels ``b (..., N, M)``."""
    if not periodic:   # pad with empty pixels: sets are closed inside each grid
        b = np.pad(b, [(0, 0)] * (b.ndim - 2) + [(1, 1), (1, 1)])
    r, d = np.roll(b, -1, axis=-1), np.roll(b, -1, axis=-2)
    rd = np.roll(r, -1, axis=-2)
    F, E = b.sum(), (b | r).sum() + (b | d).sum()
    V = (b | r | d | rd).sum()
    if periodic:
        perimeter = (b ^ r).sum() + (b ^ d).sum()
    else:              # only pairs of pixels inside the grid (a grid edge is no boundary)
        inner = b[..., 1:-1, 1:-1]
        perimeter = (inner[..., :, 1:] ^ inner[..., :, :-1]).sum() + (inner[..., 1:, :] ^ inner[..., :-1, :]).sum()
    return int(V - E + F), int(perimeter), int(F)


def _healpix_faces(x: np.ndarray) -> np.ndarray | None:
    """``(12, nside, nside)`` base faces of a NEST map, or ``None`` if ``x`` is not one."""
    from .healpix.geometry import is_healpix_npix, nside_of
    if x.ndim != 1 or not is_healpix_npix(x.size):
        return None
    import healpy as hp
    n = nside_of(x.size)
    ix, iy, f = hp.pix2xyf(n, np.arange(x.size), nest=True)
    faces = np.empty((12, n, n))
    faces[f, ix, iy] = x
    return faces


def minkowski_functionals(x: np.ndarray, thresholds: np.ndarray = THRESHOLDS) -> np.ndarray:
    """``(3, n_thresholds)``: area fraction, perimeter and Euler characteristic per pixel
    of {x > nu std} (closed pixels, cubical complex): a 2D field on its periodic grid, or a
    HEALPix NEST map ``(12 nside^2,)`` on its 12 base faces."""
    x = _std(x)
    faces = _healpix_faces(x)
    if faces is None and x.ndim != 2:
        raise ValueError(f"x must be a 2D field or a HEALPix NEST map; got shape {x.shape}")
    grid, periodic = (x, True) if faces is None else (faces, False)
    out = np.zeros((3, len(thresholds)))
    for i, nu in enumerate(thresholds):
        chi, perimeter, area = _cubical_counts(grid > nu, periodic)
        out[:, i] = area / x.size, perimeter / x.size, chi / x.size
    return out


def minkowski_error(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over (area, perimeter, Euler) of the RMS difference relative to ``b``'s RMS."""
    fa, fb = minkowski_functionals(a), minkowski_functionals(b)
    rms = lambda v: np.sqrt(np.mean(v ** 2, axis=-1))
    return float(np.mean(rms(fa - fb) / rms(fb)))


def phase_randomized(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """Gaussian field with the power spectrum of ``x`` (random phases), same mean and std."""
    x = np.asarray(x, dtype=np.float64)
    rng = np.random.default_rng(seed)
    noise = np.fft.fft2(rng.standard_normal(x.shape))
    g = np.real(np.fft.ifft2(np.abs(np.fft.fft2(x - x.mean())) * noise / np.abs(noise)))
    return g / g.std() * x.std() + x.mean()


def quality_report(synth: np.ndarray, target: np.ndarray) -> dict:
    """All metrics of ``synth`` against ``target``."""
    return {"ps_log10_rms": power_spectrum_error(synth, target),
            "minkowski": minkowski_error(synth, target),
            "hist_ks": histogram_ks(_std(synth), _std(target))}


def wiener_filter(data: np.ndarray, signal_power: np.ndarray, noise_power: float | np.ndarray,
                  exponent: float = 1.0) -> np.ndarray:
    """Best linear estimate of ``s`` from ``d = s + n`` (periodic 2D or 1D):
    ``S(k) = W(k) D(k)``, ``W = P_s / (P_s + P_n)``, with the spectra given on the FFT grid
    (``signal_power = |FFT(s)|^2 / N`` of a signal realisation, or its model).
    ``exponent=0.5`` gives the power-preserving filter ``sqrt(W)`` (its output has the
    signal's spectrum): the best linear estimate among those that keep ``P_s``."""
    d = np.asarray(data, dtype=np.float64)
    D = np.fft.fftn(d - d.mean())
    gain = (signal_power / (signal_power + noise_power)) ** exponent
    return np.real(np.fft.ifftn(D * gain)) + d.mean()


def smooth_power(x: np.ndarray) -> np.ndarray:
    """Isotropic power spectrum model of ``x`` on its FFT grid (ring averages), for Wiener filters."""
    x = np.asarray(x, dtype=np.float64)
    P = np.abs(np.fft.fftn(x - x.mean())) ** 2 / x.size
    grids = np.meshgrid(*[np.fft.fftfreq(n) * n for n in x.shape], indexing="ij")
    kr = np.rint(np.sqrt(sum(g ** 2 for g in grids))).astype(int)
    ring = np.bincount(kr.ravel(), P.ravel()) / np.maximum(np.bincount(kr.ravel()), 1)
    return ring[kr]


def _dihedral(x: np.ndarray) -> list[np.ndarray]:
    """The 8 rotations and reflections of a 2D field (2 for a 1D one: itself and reversed)."""
    if x.ndim == 1:
        return [x, x[::-1]]
    out = []
    for k in range(4):
        r = np.rot90(x, k)
        out += [r, r[:, ::-1]]
    return out


def max_crosscorrelation(a: np.ndarray, b: np.ndarray) -> float:
    """Largest normalised cross-correlation of ``a`` with ``b`` over every periodic shift and the
    dihedral group (1D: shifts and reversal): 1 for a copy of ``b`` moved, turned or mirrored,
    about ``3 / sqrt(npix)`` for unrelated fields. Square 2D fields (or 1D) of one shape."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim not in (1, 2) or (a.ndim == 2 and a.shape[0] != a.shape[1]):
        raise ValueError(f"a and b must be 1D signals or square images of one shape; got {a.shape} and {b.shape}")
    std = lambda v: (v - v.mean()) / (v.std() * np.sqrt(v.size))
    B = np.conj(np.fft.fftn(std(b)))
    return float(max(np.fft.ifftn(np.fft.fftn(std(t)) * B).real.max() for t in _dihedral(a)))


def novelty(synth: np.ndarray, target: np.ndarray, seed: int = 0) -> dict:
    """``{"max_xcorr", "max_xcorr_twin"}``: the synthesis's largest cross-correlation with its
    target, next to that of a phase-randomised twin of the target (same spectrum, new phases),
    which shows how high the figure is for a field that copies nothing."""
    return {"max_xcorr": max_crosscorrelation(synth, target),
            "max_xcorr_twin": max_crosscorrelation(phase_randomized(target, seed), target)}
