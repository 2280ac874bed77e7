"""What inpainting adds to the synthesis, written once over the grid protocol.

- ``prefill``: a smooth first guess of the missing pixels (coarse to fine over the grid's
  pyramid, relaxed at each level). The target's
  pyramid is built from it, so that the coarse levels' observed pixels next to a hole are
  not pulled towards zero (a zeroed hole leaks into its neighbours when downsampled), and the
  statistics of the observed pixels next to the hole do not see an artificial edge.
- ``Focus``: the regions whose statistics must each be those of the observed pixels around
  the hole, besides the whole field's being the target's: the hole itself (a small hole
  weighs little in a mean over the field, so its own variance, roughness and spectrum would be
  free) and a band across its border (a seam is a few pixels of a whole field's mean, but half
  of the band's). "Around", not the whole field: a sky is not stationary (a hole at high
  Galactic latitude filled with the whole sky's statistics gets the Galaxy's variance).
- ``Focus.pairs``: the neighbouring pairs inside the hole and across its border, whose mean
  absolute increment must each be that of the observed pairs around the hole: the pixel-scale
  roughness of the fill, and its seam (a seam is a handful of pairs that no wavelet statistic
  averaged over a region weighs enough).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..grid import Grid

SEAM_WIDTH = 1      # pixels on each side of the border in the seam band, at every level
MIN_GROW = 4        # the surroundings: observed pixels within the hole's radius of it (at least
MAX_GROW = 64       # MIN_GROW pixels, at most MAX_GROW): for a disc, 3 times its area


def prefill(grid: Grid, x: torch.Tensor, valid: torch.Tensor, passes: int = 2, n_smooth: int = 4) -> torch.Tensor:
    """``x (B, *S)`` with the pixels where ``valid (*S)`` is False replaced by a smooth
    interpolation of the valid ones: coarse to fine over the grid's own pyramid (the missing
    pixels of each level start from the coarser level upsampled, then relax ``n_smooth``
    times towards their low-pass ``upsample(downsample(.))`` while the known pixels stay);
    ``passes`` times, each pyramid built from the previous fill."""
    known = [valid.to(x.dtype)]
    while grid.coarser(grid.spatial_shape(known[-1])) is not None:
        known.append(grid.downsample_mask(known[-1]))
    known = [k >= 1 - 1e-9 for k in known]
    mean = x.flatten(1)[:, valid.flatten()].mean(1).reshape((-1,) + (1,) * (x.dim() - 1))
    fill = torch.where(valid, x, mean)
    for _ in range(passes):
        levels = [fill]
        for _ in known[1:]:
            levels.append(grid.downsample(levels[-1]))
        cur = torch.where(known[-1], levels[-1], mean)
        for k in range(len(levels) - 1, -1, -1):
            if k < len(levels) - 1:
                cur = torch.where(known[k], levels[k], grid.upsample(cur))
            for _ in range(n_smooth if grid.coarser(grid.spatial_shape(cur)) is not None else 0):
                cur = torch.where(known[k], levels[k], grid.upsample(grid.downsample(cur)))
        fill = torch.where(valid, x, cur)
    return fill


def windows(grid: Grid, hole: torch.Tensor, width: int = SEAM_WIDTH) -> torch.Tensor:
    """``(2, *S)`` 0/1 weights: the hole (``hole (*S) > 0``) and the band of ``width`` pixels
    on each side of its border."""
    h = (hole > 0).to(torch.float64 if not hole.is_floating_point() else hole.dtype)
    out, inner = h.clone(), h.clone()
    for _ in range(width):
        out = grid.dilate(out)
        inner = 1 - grid.dilate(1 - inner)
    return torch.stack([h, out - inner])


@dataclass(frozen=True)
class Focus:
    """Region statistics for inpainting. ``regions (F, *S)``: windows of the field (hole, seam
    band); ``around (1, *S)``: the observed pixels whose statistics every window must have."""
    regions: torch.Tensor
    around: torch.Tensor
    pairs: tuple | None = None      # (inside, across, around): each (2, P) neighbour pairs

    def increments(self, x: torch.Tensor) -> torch.Tensor:
        """``log`` mean absolute increment ``(N, 3)`` of ``x (N, P)`` over each set of ``pairs``."""
        return torch.stack([torch.log((x[:, a] - x[:, b]).abs().mean(1) + 1e-30) for a, b in self.pairs], 1)

    def to(self, dtype: torch.dtype) -> "Focus":
        return Focus(self.regions.to(dtype), self.around.to(dtype), self.pairs)

    def target_weights(self, in_mask: torch.Tensor | None) -> torch.Tensor:
        """``(2, *S)`` weights for the target: its valid pixels, and those around the hole."""
        base = torch.ones_like(self.around) if in_mask is None else in_mask.to(self.around.dtype)
        return torch.cat([base, self.around * base])

    def field_weights(self) -> torch.Tensor:
        """``(1 + F, *S)`` weights for the field: all of it, then each region."""
        return torch.cat([torch.ones_like(self.regions[:1]), self.regions])

    def spread(self, v: torch.Tensor) -> torch.Tensor:
        """Target statistics ``(B, 2, ...)`` -> ``(B, 1 + F, ...)``, aligned with ``field_weights``."""
        idx = torch.tensor([0] + [1] * self.regions.shape[0], device=v.device)
        return v.index_select(1, idx)


def focus(grid: Grid, free: torch.Tensor, valid: torch.Tensor | None = None) -> Focus:
    """The ``Focus`` of a hole ``free (*S) > 0`` (pixels to fill); ``valid (*S)``: the pixels
    whose values are known (default: all but the hole). The surroundings are the valid pixels
    within the hole's radius (the erosions that empty it) of the hole: for a band-shaped hole
    (a Galactic mask) the sky along the band, not the whole sky."""
    regions = windows(grid, free)
    h = regions[0]
    ok = (1 - h) if valid is None else (1 - h) * (valid > 0).to(h.dtype)
    radius, inner = 0, h
    while float(inner.sum()) > 0 and radius < MAX_GROW:      # the hole's radius in pixels
        inner = 1 - grid.dilate(1 - inner)
        radius += 1
    grown = h
    for _ in range(max(radius, MIN_GROW)):
        grown = grid.dilate(grown)
    around = grown * ok
    if float(around.sum()) < 1:
        raise ValueError("grd_mask leaves no observed pixel around the hole to take its statistics from")
    a, b = grid.neighbour_pairs(tuple(h.shape)).to(h.device)
    inh, obs = h.flatten() > 0, around.flatten() > 0
    sets = (inh[a] & inh[b], inh[a] ^ inh[b], obs[a] & obs[b])
    pairs = tuple(torch.stack([a[m], b[m]]) for m in sets) if all(bool(m.any()) for m in sets) else None
    return Focus(regions, around[None], pairs)
