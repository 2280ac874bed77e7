"""Small real data shipped inside the package (no network, no ../shared at run time).

- ``load_texture(name)``: 128x128 crops of scikit-image's ``brick``, ``gravel``, ``grass``.
- ``load_wmap()``: WMAP 7-year W-band I (and Q, U) maps and the analysis mask, nside 32, NEST.
- ``lognormal_field(n, seed)``: a red-spectrum lognormal planar field, one independent
  realisation per seed (a non-Gaussian field whose sample variance can be drawn).
"""
from __future__ import annotations

import os

import numpy as np

from .checks import check_int, check_number, check_seed

_DIR = os.path.join(os.path.dirname(__file__), "data")
TEXTURES = ("brick", "gravel", "grass")


def load_texture(name: str = "brick", size: int = 128, normalize: bool = True) -> np.ndarray:
    """A real texture ``(size, size)`` float64 (top-left crop); zero mean, unit variance if ``normalize``."""
    if name not in TEXTURES:
        raise ValueError(f"name must be one of {TEXTURES}; got {name!r}")
    if not 1 <= size <= 128:
        raise ValueError(f"size must be in [1, 128]; got {size}")
    img = np.load(os.path.join(_DIR, "textures.npz"))[name][:size, :size].astype(np.float64)
    return (img - img.mean()) / img.std() if normalize else img


def load_wmap(polarization: bool = False):
    """``(I, mask)``: W-band temperature (mK) and the temperature analysis mask, NEST, nside 32;
    with ``polarization=True`` also ``(Q, U)``: ``(I, mask, QU (2, npix))``."""
    d = np.load(os.path.join(_DIR, "wmap_w_nside32_nest.npz"))
    out = (d["I"].astype(np.float64), d["mask"].astype(np.float64))
    if polarization:
        out += (np.stack([d["Q"], d["U"]]).astype(np.float64),)
    return out


def lognormal_field(n: int, seed: int = 0, a: float = 1.5, L: float = 12.0) -> np.ndarray:
    """``(n, n)`` float64: ``exp(a g)`` standardised (zero mean, unit variance), ``g`` a periodic
    Gaussian field of unit variance with spectrum ``exp(-2 L |k|)`` (``|k|`` in cycles per
    pixel: red, next to no power in the upper bands). Each ``seed`` is an independent realisation."""
    n = check_int("n", n, minimum=2)
    r = np.random.default_rng(check_seed("seed", seed))
    a, L = check_number("a", a, minimum=0.0), check_number("L", L, minimum=0.0)
    if a == 0:
        raise ValueError("a must be > 0 (a = 0 gives a constant field)")
    k = np.sqrt(np.add.outer(np.fft.fftfreq(n) ** 2, np.fft.fftfreq(n) ** 2))
    g = np.real(np.fft.ifft2(np.fft.fft2(r.standard_normal((n, n))) * np.exp(-L * k)))
    x = np.exp(a * g / g.std())
    return (x - x.mean()) / x.std()
