"""HEALPix (NEST) stencils: each pixel's neighbourhood in its local tangent plane.

``neighbourhood(nside, KERNELSZ)`` returns, for every pixel ``p``, up to
``KERNELSZ**2`` pixels around it (``p`` itself, its 8 neighbours — 7 at the
base-pixel corners — and for KERNELSZ=5 their neighbours) with their
gnomonic coordinates ``(east, north)`` around ``p`` in units of the pixel size.
Missing slots are padded with index ``p`` and a ``valid=False`` flag.
"""
from __future__ import annotations

import math

import numpy as np

CHUNK = 1 << 16


def nside_of(npix: int) -> int:
    """nside of a full-sky NEST map of ``npix`` pixels (a power of two), or ``ValueError``."""
    nside = int(round(math.sqrt(npix / 12)))
    if nside < 1 or 12 * nside * nside != npix:
        raise ValueError(f"a HEALPix map must have npix = 12*nside**2 pixels; got {npix}")
    if nside & (nside - 1):
        raise ValueError(f"nside must be a power of 2 (NEST downgrading); got nside={nside}")
    return nside


def is_healpix_npix(npix: int) -> bool:
    """Whether a vector of ``npix`` values can be a full-sky NEST map (``nside_of`` accepts it)."""
    try:
        nside_of(npix)
        return True
    except ValueError:
        return False


def _first_ring(nside: int, pix: np.ndarray) -> np.ndarray:
    import healpy as hp
    return hp.get_all_neighbours(nside, pix, nest=True).T          # (n, 8), -1 where missing


def _unique_rows(cand: np.ndarray, width: int) -> np.ndarray:
    """Per row, the distinct non-negative entries in order of first appearance, padded with -1."""
    n, m = cand.shape
    out = np.full((n, width), -1, dtype=np.int64)
    order = np.argsort(cand, axis=1, kind="stable")
    srt = np.take_along_axis(cand, order, axis=1)
    dup = np.zeros_like(srt, dtype=bool)
    dup[:, 1:] = srt[:, 1:] == srt[:, :-1]
    keep_sorted = (~dup) & (srt >= 0)
    keep = np.zeros_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=1)
    # stable compaction of kept entries (first appearance order)
    rank = np.cumsum(keep, axis=1) - 1
    rows, cols = np.nonzero(keep & (rank < width))
    out[rows, rank[rows, cols]] = cand[rows, cols]
    return out


def neighbourhood(nside: int, KERNELSZ: int = 3, cells: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(index (n, K), coords (n, K, 2), valid (n, K))`` with ``K = KERNELSZ**2`` for the
    pixels ``cells`` (NEST; default: the whole sphere). Indices are global NEST indices."""
    import healpy as hp
    if KERNELSZ not in (3, 5):
        raise ValueError(f"KERNELSZ must be 3 or 5; got {KERNELSZ}")
    allpix = np.arange(12 * nside * nside) if cells is None else np.asarray(cells, dtype=np.int64)
    npix = len(allpix)
    K = KERNELSZ * KERNELSZ
    index = np.empty((npix, K), dtype=np.int64)
    for start in range(0, npix, CHUNK):
        pix = allpix[start:start + CHUNK]
        ring1 = _first_ring(nside, pix)
        cand = np.concatenate([pix[:, None], ring1], axis=1)
        if KERNELSZ == 5 and nside > 1:
            r1 = np.where(ring1 >= 0, ring1, pix[:, None])
            ring2 = _first_ring(nside, r1.ravel()).reshape(len(pix), -1)
            cand = np.concatenate([cand, ring2], axis=1)
        index[start:start + len(pix)] = _unique_rows(cand, K)
    valid = index >= 0
    index = np.where(valid, index, allpix[:, None])
    # tangent-plane coordinates around each pixel
    v = np.stack(hp.pix2vec(nside, allpix, nest=True), axis=1)                  # (n, 3)
    theta, phi = hp.pix2ang(nside, allpix, nest=True)
    east = np.stack([-np.sin(phi), np.cos(phi), np.zeros_like(phi)], axis=1)
    north = np.stack([-np.cos(theta) * np.cos(phi), -np.cos(theta) * np.sin(phi), np.sin(theta)], axis=1)
    q = np.stack(hp.pix2vec(nside, index.ravel(), nest=True), axis=1).reshape(npix, K, 3)
    q = q / np.einsum("nkc,nc->nk", q, v)[..., None]                            # gnomonic
    size = np.sqrt(4 * np.pi / (12 * nside * nside))
    coords = np.stack([np.einsum("nkc,nc->nk", q, east), np.einsum("nkc,nc->nk", q, north)], -1) / size
    return index, coords, valid
