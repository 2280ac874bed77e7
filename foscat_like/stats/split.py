"""Exact statistics of fields too large for memory: the fine levels patch by patch.

Every moment of ``compute.moments`` is a sum over pixels of ``weight x integrand``, and the
integrand at a pixel depends only on a small neighbourhood of it (its dependency cone,
``stats.cone``). So the levels ``0 .. js-1``, which hold nearly all the pixels, are computed
block by block: each block is a set of core pixels plus a halo wide enough for the cone of
the first ``js`` levels (``grid.split_blocks``); its moments are taken over its core pixels
only and added, and its core pixels of the state at level ``js`` (the field and the moduli
brought down ``js`` times) are written into the full state, from which the coarse levels run
on the whole field as usual. Split and unsplit moments are equal up to summation order.

The gradient of any loss of the statistics is exact too, in two passes (``_Blocks``): the
forward pass keeps no graph; the backward pass recomputes each block with its graph and
back-propagates the gradients of the moments and of the state, block by block. Peak memory
then follows the block, not the field; the cost is one more forward pass.

With a Dask ``client`` (``grid.client``) the blocks run on the workers (``stats.dask_blocks``).
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

import numpy as np
import torch

from .compute import MOMENTS, initial_state, level_weights, moments

_UNITS = {"": 1, "B": 1, "K": 2 ** 10, "KB": 10 ** 3, "KIB": 2 ** 10, "M": 2 ** 20, "MB": 10 ** 6,
          "MIB": 2 ** 20, "G": 2 ** 30, "GB": 10 ** 9, "GIB": 2 ** 30, "T": 2 ** 40, "TB": 10 ** 12, "TIB": 2 ** 40}
DEFAULT_FRACTION = 0.5       # of the memory available when max_memory is not given
# Peak bytes per pixel of level 0 of one evaluation with NORIENT=4, measured with VmHWM at
# nside 128 above the process's resident set before it (float32 / float64): building the
# operators of all levels of a patch (no turned weights: the costlier case) ~800 / 1300 B,
# holding them ~520 / 1010 B (the full sky: 278 / 484 B and 249 / 409 B; before the smoothing
# lost its transposed copy and the index its int64: 902 / 1388 B for a patch's build); per
# field, what the statistics hold on top of the operators (whole map: eval 856 / 1514 B,
# eval+grad 1710 / 2873 B in all). Each as fixed + per byte of the dtype (operators ~ L,
# fields ~ L^2).
OPS_BYTES = (300.0, 125.0)
FIELD_BYTES = {"eval": 105.0, "grad": 300.0}
KEPT_OPS_BYTES = (25.0, 123.0)   # the operators alone once built (all levels, a patch)
# What the split holds besides the blocks' computations: per pixel of the blocks (halos
# counted), their cells and parent maps of all levels (int64) and core masks, shared by the
# blocks of one grid (``grid.block_copies``); per pixel and field of the map, its gradient and
# the state stitched at level js. Measured at nside 2048, js 4 (192 blocks, halo 1.41): 0.52 GB
# of patch levels for 48 grids, 0.75 GB of positions (before turned positions were computed
# when read) and 0.09 GB of masks, which the estimate missed: eval+grad in "8GB" added 8.2 GiB (8.8 GB).
INDEX_BYTES = 32.0
MAP_COPIES = {"eval": 1.0, "grad": 3.0}
SAFETY = 0.75    # the share of the budget the plan fills (allocator slack, full-size arrays)


def parse_memory(max_memory, name: str = "max_memory") -> int | None:
    """Bytes from ``None``, a positive number or a string such as ``"4GB"``, ``"512 MiB"``."""
    if max_memory is None:
        return None
    if isinstance(max_memory, bool):
        raise TypeError(f"{name} must be a number of bytes or a string such as '4GB'; got a bool")
    if isinstance(max_memory, (int, float, np.integer, np.floating)):
        value = float(max_memory)
    elif isinstance(max_memory, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][0-9]+)?)\s*([a-zA-Z]*)\s*", max_memory)
        unit = m.group(2).upper() if m else None
        if m is None or unit not in _UNITS:
            raise ValueError(f"{name} must look like '4GB', '500MB' or '2GiB'; got {max_memory!r}")
        value = float(m.group(1)) * _UNITS[unit]
    else:
        raise TypeError(f"{name} must be a number of bytes or a string such as '4GB'; got {type(max_memory).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be positive; got {max_memory!r}")
    return int(value)


def check_client(client):
    """``None`` or a ``dask.distributed.Client`` (anything else: ``TypeError``)."""
    if client is None:
        return None
    if not (hasattr(client, "submit") and hasattr(client, "gather") and hasattr(client, "scatter")):
        raise TypeError(f"client must be a dask.distributed.Client; got {type(client).__name__}")
    from .dask_blocks import check_workers
    check_workers(client)
    return client


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable``; the physical memory where unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def budget(grid) -> int:
    """The memory one evaluation may use: ``grid.max_memory`` or a safe fraction of what is free."""
    mm = getattr(grid, "max_memory", None)
    return mm if mm is not None else int(DEFAULT_FRACTION * available_memory())


def estimate(npix: float, fields: int, L: int, itemsize: int, grad: bool, calc_var: bool) -> float:
    """Estimated peak bytes of the statistics of ``fields`` maps of ``npix`` pixels (level 0)."""
    return npix * (operator_bytes(L, itemsize)
                   + fields * FIELD_BYTES["grad" if grad else "eval"] * itemsize
                   * (1.5 if calc_var else 1.0) * max(1.0, (L / 4) ** 2))


def operator_bytes(L: int, itemsize: int, kept: bool = False) -> float:
    """Bytes per pixel of the stencil operators of all levels: their peak while built, or
    (``kept``) what they hold once built."""
    a, b = KEPT_OPS_BYTES if kept else OPS_BYTES
    return (a + b * itemsize) * max(1.0, L / 4)


@dataclass
class Plan:
    js: int                  # levels 0 .. js-1 by blocks
    blocks: list             # grid.split_blocks(...)
    need: float              # estimated peak bytes of one block
    keep: int = -1           # how many block grids keep their operators between evaluations (-1: all)


def by_grid(blocks: list) -> list[list]:
    """``blocks`` grouped by grid, in order (turned blocks share their reference's grid)."""
    groups: dict = {}
    for b in blocks:
        groups.setdefault(id(b.grid), []).append(b)
    return list(groups.values())


def split_plan(grid, x1: torch.Tensor, x2, J: int, calc_var: bool) -> Plan | None:
    """How to split the statistics of ``x1`` (and ``x2``) on ``grid`` within its memory budget:
    ``None`` when the whole field fits (or the grid cannot split); ``ValueError`` giving the
    minimum when not even one block fits."""
    n0 = x1.shape[-1] if grid.spatial_ndim == 1 else int(np.prod(grid.spatial_shape(x1)))
    if not grid.block_sizes(n0, 1):            # this grid (or this patch) cannot split
        return None
    fields = int(np.prod(x1.shape[:-grid.spatial_ndim])) * (2 if x2 is not None else 1)
    grad = torch.is_grad_enabled() and (x1.requires_grad or (x2 is not None and x2.requires_grad))
    cost = lambda n: estimate(n, fields, grid.L, x1.element_size(), grad, calc_var)
    limit = budget(grid)
    if cost(n0) <= limit:
        return None
    user, limit = limit, SAFETY * limit      # plan with a margin for what the estimates miss
    kept_px = operator_bytes(grid.L, x1.element_size(), kept=True)
    fits, best = [], None
    for js in range(1, J + 1):
        coarse = 1.5 * cost(n0 / 4 ** js) if js < J else 0.0
        for m in grid.block_sizes(n0, js):
            npix_b = grid.block_pixels(n0, js, m)
            halo = npix_b / 4 ** (js + m)                  # block pixels per map pixel
            held = n0 * (halo * INDEX_BYTES / grid.block_copies()
                         + fields * x1.element_size() * MAP_COPIES["grad" if grad else "eval"])
            need = max(coarse, cost(npix_b)) + held
            best = need if best is None else min(best, need)
            if need <= limit:       # operators of all blocks, if kept: halo overhead x n0
                kept = n0 * halo * kept_px / grid.block_copies()
                fits.append((max(0.0, 1.0 - (limit - need) / kept), js, m, need))
    # the plan rebuilding the fewest operators at each evaluation first (none: all are kept)
    for rebuilt, js, m, need in sorted(fits, key=lambda f: f[0]):
        blocks = grid.split_blocks(n0, js, m)
        if blocks is not None:     # otherwise as many grids keep them as the budget leaves room for
            grids = len(by_grid(blocks))
            per_grid = sum(len(b.core[0]) for b in blocks) / len(blocks) * kept_px
            keep = -1 if rebuilt == 0 else int(max(0.0, limit - need) // per_grid)
            return Plan(js, blocks, need, keep=keep if keep < grids else -1)
    if best is None:
        return None
    raise ValueError(f"max_memory={user} bytes is below what one patch of this field needs: "
                     f"at least {int(math.ceil(best / SAFETY))} bytes ({best / SAFETY / 1e9:.2f} GB)")


# -- moments of one block ------------------------------------------------------------------
def _block_weights(block, wls: list, totals: list, js: int, like: torch.Tensor) -> list:
    """The block's weights at levels ``< js``: the field's weights on its pixels, zero off its
    core, over the whole field's total (so that block moments add up to the field's)."""
    out = []
    for j in range(js):
        core = torch.as_tensor(block.core[j], dtype=like.dtype, device=like.device)
        pos = torch.as_tensor(block.pos[j], device=like.device)
        w = core[None] if wls[j] is None else wls[j].index_select(-1, pos) * core
        out.append(w / totals[j][:, None])
    return out


def gather(block, x: torch.Tensor | None) -> torch.Tensor | None:
    """The block's pixels (core and halo) of a field ``(..., n0)``."""
    return None if x is None else x.index_select(-1, torch.as_tensor(block.pos[0], device=x.device))


def block_moments(block, xb1, xb2, wfs: list, js: int, J: int, calc_var: bool) -> tuple[dict, dict | None]:
    """Moments of one block (fields ``gather``-ed) at levels ``< js``, and the core pixels of
    its state at level ``js`` (``None`` when ``js == J``)."""
    mom, state = moments(block.grid, initial_state(xb1, xb2), range(js), J, wfs, calc_var)
    if state is not None:
        loc = torch.as_tensor(block.core_local, device=xb1.device)
        state = {k: [m.index_select(-1, loc) for m in v] if isinstance(v, list)
                 else None if v is None else v.index_select(-1, loc) for k, v in state.items()}
    return mom, state


def _keys(calc_var: bool) -> list:
    """The moment families in the order ``_flat`` lays them out."""
    return ["S0"] + list(MOMENTS) + (["v_S0"] + ["v_" + k for k in MOMENTS] if calc_var else [])


def _flat(mom: dict, calc_var: bool) -> list:
    return [t for k in _keys(calc_var) for t in mom.get(k, [])]


def _unflat(flat: list, counts: dict, calc_var: bool) -> dict:
    out, i = {}, 0
    for k in _keys(calc_var):
        n = counts.get(k, 0)
        out[k] = list(flat[i:i + n])
        i += n
    return out


def state_tensors(st: dict | None) -> list:
    """The state at level ``js`` as tensors: ``x1[, x2]``, the stacked moduli ``(js, B, L, n)``."""
    if st is None:
        return []
    out = [st["x1"]] + ([st["x2"]] if st["x2"] is not None else [])
    return out + [torch.stack(st["mods1"])] + ([torch.stack(st["mods2"])] if st["mods2"] else [])


def block_gradient(block, xb1, xb2, wfs, js: int, J: int, calc_var: bool, g_flat, g_state) -> list:
    """Gradient, with respect to the block's pixels ``xb1[, xb2]``, of ``sum <moments, g_flat>
    + <core state, g_state>``: the block's share of the backward pass."""
    with torch.enable_grad():
        xs = [x.detach().requires_grad_() for x in (xb1, xb2) if x is not None]
        mom, st = block_moments(block, xs[0], xs[1] if len(xs) > 1 else None, wfs, js, J, calc_var)
        outs, gs = [], []
        for t, g in zip(_flat(mom, calc_var) + state_tensors(st), list(g_flat) + list(g_state)):
            if g is not None and t.requires_grad:
                outs.append(t); gs.append(g)
        if not outs:
            return [None] * len(xs)
        return list(torch.autograd.grad(outs, xs, gs, allow_unused=True))


class _Blocks(torch.autograd.Function):
    """Moments of levels ``< js`` and the state at ``js``, summed / gathered over blocks, with
    the block-wise recomputation as backward (see the module docstring)."""

    @staticmethod
    def forward(ctx, run, x1, x2):
        ctx.run = run
        ctx.save_for_backward(x1, x2)
        with torch.no_grad():
            flat, state = run.forward(x1, x2)
        ctx.n_flat = len(flat)
        return tuple(flat) + tuple(state)

    @staticmethod
    def backward(ctx, *grads):
        x1, x2 = ctx.saved_tensors
        g1, g2 = ctx.run.backward(x1, x2, grads[:ctx.n_flat], grads[ctx.n_flat:])
        return None, g1, g2


class _Run:
    """The block loop of one evaluation: here, or on a Dask cluster (``stats.dask_blocks``)."""

    def __init__(self, plan: Plan, grid, J: int, wls: list, totals: list, calc_var: bool, n_js: int):
        self.plan, self.grid, self.J, self.wls, self.totals = plan, grid, J, wls, totals
        self.calc_var, self.n_js = calc_var, n_js
        self.client = getattr(grid, "client", None)
        self.template = None          # {key: number of moments} of one block

    def _wfs(self, block, like):
        js = self.plan.js
        return _block_weights(block, self.wls, self.totals, js, like) + [None] * (self.J - js)

    def _args(self, block, x1, x2):
        return gather(block, x1), gather(block, x2), self._wfs(block, x1), self.plan.js, self.J, self.calc_var

    def _results(self, fn, args):
        """``fn(block, *args(block))`` for every block: locally, one block's inputs gathered at a
        time, or as Dask tasks (as they finish)."""
        blocks = self.plan.blocks
        if self.client is None:
            keep, g = self.plan.keep, 0          # g: index of the current block's grid
            for i, block in enumerate(blocks):
                yield block, fn(block, *args(block))
                if i + 1 == len(blocks) or blocks[i + 1].grid is not block.grid:
                    if 0 <= keep <= g:            # its last block: keep or free its operators
                        block.grid.release()
                    g += 1
            return
        from distributed import as_completed
        from . import dask_blocks as db
        remote = {"forward": db.remote_forward, "backward": db.remote_backward}[fn.__name__.strip("_")]
        # a grid's blocks share one build, split into as many tasks as give every worker two
        groups = by_grid(blocks)
        workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        parts = -(-2 * workers // len(groups))
        tasks = [g[i:i + size] for g in groups for size in [-(-len(g) // min(parts, len(g)))]
                 for i in range(0, len(g), size)]
        futs = {self.client.submit(remote, db.spec(t[0]), [args(b) for b in t], pure=False): t
                for t in tasks}
        for fut in as_completed(list(futs)):
            yield from zip(futs[fut], fut.result())
            fut.release()

    @staticmethod
    def _forward(block, *args):
        mom, st = block_moments(block, *args)
        return _flat(mom, args[-1]), state_tensors(st), {k: len(v) for k, v in mom.items()}

    @staticmethod
    def _backward(block, *args):
        return block_gradient(block, *args)

    def forward(self, x1, x2):
        flat, state = None, None
        for block, (f, st, template) in self._results(self._forward, lambda b: self._args(b, x1, x2)):
            if flat is None:
                self.template, flat = template, [t.clone() for t in f]
                state = [t.new_zeros(t.shape[:-1] + (self.n_js,)) for t in st]
            else:
                for a, b in zip(flat, f):
                    a += b
            idx = torch.as_tensor(block.core_global, device=x1.device) if st else None
            for full, part in zip(state, st):
                full.index_copy_(-1, idx, part)
        return flat, state

    def backward(self, x1, x2, g_flat, g_state):
        g = [torch.zeros_like(x1), None if x2 is None else torch.zeros_like(x2)]
        g_flat = list(g_flat)

        def args(block):
            idx = torch.as_tensor(block.core_global, device=x1.device) if g_state else None
            gs = [None if t is None else t.index_select(-1, idx) for t in g_state]
            return self._args(block, x1, x2) + (g_flat, gs)
        for block, gb in self._results(self._backward, args):
            take = torch.as_tensor(block.pos[0], device=x1.device)
            for acc, part in zip(g, gb):
                if acc is not None and part is not None:
                    acc.index_add_(-1, take, part.to(acc.device))
        return g[0], g[1]


def split_moments(plan: Plan, grid, x1, x2, J: int, weights, edge: bool, calc_var: bool) -> dict:
    """``compute.moments`` of all ``J`` levels through ``plan``: levels ``< plan.js`` by blocks."""
    js = plan.js
    shape = grid.spatial_shape(x1)
    wls = level_weights(grid, shape, J, weights, edge, x1, normalise=False)
    sizes, s = [], shape
    for j in range(J):
        sizes.append(int(np.prod(s)))
        s = grid.coarser(s) if j < J - 1 else s
    totals = [x1.new_full((1,), float(sizes[j])) if w is None else w.sum(-1) for j, w in enumerate(wls)]
    run = _Run(plan, grid, J, wls, totals, calc_var, sizes[js] if js < J else 0)
    outs = _Blocks.apply(run, x1, x2)
    n_flat = sum(run.template.values())
    mom = _unflat(list(outs[:n_flat]), run.template, calc_var)
    if js >= J:
        return mom
    st = list(outs[n_flat:])
    cross = x2 is not None
    state = {"x1": st[0], "x2": st[1] if cross else None}
    k = 2 if cross else 1
    state["mods1"] = list(st[k].unbind(0))
    state["mods2"] = list(st[k + 1].unbind(0)) if cross else []
    wfs = [None] * js + [None if w is None else w / t[:, None] for w, t in zip(wls[js:], totals[js:])]
    rest, _ = moments(grid, state, range(js, J), J, wfs, calc_var)
    return {k: mom.get(k, []) + rest.get(k, []) for k in set(mom) | set(rest)}
