"""``funct``: the FOSCAT-style entry point (``eval``, ``synthesis``, ``separate``) for every grid."""
from __future__ import annotations

import warnings

import numpy as np
import torch

from .checks import check_bool, check_int, check_seed, unknown_keyword
from .grid import make_grid
from .heap import keep_freed_memory
from .inputs import as_field, as_mask, check_varies
from .stats.compute import scattering_covariance
from .stats.split import check_client, parse_memory
from .stats.normalize import batch_reference, normalize, powers_of, reference_powers
from .stats.scatcov import ScatCov

# FOSCAT's funct keywords (seed 004) with FOSCAT's defaults. Those in _NO_EFFECT change
# nothing here by design (a non-default value warns, saying why); the others are FOSCAT
# features foscat_like does not have: their default is accepted, any other value refused.
_FOSCAT_DEFAULTS = dict(LAMBDA=1.2, slope=1.0, all_type="float32", nstep_max=20, padding="SAME", gpupos=0,
                        mask_thres=None, mask_norm=False, isMPI=False, TEMPLATE_PATH=None, BACKEND="torch",
                        return_data=False, DODIV=False, use_median=False, InitWave=None, silent=True,
                        mpi_size=1, mpi_rank=0)
_NO_EFFECT = {"all_type": "the statistics follow the input's dtype (synthesis: precision=)",
              "TEMPLATE_PATH": "nothing is written to disk", "gpupos": "tensors stay on the input's device",
              "silent": "use progress= and logging", "nstep_max": "nstep is checked against the size"}


def _foscat_keywords(kwargs: dict) -> None:
    for k, v in kwargs.items():
        if k not in _FOSCAT_DEFAULTS:
            raise unknown_keyword("funct()", k, ["NORIENT", "KERNELSZ", "grid", "use_1D", "use_2D", "max_memory", "client",
                                                 *_FOSCAT_DEFAULTS])
        default = _FOSCAT_DEFAULTS[k]
        same = v is default or (type(v) is type(default) and v == default)
        if same:
            continue
        if k in _NO_EFFECT:
            warnings.warn(f"funct({k}={v!r}) has no effect in foscat_like: {_NO_EFFECT[k]}", stacklevel=3)
        else:
            raise ValueError(f"funct({k}={v!r}): this FOSCAT option is not supported by foscat_like "
                             f"(only its default {default!r} is accepted)")


