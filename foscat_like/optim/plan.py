"""The level plan shared by synthesis and separation: scales per level and field pyramids.

Level ``k`` (0 = full resolution) works on fields downsampled ``k`` times with
``J_k`` scales. Nothing here mutates its arguments.
"""
from __future__ import annotations

from typing import Callable

import torch

from ..grid import Grid

SIGMA_FLOOR = 0.05   # a statistic's spread is floored at this fraction of the median spread


def floor_sigma(s: torch.Tensor) -> torch.Tensor:
    """``|s|`` floored at ``SIGMA_FLOOR`` times its median (no coefficient gets a near-zero
    spread, which would let it dominate a normalised loss)."""
    s = s.abs()
    return s.clamp_min(float(SIGMA_FLOOR * s.median().clamp_min(1e-12)))


def level_scales(grid: Grid, shape: tuple[int, ...], nstep: int | None, Jmax: int | None,
                 edge: bool) -> list[int]:
    """Scales ``J`` per level (index 0 = full resolution); ``ValueError`` if too deep.

    ``nstep=None`` takes up to 4 levels, as many as the shape allows."""
    if nstep is None:
        for n in (4, 3, 2):
            try:
                return level_scales(grid, shape, n, Jmax, edge)
            except ValueError:
                continue
        return level_scales(grid, shape, 1, Jmax, edge)
    J0 = grid.max_scales(shape, edge)
    if J0 < 1:
        raise ValueError(f"a field of spatial shape {shape} is too small for grid '{grid.name}'")
    if Jmax is not None:
        if Jmax > J0:
            raise ValueError(f"Jmax={Jmax} must be in [1, {J0}] for spatial shape {shape}")
        J0 = Jmax
    else:
        J0 = min(J0, grid.default_scales(shape, edge))
    Js, s = [], tuple(shape)
    for k in range(nstep):
        if k:
            s = grid.coarser(s)
            if s is None:
                raise ValueError(f"nstep={nstep} is too deep for spatial shape {shape}: "
                                 f"level {k} cannot be downsampled again")
        Jk = min(J0 - k, grid.max_scales(s, edge)) if k else J0
        if Jk < 1:
            raise ValueError(f"nstep={nstep} is too deep for spatial shape {shape} (J={J0}): at most nstep={J0}")
        Js.append(Jk)
    return Js


def pyramid(x: torch.Tensor | None, n: int, down: Callable[[torch.Tensor], torch.Tensor]) -> list:
    """``[x, down(x), down(down(x)), ...]`` (``n`` entries; ``None`` stays ``None``)."""
    out = [x]
    for _ in range(n - 1):
        out.append(None if out[-1] is None else down(out[-1]))
    return out


def strict(w: torch.Tensor) -> torch.Tensor:
    """Keep only fully valid pixels of a downsampled 0/1 mask (unless none is)."""
    full = (w >= 1 - 1e-9).to(w.dtype)
    return full if bool((full.flatten(1).sum(1) > 0).all()) else w
