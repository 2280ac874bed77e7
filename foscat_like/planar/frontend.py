"""numpy / torch front end shared by Scattering1D and Scattering2D.

A numpy input returns numpy (float32 stays float32, float64 stays float64,
integers become float32); a torch input returns a torch tensor on the same
device with autograd. Any number of leading batch dimensions is accepted.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch


def as_real_tensor(x, name: str = "x") -> tuple[torch.Tensor, bool]:
    """Validate ``x`` and return ``(tensor, was_numpy)``.

    Raises
    ------
    TypeError  for complex input, torch integer tensors, or unsupported types.
    ValueError for NaN or infinite values.
    """
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise TypeError(f"{name} must be real-valued; got a complex tensor ({x.dtype})")
        if not x.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor; got {x.dtype} "
                            f"(convert with {name}.float())")
        t, was_numpy = x, False
    else:
        try:
            a = np.asarray(x)
        except Exception as exc:  # pragma: no cover - exotic objects
            raise TypeError(f"{name} must be a numpy array or torch tensor; got {type(x).__name__}") from exc
        if np.iscomplexobj(a):
            raise TypeError(f"{name} must be real-valued; got complex dtype {a.dtype}")
        if a.dtype.kind in "iub":
            a = a.astype(np.float32)
        elif a.dtype.kind != "f":
            raise TypeError(f"{name} must hold numbers; got dtype {a.dtype}")
        if a.dtype not in (np.float32, np.float64):
            a = a.astype(np.float32)
        t, was_numpy = torch.from_numpy(np.ascontiguousarray(a)), True
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return t, was_numpy


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
