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
    pixels ``cells`` (NEST; default: the whole sphere). Indices are global NEST indices.

    Slot 0 is the pixel itself. For ``KERNELSZ=3`` at ``nside >= 2`` the 8 neighbours are
    distinct, so the slots are healpy's neighbour order with missing ones (-1) flagged
    in place; otherwise repeated candidates are dropped (first appearance kept)."""
    if KERNELSZ not in (3, 5):
        raise ValueError(f"KERNELSZ must be 3 or 5; got {KERNELSZ}")
    allpix = np.arange(12 * nside * nside) if cells is None else np.asarray(cells, dtype=np.int64)
    npix, K = len(allpix), KERNELSZ * KERNELSZ
    index = np.empty((npix, K), dtype=np.int64)
    coords = np.empty((npix, K, 2))
    vec = _unit_vectors(nside, allpix) if cells is None else None      # (3, n): x, y, z
    for start in range(0, npix, CHUNK):
        pix = allpix[start:start + CHUNK]
        ring1 = _first_ring(nside, pix)
        cand = np.concatenate([pix[:, None], ring1], axis=1)
        if KERNELSZ == 5 and nside > 1:
            r1 = np.where(ring1 >= 0, ring1, pix[:, None])
            ring2 = _first_ring(nside, r1.ravel()).reshape(len(pix), -1)
            cand = np.concatenate([cand, ring2], axis=1)
        idx = cand if (KERNELSZ == 3 and nside >= 2) else _unique_rows(cand, K)
        idx = np.where(idx >= 0, idx, pix[:, None])
        index[start:start + len(pix)] = idx
        v = _unit_vectors(nside, pix) if vec is None else vec[:, start:start + len(pix)]
        q = _unit_vectors(nside, idx.ravel()).reshape(3, len(pix), K) if vec is None else vec[:, idx]
        _tangent_coords(v, q, nside, coords[start:start + len(pix)])
    valid = np.ones((npix, K), dtype=bool)
    for start in range(0, npix, CHUNK):      # a slot padded with the pixel itself is missing
        valid[start:start + CHUNK, 1:] = index[start:start + CHUNK, 1:] != allpix[start:start + CHUNK, None]
    return index, coords, valid


def rotate_faces(pix: np.ndarray, nside: int, r: int) -> np.ndarray:
    """The NEST pixels ``pix`` turned by ``r`` quarter turns about the polar axis: base pixel
    ``f`` goes to ``4 (f // 4) + (f + r) % 4`` (its row of four), the position inside it stays."""
    s = 2 * (nside.bit_length() - 1)                  # nside^2 = 2^s: bits, not divisions
    return (pix & ~(3 << s)) | ((((pix >> s) + r) & 3) << s)


def full_sky_neighbourhood(nside: int, KERNELSZ: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``neighbourhood`` of the whole sphere from a quarter of it: the stencils of base pixels
    0, 4 and 8 ``(index (n, K), coords (3 nside^2, K, 2), valid (3 nside^2, K))``, the other
    base pixels being quarter turns of these (same coordinates, same slots; ``index`` is given
    for every pixel). ``coords``/``valid`` row ``(f // 4) nside^2 + i`` serves pixel
    ``f nside^2 + i``."""
    q = nside * nside
    base = np.concatenate([np.arange(f * q, (f + 1) * q) for f in (0, 4, 8)])
    idx_b, xy, valid = neighbourhood(nside, KERNELSZ, base)
    # int32 where it fits (nside <= 8192): half the bytes of the largest build array
    index = np.empty((12 * q, idx_b.shape[1]), dtype=np.int32 if 12 * q < 2 ** 31 else np.int64)
    s = 2 * (nside.bit_length() - 1)
    for g in range(3):                   # ``rotate_faces``, the shared bits computed once
        blk = idx_b[g * q:(g + 1) * q].astype(index.dtype)
        keep, f3 = blk & ~(3 << s), (blk >> s) & 3
        for r in range(4):
            np.bitwise_or(keep, ((f3 + r) & 3) << s, out=index[(4 * g + r) * q:(4 * g + r + 1) * q])
    return index, xy, valid


def _unit_vectors(nside: int, pix: np.ndarray) -> np.ndarray:
    """``(3, n)``: the components x, y, z of the pixels' centres."""
    import healpy as hp
    out = np.empty((3, pix.size))
    out[0], out[1], out[2] = hp.pix2vec(nside, pix, nest=True)
    return out


def _tangent_coords(v: np.ndarray, q: np.ndarray, nside: int, out: np.ndarray) -> None:
    """Gnomonic ``(east, north)`` coordinates ``out (n, K, 2)`` of unit vectors ``q (3, n, K)``
    around the centres ``v (3, n)``, in pixel sizes (the local frame from ``v`` alone)."""
    x, y, z = v[0][:, None], v[1][:, None], v[2][:, None]
    qx, qy, qz = q
    rho = np.sqrt(x * x + y * y)                      # > 0: no pixel centre is a pole
    size = np.sqrt(4 * np.pi / (12 * nside * nside))
    d = (qx * x + qy * y + qz * z) * (size * rho)
    d[d == 0] = np.inf                                # 90 degrees away (nside 1-2, 5x5)
    out[..., 0] = (x * qy - y * qx) / d               # east / (cos * size)
    out[..., 1] = (rho * rho * qz - z * (x * qx + y * qy)) / d
