"""Coarse-to-fine synthesis driver, written once against the grid protocol.

Level ``k`` (0 = full resolution) works on fields downsampled ``k`` times,
with ``J_k = J - k`` scales. The coarsest level starts from white noise
(or ``input_image``); each result is upsampled as the next warm start;
``n_up`` extra levels continue beyond the target's size with its statistics.
"""
from __future__ import annotations

import torch

from ..grid import Grid
from ..inputs import as_field, as_mask, check_varies
from . import checkpoint as ckpt
from .config import SynthesisConfig
from .gaussianize import Gaussianizer
from .inpaint import focus, prefill
from .levels import Level, SynthesisResult, run_levels
from .loss import StatLoss
from .plan import level_scales, pyramid, spin_components, strict


def standardized_reference(grid: Grid, reference, like: torch.Tensor, against: str) -> torch.Tensor | None:
    """The cross-statistics template as a standardised ``(B, *S)`` tensor (or ``None``)."""
    if reference is None:
        return None
    ref, _ = as_field(reference, grid, "reference", like=like)
    S = grid.spatial_shape(like)
    if grid.spatial_shape(ref) != S:
        raise ValueError(f"reference must have the spatial shape of {against} {S}")
    check_varies(ref, grid, "reference")
    return (ref - ref.mean()) / ref.std()


