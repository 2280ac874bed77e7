"""HEALPix (NEST) grid for the scattering covariance and the synthesis.

Wavelets are oriented Morlet stencils on each pixel's ``KERNELSZ x KERNELSZ``
neighbourhood in its tangent plane (``sigma = 0.8`` px for 3x3, 1.2 px for
5x5, ``xi = 3pi/4`` rad/px, made exactly zero-mean pixel by pixel, so the
base-pixel corners with 7 neighbours are handled like any other pixel). Scale
``j`` is the same stencil on the map downgraded ``j`` times. Operators are
precomputed once per nside (``healpix.stencil``: gathered neighbours and one batched
product, the full sky's weights stored for a quarter of it; a patch's child-mean is a
CSR pair): no Python loop over pixels at run time.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..checks import check_positive_int
from ..grid import Grid
from ..ops import complex_parts, take
from . import kernels
from .harmonic import HarmonicOps
from .geometry import CHUNK, full_sky_neighbourhood, neighbourhood, nside_of
from .stencil import Stencil
from ..wavelets import SIGMA0, XI0, slant

MIN_NSIDE = 2          # coarsest level allowed
DEFAULT_MIN_NSIDE = 4  # coarsest level used when Jmax is not given


class _SparseApply(torch.autograd.Function):
    """``y = A x`` for a fixed real CSR ``A``; backward ``A^T g`` with a precomputed ``A^T``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, A: torch.Tensor, At: torch.Tensor) -> torch.Tensor:
        ctx.At = At
        return A @ x

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        return ctx.At @ g, None, None


