"""Can a filled hole be told apart from the sky around it? Figures for inpainting.

A hole is a boolean mask ``hole (*S)`` (True = filled pixel) on a 2D field ``(N, M)`` or a
HEALPix NEST map ``(12 nside^2,)``. Against the truth that was cut out (known in a test):

- ``std_ratio``: standard deviation of the fill over the truth's in the hole;
- ``rough_ratio``: mean |difference| of neighbouring pixels both in the hole (pixel-scale
  roughness), fill over truth;
- ``offset``: mean of the fill minus the truth's, in units of the observed pixels' std;
- ``seam``: mean |difference| across the border (one pixel in, one out) over the mean
  |difference| of the other neighbouring pairs within two pixels of the border: ~1 for a
  field without a seam (the truth's own value is the reference), above 1 for a seam;
- ``spectrum``: RMS log10 ratio of the hole's pseudo-spectrum (the field times the hole's
  indicator, its mean removed: ``power_spectrum`` in 2D, the C_l on the sphere).

``region_floor`` gives the same figures for other regions of the truth with the hole's shape
(shifted in 2D, a disc or a cap moved on the sphere) against the hole's truth: how far an
honest piece of the same field is from it. A fill whose figures lie inside that spread cannot
be told apart by them (``indistinguishable``).
"""
from __future__ import annotations

import numpy as np

FIGURES = ("std_ratio", "rough_ratio", "offset", "seam", "spectrum")


