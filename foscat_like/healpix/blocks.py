"""NEST blocks of a HEALPix map (full sky or ``cell_ids`` patch) for ``stats.split``.

A block is a group of ``4**m`` pixels of level ``js`` sharing a NEST prefix (its core), grown
by ``rings`` rings of neighbours at level ``js`` (its halo); at level 0 it holds every
descendant of those pixels (within the patch, for a patch). Because the halo is made of
whole level-``js`` pixels, the block's own levels ``0 .. js`` hold the same children as the
field's around its core, and ``rings`` level-``js`` pixels cover the dependency cone of the
first ``js`` levels (``HALO_RINGS``; checked against ``stats.cone`` in the tests).

On the full sky the blocks of base pixels ``4g + r`` are quarter turns of those of base pixel
``4g`` (``geometry.rotate_faces``): they share its patch grid, hence its operators, and only
their positions in the field are turned. They follow their reference block in the list, so
that the four are computed in a row with one build of the operators.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import nside_of, rotate_faces

MIN_BLOCK = 2     # smallest m: 4x4 level-js pixels per block core


def halo_rings(KERNELSZ: int) -> int:
    """Rings of level-``js`` pixels around a block: one stencil radius for the wavelets of
    level ``js - 1`` and below (a geometric sum below one level-``js`` pixel per stencil
    radius), one for the moduli brought down, and one spare for the irregular rings."""
    return 3 * (KERNELSZ // 2)


@dataclass
class Block:
    grid: object               # HealpixGrid patch of the block's cells
    pos: list                  # [j]: positions of the block's level-j pixels in the field's level j
    #                            (a list, or _TurnedPositions: len and [j] only)
    core: list                 # [j]: bool, which of them belong to the core (j < js)
    core_local: np.ndarray     # positions of the core pixels in the block's level js
    core_global: np.ndarray    # ... and in the field's level js


TURNS = 4         # full-sky blocks sharing one grid: a base pixel and its three quarter turns


def block_copies(grid) -> int:
    """How many blocks share one block's operators: ``TURNS`` on the full sky, 1 on a patch."""
    return TURNS if grid.patch is None else 1


class _TurnedPositions:
    """``pos[j] = rotate_faces(ref[j], nside0 >> j, r)``, computed when read (stored, the
    positions of the turned blocks would add 8 B per pixel of every block)."""

    def __init__(self, ref: list, nside0: int, r: int):
        self.ref, self.nside0, self.r = ref, nside0, r

    def __len__(self) -> int:
        return len(self.ref)

    def __getitem__(self, j: int) -> np.ndarray:
        return rotate_faces(self.ref[j], self.nside0 >> j, self.r)


def _turned(b: Block, r: int, nside0: int, js: int) -> Block:
    """Block ``b`` turned by ``r`` quarter turns about the polar axis: the same grid (same
    geometry pixel for pixel), its positions in the field turned."""
    return Block(b.grid, _TurnedPositions(b.pos, nside0, r), b.core, b.core_local,
                 rotate_faces(b.core_global, nside0 >> js, r))


def _levels(grid, n0: int) -> tuple[int, list | None]:
    """(nside of level 0, the patch's cells per level or None for the full sky)."""
    if grid.patch is None:
        return nside_of(n0), None
    return grid.patch.nsides[0], grid.patch.cells


def _cells(nside0: int, cells, j: int) -> np.ndarray:
    return np.arange(12 * (nside0 >> j) ** 2) if cells is None else cells[j]


def block_sizes(grid, n0: int, js: int) -> list[int]:
    nside0, cells = _levels(grid, n0)
    if cells is not None and js >= len(cells):
        return []
    nside_js = nside0 >> js
    top = int(np.log2(nside_js)) if nside_js >= 1 else -1
    return list(range(top, MIN_BLOCK - 1, -1))


def block_pixels(grid, n0: int, js: int, m: int) -> int:
    side = 2 ** m + 2 * halo_rings(grid.KERNELSZ)
    return int(side * side * 4 ** js)


def _grow(nside: int, region: np.ndarray, rings: int) -> np.ndarray:
    import healpy as hp
    for _ in range(rings):
        nb = hp.get_all_neighbours(nside, region, nest=True).ravel()
        region = np.union1d(region, nb[nb >= 0])
    return region


def split_blocks(grid, n0: int, js: int, m: int) -> list | None:
    """The blocks of level-``js`` prefix size ``m`` (``Block`` list), or ``None`` when a block
    would not have the ``js`` levels the split needs."""
    from .grid import HealpixGrid
    nside0, cells = _levels(grid, n0)
    top = _cells(nside0, cells, js)
    ids = top >> (2 * m)
    bounds = np.flatnonzero(np.diff(ids)) + 1
    rings = halo_rings(grid.KERNELSZ)
    out = []
    s_js = 2 * ((nside0 >> js).bit_length() - 1)       # bits of a position inside a base pixel
    turns = cells is None and 2 * m <= s_js             # full sky, each core in one base pixel
    for core in np.split(top, bounds):
        if turns and (core[0] >> s_js) % TURNS:
            continue                         # a quarter turn of a block of base pixel 4g: below
        region = _grow(nside0 >> js, core, rings)
        if cells is not None:
            region = np.intersect1d(region, top, assume_unique=True)
        cells0 = ((region[:, None] << (2 * js)) + np.arange(4 ** js)).ravel()
        if cells is not None:
            cells0 = np.intersect1d(cells0, cells[0], assume_unique=True)
        sub = HealpixGrid(grid.L, grid.KERNELSZ, cell_ids=cells0, nside=nside0)
        if len(sub.patch.cells) <= js:
            return None
        pos, is_core = [], []
        for j in range(js + 1):
            cj = sub.patch.cells[j]
            pos.append(cj if cells is None else np.searchsorted(cells[j], cj))
            is_core.append(np.isin(cj >> (2 * (js - j)), core, assume_unique=False))
        local = np.flatnonzero(is_core[js])
        b = Block(sub, pos[:js], is_core[:js], local, pos[js][local])
        out.append(b)
        if turns:
            out += [_turned(b, r, nside0, js) for r in range(1, TURNS)]
    return out
