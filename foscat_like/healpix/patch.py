"""Partial-sky (``cell_ids``) level structure for the HEALPix grid.

Level ``j`` holds the NEST cells ``unique(cell_ids >> 2j)`` at ``nside / 2^j``;
a parent is present when any of its children is. Which pixels carry exact
statistics (their whole dependency cone inside the patch) is ``stats.cone``'s
business, over the grid's ``exact_after_*`` primitives.
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
        ids = np.asarray(cell_ids, dtype=np.int64)      # the sort into NEST order (None: sorted)
        self.order = np.argsort(ids, kind="stable") if np.any(np.diff(ids) < 0) else None
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