def _scales(v: torch.Tensor, C: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardisation ``(mu, sd)`` of the valid values ``v (B, P)``: one scalar pair for scalar
    fields; per component ``(C, 1)`` otherwise, with Q and U sharing one scale and keeping their
    mean (a mean Q, U is a frame-dependent pattern, not an offset)."""
    if C == 1:
        return v.mean(), v.std()
    mu, sd = torch.zeros(C, 1, dtype=v.dtype), torch.ones(C, 1, dtype=v.dtype)
    p = C - 2                                     # first polarisation row
    if p:
        mu[0], sd[0] = v[0].mean(), v[0].std()
    sd[p:] = v[p:].std()
    return mu, sd


def synthesize(grid: Grid, image_target, cfg: SynthesisConfig, reference=None, input_image=None,
               grd_mask=None, in_mask=None, checkpoint: str | None = None) -> SynthesisResult:
    """Run the synthesis; see ``funct.synthesis`` for the meaning of every argument."""
    if not isinstance(cfg, SynthesisConfig):
        raise TypeError(f"cfg must be a SynthesisConfig; got {type(cfg).__name__}")
    angular = cfg.angular()
    ckpt.check_writable(checkpoint)
    tgt, _ = as_field(image_target, grid, "image_target", like=torch.zeros((), dtype=torch.float64))
    S = grid.spatial_shape(tgt)
    if cfg.n_up and not grid.can_upsample_beyond_input:
        raise ValueError(f"n_up={cfg.n_up} is not available on grid '{grid.name}'")
    Js = level_scales(grid, S, cfg.nstep, cfg.Jmax, cfg.edge)
    if cfg.spin and (reference is not None or grd_mask is not None or cfg.n_up or cfg.to_gaussian):
        raise ValueError("spin=2 synthesis is full-sky: no reference, grd_mask, n_up or to_gaussian "
                         "(in_mask weights the E and B statistics)")
    C, transform = spin_components(grid, cfg.spin, tgt, "image_target")
    inm = None if in_mask is None else as_mask(in_mask, S, tgt, "in_mask")
    if inm is not None and inm.shape[0] != 1:
        raise ValueError("in_mask must be a single mask of the field's shape")
    grd = None if grd_mask is None else as_mask(grd_mask, S, tgt, "grd_mask")[0]
    # standardise (and optionally gaussianise) on the valid pixels; undone at the end
    valid = (inm[0] > 0) if inm is not None else torch.ones(S, dtype=torch.bool)
    check_varies(tgt, grid, "image_target", None if inm is None else valid, "in_mask")
    mu, sd = _scales(tgt[:, valid], C)
    tile = lambda v, t: v if v.dim() == 0 else v.repeat(t.shape[0] // C, 1)
    gauss = Gaussianizer(tgt[:, valid]) if cfg.to_gaussian else None
    norm = lambda t: gauss.forward(t) if gauss is not None else (t - tile(mu, t)) / tile(sd, t)
    denorm = lambda t: gauss.inverse(t) if gauss is not None else t * tile(sd, t) + tile(mu, t)
    x_t = norm(tgt)
    if inm is not None:   # invalid pixels must not leak into coarser levels through downsampling
        x_t = prefill(grid, x_t, valid)
    ref = standardized_reference(grid, reference, x_t, "image_target")
    nlev = len(Js)
    targets = pyramid(x_t, nlev, grid.downsample)
    refs = pyramid(ref, nlev, grid.downsample)
    # at coarser levels only pixels whose children are all valid count
    inms = [None if m is None else strict(m) for m in pyramid(inm, nlev, grid.downsample_mask)]
    grds = pyramid(grd, nlev, grid.downsample_mask)
    u0 = None
    if input_image is not None:
        u0, _ = as_field(input_image, grid, "input_image", like=x_t)
        if grid.spatial_shape(u0) != S or (C > 1 and u0.shape[0] != C):
            raise ValueError(f"input_image must have the shape of image_target {tuple(tgt.shape)}")
    N = cfg.synthesised_N

    def init():
        gen = torch.Generator().manual_seed(int(cfg.seed))
        cshape = grid.spatial_shape(targets[-1])
        if u0 is not None:
            return pyramid(norm(u0), nlev, grid.downsample)[-1].repeat((N,) + (1,) * len(cshape))
        # white noise with the coarsest target's mean and spread (not unit variance: a coarse
        # level holds less power, and excess noise becomes large smooth blobs when upsampled)
        t = targets[-1]
        return t.mean() + t.std() * torch.randn((N * C,) + cshape, generator=gen, dtype=torch.float64)

    cdtype = cfg.cdtype
    cast = lambda t: None if t is None else t.to(cdtype)
    steps = []
    # (level, J, target, reference, in_mask, grd_mask, band powers apply: same size as the target)
    plan = [(k, Js[k], targets[k], refs[k], inms[k], grds[k], cfg.spectrum) for k in range(nlev - 1, -1, -1)]
    plan += [(-(i + 1), Js[0], targets[0], refs[0], inms[0], None, False) for i in range(cfg.n_up)]
    for k, J, t_k, r_k, m_k, g_k, bands in plan:
        f_k = None if g_k is None else focus(grid, g_k, None if m_k is None else m_k[0])
        make = (lambda _u, J=J, t_k=t_k, r_k=r_k, m_k=m_k, f_k=f_k, bands=bands:
                StatLoss(grid, cast(t_k), J, cast(r_k), cast(m_k), cfg.edge, cfg.use_variance, angular,
                         cfg.histogram, bands, components=C, transform=transform,
                         focus=None if f_k is None else f_k.to(cdtype)))
        frozen = None if g_k is None else t_k.mean(0, keepdim=True)
        steps.append(Level(k, J, make, None if g_k is None else g_k > 0, frozen))
    fp = ckpt.fingerprint(grid, cfg, {"image_target": tgt, "reference": ref, "in_mask": inm,
                                      "grd_mask": grd, "input_image": u0})
    u, result = run_levels(grid, steps, init, cfg, checkpoint, fp)
    out = denorm(u)
    if grd is not None:
        out = torch.where(grd > 0, out, tgt.mean(0, keepdim=True))   # observed pixels exactly kept
    maps = out.detach().cpu().numpy().reshape((N, C) + tuple(out.shape[1:]))   # n_up: larger than S
    maps = maps[:, 0] if C == 1 else maps
    result.maps = maps[0] if N == 1 else maps
    return result
