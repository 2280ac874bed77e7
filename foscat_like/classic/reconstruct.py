"""Gradient-based reconstruction of a signal from its classic scattering coefficients.

``reconstruct(S, Sx)`` finds ``x`` with ``S(x) ~ Sx`` by L-BFGS-B (the synthesis driver's
``foscat_like.lbfgs.minimize``) on the misfit of each order relative to its energy, from the
order-0 coefficients (the low-passed signal) interpolated back to full size plus white noise. The transform
is invariant to translations smaller than ``2^J`` and loses the phase of each wavelet
band, so the reconstruction error grows with ``J``; second-order coefficients keep
more of the lost information (``examples/reconstruction.py`` measures this).
"""
from __future__ import annotations

import numpy as np
import torch

from ..lbfgs import minimize
from ..checks import check_positive_int
from ..inputs import as_tensor


def _default_start(S0: torch.Tensor, shape: tuple, seed: int) -> torch.Tensor:
    """The order-0 coefficients (the low-passed signal) interpolated back to ``shape``, plus
    seeded white noise of their spread: the large scales start in place."""
    mode = "linear" if len(shape) == 1 else "bicubic"
    up = torch.nn.functional.interpolate(S0.reshape((1, 1) + tuple(S0.shape[-len(shape):])), size=shape,
                                         mode=mode, align_corners=False)[0, 0]
    rng = np.random.default_rng(seed)
    noise = torch.from_numpy(rng.standard_normal(shape)).to(S0.device)
    return up + noise * float(S0.std().clamp_min(1e-3))


def reconstruct(scattering, Sx, x0=None, NUM_EPOCHS: int = 500, seed: int = 0, balance: bool = False,
                return_history: bool = False):
    """Signal ``(*shape)`` whose coefficients under ``scattering`` (a ``Scattering1D`` or
    ``Scattering2D``) match ``Sx`` (its output for one signal, numpy or torch).

    x0 : optional starting signal ``(*shape)`` (default: seeded white noise).
    balance : weigh each order by its own energy (``sum_o ||S_o x - Sx_o||^2 / ||Sx_o||^2``,
    floored at 1% of the total);
    otherwise the plain ``||S x - Sx||^2 / ||Sx||^2``, where the small second-order
    coefficients hardly count.
    Returns a numpy array (or a torch tensor if ``Sx`` is one); with ``return_history``
    also the loss per iteration (nothing is stored on ``scattering``).
    """
    t, was_numpy = as_tensor(Sx, "Sx"), not isinstance(Sx, torch.Tensor)
    if getattr(scattering, "out_type", "array") != "array":
        raise ValueError(f"scattering must have out_type='array'; got {scattering.out_type!r}")
    shape = tuple(scattering.shape) if hasattr(scattering.shape, "__len__") else (int(scattering.shape),)
    target = t.detach().to(torch.float64)
    probe = scattering(torch.zeros((1,) + shape, dtype=torch.float64, device=target.device))
    if tuple(target.shape) != tuple(probe.shape[1:]):
        raise ValueError(f"Sx must be the coefficients of one signal, shape {tuple(probe.shape[1:])}; "
                         f"got {tuple(target.shape)}")
    if x0 is None:
        x0 = _default_start(target[0], shape, seed)
    else:
        x0 = as_tensor(x0, "x0")
        if tuple(x0.shape) != shape:
            raise ValueError(f"x0 must have shape {shape}; got {tuple(x0.shape)}")
    x0 = x0.to(dtype=torch.float64, device=target.device)[None]
    order = np.asarray(scattering.meta()["order"]) if balance else np.zeros(target.shape[0], int)
    w = torch.zeros(target.shape[0], dtype=torch.float64, device=target.device)
    total = float((target ** 2).sum().clamp_min(1e-30))
    for o in np.unique(order):
        sel = torch.from_numpy(order == o).to(target.device)
        # an order with almost no energy (S0 of an oscillation) is weighed as if it had 1%
        w[sel] = 1.0 / max(float((target[sel] ** 2).sum()), 0.01 * total)
    w = w.reshape((-1,) + (1,) * (target.dim() - 1)) / len(np.unique(order))

    def loss(u: torch.Tensor) -> torch.Tensor:
        return (w * (scattering(u)[0] - target) ** 2).sum()

    res = minimize(loss, x0, check_positive_int("NUM_EPOCHS", NUM_EPOCHS))
    out = res.x[0].to(t.dtype)
    out = out.numpy() if was_numpy else out.to(t.device)
    return (out, list(res.history)) if return_history else out
