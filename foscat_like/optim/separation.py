"""Component separation with scattering covariances (denoising ``d = s + n``).

Given the data ``d`` and noise realisations ``n_k`` (an array ``(K, *S)`` or a
callable ``draw(k) -> (*S)``), find ``s`` minimising, averaged over k,

    |Phi(s + n_k) - Phi(d)|^2 / sigma_1^2         the model plus noise looks like the data
  + |Phi(d - s) - Phi(n_k)|^2 / sigma_2^2         the residual looks like noise
  + |Phi(s, d - s) - Phi(s, n_k)|^2 / sigma_3^2   the residual is uncorrelated with s
  [+ |Phi(s + n_k, r) - Phi(d, r)|^2 / sigma_4^2  with a reference template r]

``Phi`` is the scattering covariance normalised by the data's powers and
each ``sigma`` the per-coefficient spread of the matching statistic over the
noise realisations (``Phi(d + n_k)``, ``Phi(n_k)``, ``Phi(d, n_k)``). The
optimisation is the synthesis driver's coarse-to-fine L-BFGS-B, starting from the
empirical Wiener estimate (planar grids) or the shrunk data.

Status (measured, see benchmarks/separation.py): on small fields (64^2, SNR 1, a
few noise draws) the loss can be driven far below its value at the truth, and
the estimate, while closer to the truth than the data and with a much better
power spectrum than the Wiener filter, is *not* yet better than Wiener in pixel
RMS or Minkowski functionals. Treat it as experimental.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..grid import Grid
from ..inputs import as_field, as_mask, as_tensor
from ..stats.compute import scattering_covariance
from ..stats.normalize import normalize, reference_powers
from ..stats.scatcov import ScatCov
from .levels import Level, run_levels
from .synthesis import _check_levels, _pyramid, standardized_reference

SIGMA_FLOOR = 0.05


@dataclass
class SeparationConfig:
    nstep: int | None = None
    Jmax: int | None = None
    NUM_EPOCHS: int = 300
    EVAL_FREQUENCY: int = 100
    progress: bool = True
    edge: bool = False
    seed: int = 0


def _vectors(st: ScatCov) -> torch.Tensor:
    """``(B, M)`` real coefficient vectors (complex ones as real and imaginary parts)."""
    parts = []
    for _, v in st._fields():
        v = v.reshape(v.shape[0], -1)
        parts += [v.real, v.imag] if v.is_complex() else [v]
    return torch.cat(parts, dim=1)


class SeparationLoss:
    """The three (or four) terms above at one resolution level."""

    def __init__(self, grid: Grid, d: torch.Tensor, noise: torch.Tensor, J: int, mask=None,
                 reference: torch.Tensor | None = None, edge: bool = False):
        self.grid, self.J, self.mask, self.edge = grid, J, mask, edge
        self.d, self.noise, self.reference = d, noise, reference
        self.ref = reference_powers(self._raw(d))
        phi = self.phi
        with torch.no_grad():
            self.t1, self.s1 = phi(d), self._sigma(phi(d + noise))
            self.t2, self.s2 = phi(noise).mean(0, keepdim=True), self._sigma(phi(noise))
            self.s3 = self._sigma(phi(d.expand_as(noise), noise))
            if reference is not None:
                r = reference.expand_as(noise)
                self.t4, self.s4 = phi(d, reference), self._sigma(phi(d + noise, r))

    def _raw(self, x, x2=None):
        return scattering_covariance(self.grid, x, x2, self.J, self.mask, edge=self.edge)

    def phi(self, x, x2=None) -> torch.Tensor:
        return _vectors(ScatCov.from_raw(normalize(self._raw(x, x2), self.ref)))

    @staticmethod
    def _sigma(v: torch.Tensor) -> torch.Tensor:
        s = v.std(0, keepdim=True)
        return s.clamp_min(float(SIGMA_FLOOR * s.median().clamp_min(1e-12)))

    def __call__(self, s: torch.Tensor) -> torch.Tensor:
        n = self.noise.to(s.dtype)
        d = self.d.to(s.dtype)
        # averages over the noise realisations are taken before the comparison
        sq = lambda a, b, sig: (((a.mean(0) - b.mean(0)) / sig[0]) ** 2).mean()
        resid = d - s
        loss = sq(self.phi(s + n), self.t1, self.s1)
        loss = loss + sq(self.phi(resid), self.t2, self.s2)
        loss = loss + sq(self.phi(s, resid), self.phi(s.expand_as(n), n), self.s3)
        if self.reference is not None:
            loss = loss + sq(self.phi(s + n, self.reference.expand_as(n)), self.t4, self.s4)
        return loss


def separate(grid: Grid, data, noise, cfg: SeparationConfig, reference=None, mask=None,
             n_noise: int = 8, checkpoint: str | None = None) -> tuple[np.ndarray, list]:
    """Run the separation; returns ``(s, history)`` with ``s`` the shape of ``data``."""
    d, _ = as_field(data, grid, "data", like=torch.zeros((), dtype=torch.float64))
    if d.shape[0] != 1:
        raise ValueError(f"data must be a single field; got a batch of {d.shape[0]}")
    S = grid.spatial_shape(d)
    if callable(noise):
        draws = [as_tensor(noise(k), "noise", torch.float64) for k in range(int(n_noise))]
        n = torch.stack(draws)
    else:
        n = as_tensor(noise, "noise", torch.float64)
    if n.dim() != d.dim() or tuple(n.shape[1:]) != S or n.shape[0] < 2:
        raise ValueError(f"noise must be realisations of shape (K >= 2, *{S}); got {tuple(n.shape)}")
    w = None if mask is None else as_mask(mask, S, d)
    scale = d.std()
    d, n = d / scale, n / scale
    r = standardized_reference(grid, reference, d, "data")
    Js = _check_levels(grid, S, cfg)
    nlev = cfg.nstep
    ds, ns = _pyramid(grid, d, nlev, grid.downsample), _pyramid(grid, n, nlev, grid.downsample)
    rs, ws = _pyramid(grid, r, nlev, grid.downsample), _pyramid(grid, w, nlev, grid.downsample_mask)
    steps = [Level(k, Js[k], (lambda k=k: SeparationLoss(grid, ds[k], ns[k], Js[k], ws[k], rs[k], cfg.edge)))
             for k in range(nlev - 1, -1, -1)]
    # start from the data shrunk by the signal fraction of its variance (s = d would make the
    # residual d - s exactly zero, whose log-normalised statistics are -inf)
    # (grids with Fourier spectra start from the empirical Wiener estimate instead)
    frac = float(((d.var() - n.var(dim=tuple(range(1, n.dim()))).mean()) / d.var()).clamp(0.1, 0.9))

    def init():
        w0 = grid.wiener(ds[-1], ns[-1])
        return frac * ds[-1].clone() if w0 is None else w0
    s, result = run_levels(grid, steps, init, cfg, torch.float64, checkpoint, d)
    return (s[0] * scale).detach().cpu().numpy(), result.history
