"""numpy / torch front end shared by Scattering1D and Scattering2D.

A numpy input returns numpy (float32 stays float32, float64 stays float64,
integers become float32); a torch input returns a torch tensor on the same
device with autograd. Any number of leading batch dimensions is accepted.
"""
from __future__ import annotations

from typing import Callable

import torch

from ..inputs import as_tensor


def as_real_tensor(x, name: str = "x") -> tuple[torch.Tensor, bool]:
    """``(tensor, was_numpy)`` under the package's one input rule (``inputs.as_tensor``):
    ``TypeError`` for complex, integer torch tensors or non-numbers, ``ValueError`` for
    NaN / inf or empty input."""
    return as_tensor(x, name), not isinstance(x, torch.Tensor)


def run_batched(fn: Callable[[torch.Tensor], torch.Tensor], x, signal_ndim: int,
                shape: tuple[int, ...], name: str = "x"):
    """Apply ``fn`` on ``(B, *shape)`` after flattening leading dims; restore types."""
    t, was_numpy = as_real_tensor(x, name)
    if t.dim() < signal_ndim:
        raise ValueError(f"{name} must have at least {signal_ndim} dimension(s) "
                         f"(..., {', '.join(map(str, shape))}); got shape {tuple(t.shape)}")
    if tuple(t.shape[-signal_ndim:]) != tuple(shape):
        raise ValueError(f"{name} must have trailing shape {tuple(shape)}; got {tuple(t.shape)}")
    batch = t.shape[:-signal_ndim]
    out = fn(t.reshape((-1,) + tuple(shape)))
    out = out.reshape(batch + out.shape[1:])
    if was_numpy:
        return out.detach().cpu().numpy()
    return out
