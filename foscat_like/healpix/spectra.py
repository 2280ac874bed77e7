"""Harmonic helpers on NEST maps (healpy): angular power spectra and Wiener filtering."""
from __future__ import annotations

import numpy as np


def _ring(m: np.ndarray) -> np.ndarray:
    import healpy as hp
    return hp.reorder(np.asarray(m, dtype=np.float64), n2r=True)


def cl_nest(m: np.ndarray, lmax: int | None = None) -> np.ndarray:
    """``C_l`` of a full-sky NEST map ``(npix,)`` (or the mean over a batch ``(B, npix)``)."""
    import healpy as hp
    m = np.atleast_2d(m)
    nside = hp.npix2nside(m.shape[-1])
    lmax = 3 * nside - 1 if lmax is None else lmax
    return np.mean([hp.anafast(_ring(x), lmax=lmax, use_pixel_weights=False) for x in m], axis=0)


def filter_nest(m: np.ndarray, gain_l: np.ndarray) -> np.ndarray:
    """Multiply the spherical-harmonic coefficients of NEST maps ``(B, npix)`` by ``gain_l``."""
    import healpy as hp
    m = np.atleast_2d(m)
    nside = hp.npix2nside(m.shape[-1])
    lmax = len(gain_l) - 1
    out = []
    for x in m:
        alm = hp.almxfl(hp.map2alm(_ring(x), lmax=lmax, use_pixel_weights=False), gain_l)
        out.append(hp.reorder(hp.alm2map(alm, nside, lmax=lmax), r2n=True))
    return np.asarray(out)


def wiener_nest(d: np.ndarray, noise: np.ndarray, signal_cl: np.ndarray | None = None,
                exponent: float = 1.0) -> np.ndarray:
    """Wiener estimate of the signal in NEST maps ``d (B, npix)`` given noise draws ``(K, npix)``:
    gain ``C_l^s / (C_l^s + C_l^n)`` with ``C_l^s`` given, or ``max(C_l^d - C_l^n, 0)``
    estimated from the data (``exponent=0.5``: the power-preserving ``sqrt`` of that gain).
    The monopole and dipole are kept as they are."""
    cn = cl_nest(noise)
    cs = np.clip(cl_nest(d) - cn, 0, None) if signal_cl is None else np.asarray(signal_cl)[:len(cn)]
    gain = (cs / np.maximum(cs + cn, 1e-300)) ** exponent
    gain[:2] = 1.0
    mean = d.mean(-1, keepdims=True)
    return filter_nest(d - mean, gain) + mean


def cl_error(a: np.ndarray, b: np.ndarray, lmin: int = 2) -> float:
    """RMS over ``l >= lmin`` of log10 of the ratio of the two maps' ``C_l`` (NEST maps)."""
    ca, cb = cl_nest(a)[lmin:], cl_nest(b)[lmin:]
    return float(np.sqrt(np.mean(np.log10(np.maximum(ca, 1e-300) / np.maximum(cb, 1e-300)) ** 2)))
