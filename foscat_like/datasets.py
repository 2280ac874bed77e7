"""Small real data shipped inside the package (no network, no ../shared at run time).

- ``load_texture(name)``: 128x128 crops of scikit-image's ``brick``, ``gravel``, ``grass``.
- ``load_wmap()``: WMAP 7-year W-band I (and Q, U) maps and the analysis mask, nside 32, NEST.
"""
from __future__ import annotations

import os

import numpy as np

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
