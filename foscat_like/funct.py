"""``funct``: the FOSCAT-style entry point (``eval`` and ``synthesis``) for every grid."""
from __future__ import annotations

import numpy as np

from .grid import Grid
from .inputs import as_field, as_mask
from .stats.compute import scattering_covariance
from .stats.normalize import normalize, reference_powers
from .stats.scatcov import ScatCov

GRIDS = ("1d", "2d", "healpix")


def make_grid(grid: str, NORIENT: int, KERNELSZ: int) -> Grid:
    """Grid implementation by name."""
    if grid in ("1d", "2d"):
        from .planar.grid import PlanarGrid
        return PlanarGrid(int(grid[0]), NORIENT)
    if grid == "healpix":
        from .healpix.grid import HealpixGrid
        return HealpixGrid(NORIENT, KERNELSZ)
    raise ValueError(f"grid must be one of {GRIDS}; got {grid!r}")


class funct:
    """Scattering-covariance operator.

    Parameters
    ----------
    NORIENT : number of wavelet orientations spanning pi (2D and HEALPix; 1 in 1D).
    KERNELSZ : 3 or 5, the HEALPix wavelet stencil size (planar grids use Fourier wavelets).
    grid : "healpix" (default, as FOSCAT), "2d" or "1d". ``use_1D=True`` / ``use_2D=True``
        are accepted as in FOSCAT.
    """

    def __init__(self, NORIENT: int = 4, KERNELSZ: int = 3, grid: str | None = None,
                 use_1D: bool = False, use_2D: bool = False, **unused):
        if isinstance(NORIENT, bool) or not isinstance(NORIENT, int) or NORIENT < 1:
            raise ValueError(f"NORIENT must be a positive integer; got {NORIENT!r}")
        if KERNELSZ not in (3, 5):
            raise ValueError(f"KERNELSZ must be 3 or 5; got {KERNELSZ!r}")
        if use_1D and use_2D:
            raise ValueError("use_1D and use_2D cannot both be True")
        if grid is None:
            grid = "1d" if use_1D else "2d" if use_2D else "healpix"
        self.NORIENT, self.KERNELSZ = NORIENT, KERNELSZ
        self.grid = make_grid(grid, NORIENT, KERNELSZ)
        self._norm_ref: dict | None = None

    def _grid_for(self, cell_ids, nside):
        """The grid to use: this one, or a HEALPix patch grid for ``cell_ids``."""
        if cell_ids is None:
            return self.grid
        if self.grid.name != "healpix":
            raise ValueError("cell_ids is only meaningful on the healpix grid")
        from .healpix.grid import HealpixGrid
        key = (hash(np.asarray(cell_ids, dtype=np.int64).tobytes()), nside)
        if getattr(self, "_patch_key", None) != key:
            self._patch_grid = HealpixGrid(self.NORIENT, self.KERNELSZ, cell_ids=cell_ids, nside=nside)
            self._patch_key = key
        return self._patch_grid

    def clean_norm(self) -> None:
        """Forget the reference normalisation cached by ``norm='auto'``."""
        self._norm_ref = None

    def scales(self, image, Jmax: int | None = None, edge: bool = False) -> int:
        """Number of scales ``J`` that ``eval`` uses for a field like ``image``."""
        t, _ = as_field(image, self.grid, "image1")
        return self._check_J(self.grid.spatial_shape(t), Jmax, edge)

    def _check_J(self, shape, Jmax, edge, grid=None) -> int:
        grid = grid or self.grid
        J = grid.max_scales(shape, edge)
        if J < 1:
            raise ValueError(f"image1 of spatial shape {shape} is too small for grid '{grid.name}'")
        if Jmax is None:
            return min(J, grid.default_scales(shape, edge))
        if isinstance(Jmax, bool) or not isinstance(Jmax, int) or Jmax < 1:
            raise ValueError(f"Jmax must be a positive integer; got {Jmax!r}")
        if Jmax > J:
            raise ValueError(f"Jmax={Jmax} is too large for spatial shape {shape}: at most {J}")
        return Jmax

    def eval(self, image1, image2=None, mask=None, norm: str | None = None, calc_var: bool = False,
             Jmax: int | None = None, edge: bool = False, cell_ids=None, nside: int | None = None,
             spin: int = 0):
        """Scattering covariance of ``image1`` (and cross with ``image2``).

        image1, image2 : ``(*S)`` or ``(B, *S)`` numpy or torch (autograd flows through).
        mask : ``(*S)`` or ``(K, *S)`` non-negative weights; each mask gives its own statistics.
        norm : None, 'self' (by this field's powers) or 'auto' (by powers cached on first call).
        calc_var : also return the per-coefficient spatial standard deviations.
        cell_ids, nside : HEALPix patch: ``image1 (..., ncells)`` holds the values of the NEST
            cells ``cell_ids`` at ``nside`` (inferred if omitted); no full-sky array is made.
            With ``edge=True`` only pixels whose whole stencil chain lies in the patch count,
            and the statistics equal the full-sky ones restricted to them.
        spin : 2 for polarisation: ``image1`` is ``(2, npix)`` (Q, U), analysed as its E and B
            maps (batch axis ``[E, B]``; no autograd through the conversion).
        Returns ``ScatCov`` (or ``(ScatCov, sigma ScatCov)`` with ``calc_var``).
        """
        if norm not in (None, "self", "auto"):
            raise ValueError(f"norm must be None, 'self' or 'auto'; got {norm!r}")
        if spin not in (0, 2):
            raise ValueError(f"spin must be 0 or 2 (Q, U polarisation); got {spin!r}")
        if spin == 2:
            if self.grid.name != "healpix" or cell_ids is not None:
                raise ValueError("spin=2 needs full-sky HEALPix (Q, U) maps")
            from .healpix.spin import qu_to_eb
            as_field(np.asarray(image1)[0] if np.ndim(image1) == 2 else image1, self.grid, "image1")
            image1 = qu_to_eb(np.asarray(image1))
            image2 = None if image2 is None else qu_to_eb(np.asarray(image2))
        grid = self._grid_for(cell_ids, nside)
        x1, _ = as_field(image1, grid, "image1")
        x2 = None
        if image2 is not None:
            x2, _ = as_field(image2, grid, "image2", like=x1)
            if x2.shape != x1.shape:
                raise ValueError(f"image2 must have the shape of image1 {tuple(x1.shape)}; got {tuple(x2.shape)}")
        S = grid.spatial_shape(x1)
        J = self._check_J(S, Jmax, edge, grid)
        w = None if mask is None else as_mask(mask, S, x1)
        raw = scattering_covariance(grid, x1, x2, J, w, edge=edge, calc_var=calc_var)
        if norm is not None:
            ref = None
            if norm == "auto":
                if self._norm_ref is None or self._norm_ref["P1"].shape[2] != J:
                    self._norm_ref = reference_powers(raw)
                ref = self._norm_ref
            raw = normalize(raw, ref)
        st = ScatCov.from_raw(raw, norm=norm)
        if calc_var:
            return st, ScatCov.from_raw(raw, sigma=True, norm=norm)
        return st

    def synthesis(self, image_target, reference=None, nstep: int | None = None, seed: int = 1234,
                  Jmax: int | None = None, edge: bool = False, to_gaussian: bool = False,
                  use_variance: bool = True, synthesised_N: int = 1, input_image=None,
                  grd_mask=None, in_mask=None, iso_ang: bool = False, fft_ang: bool = False,
                  fft_nharm: int = 1, fft_imaginary: bool = True, EVAL_FREQUENCY: int = 100,
                  NUM_EPOCHS: int = 300, n_up: int = 0, checkpoint: str | None = None,
                  progress: bool = True, return_history: bool = False, histogram: bool = True,
                  spectrum: bool = True, precision: str = "double", cell_ids=None,
                  nside: int | None = None):
        """Synthesise a field whose scattering covariance matches ``image_target``'s.

        Arguments follow FOSCAT's ``synthesis`` (seed 004): coarse-to-fine over
        ``nstep`` levels (default: up to 4, as many as the size allows; an explicit
        ``nstep`` too deep for the size is an error) with L-BFGS-B (at most ``NUM_EPOCHS`` iterations each);
        ``grd_mask`` (1 = free pixel, 0 = kept equal to the target) for inpainting;
        ``in_mask`` (0 = invalid pixel, excluded from the target's statistics);
        ``reference`` adds cross statistics with a second field; ``n_up`` extra
        levels at 2x, 4x... the target's size; ``synthesised_N`` fields at once;
        ``input_image`` as warm start; ``iso_ang`` / ``fft_ang`` reduce the angles.
        ``histogram`` adds the pixel-histogram (1D Wasserstein) term to the loss;
        ``spectrum`` the fine ring band powers (planar grids, periodic targets).
        ``precision='single'`` computes the loss in float32 (about 2x faster on large
        maps; the optimiser still works in float64).
        ``checkpoint``: file updated after every level; a killed run called again
        with the same arguments resumes and ends with the same map.

        Returns a numpy array of the target's shape (leading ``synthesised_N`` axis
        when > 1, spatial size x ``2**n_up``); with ``return_history`` also the
        ``[(level, iteration, loss)]`` list. The history is kept in ``self.history``.
        """
        from .optim.synthesis import SynthesisConfig, synthesize
        cfg = SynthesisConfig(nstep, seed, Jmax, edge, to_gaussian, use_variance, synthesised_N,
                              iso_ang, fft_ang, fft_nharm, fft_imaginary, EVAL_FREQUENCY,
                              NUM_EPOCHS, n_up, progress, histogram, spectrum, precision)
        res = synthesize(self._grid_for(cell_ids, nside), image_target, cfg, reference=reference, input_image=input_image,
                         grd_mask=grd_mask, in_mask=in_mask, checkpoint=checkpoint)
        self.history, self.levels = res.history, res.levels
        return (res.maps, res.history) if return_history else res.maps

    def separate(self, data, noise, reference=None, mask=None, n_noise: int = 16, nstep: int | None = 1,
                 n_iter: int = 3, Jmax: int | None = None, NUM_EPOCHS: int = 100, EVAL_FREQUENCY: int = 100,
                 progress: bool = True, checkpoint: str | None = None, return_history: bool = False,
                 edge: bool = False, cell_ids=None, nside: int | None = None, precision: str = "double"):
        """Separate a non-Gaussian signal ``s`` from noise in ``data = s + n``.

        data : ``(*S)`` one field on this grid. noise : realisations ``(K, *S)`` (K >= 2; 16 or
        more recommended) or a callable ``draw(k) -> (*S)`` called ``n_noise`` times.
        reference : optional template ``(*S)`` correlated with ``s`` (cross statistics).
        mask : weights ``(*S)`` of the valid pixels for every statistic; pixels of weight 0 are
        missing data (ignored; the output there is not constrained).
        n_iter : bias-correction iterations at full resolution, ``NUM_EPOCHS`` L-BFGS-B steps each;
        ``nstep > 1`` adds coarser levels first. ``checkpoint`` resumes a killed run.
        cell_ids, nside : HEALPix patch (values of the NEST cells ``cell_ids``), as in ``eval``;
        ``edge=True`` keeps only pixels whose wavelets stay inside the patch (or image).
        precision : ``'single'`` computes the statistics in float32 (1.5-1.7x faster on HEALPix
        nside 64-128, 35-40% less memory, same error: benchmarks/separation_scale.py).
        Returns ``s`` ``(*S)``; see ``foscat_like.optim.separation`` for the method and its limits.
        """
        from .optim.separation import SeparationConfig, separate
        cfg = SeparationConfig(nstep, Jmax, NUM_EPOCHS, EVAL_FREQUENCY, progress, edge=edge, n_iter=n_iter,
                               precision=precision)
        s, hist = separate(self._grid_for(cell_ids, nside), data, noise, cfg, reference=reference, mask=mask, n_noise=n_noise,
                           checkpoint=checkpoint)
        self.history = hist
        return (s, hist) if return_history else s


def separate(data, noise, grid: str = "2d", NORIENT: int = 4, KERNELSZ: int = 3, **kwargs):
    """``funct(NORIENT, KERNELSZ, grid).separate(data, noise, **kwargs)``."""
    return funct(NORIENT=NORIENT, KERNELSZ=KERNELSZ, grid=grid).separate(data, noise, **kwargs)