class funct:
    """Scattering-covariance operator.

    Parameters
    ----------
    NORIENT : number of wavelet orientations spanning pi (2D and HEALPix; 1 in 1D).
    KERNELSZ : 3 or 5, the HEALPix wavelet stencil size (planar grids use Fourier wavelets).
    grid : "healpix" (default, as FOSCAT), "2d" or "1d". ``use_1D=True`` / ``use_2D=True``
        are accepted as in FOSCAT, and so are FOSCAT's other keywords at their defaults.
    max_memory : bytes (or a string such as ``"4GB"``) one evaluation of the statistics (and its
        gradient) may use; default half of the memory available at the time. A HEALPix map that
        needs more is evaluated by NEST blocks with halos (``stats.split``): the same statistics
        and gradients (float64: 1e-14 relative), with memory bounded by the block. A value
        below what one block needs is a ``ValueError`` giving the minimum.
    client : a ``dask.distributed.Client``: the blocks of a split evaluation run on its workers
        (``eval``, ``synthesis`` and ``separate`` alike; ``max_memory`` is then per worker).
    """

    def __init__(self, NORIENT: int = 4, KERNELSZ: int = 3, grid: str | None = None,
                 use_1D: bool = False, use_2D: bool = False, max_memory=None, client=None,
                 **foscat_keywords):
        NORIENT = check_int("NORIENT", NORIENT, minimum=1)
        KERNELSZ = check_int("KERNELSZ", KERNELSZ)
        keep_freed_memory()
        if KERNELSZ not in (3, 5):
            raise ValueError(f"KERNELSZ must be 3 or 5; got {KERNELSZ!r}")
        if check_bool("use_1D", use_1D) and check_bool("use_2D", use_2D):
            raise ValueError("use_1D and use_2D cannot both be True")
        _foscat_keywords(foscat_keywords)
        if grid is None:
            grid = "1d" if use_1D else "2d" if use_2D else "healpix"
        self.NORIENT, self.KERNELSZ = NORIENT, KERNELSZ
        self.grid = make_grid(grid, NORIENT, KERNELSZ)
        self.grid.max_memory = parse_memory(max_memory)
        self.grid.client = check_client(client)
        self._auto: tuple | None = None          # (key, powers) of norm='auto'
        self._patch: tuple | None = None         # (key, grid) of the last cell_ids
        self._last = None                        # last synthesis / separation result

    # -- grids ----------------------------------------------------------------------
    def _grid_for(self, cell_ids, nside):
        """This grid, or its restriction to the patch ``cell_ids`` (one cached)."""
        if cell_ids is None:
            if nside is not None:
                raise ValueError("nside is only used with cell_ids")
            return self.grid
        a = np.asarray(cell_ids.detach().cpu() if isinstance(cell_ids, torch.Tensor) else cell_ids)
        key = (a.dtype.str, a.shape, a.tobytes(), nside)
        if self._patch is None or self._patch[0] != key:
            self._patch = (key, self.grid.restrict(cell_ids, nside))
        return self._patch[1]

    # -- history (read-only views of the last run) ----------------------------------------
    @property
    def history(self) -> tuple:
        """``[(level, iteration, loss)]`` of the last ``synthesis``/``separate`` (read-only;
        ``return_history=True`` returns it with the result)."""
        return tuple(self._last.history) if self._last is not None else ()

    @property
    def levels(self) -> tuple:
        """``[(level, J, iterations, final loss, message)]`` of the last run (read-only)."""
        return tuple(self._last.levels) if self._last is not None else ()

    def clean_norm(self) -> None:
        """Forget the reference normalisation cached by ``norm='auto'``."""
        self._auto = None

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
        Jmax = check_int("Jmax", Jmax, minimum=1)
        if Jmax > J:
            raise ValueError(f"Jmax={Jmax} is too large for spatial shape {shape}: at most {J}")
        return Jmax

    # -- statistics -----------------------------------------------------------------
    def eval(self, image1, image2=None, mask=None, norm=None, calc_var: bool = False,
             Jmax: int | None = None, edge: bool = False, cell_ids=None, nside: int | None = None,
             spin: int = 0):
        """Scattering covariance of ``image1`` (and cross with ``image2``).

        image1, image2 : ``(*S)`` or ``(B, *S)`` numpy or torch (autograd flows through).
        mask : ``(*S)`` or ``(K, *S)`` non-negative weights; each mask gives its own statistics.
        norm : None; 'self' (by this field's powers); 'auto' (by the powers of the first field
            evaluated with the same grid, J, masks and edge: FOSCAT's cache, see ``clean_norm``);
            or the reference itself: a ``ScatCov`` from ``eval(ref)`` (norm=None, full angles)
            or a dict of powers ``{"P1", "P2": (B|1, K, J, L)}``.
        calc_var : also return the per-coefficient spatial standard deviations.
        cell_ids, nside : HEALPix patch: ``image1 (..., ncells)`` holds the values of the NEST
            cells ``cell_ids`` (any order) at ``nside`` (inferred if omitted); no full-sky
            array is made. With ``edge=True`` only pixels whose whole stencil chain lies in the
            patch count, and the statistics equal the full-sky ones restricted to them.
        spin : 2 for polarisation: ``image1`` is ``(2, npix)`` (Q, U), analysed as its E and B
            maps (batch axis ``[E, B]``; no autograd through the conversion).
        Returns ``ScatCov`` (or ``(ScatCov, sigma ScatCov)`` with ``calc_var``).
        A constant field has no normalised statistics: ``ValueError``.
        """
        if not (norm is None or isinstance(norm, (ScatCov, dict)) or norm in ("self", "auto")):
            raise ValueError(f"norm must be None, 'self', 'auto', a reference ScatCov or a dict of powers; got {norm!r}")
        if spin not in (0, 2) or isinstance(spin, bool):
            raise ValueError(f"spin must be 0 or 2 (Q, U polarisation); got {spin!r}")
        calc_var, edge = check_bool("calc_var", calc_var), check_bool("edge", edge)
        grid = self._grid_for(cell_ids, nside)
        if spin == 2:
            image1 = grid.spin_to_scalars(_spin2_field(image1, grid, "image1"))
            image2 = None if image2 is None else grid.spin_to_scalars(_spin2_field(image2, grid, "image2"))
        x1, _ = as_field(grid.to_internal(image1), grid, "image1")
        x2 = None
        if image2 is not None:
            x2, _ = as_field(grid.to_internal(image2), grid, "image2", like=x1)
            if x2.shape != x1.shape:
                raise ValueError(f"image2 must have the shape of image1 {tuple(x1.shape)}; got {tuple(x2.shape)}")
        S = grid.spatial_shape(x1)
        J = self._check_J(S, Jmax, edge, grid)
        w = None if mask is None else as_mask(grid.to_internal(mask), S, x1)
        if norm is not None:
            check_varies(x1, grid, "image1")
            if x2 is not None:
                check_varies(x2, grid, "image2")
        raw = scattering_covariance(grid, x1, x2, J, w, edge=edge, calc_var=calc_var)
        if norm is not None:
            raw = normalize(raw, self._reference(norm, raw, grid, J, w, edge))
        st = ScatCov.from_raw(raw, norm=norm if norm is None or isinstance(norm, str) else "reference")
        st.check_finite("image1", x1.dtype)
        if calc_var:
            return st, ScatCov.from_raw(raw, sigma=True, norm=st.norm)
        return st

    def _reference(self, norm, raw: dict, grid, J: int, w, edge: bool) -> dict | None:
        """The powers that normalise ``raw`` for ``norm``."""
        if norm == "self":
            return None
        if norm == "auto":
            key = (grid.key(), J, edge, None if w is None else (tuple(w.shape), w.detach().cpu().numpy().tobytes()))
            if self._auto is None or self._auto[0] != key:
                self._auto = (key, batch_reference(reference_powers(raw)))
            return self._auto[1]
        return powers_of(norm, raw)

    # -- synthesis and separation ---------------------------------------------------------
    def synthesis(self, image_target, reference=None, nstep: int | None = None, seed: int = 1234,
                  Jmax: int | None = None, edge: bool = False, to_gaussian: bool = False,
                  use_variance: bool = True, synthesised_N: int = 1, input_image=None,
                  grd_mask=None, in_mask=None, iso_ang: bool = False, fft_ang: bool = False,
                  fft_nharm: int = 1, fft_imaginary: bool = True, EVAL_FREQUENCY: int = 100,
                  NUM_EPOCHS: int = 300, n_up: int = 0, checkpoint: str | None = None,
                  progress: bool = True, return_history: bool = False, histogram: bool = True,
                  spectrum: bool = True, precision: str = "double", cell_ids=None,
                  nside: int | None = None, spin: int = 0):
        """Synthesise a field whose scattering covariance matches ``image_target``'s.

        Arguments follow FOSCAT's ``synthesis`` (seed 004): coarse-to-fine over
        ``nstep`` levels (default: up to 4, as many as the size allows; an explicit
        ``nstep`` too deep for the size is an error) with L-BFGS-B (at most ``NUM_EPOCHS`` iterations each);
        ``grd_mask`` (1 = free pixel, 0 = kept equal to the target) for inpainting: the hole and a
        band across its border must also have the statistics of the observed pixels around the
        hole (``optim.inpaint``; ``foscat_like.holes`` measures the result);
        ``in_mask`` (0 = invalid pixel, excluded from the target's statistics);
        ``reference`` adds cross statistics with a second field; ``n_up`` extra
        levels at 2x, 4x... the target's size; ``synthesised_N`` fields at once;
        ``input_image`` as warm start; ``iso_ang`` / ``fft_ang`` reduce the angles.
        ``histogram`` adds the pixel-histogram (1D Wasserstein) term to the loss;
        ``spectrum`` the fine band powers: unit rings in |k| (planar, periodic targets), the C_l
        (full-sky HEALPix, through differentiable harmonic transforms).
        ``precision='single'`` computes the loss in float32 (the optimiser still works in float64).
        ``spin=2``: ``image_target`` is a full-sky ``(2, npix)`` (Q, U) map; the statistics are those
        of its E and B maps (each, and E x B), through differentiable harmonic transforms; the
        result is a new (Q, U) map ``(2, npix)``. ``in_mask`` weights the E and B statistics
        (what it hides of the target does not leak; E/B mixing near its border remains).
        ``checkpoint``: file updated after every level; a killed run called again
        with the same arguments and data resumes and ends with the same map (a checkpoint
        of any other run is refused).

        Returns a numpy array of the target's shape (leading ``synthesised_N`` axis
        when > 1, spatial size x ``2**n_up``); with ``return_history`` also the
        ``[(level, iteration, loss)]`` list (``op.history`` is a read-only view of it).
        """
        from .optim.config import SynthesisConfig
        from .optim.synthesis import synthesize
        cfg = SynthesisConfig(nstep=nstep, seed=seed, Jmax=Jmax, edge=edge, to_gaussian=to_gaussian,
                              use_variance=use_variance, synthesised_N=synthesised_N, iso_ang=iso_ang,
                              fft_ang=fft_ang, fft_nharm=fft_nharm, fft_imaginary=fft_imaginary,
                              EVAL_FREQUENCY=EVAL_FREQUENCY, NUM_EPOCHS=NUM_EPOCHS, n_up=n_up,
                              progress=progress, histogram=histogram, spectrum=spectrum, precision=precision,
                              spin=spin)
        return_history = check_bool("return_history", return_history)
        g = self._grid_for(cell_ids, nside)
        res = synthesize(g, g.to_internal(image_target), cfg, reference=g.to_internal(reference),
                         input_image=g.to_internal(input_image), grd_mask=g.to_internal(grd_mask),
                         in_mask=g.to_internal(in_mask), checkpoint=checkpoint)
        self._last = res
        maps = g.from_internal(res.maps)
        return (maps, list(res.history)) if return_history else maps

    def inpaint(self, data, grd_mask, n_samples: int = 8, nstep: int | None = None, seed: int = 1234,
                Jmax: int | None = None, NUM_EPOCHS: int = 300, precision: str = "double",
                progress: bool = True, checkpoint: str | None = None, cell_ids=None, nside: int | None = None):
        """Posterior samples of the pixels where ``grd_mask (*S) > 0`` given the rest of ``data (*S)``.

        Returns a ``Posterior`` (``foscat_like.optim.posterior``): ``samples (n_samples, *S)``
        (each equal to ``data`` outside the hole), ``mean``, ``std``, ``interval(level)``,
        ``coverage(truth, level, where)``, and ``estimate`` (kriging, the best linear fill). Each
        sample is kriging plus a simulated kriging error, taken from a synthesis with the observed
        pixels' statistics (``nstep``, ``Jmax``, ``NUM_EPOCHS``, ``precision`` and ``seed + k`` are
        its arguments, as in ``synthesis``); ``checkpoint`` keeps every finished synthesis, and with
        ``funct(client=...)`` the syntheses are Dask tasks. ``synthesis(..., grd_mask=...)`` gives
        single fills with the hole's own statistics matched.
        """
        from .optim.config import SynthesisConfig
        from .optim.posterior import sample_inpainting
        cfg = SynthesisConfig(nstep=nstep, seed=seed, Jmax=Jmax, NUM_EPOCHS=NUM_EPOCHS, precision=precision,
                              progress=progress)
        g = self._grid_for(cell_ids, nside)
        p = sample_inpainting(g, g.to_internal(data), g.to_internal(grd_mask), cfg, n_samples, checkpoint)
        return type(p)(g.from_internal(p.samples), g.from_internal(p.estimate))

    def separate(self, data, noise, reference=None, mask=None, n_noise: int = 16, nstep: int | None = 1,
                 n_iter: int = 3, Jmax: int | None = None, NUM_EPOCHS: int = 100, EVAL_FREQUENCY: int = 100,
                 progress: bool = True, checkpoint: str | None = None, return_history: bool = False,
                 edge: bool = False, cell_ids=None, nside: int | None = None, precision: str = "double",
                 spin: int = 0, n_samples: int | None = None, seed: int = 0):
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
        spin : 2 for polarisation: ``data`` is a full-sky ``(2, npix)`` (Q, U) map, ``noise`` draws
        ``(K, 2, npix)``; the conditions hold on the E and B maps' statistics (``mask`` weights
        them; no ``reference``).
        n_samples : ``None`` (one estimate) or ``K >= 2``: return a ``Posterior`` with ``samples
        (K, *S)``, ``mean``, ``std``, ``interval(level)`` and ``estimate``, drawn by simulating the
        estimator's error (``foscat_like.optim.posterior``; ``seed`` seeds its prior draws; costs
        ``K + 1`` separations and ``K`` syntheses; ``checkpoint`` keeps every finished one).
        Returns ``s`` ``(*S)`` (with ``return_history`` also the loss history); see
        ``foscat_like.optim.separation`` for the method and its limits.
        """
        from .optim.config import SeparationConfig
        from .optim.separation import separate
        cfg = SeparationConfig(nstep=nstep, Jmax=Jmax, NUM_EPOCHS=NUM_EPOCHS, EVAL_FREQUENCY=EVAL_FREQUENCY,
                               progress=progress, edge=edge, n_iter=n_iter, precision=precision, n_noise=n_noise,
                               spin=spin)
        return_history = check_bool("return_history", return_history)
        g = self._grid_for(cell_ids, nside)
        if callable(noise):
            draw, noise = noise, (lambda k: g.to_internal(draw(k)))
        else:
            noise = g.to_internal(noise)
        if n_samples is not None:
            from .optim.posterior import Posterior, sample_separation
            if return_history or reference is not None:
                raise ValueError("n_samples takes no reference and no return_history")
            p = sample_separation(g, g.to_internal(data), noise, cfg, n_samples, seed=check_seed("seed", seed),
                                  mask=g.to_internal(mask), checkpoint=checkpoint)
            return Posterior(*(g.from_internal(a) for a in (p.samples, p.estimate, p.separated)), p.gains,
                             local=p.local, prior_power=p.prior_power)
        res = separate(g, g.to_internal(data), noise, cfg, reference=g.to_internal(reference),
                       mask=g.to_internal(mask), checkpoint=checkpoint)
        self._last = res
        s = g.from_internal(res.maps)
        return (s, list(res.history)) if return_history else s


def separate(data, noise, grid: str = "2d", NORIENT: int = 4, KERNELSZ: int = 3, **kwargs):
    """``funct(NORIENT, KERNELSZ, grid).separate(data, noise, **kwargs)``."""
    return funct(NORIENT=NORIENT, KERNELSZ=KERNELSZ, grid=grid).separate(data, noise, **kwargs)


def _spin2_field(image, grid, name: str) -> torch.Tensor:
    """``image`` as a ``(2, npix)`` (Q, U) tensor, or a ``ValueError`` naming the argument."""
    qu = as_field(image, grid, name)[0]
    if qu.dim() != 2 or qu.shape[0] != 2:
        raise ValueError(f"spin=2: {name} must be a (2, npix) (Q, U) map; got shape {tuple(qu.shape)}")
    return qu
