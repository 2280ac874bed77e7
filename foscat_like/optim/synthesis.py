"""Coarse-to-fine synthesis driver, written once against the grid protocol.

Level ``k`` (0 = full resolution) works on fields downsampled ``k`` times,
with ``J_k = J - k`` scales. The coarsest level starts from white noise
(or ``input_image``); each result is upsampled as the next warm start;
``n_up`` extra levels continue beyond the target's size with its statistics.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from ..grid import Grid
from ..inputs import as_field, as_mask, check_positive_int
from .gaussianize import Gaussianizer
from .levels import Level, SynthesisResult, run_levels
from .loss import StatLoss

log = logging.getLogger("foscat_like")


@dataclass
class SynthesisConfig:
    nstep: int | None = None
    seed: int = 1234
    Jmax: int | None = None
    edge: bool = False
    to_gaussian: bool = False
    use_variance: bool = True
    synthesised_N: int = 1
    iso_ang: bool = False
    fft_ang: bool = False
    fft_nharm: int = 1
    fft_imaginary: bool = True
    EVAL_FREQUENCY: int = 100
    NUM_EPOCHS: int = 300
    n_up: int = 0
    progress: bool = True
    histogram: bool = True
    spectrum: bool = True
    precision: str = "double"

    def angular(self):
        if self.iso_ang and self.fft_ang:
            raise ValueError("iso_ang and fft_ang cannot both be True")
        return "iso" if self.iso_ang else ("fft", self.fft_nharm, self.fft_imaginary) if self.fft_ang else "full"


def _strict(w: torch.Tensor) -> torch.Tensor:
    """Keep only fully valid pixels of a downsampled 0/1 mask (unless none is)."""
    full = (w >= 1 - 1e-9).to(w.dtype)
    return full if bool((full.flatten(1).sum(1) > 0).all()) else w


def _pyramid(grid: Grid, x: torch.Tensor | None, n: int, fn) -> list:
    out = [x]
    for _ in range(n - 1):
        out.append(None if out[-1] is None else fn(out[-1]))
    return out


def _check_levels(grid: Grid, shape, cfg: SynthesisConfig) -> list[int]:
    """Scales J per level (index 0 = full resolution); ValueError if too deep.

    ``nstep=None`` takes up to 4 levels, as many as the shape allows."""
    if cfg.nstep is None:
        for n in (4, 3, 2, 1):
            try:
                cfg.nstep = n
                return _check_levels(grid, shape, cfg)
            except ValueError:
                continue
    if isinstance(cfg.nstep, bool) or not isinstance(cfg.nstep, int) or cfg.nstep < 1:
        raise ValueError(f"nstep must be a positive integer; got {cfg.nstep!r}")
    J0 = grid.max_scales(shape, cfg.edge)
    if cfg.Jmax is not None:
        if cfg.Jmax > J0 or cfg.Jmax < 1:
            raise ValueError(f"Jmax={cfg.Jmax} must be in [1, {J0}] for spatial shape {shape}")
        J0 = cfg.Jmax
    else:
        J0 = min(J0, grid.default_scales(shape, cfg.edge))
    Js, s = [], tuple(shape)
    for k in range(cfg.nstep):
        if k:
            s = grid.coarser(s)
            if s is None:
                raise ValueError(f"nstep={cfg.nstep} is too deep for spatial shape {shape}: "
                                 f"level {k} cannot be downsampled again")
        Jk = min(J0 - k, grid.max_scales(s, cfg.edge)) if k else J0
        if Jk < 1:
            raise ValueError(f"nstep={cfg.nstep} is too deep for spatial shape {shape} "
                             f"(J={J0}): at most nstep={J0}")
        Js.append(Jk)
    return Js


def standardized_reference(grid: Grid, reference, like: torch.Tensor, against: str) -> torch.Tensor | None:
    """The cross-statistics template as a standardised ``(B, *S)`` tensor (or ``None``)."""
    if reference is None:
        return None
    ref, _ = as_field(reference, grid, "reference", like=like)
    S = grid.spatial_shape(like)
    if grid.spatial_shape(ref) != S:
        raise ValueError(f"reference must have the spatial shape of {against} {S}")
    return (ref - ref.mean()) / ref.std()


def synthesize(grid: Grid, image_target, cfg: SynthesisConfig, reference=None, input_image=None,
               grd_mask=None, in_mask=None, checkpoint: str | None = None) -> SynthesisResult:
    """Run the synthesis; see ``funct.synthesis`` for the meaning of every argument."""
    angular = cfg.angular()
    check_positive_int("NUM_EPOCHS", cfg.NUM_EPOCHS)
    if cfg.precision not in ("double", "single"):
        raise ValueError(f"precision must be 'double' or 'single'; got {cfg.precision!r}")
    cdtype = torch.float64 if cfg.precision == "double" else torch.float32
    tgt, _ = as_field(image_target, grid, "image_target", like=torch.zeros((), dtype=torch.float64))
    S = grid.spatial_shape(tgt)
    if cfg.n_up and not grid.can_upsample_beyond_input:
        raise ValueError(f"n_up={cfg.n_up} is not available on grid '{grid.name}'")
    if cfg.n_up < 0 or cfg.synthesised_N < 1:
        raise ValueError("n_up must be >= 0 and synthesised_N >= 1")
    Js = _check_levels(grid, S, cfg)   # also fixes cfg.nstep when it was None
    inm = None if in_mask is None else as_mask(in_mask, S, tgt, "in_mask")
    if inm is not None and inm.shape[0] != 1:
        raise ValueError("in_mask must be a single mask of the field's shape")
    grd = None if grd_mask is None else as_mask(grd_mask, S, tgt, "grd_mask")[0]
    # standardise (and optionally gaussianise) on the valid pixels; undone at the end
    valid = (inm[0] > 0) if inm is not None else torch.ones(S, dtype=torch.bool)
    mu, sd = tgt[:, valid].mean(), tgt[:, valid].std()
    gauss = Gaussianizer(tgt[:, valid]) if cfg.to_gaussian else None
    norm = lambda t: gauss.forward(t) if gauss is not None else (t - mu) / sd
    denorm = lambda t: gauss.inverse(t) if gauss is not None else t * sd + mu
    x_t = norm(tgt)
    if inm is not None:   # invalid pixels must not leak into coarser levels through downsampling
        x_t = torch.where(valid, x_t, torch.zeros((), dtype=x_t.dtype))
    ref = standardized_reference(grid, reference, x_t, "image_target")
    nlev = cfg.nstep
    targets = _pyramid(grid, x_t, nlev, grid.downsample)
    refs = _pyramid(grid, ref, nlev, grid.downsample)
    # at coarser levels only pixels whose children are all valid count
    inms = [None if m is None else _strict(m) for m in _pyramid(grid, inm, nlev, grid.downsample_mask)]
    grds = _pyramid(grid, grd, nlev, grid.downsample_mask)
    N = cfg.synthesised_N

    def init():
        gen = torch.Generator().manual_seed(int(cfg.seed))
        cshape = grid.spatial_shape(targets[-1])
        if input_image is not None:
            u0, _ = as_field(input_image, grid, "input_image", like=x_t)
            if grid.spatial_shape(u0) != S:
                raise ValueError(f"input_image must have the spatial shape of image_target {S}")
            return _pyramid(grid, norm(u0), nlev, grid.downsample)[-1].expand((N,) + cshape).clone()
        # white noise with the coarsest target's mean and spread (not unit variance: a coarse
        # level holds less power, and excess noise becomes large smooth blobs when upsampled)
        t = targets[-1]
        return t.mean() + t.std() * torch.randn((N,) + cshape, generator=gen, dtype=torch.float64)

    cast = lambda t: None if t is None else t.to(cdtype)
    steps = []
    plan = [(k, Js[k], targets[k], refs[k], inms[k], grds[k]) for k in range(nlev - 1, -1, -1)]
    plan += [(-(i + 1), Js[0], targets[0], refs[0], inms[0], None) for i in range(cfg.n_up)]
    for k, J, t_k, r_k, m_k, g_k in plan:
        make = (lambda _u, J=J, t_k=t_k, r_k=r_k, m_k=m_k:
                StatLoss(grid, cast(t_k), J, cast(r_k), cast(m_k), cfg.edge, cfg.use_variance, angular,
                         cfg.histogram, cfg.spectrum))
        frozen = None if g_k is None else t_k.mean(0, keepdim=True)
        steps.append(Level(k, J, make, None if g_k is None else g_k > 0, frozen))
    u, result = run_levels(grid, steps, init, cfg, cdtype, checkpoint, tgt)
    out = denorm(u)
    if grd is not None:
        out = torch.where(grd > 0, out, tgt.mean(0, keepdim=True))   # observed pixels exactly kept
    maps = out.detach().cpu().numpy()
    result.maps = maps[0] if N == 1 else maps
    return result
