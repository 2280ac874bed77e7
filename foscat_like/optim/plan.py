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


def tile_rows(a: torch.Tensor, rows: int) -> torch.Tensor:
    """``a (C, ...)`` repeated along its first axis to ``rows`` (sample-major ``(n C, ...)``)."""
    return a if a.shape[0] == rows else a.repeat((rows // a.shape[0],) + (1,) * (a.dim() - 1))


def spin_components(grid: Grid, spin: int, field: torch.Tensor, name: str, sizes=(2, 3)):
    """``(C, transform)`` of one field: ``spin=0``: ``(1, None)`` (scalar fields); ``spin=2``: the
    rows of ``field`` are ``(Q, U)`` (``C = 2``, analysed as ``(E, B)``) or ``(I, Q, U)`` (``C = 3``,
    analysed as ``(I, E, B)``: T x E, T x B and E x B bind the maps). ``ValueError`` for another
    number of rows (``sizes`` allowed) or a grid without a spin-2 transform."""
    if spin == 0:
        return 1, None
    C = field.shape[0]
    if C not in sizes:
        kinds = " or ".join({2: "(2, npix) (Q, U)", 3: "(3, npix) (I, Q, U)"}[c] for c in sizes)
        raise ValueError(f"spin=2: {name} must be a {kinds} map; got {tuple(field.shape)}")
    to_eb = grid.spin_to_scalars
    transform = to_eb if C == 2 else (lambda f: torch.cat([f[:1], to_eb(f[1:])]))
    transform(field)                               # grids without a spin-2 transform refuse here
    return C, transform