def _csr(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, shape, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """The CSR matrix and its transpose as torch tensors (int32 indices: less memory traffic)."""
    import warnings

    import scipy.sparse as sp
    m = sp.csr_matrix((vals, (rows, cols)), shape=shape)
    mt = m.T.tocsr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "sparse CSR support is in beta"
        conv = lambda s: torch.sparse_csr_tensor(torch.from_numpy(s.indptr.astype(np.int32)),
                                                 torch.from_numpy(s.indices.astype(np.int32)),
                                                 torch.from_numpy(s.data).to(dtype), size=s.shape)
        return conv(m), conv(mt)


def _as_array(a):
    return a if isinstance(a, (np.ndarray, torch.Tensor)) else np.asarray(a)


def patch_ids(cell_ids) -> np.ndarray:
    """``cell_ids`` as a 1D int64 array: ``TypeError`` unless integers, ``ValueError`` if empty."""
    if isinstance(cell_ids, torch.Tensor):
        cell_ids = cell_ids.detach().cpu().numpy()
    ids = np.asarray(cell_ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"cell_ids must be integer NEST indices; got dtype {ids.dtype}")
    if ids.ndim != 1:
        raise ValueError(f"cell_ids must be a 1D array of NEST indices; got shape {ids.shape}")
    if ids.size == 0:
        raise ValueError("cell_ids is empty")
    return ids.astype(np.int64)


class HealpixGrid(HarmonicOps, Grid):
    """HEALPix NEST maps ``(..., 12 nside^2)``, or a patch ``(..., ncells)`` given by
    ``cell_ids`` (NEST indices at ``nside``), processed without a full-sky array."""

    spatial_ndim = 1
    can_upsample_beyond_input = False

    def __init__(self, L: int = 4, KERNELSZ: int = 3, cell_ids=None, nside: int | None = None):
        self.L, self.KERNELSZ, self.name = int(L), int(KERNELSZ), "healpix"
        self._ops: dict = {}
        self._sht: dict = {}
        self._blocks: tuple | None = None        # ((n0, js, m), blocks) of the last split
        self.patch = None
        self._order = self._inverse = None
        if cell_ids is not None:
            from .patch import PatchLevels
            ids = patch_ids(cell_ids)
            if nside is None:    # smallest power of two holding every index
                nside = 1
                while 12 * nside * nside <= ids.max():
                    nside *= 2
            nside_of(12 * check_positive_int("nside", nside) ** 2)
            self.patch = PatchLevels(nside, ids)
            if self.patch.order is not None:     # values arrive in the user's cell order
                self._order = self.patch.order
                self._inverse = np.argsort(self._order)
            self._interior = None

    def key(self) -> tuple:
        if self.patch is None:
            return ("HealpixGrid", self.L, self.KERNELSZ)
        import hashlib
        sha = hashlib.sha256(self.patch.cells[0].tobytes()).hexdigest()
        return ("HealpixGrid", self.L, self.KERNELSZ, self.patch.nsides[0], sha)

    def restrict(self, cell_ids, nside: int | None = None) -> "HealpixGrid":
        """The patch grid of the NEST cells ``cell_ids`` at ``nside`` (any order; no full-sky array)."""
        if self.patch is not None:
            raise ValueError("this grid is already a patch; restrict the full-sky grid")
        g = HealpixGrid(self.L, self.KERNELSZ, cell_ids=cell_ids, nside=nside)
        g.max_memory, g.client = self.max_memory, self.client
        return g

    # -- blocks for the split statistics (healpix.blocks) ---------------------------------
    def block_sizes(self, n0: int, js: int) -> list[int]:
        from . import blocks
        return blocks.block_sizes(self, n0, js)

    def block_pixels(self, n0: int, js: int, m: int) -> int:
        from . import blocks
        return blocks.block_pixels(self, n0, js, m)

    def block_copies(self) -> int:
        from . import blocks
        return blocks.block_copies(self)

    def split_blocks(self, n0: int, js: int, m: int):
        """The NEST blocks (``healpix.blocks``) of the last split asked for, cached."""
        from . import blocks
        if self._blocks is None or self._blocks[0] != (n0, js, m):
            self._blocks = None                  # free the old blocks' operators first
            self._blocks = ((n0, js, m), blocks.split_blocks(self, n0, js, m))
        return self._blocks[1]

    def release(self) -> None:
        self._ops.clear()

    def to_internal(self, a):
        return a if self._order is None or a is None else _as_array(a)[..., self._order]

    def from_internal(self, a):
        return a if self._inverse is None or a is None else _as_array(a)[..., self._inverse]

    # -- levels -------------------------------------------------------------------
    def _level(self, n: int) -> tuple[int, np.ndarray | None]:
        """(nside, cells or None) of a field with ``n`` values."""
        if self.patch is None:
            return nside_of(n), None
        j = self.patch.level_of(n)
        return self.patch.nsides[j], self.patch.cells[j]

    # -- shapes -----------------------------------------------------------------
    def check_field(self, x: torch.Tensor, name: str) -> None:
        if x.dim() < 1:
            raise ValueError(f"{name} must be a HEALPix map (..., 12*nside**2); got a scalar")
        if self.patch is not None:
            if x.shape[-1] != self.patch.cells[0].size:
                raise ValueError(f"{name} must hold one value per cell_ids entry "
                                 f"({self.patch.cells[0].size}); got {x.shape[-1]}")
            return
        try:
            nside_of(x.shape[-1])
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None

    def max_scales(self, spatial_shape, edge: bool = False, coarsest: int = MIN_NSIDE) -> int:
        if self.patch is not None:
            j = self.patch.level_of(spatial_shape[-1])
            J = sum(1 for ns in self.patch.nsides[j:] if ns >= coarsest)
            if edge:   # every level used must keep some interior pixel
                like = torch.zeros(())
                J = next((k for k in range(J) if self.edge_weights((self.patch.cells[j + k].size,), like).sum() == 0), J)
            return J
        nside = nside_of(spatial_shape[-1])
        J = 0
        while nside >= coarsest:
            J += 1
            nside //= 2
        return J

    def coarser(self, spatial_shape):
        if self.patch is not None:
            j = self.patch.level_of(spatial_shape[-1])
            return (self.patch.cells[j + 1].size,) if j + 1 < len(self.patch.cells) else None
        nside = nside_of(spatial_shape[-1])
        return (spatial_shape[-1] // 4,) if nside > 1 else None

    def default_scales(self, spatial_shape, edge: bool = False) -> int:
        return max(1, self.max_scales(spatial_shape, edge, DEFAULT_MIN_NSIDE))

    # -- operators ----------------------------------------------------------------
    def operators(self, n: int, like: torch.Tensor, need: str = "psi") -> dict:
        """Sparse operators for fields of ``n`` values: wavelet (real parts then imaginary
        parts, ``(2 L n, n)``), smoothing, and (patches) the child-mean to the next level.
        ``need="smooth"`` builds only the smoothing (and child-mean): what down- and upsampling
        use, 8x smaller than the wavelets (a pyramid of a large map needs no wavelets)."""
        key = (n, like.dtype, like.device)
        ops = self._ops.get(key, {})
        if need not in ops:
            nside, cells = self._level(n)
            ops = {k: v.to(like.device) if isinstance(v, Stencil) else tuple(t.to(like.device) for t in v)
                   for k, v in self._build(nside, cells, like.dtype, like.device, wavelets=need == "psi").items()}
            self._ops[key] = ops
        return ops

    def _stencil(self, nside: int, cells, KERNELSZ: int | None = None):
        """Neighbourhood in local indices; ``valid`` also drops neighbours outside a patch."""
        index, xy, valid = neighbourhood(nside, KERNELSZ or self.KERNELSZ, cells)
        ok = np.ones_like(valid)
        if cells is not None:
            pos = np.searchsorted(cells, index).clip(0, len(cells) - 1)
            inside = cells[pos] == index
            ok = inside | ~valid                  # a slot absent on the sphere is not a patch edge
            valid = valid & inside
            index = np.where(valid, pos, np.arange(len(cells))[:, None])
        return index, xy, valid, ok

    def _build(self, nside: int, cells, dtype: torch.dtype, device, wavelets: bool = True) -> dict:
        if cells is None and nside >= 2:       # a quarter of the sphere, turned (geometry)
            index, xy, valid = full_sky_neighbourhood(nside, self.KERNELSZ)
            turns = 4
        else:
            index, xy, valid, _ = self._stencil(nside, cells)
            turns = 1
        xy = np.where(valid[..., None], xy, 0.0)           # missing slots may sit at infinity
        nb, K = valid.shape
        R = 2 * self.L if wavelets else 0                   # real, then imaginary parts
        npdt = torch.empty((), dtype=dtype).numpy().dtype     # computed in the operators' dtype
        # on the kernels' path the weights go straight into their blocked layout, chunk by chunk
        Q = nb // (3 if turns > 1 else 1)
        blocked = torch.device(device).type == "cpu" and kernels.available()
        # (there, one stencil of 2 L + 1 outputs: the wavelets, then the smoothing)
        if blocked:
            both = kernels.blocked_zeros(nb // Q, Q, (R + 1, K), npdt)
        else:
            vals, smooth = np.empty((nb, R, K), npdt), np.empty((nb, 1, K), npdt)
        row_sums = np.empty(nb, dtype=npdt)
        for s0 in range(0, nb, CHUNK):                      # chunks: temporaries stay small
            p = slice(s0, min(nb, s0 + CHUNK))
            w = np.empty((p.stop - s0, R + 1, K), npdt) if blocked else None
            v, sm = (w[:, :R], w[:, R:]) if blocked else (vals[p], smooth[p])
            row_sums[p] = self._weights(xy[p].astype(npdt), valid[p], v, sm[:, 0])
            if blocked:
                kernels.put_rows(both, w, s0, Q)
        del xy
        npix = index.shape[0]
        if npix < 2 ** 31:                  # int32: shared by both stencils (``Stencil``)
            index = index.astype(np.int32, copy=False)
        # the smoothing is a Gaussian of the distance (symmetric) normalised per row: its
        # adjoint needs no transposed matrix (``Stencil``'s ``row_sums``)
        if blocked:      # one stencil, used whole (``wavelet_parts_and_downsample``) or by parts
            ops = {"both": Stencil(index, both, turns, dtype, device)}
            ops["smooth"] = ops["both"].outputs(R, 1, row_sums)
            if wavelets:
                ops["psi"] = ops["both"].outputs(0, R)
        else:            # the index is shared by both
            ops = {"smooth": Stencil(index, smooth, turns, dtype, device, row_sums=row_sums)}
            if wavelets:
                ops["psi"] = Stencil(index, vals, turns, dtype, device)
        if cells is not None:
            j = self.patch.level_of(npix)
            if j + 1 < len(self.patch.cells):
                par = self.patch.parent[j]
                cnt = self.patch.child_count(j)
                ops["down"] = _csr(par, np.arange(npix), 1.0 / cnt[par], (len(cnt), npix), dtype)
        return ops

    def _weights(self, xy: np.ndarray, valid: np.ndarray, vals: np.ndarray, smooth: np.ndarray) -> np.ndarray:
        """Stencil weights of pixels with neighbour coordinates ``xy (n, K, 2)``: the ``L``
        oriented zero-mean Morlet wavelets into ``vals (n, 2 L, K)`` (real parts, then
        imaginary parts) and the Gaussian smoothing into ``smooth (n, K)``; returns the
        smoothing's row sums ``(n,)`` before normalisation. Computed as ``(K, n)`` arrays, in
        place: sums over the ``K`` slots are then sums of rows (2x faster than ``(n, K)``)."""
        sigma = SIGMA0 if self.KERNELSZ == 3 else 1.5 * SIGMA0
        xi, a2 = XI0, min(1.0, slant(self.L)) ** 2
        x, y = np.ascontiguousarray(xy[..., 0].T), np.ascontiguousarray(xy[..., 1].T)   # (K, n)
        keep = valid.T.astype(x.dtype)
        r2 = x * x + y * y
        u, t, env, c, s = (np.empty_like(x) for _ in range(5))
        for l in range(self.L if vals.shape[1] else 0):          # no wavelets asked for: smoothing only
            th = l * math.pi / self.L
            ct, st = math.cos(th), math.sin(th)     # Python floats: the arrays' dtype is kept
            np.multiply(x, ct, out=u)
            u += st * y                                                    # along the wave
            np.multiply(u, u, out=t)                # u^2 + a^2 v^2 = a^2 r^2 + (1 - a^2) u^2
            t *= (a2 - 1) / (2 * sigma ** 2)
            t -= (a2 / (2 * sigma ** 2)) * r2
            np.exp(t, out=env)
            env *= keep
            env /= env.sum(0)
            np.multiply(u, xi, out=t)
            np.cos(t, out=c)
            np.sin(t, out=s)
            c -= (env * c).sum(0)                                          # zero mean
            s -= (env * s).sum(0)
            vals[:, l], vals[:, self.L + l] = (env * c).T, (env * s).T
        np.multiply(r2, -1 / (2 * SIGMA0 ** 2), out=t)
        np.exp(t, out=env)
        env *= keep
        z = env.sum(0)
        smooth[:] = (env / z).T
        return z

    @staticmethod
    def _apply(pair, x: torch.Tensor) -> torch.Tensor:
        """``(npix_in, M)`` -> ``(rows, M)`` through a sparse operator pair."""
        return _SparseApply.apply(x, pair[0], pair[1])

    def wavelet_parts(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, *C, npix)`` -> ``(B, *C, 2, L, npix)``: the stencil's own output, no copy."""
        npix = x.shape[-1]
        return self.operators(npix, x)["psi"].apply(x.reshape(-1, npix), x.shape[:-1] + (2, self.L, npix))

    def wavelet_parts_and_downsample(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(wavelet_parts(x), downsample(x))``: on the kernels' path one stencil pass gives the
        wavelets and the smoothing (the neighbours gathered once)."""
        npix = x.shape[-1]
        both = self.operators(npix, x).get("both")
        if both is None or both.R != 2 * self.L + 1 or x.is_complex():
            return super().wavelet_parts_and_downsample(x)
        parts, smoothed = both.apply_split(x.reshape(-1, npix), x.shape[:-1] + (2, self.L, npix), 2 * self.L)
        return parts, self._child_mean(smoothed.reshape(x.shape))

    def wavelet(self, x: torch.Tensor) -> torch.Tensor:
        npix = x.shape[-1]
        out = complex_parts(self.wavelet_parts(x).reshape(-1, 2 * self.L, npix))   # (M, L, npix)
        return out.reshape(x.shape[:-1] + (self.L, npix))                  # (B, *C, L, npix)

    def smooth(self, x: torch.Tensor) -> torch.Tensor:
        npix = x.shape[-1]
        ops = self.operators(npix, x, need="smooth")
        return ops["smooth"].apply(x.reshape(-1, npix)).reshape(x.shape)

    def _child_mean(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1]
        if self.patch is None:
            return x.reshape(x.shape[:-1] + (n // 4, 4)).mean(-1)
        op = self.operators(n, x, need="smooth")["down"]
        y = self._apply(op, x.reshape(-1, n).T.contiguous()).T
        return y.reshape(x.shape[:-1] + (y.shape[-1],))

    def downsample(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_complex():
            return torch.complex(self.downsample(x.real), self.downsample(x.imag))
        return self._child_mean(self.smooth(x))

    def upsample(self, x: torch.Tensor) -> torch.Tensor:
        if self.patch is None:
            return self.smooth(x.repeat_interleave(4, dim=-1))
        j = self.patch.level_of(x.shape[-1])
        if j == 0:
            raise ValueError("cannot upsample a patch beyond its input resolution")
        par = torch.as_tensor(self.patch.parent[j - 1], device=x.device)
        return self.smooth(take(x, par))

    def downsample_mask(self, w: torch.Tensor) -> torch.Tensor:
        return self._child_mean(w)

    def dilate(self, w: torch.Tensor) -> torch.Tensor:
        # the smoothing stencil's weights are all positive: its support is the neighbourhood
        return (self.smooth((w > 0.5).to(w.dtype)) > 1e-9).to(w.dtype)

    def neighbour_pairs(self, spatial_shape) -> torch.Tensor:
        """The 8 (7 at base-pixel corners) NEST neighbours of every pixel, inside the patch."""
        nside, cells = self._level(spatial_shape[-1])
        index, _, valid, _ = self._stencil(nside, cells, 3)
        a = np.broadcast_to(np.arange(index.shape[0])[:, None], index.shape)
        keep = valid & (a < index)
        return torch.from_numpy(np.stack([a[keep], index[keep]]).astype(np.int64))

    def exact_after_stencil(self, ok: np.ndarray) -> np.ndarray:
        """Pixels whose stencil is the full-sphere one (no neighbour missing from the patch) and
        reads only ``ok`` pixels (``ok (n,)`` bool at the level of ``n`` pixels)."""
        nside, cells = self._level(ok.size)
        index, _, _, complete = self._stencil(nside, cells)
        return ok & np.all(complete & ok[index], axis=1)

    def exact_after_downsample(self, ok: np.ndarray) -> np.ndarray:
        """Coarse pixels whose four children are present and exactly smoothed from ``ok`` pixels."""
        s = self.exact_after_stencil(ok).astype(float)
        if self.patch is None:
            return s.reshape(-1, 4).sum(1) == 4
        j = self.patch.level_of(ok.size)
        n1 = self.patch.cells[j + 1].size
        return np.bincount(self.patch.parent[j], weights=s, minlength=n1) == 4

    def edge_weights(self, spatial_shape, like: torch.Tensor):
        """Patches: 1 on pixels whose whole dependency cone lies inside the patch (``stats.cone``)."""
        if self.patch is None:
            return None
        if self._interior is None:
            from ..stats.cone import exact_pixels
            self._interior = exact_pixels(self, self.patch.cells[0].size, len(self.patch.cells))
        j = self.patch.level_of(spatial_shape[-1])
        return torch.as_tensor(self._interior[j], dtype=like.dtype, device=like.device)
