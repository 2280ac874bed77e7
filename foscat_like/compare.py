"""Comparing two fields through their scattering covariances: a chi-square distance and
a Monte-Carlo p-value.

    chi2(a, b) = mean_k (Phi(a)_k - Phi(b)_k)^2 / (sigma_a,k^2 + sigma_b,k^2)

with ``Phi`` normalised by ``b``'s powers and ``sigma`` the per-coefficient spread
from ``calc_var``. Because those spreads are spatial (not the error of the mean),
the distance is calibrated by simulation: ``p = (1 + #{chi2(sim_k, b) >= chi2(a, b)}) / (1 + K)``
for ``K`` realisations ``sim_k`` of the null hypothesis (noise, or a Gaussian field with b's spectrum).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .funct import funct


def chi2_distance(op: funct, a, b, mask=None, Jmax: int | None = None) -> float:
    """Scattering-covariance chi-square distance between fields ``a`` and ``b`` (both
    normalised by ``b``'s powers, passed by value: no state on ``op`` is read or changed)."""
    powers = op.eval(b, mask=mask, Jmax=Jmax)
    sb, vb = op.eval(b, mask=mask, norm=powers, calc_var=True, Jmax=Jmax)
    sa, va = op.eval(a, mask=mask, norm=powers, calc_var=True, Jmax=Jmax)
    sigma = (va * va + vb * vb).map(torch.sqrt)
    return float(sa.reduce_distance(sb, sigma))


def chi2_test(op: funct, a, b, simulate: Callable[[int], np.ndarray], n_sims: int = 20, mask=None,
              Jmax: int | None = None) -> dict:
    """``{"chi2", "p_value", "null"}``: is ``a`` consistent with ``b`` up to the variability
    that ``simulate(k)`` (fields like ``a`` under the null hypothesis) produces?"""
    if n_sims < 1:
        raise ValueError(f"n_sims must be >= 1; got {n_sims}")
    obs = chi2_distance(op, a, b, mask, Jmax)
    null = np.array([chi2_distance(op, simulate(k), b, mask, Jmax) for k in range(n_sims)])
    p = (1 + np.sum(null >= obs)) / (1 + n_sims)
    return {"chi2": obs, "p_value": float(p), "null": null}
