"""The grid protocol: the few operations the statistics and the synthesis need.

Every grid (1D, 2D, HEALPix) implements these on tensors whose trailing
``spatial_ndim`` axes are the pixels at the *current* resolution; leading
axes are batch / channel axes and are left alone. Scale ``j`` of the
scattering covariance is the same oriented wavelet applied after ``j``
calls to :meth:`Grid.downsample`, so nothing above this file knows which
grid it runs on.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch


class Grid(ABC):
    """Abstract grid. Subclasses set ``L`` (orientations) and ``spatial_ndim``."""

    L: int
    spatial_ndim: int
    name: str = "grid"
    can_upsample_beyond_input: bool = True
    max_memory: int | None = None     # bytes one evaluation may use (None: half the free memory)
    client = None                     # a dask.distributed Client running the blocks (stats.split)
    wavelet_diagonal: bool = False    # True: the grid has spectral, spectral_down,
                                      # spectral_wavelet, spectral_gram and spectral_rot
                                      # (a real basis in which the wavelet is diagonal;
                                      # stats.spectral uses it for unmasked statistics)

    # -- shapes -----------------------------------------------------------------
    @abstractmethod
    def check_field(self, x: torch.Tensor, name: str) -> None:
        """Raise ``ValueError`` naming ``name`` if ``x``'s trailing axes are not a valid field."""

    @abstractmethod
    def max_scales(self, spatial_shape: tuple[int, ...], edge: bool = False) -> int:
        """Largest number of scales ``J`` usable on a field of this spatial shape."""

    def default_scales(self, spatial_shape: tuple[int, ...], edge: bool = False) -> int:
        """``J`` used when ``Jmax`` is not given (grids may keep a larger coarsest level)."""
        return self.max_scales(spatial_shape, edge)

    def coarser(self, spatial_shape: tuple[int, ...]) -> tuple[int, ...] | None:
        """Spatial shape after one ``downsample`` (``None`` if it cannot be halved)."""
        if any(n % 2 for n in spatial_shape):
            return None
        return tuple(n // 2 for n in spatial_shape)

    def spatial_shape(self, x: torch.Tensor) -> tuple[int, ...]:
        return tuple(x.shape[-self.spatial_ndim:])

    # -- identity and sub-grids ------------------------------------------------------
    def key(self) -> tuple:
        """Everything that defines this grid's operators (cache keys, checkpoint fingerprints)."""
        return (type(self).__name__, self.name, self.L)

    def restrict(self, cell_ids, nside: int | None = None) -> "Grid":
        """The grid of a patch given by cell indices; grids without cells raise ``ValueError``."""
        raise ValueError(f"cell_ids is only meaningful on the healpix grid (this grid is '{self.name}')")

    def spin_to_scalars(self, qu):
        """Spin-2 ``(2, *S)`` (Q, U) to the two scalar maps ``(2, *S)`` (E, B); grids without
        a spin-2 transform raise ``ValueError``."""
        raise ValueError(f"spin=2 needs full-sky HEALPix (Q, U) maps (this grid is '{self.name}')")

    def to_internal(self, a):
        """Reorder the last axis of a user array into the grid's pixel order (identity here;
        a patch given by unsorted ``cell_ids`` sorts it)."""
        return a

    def from_internal(self, a):
        """Inverse of :meth:`to_internal`."""
        return a

    # -- blocks (stats.split) --------------------------------------------------------
    def block_sizes(self, n0: int, js: int) -> list[int]:
        """Block sizes ``m`` (largest first) into which a field of ``n0`` pixels can be cut for
        levels ``< js`` (``[]``: this grid does not split; every statistic then runs whole)."""
        return []

    def block_pixels(self, n0: int, js: int, m: int) -> int:
        """Pixels of one block of size ``m``, halo included (for the memory plan)."""
        raise NotImplementedError

    def block_copies(self) -> int:
        """How many blocks share one block's operators (the same geometry, e.g. turned)."""
        return 1

    def split_blocks(self, n0: int, js: int, m: int) -> list | None:
        """The blocks (``Block``: sub-grid, positions and core masks per level) or ``None``."""
        return None

    def release(self) -> None:
        """Drop the operators this grid caches (they are rebuilt when next needed)."""

    # -- operators --------------------------------------------------------------
    @abstractmethod
    def wavelet(self, x: torch.Tensor) -> torch.Tensor:
        """Oriented complex wavelet transform at the current resolution:
        ``(B, *C, *S)`` real -> ``(B, *C, L, *S)`` complex."""

    def wavelet_parts(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`wavelet` as real numbers: ``(B, *C, *S)`` -> ``(B, *C, 2, L, *S)``, the real
        parts then the imaginary parts (the layout in which the statistics' products run as
        real matrix products). Here a strided view of the complex transform (the products' rows
        copy it once; for the planar grids measured faster than a de-interleaving copy, 5-9%,
        or real transforms of the half spectrum, 4.98 against 2.82 ms for four 128² fields).
        Grids whose transform yields this layout directly override it (HEALPix)."""
        return torch.view_as_real(self.wavelet(x)).movedim(-1, -2 - self.spatial_ndim)

    @abstractmethod
    def downsample(self, x: torch.Tensor) -> torch.Tensor:
        """Smooth and downsample by 2 (per axis): ``(..., *S) -> (..., *S/2)``."""

    def wavelet_parts_and_downsample(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(wavelet_parts(x), downsample(x))``, what every level but the last needs of one field.
        Grids whose two operations can share their work override it (HEALPix: one stencil pass)."""
        return self.wavelet_parts(x), self.downsample(x)

    @abstractmethod
    def upsample(self, x: torch.Tensor) -> torch.Tensor:
        """Interpolate to twice the resolution: ``(..., *S) -> (..., *2S)``."""

    @abstractmethod
    def downsample_mask(self, w: torch.Tensor) -> torch.Tensor:
        """Weights at half resolution (local mean; a 0/1 mask becomes fractions)."""

    @abstractmethod
    def dilate(self, w: torch.Tensor) -> torch.Tensor:
        """0/1 mask ``(..., *S)`` grown by one pixel: 1 wherever a pixel or one of its
        neighbours (the wavelet stencil's) is in ``w > 0.5``."""

    @abstractmethod
    def neighbour_pairs(self, spatial_shape: tuple[int, ...]) -> torch.Tensor:
        """``(2, P)`` int64 flat indices of every pair of neighbouring pixels, each pair once
        (the pixel-scale increments ``x[a] - x[b]`` of a field of that shape)."""

    # -- a wavelet-diagonal basis (optional; ``wavelet_diagonal = True``, stats.spectral) ---------
    def spectral(self, x: torch.Tensor) -> torch.Tensor:
        """Real field ``(..., *S)`` -> real coefficients ``(..., K)`` in which the spatial mean of
        products is a weighted dot product and the wavelet is diagonal."""
        raise NotImplementedError(f"grid '{self.name}' has no wavelet-diagonal basis")

    def spectral_down(self, Y: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        """:meth:`downsample` on the coefficients of a field of spatial ``shape``."""
        raise NotImplementedError(f"grid '{self.name}' has no wavelet-diagonal basis")

    def spectral_wavelet(self, Y: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        """:meth:`wavelet` of coefficients ``(B, K)``: real parts, then imaginary parts ``(B, 2L, *S)``."""
        raise NotImplementedError(f"grid '{self.name}' has no wavelet-diagonal basis")

    def spectral_gram(self, shape: tuple[int, ...], like: torch.Tensor) -> tuple:
        """``(w_re, w_im) (L, K)``: ``mean((a * psi_l) conj(b * psi_l)) =
        sum(w_re[l] Ya Yb) + i sum(w_im[l] rot(Ya) Yb)``."""
        raise NotImplementedError(f"grid '{self.name}' has no wavelet-diagonal basis")

    def spectral_rot(self, Y: torch.Tensor) -> torch.Tensor:
        """The coefficients of ``-i`` times a field's complex coefficients (``rot(rot(Y)) = -Y``)."""
        raise NotImplementedError(f"grid '{self.name}' has no wavelet-diagonal basis")

    def band_powers(self, x: torch.Tensor) -> torch.Tensor | None:
        """Optional fine isotropic band powers ``(B, nbands)`` (a finer S2 for the synthesis
        loss); ``None`` when the grid has none."""
        return None

    def band_split(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, *S)`` as ``(B, nb, *S)``: its parts in isotropic bands (``foscat_like.bands``),
        orthogonal and summing to ``x``. The default is one band, ``x`` itself."""
        return x[:, None]

    def band_modes(self, spatial_shape: tuple[int, ...]) -> torch.Tensor:
        """Number of modes (degrees of freedom) in each ``band_split`` band ``(nb,)``: their sum is
        the number of pixels. The default is one band."""
        return torch.tensor([float(math.prod(spatial_shape))], dtype=torch.float64)

    def wiener(self, d: torch.Tensor, noise: torch.Tensor, smooth: float = 0.0) -> torch.Tensor | None:
        """Empirical Wiener estimate of the signal in ``d (1, *S)`` given noise draws ``(K, *S)``
        (isotropic spectra estimated from the data themselves, per ``band_split`` band; ``smooth``
        octaves: each band's signal power averaged with its neighbours', ``bands.smooth_power``);
        ``None`` if the grid has none."""
        return None

    def edge_weights(self, spatial_shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor | None:
        """Weights ``(*S)`` dropping pixels whose wavelet support crosses the edge (``None``: no edge)."""
        return None

    # -- reductions -------------------------------------------------------------
    def pixel_weights(self, w: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
        """Masked-mean weights: ``w (K, *S)`` -> normalised ``(K, P)``; ``None`` = uniform.

        Both grids have equal-area pixels; a grid whose pixels differ in area would fold
        the areas in here, and every statistic would follow."""
        if w is None:
            return None
        wf = w.flatten(-self.spatial_ndim).to(like.dtype)
        return wf / wf.sum(-1, keepdim=True)

    @staticmethod
    def mean(x: torch.Tensor, wf: torch.Tensor | None) -> torch.Tensor:
        """Masked spatial mean of flattened fields: ``x (N, *C, P)``, ``wf (K, P)`` from
        :meth:`pixel_weights` (or ``None``) -> ``(N, K, *C)``."""
        if wf is None:
            return x.mean(-1).unsqueeze(1)
        N, C = x.shape[0], x.shape[1:-1]
        out = x.reshape(N, -1, x.shape[-1]) @ wf.to(x.dtype).T
        return out.transpose(1, 2).reshape((N, wf.shape[0]) + C)


GRIDS = ("1d", "2d", "healpix")


def make_grid(grid: str, NORIENT: int = 4, KERNELSZ: int = 3) -> Grid:
    """The one place grids are built: ``"1d"``, ``"2d"`` (periodic planar) or ``"healpix"`` (NEST)."""
    if not isinstance(grid, str):
        raise TypeError(f"grid must be one of {GRIDS}; got {type(grid).__name__}")
    if grid in ("1d", "2d"):
        from .planar.grid import PlanarGrid
        return PlanarGrid(int(grid[0]), NORIENT)
    if grid == "healpix":
        from .healpix.grid import HealpixGrid
        return HealpixGrid(NORIENT, KERNELSZ)
    raise ValueError(f"grid must be one of {GRIDS}; got {grid!r}")
