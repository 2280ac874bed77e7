"""Partial-sky (``cell_ids``) level structure for the HEALPix grid.

Level ``j`` holds the NEST cells ``unique(cell_ids >> 2j)`` at ``nside / 2^j``;
a parent is present when any of its children is. Which pixels carry exact
statistics (their whole dependency cone inside the patch) is ``stats.cone``'s
business, over the grid's ``exact_after_*`` primitives.

A patch has no harmonic transform, so its isotropic bands (``band_split``) are the NEST
hierarchy's own (Haar): band 0 the patch's mean, then, coarse to fine, what the means over each
level's cells add to the next coarser level's. Each ``P_j`` (the mean over the cells of level
``j``, copied back to their children) is an orthogonal projection onto nested subspaces, so the
bands are orthogonal and sum to the field; band ``j`` holds ``cells[j] - cells[j + 1]``
dimensions (``band_modes``) at a scale of ``2^j`` pixels (``band_octaves``).
"""
from __future__ import annotations

import numpy as np
import torch


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
        self._haar: dict = {}                            # level -> _groups (the Haar bands' index maps)
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

    def _groups(self, j: int) -> list[np.ndarray]:
        """For the cells of level ``j``, the index of their ancestor at each level ``j, j + 1, ...``
        whose cell count differs from the next one's, and the whole patch last (all zeros); built
        once per level (``band_split`` runs for every estimate and simulation of a posterior)."""
        if j not in self._haar:
            self._haar[j] = self._build_groups(j)
        return self._haar[j]

    def _build_groups(self, j: int) -> list[np.ndarray]:
        g = [np.arange(self.cells[j].size)]
        for par in self.parent[j:]:
            g.append(par[g[-1]])
        g.append(np.zeros_like(g[0]))
        keep = [k for k in range(len(g)) if k + 1 == len(g) or g[k].max() != g[k + 1].max()]
        return [g[k] for k in keep]

    def band_split(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, *C, n)`` at one level of the patch as ``(B, nb, *C, n)``: the mean, then the
        Haar bands coarse to fine (module docstring)."""
        j = self.level_of(x.shape[-1])
        means = []
        for g in self._groups(j)[::-1]:           # the patch's mean first, the cells themselves last
            idx = torch.from_numpy(g).to(x.device)
            count = torch.from_numpy(np.bincount(g)).to(x)
            sums = torch.zeros(x.shape[:-1] + (count.numel(),), dtype=x.dtype, device=x.device)
            means.append((sums.index_add_(-1, idx, x) / count)[..., idx])
        parts = [means[0]] + [means[k] - means[k - 1] for k in range(1, len(means))]
        return torch.stack(parts, 1)

    def band_modes(self, n: int) -> torch.Tensor:
        """Dimensions of each ``band_split`` band ``(nb,)`` for fields of ``n`` values (sum ``n``)."""
        sizes = [int(g.max()) + 1 for g in self._groups(self.level_of(n))[::-1]]
        return torch.tensor([1.0] + [float(b - a) for a, b in zip(sizes, sizes[1:])], dtype=torch.float64)

    def band_octaves(self, n: int) -> torch.Tensor:
        """Each band's scale in octaves of frequency ``(nb,)`` (finest 0, each coarser level one
        less; the mean's is not used): the centres of ``bands.smooth_power``."""
        nb = len(self._groups(self.level_of(n)))
        return -torch.arange(nb - 1, -1, -1, dtype=torch.float64)
