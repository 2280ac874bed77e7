"""Gradient-based reconstruction of a signal from its classic scattering coefficients.

``reconstruct(S, Sx)`` finds ``x`` with ``S(x) ~ Sx`` by L-BFGS-B (the synthesis driver's
``optim.lbfgs.minimize``) on ``||S(x) - Sx||^2 / ||Sx||^2``, from white noise with the target's
mean and spread (read off the order-0 coefficients). The transform
is invariant to translations smaller than ``2^J`` and loses the phase of each wavelet
band, so the reconstruction error grows with ``J``; second-order coefficients keep
more of the lost information (``examples/reconstruction.py`` measures this).
"""
from __future__ import annotations

import numpy as np
import torch

from ..optim.lbfgs import minimize
from .frontend import as_real_tensor


def reconstruct(scattering, Sx, x0=None, NUM_EPOCHS: int = 500, seed: int = 0):
    """Signal ``(*shape)`` whose coefficients under ``scattering`` (a ``Scattering1D`` or
    ``Scattering2D``) match ``Sx`` (its output for one signal, numpy or torch).

    x0 : optional starting signal ``(*shape)`` (default: seeded white noise).
    Returns a numpy array (or a torch tensor if ``Sx`` is one) and sets
    ``scattering.reconstruct_history`` to the loss per iteration.
    """
    t, was_numpy = as_real_tensor(Sx, "Sx")
    shape = tuple(scattering.shape) if hasattr(scattering.shape, "__len__") else (int(scattering.shape),)
    target = t.detach().to(torch.float64)
    probe = scattering(torch.zeros((1,) + shape, dtype=torch.float64))
    if tuple(target.shape) != tuple(probe.shape[1:]):
        raise ValueError(f"Sx must be the coefficients of one signal, shape {tuple(probe.shape[1:])}; "
                         f"got {tuple(target.shape)}")
    if x0 is None:
        rng = np.random.default_rng(seed)
        S0 = target[0]                                   # order 0: the low-passed signal
        x0 = torch.from_numpy(rng.standard_normal(shape)) * float(S0.std().clamp_min(1e-3)) + float(S0.mean())
    else:
        x0, _ = as_real_tensor(x0, "x0")
        if tuple(x0.shape) != shape:
            raise ValueError(f"x0 must have shape {shape}; got {tuple(x0.shape)}")
    x0 = x0.to(torch.float64)[None]
    norm = float((target ** 2).sum())

    def loss(u: torch.Tensor) -> torch.Tensor:
        return ((scattering(u)[0] - target) ** 2).sum() / norm

    res = minimize(loss, x0, NUM_EPOCHS)
    scattering.reconstruct_history = res.history
    out = res.x[0].to(t.dtype)
    return out.numpy() if was_numpy else out.to(t.device)