def neighbour_pairs(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices ``(a, b)`` of every pair of neighbouring pixels: 2D ``(N, M)``: right and
    down neighbours (not periodic); HEALPix ``(npix,)``: the 8 (or 7) NEST neighbours, once."""
    if len(shape) == 2:
        idx = np.arange(shape[0] * shape[1]).reshape(shape)
        a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
        b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
        return a, b
    if len(shape) == 1:                  # the grid's own pairs (``HealpixGrid.neighbour_pairs``)
        from .healpix.geometry import nside_of
        from .healpix.grid import HealpixGrid
        nside_of(shape[0])
        a, b = HealpixGrid(4, 3).neighbour_pairs(shape).numpy()
        return a, b
    raise ValueError(f"a hole lives on a 2D field (N, M) or a HEALPix map (npix,); got shape {shape}")


def _spectrum(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    v = np.where(w, x - x[w].mean(), 0.0)
    if v.ndim == 2:
        from .metrics import power_spectrum
        return power_spectrum(v)[1]
    from .healpix.spectra import cl_nest
    return cl_nest(v)[1:]


def _rough(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(x[a] - x[b]).mean())


def _band(h: np.ndarray, pairs, width: int = 2) -> np.ndarray:
    """Pixels within ``width`` neighbour steps of the border of ``h`` (flat bool)."""
    a, b = pairs
    near = np.zeros_like(h)
    cross = h[a] ^ h[b]
    near[a[cross]] = near[b[cross]] = True
    for _ in range(width - 1):
        grow = near.copy()
        grow[b[near[a]]] = True
        grow[a[near[b]]] = True
        near = grow
    return near


def _parts(hole: np.ndarray, pairs) -> tuple:
    """Pairs inside the hole, across its border, and near the border without crossing it."""
    a, b = pairs
    h = hole.ravel()
    across = h[a] ^ h[b]
    near = _band(h, pairs)
    beside = near[a] & near[b] & ~across
    inside = h[a] & h[b]
    return (a[inside], b[inside]), (a[across], b[across]), (a[beside], b[beside])


def _seam(x: np.ndarray, parts) -> float:
    _, (ca, cb), (na, nb) = parts
    return _rough(x, ca, cb) / _rough(x, na, nb)


def _check(filled, truth, hole):
    filled = np.asarray(filled, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    hole = np.asarray(hole).astype(bool)
    if filled.shape != truth.shape or hole.shape != truth.shape:
        raise ValueError(f"filled, truth and hole must have one shape; got {filled.shape}, {truth.shape}, "
                         f"{hole.shape}")
    if hole.sum() < 4 or (~hole).sum() < 4:
        raise ValueError("hole must hold at least 4 pixels and leave at least 4 observed")
    return filled, truth, hole


class _Reference:
    """The truth on the hole, which every set of figures is measured against."""

    def __init__(self, truth: np.ndarray, hole: np.ndarray, pairs):
        self.pairs = neighbour_pairs(truth.shape) if pairs is None else pairs
        self.t, h = truth.ravel(), hole.ravel()
        self.std, self.mean = self.t[h].std(), self.t[h].mean()
        self.scale = self.t[~h].std()
        self.rough = _rough(self.t, *_parts(hole, self.pairs)[0])
        self.spectrum = _spectrum(truth, hole)

    def figures(self, x: np.ndarray, r: np.ndarray) -> dict:
        """The figures of the field ``x`` on the region ``r`` (the hole, or another region)."""
        parts = _parts(r, self.pairs)
        v = x.ravel()[r.ravel()]
        sx = _spectrum(x, r)
        n = min(len(sx), len(self.spectrum))
        ok = (sx[:n] > 0) & (self.spectrum[:n] > 0)
        return {"std_ratio": float(v.std() / self.std),
                "rough_ratio": _rough(x.ravel(), *parts[0]) / self.rough,
                "offset": float((v.mean() - self.mean) / self.scale),
                "seam": _seam(x.ravel(), parts),
                "spectrum": float(np.sqrt(np.mean(np.log10(sx[:n][ok] / self.spectrum[:n][ok]) ** 2)))}


def hole_report(filled: np.ndarray, truth: np.ndarray, hole: np.ndarray, pairs=None) -> dict:
    """The figures above for one fill ``filled (*S)`` of ``hole (*S)`` against ``truth (*S)``."""
    filled, truth, hole = _check(filled, truth, hole)
    return _Reference(truth, hole, pairs).figures(filled, hole)


def region_floor(truth: np.ndarray, hole: np.ndarray, regions: list[np.ndarray], pairs=None) -> dict:
    """For each region ``r (*S)`` of the truth with the hole's shape: the figures of
    ``truth`` on ``r`` against the truth on the hole. Returns ``{figure: (n_regions,) array}``."""
    _, truth, hole = _check(truth, truth, hole)
    ref = _Reference(truth, hole, pairs)
    rows = [ref.figures(truth, _check(truth, truth, r)[2]) for r in regions]
    if not rows:
        raise ValueError("regions must hold at least one region")
    return {k: np.asarray([row[k] for row in rows]) for k in FIGURES}


def indistinguishable(report: dict, floor: dict, q: float = 0.95) -> dict:
    """Per figure: True if the fill is as close to the truth as a fraction ``q`` of the honest
    regions are (ratios and the seam on a log scale, the offset and the spectrum error in
    absolute value)."""
    if not 0 < q <= 1:
        raise ValueError(f"q must be in (0, 1]; got {q!r}")
    out = {}
    for k in FIGURES:
        dev = lambda v: np.abs(np.log(v)) if k.endswith("ratio") or k == "seam" else np.abs(v)
        out[k] = bool(dev(np.asarray(report[k])) <= np.quantile(dev(floor[k]), q))
    return out


def shifted_regions(hole: np.ndarray, n: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` copies of a 2D ``hole`` shifted to random places where it stays inside the field
    and does not overlap itself."""
    hole = np.asarray(hole).astype(bool)
    if hole.ndim != 2 or not hole.any():
        raise ValueError(f"hole must be a non-empty 2D mask; got shape {hole.shape}")
    _count(n)
    rows, cols = np.nonzero(hole)
    rng = np.random.default_rng(seed)
    out, tries = [], 0
    while len(out) < n and tries < 100 * n:
        tries += 1
        dy = rng.integers(-rows.min(), hole.shape[0] - rows.max())
        dx = rng.integers(-cols.min(), hole.shape[1] - cols.max())
        r = np.zeros_like(hole)
        r[rows + dy, cols + dx] = True
        if not (r & hole).any():
            out.append(r)
    return out


def _count(n) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")


def disc(nside: int, theta: float, phi: float, radius: float) -> np.ndarray:
    """A disc (angles in radians) on a HEALPix NEST map, as a boolean mask ``(12 nside^2,)``."""
    import healpy as hp
    m = np.zeros(12 * nside * nside, dtype=bool)
    m[hp.query_disc(nside, hp.ang2vec(theta, phi), radius, nest=True)] = True
    return m


def moved_discs(nside: int, hole_centre: tuple[float, float], radius: float, n: int,
                seed: int = 0, allowed: np.ndarray | None = None) -> list[np.ndarray]:
    """``n`` discs of ``radius`` at random centres, clear of the hole's disc and (if given)
    entirely inside ``allowed`` (a boolean NEST mask, e.g. away from the Galaxy)."""
    _count(n)
    if not 0 < radius < np.pi:
        raise ValueError(f"radius must be in (0, pi) radians; got {radius!r}")
    rng = np.random.default_rng(seed)
    hole = disc(nside, *hole_centre, radius)
    out, tries = [], 0
    while len(out) < n and tries < 200 * n:
        tries += 1
        th, ph = np.arccos(rng.uniform(-1, 1)), rng.uniform(0, 2 * np.pi)
        r = disc(nside, th, ph, radius)
        if (r & hole).any() or (allowed is not None and not allowed[r].all()):
            continue
        out.append(r)
    return out
