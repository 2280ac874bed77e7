"""Local error amplitude: simulated estimation errors moved from their simulation's surroundings
to the data's.

A non-Gaussian field's estimation error is large where the field has structure (edges, bright
spots). In a posterior drawn by simulation (``optim.posterior``), each simulated error ``e'_k =
s'_k - m(d'_k)`` is large where *its* prior draw has structure, elsewhere than the truth's; its
per-pixel spread then says nothing of where the truth's error is (correlation with the truth's
``|e|`` 0.0 +- 0.1 on ten 2D cases and two skies). What the data do say is where their estimate
``m(d)`` has structure. Here the error variance is modelled, on the simulations, as a power of the
local energy ``F`` of the estimate at the grid's finest wavelet scale (summed over orientations):
``E[e'^2 | F] ~ F^b``, ``b`` fitted by least squares on ``log e'^2`` against ``log F`` over all the
simulations' pixels; each simulated error is then multiplied by ``(F(m(d)) / F(m(d'_k)))^(b/2)``:
its amplitude at each pixel as the data's estimate would have it, its pattern (and so the samples'
look) kept.
"""
from __future__ import annotations

import torch

from ..grid import Grid

LIMIT = 10.0      # the factor is kept within [1 / LIMIT, LIMIT] (a flat estimate next to a sharp one)


def log_energy(grid: Grid, x: torch.Tensor) -> torch.Tensor:
    """``log F`` of fields ``x (N, *S)``: their finest-scale wavelet energy summed over the
    orientations, ``sum_L |psi_L * x|^2`` (``grid.wavelet``), floored at 1e-6 of each field's
    mean."""
    W = (grid.wavelet(x).abs() ** 2).sum(1)
    floor = 1e-6 * W.flatten(1).mean(1).clamp_min(1e-300)
    return torch.log(W + floor.reshape((-1,) + (1,) * (W.dim() - 1)))


def exponent(f: torch.Tensor, e: torch.Tensor, seen=1.0) -> float:
    """``b`` of ``E[e^2 | F] ~ F^b``: least squares of ``log e^2`` on ``f = log F`` (``(N, *S)``
    each) over the pixels ``seen`` (1, or 0/1 ``(1, *S)``)."""
    w = torch.broadcast_to(torch.as_tensor(seen, dtype=f.dtype) > 0, f.shape)
    if int(w.sum()) < 2:                      # nothing to fit: the errors keep their amplitude
        return 0.0
    x, y = f[w], torch.log(e[w] ** 2 + 1e-12 * (e[w] ** 2).mean().clamp_min(1e-300))
    x = x - x.mean()
    return float((x * (y - y.mean())).sum() / (x * x).sum().clamp_min(1e-300))


def transplant(grid: Grid, errors: torch.Tensor, m_sims: torch.Tensor, m_data: torch.Tensor,
               seen=1.0) -> tuple[torch.Tensor, float]:
    """``errors (N, *S)``, the simulated errors of the estimates ``m_sims (N, *S)``, each times
    ``(F(m_data) / F(m_sims))^(b/2)`` where the data are ``seen`` (elsewhere as they are);
    ``m_data (C, *S)`` is the data's estimate, its ``C`` components repeated along ``N`` (rows
    ``k C + c``). Returns ``(errors, b)``."""
    f_sims = log_energy(grid, m_sims)
    f_data = log_energy(grid, m_data).repeat((m_sims.shape[0] // m_data.shape[0],) + (1,) * (m_data.dim() - 1))
    b = exponent(f_sims, errors, seen)
    factor = torch.exp(0.5 * b * (f_data - f_sims)).clamp(1 / LIMIT, LIMIT)
    if not isinstance(seen, float):
        factor = torch.where(seen > 0, factor, torch.ones_like(factor))
    return errors * factor, b
