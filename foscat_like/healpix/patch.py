"""Partial-sky (``cell_ids``) level structure for the HEALPix grid.

Level ``j`` holds the NEST cells ``unique(cell_ids >> 2j)`` at ``nside / 2^j``;
a parent is present when any of its children is. ``interior`` marks, per
level, the pixels whose whole dependency cone (every stencil and every child
used to reach them from the input resolution) lies inside the patch: there,
patch and full-sky computations agree exactly.
"""
from __future__ import annotations

import numpy as np


class PatchLevels:
    """Cells, parent maps and interior masks of a patch at every level."""

    def __init__(self, nside: int, cell_ids, min_nside: int = 1):
        cells = np.unique(np.asarray(cell_ids, dtype=np.int64))
        if cells.size == 0:
            raise ValueError("cell_ids is empty")
        if cells[0] < 0 or cells[-1] >= 12 * nside * nside:
            raise ValueError(f"cell_ids must be NEST indices in [0, {12 * nside * nside}) for nside={nside}")
        if cells.size != np.asarray(cell_ids).size:
            raise ValueError("cell_ids contains duplicates")
        self.order = np.argsort(np.asarray(cell_ids, dtype=np.int64), kind="stable")
        self.nsides, self.cells, self.parent = [nside], [cells], []
        while self.nsides[-1] // 2 >= min_nside:
            parents = np.unique(self.cells[-1] >> 2)
            if parents.size == self.cells[-1].size:      # no longer shrinking: stop here
                break
            self.parent.append(np.searchsorted(parents, self.cells[-1] >> 2))
            self.cells.append(parents)
            self.nsides.append(self.nsides[-1] // 2)

    def level_of(self, n: int) -> int:
        for j, c in enumerate(self.cells):
            if c.size == n:
                return j
        raise ValueError(f"a field on this patch must have one of {[c.size for c in self.cells]} values; got {n}")

    def child_count(self, j: int) -> np.ndarray:
        """Number of present children of each cell of level ``j + 1``."""
        return np.bincount(self.parent[j], minlength=self.cells[j + 1].size)

    def interior(self, stencils: list) -> list:
        """Interior masks per level; ``stencils[j] = (local index (n, K), slot ok (n, K))`` where
        ``slot ok`` is False for a neighbour that exists on the sphere but not in the patch."""
        def erode(v, j):
            idx, ok = stencils[j]
            return v & np.all(ok & v[idx], axis=1)

        def down(v, j):       # smoothing then complete children
            v = erode(v, j)
            full = self.child_count(j) == 4
            return full & (np.bincount(self.parent[j], weights=v, minlength=self.cells[j + 1].size) == 4)
        nlev = len(self.cells)
        x = [np.ones(self.cells[0].size, bool)]                  # validity of the field x_j
        for j in range(nlev - 1):
            x.append(down(x[j], j))
        out = []
        mods = []                                                # |C_j2| brought to the current level
        for j3 in range(nlev):
            if j3:
                mods = [down(m, j3 - 1) for m in mods]
            mods.append(erode(x[j3], j3))
            w = erode(x[j3], j3)
            for m in mods:                                       # W = |C_j2| * psi_j3
                w &= erode(m, j3)
            out.append(w)
        return out
