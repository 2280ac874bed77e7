"""Validation and conversion of user fields and masks (numpy or torch) to tensors."""
from __future__ import annotations

import numpy as np
import torch

from .grid import Grid


def as_tensor(x, name: str, dtype: torch.dtype | None = None, device=None) -> torch.Tensor:
    """A real floating tensor (numpy float64 stays float64; integers become float32)."""
    if isinstance(x, torch.Tensor):
        t = x
    else:
        try:
            a = np.asarray(x)
        except Exception as exc:  # pragma: no cover
            raise TypeError(f"{name} must be a numpy array or a torch tensor; got {type(x).__name__}") from exc
        if a.dtype == object:
            raise TypeError(f"{name} must be a numeric array; got an object array")
        if a.dtype.kind in "iub":
            a = a.astype(np.float32)
        t = torch.from_numpy(np.ascontiguousarray(a))
    if t.is_complex():
        raise TypeError(f"{name} must be real-valued; got {t.dtype}")
    if not t.is_floating_point():
        t = t.float()
    if dtype is not None or device is not None:
        t = t.to(dtype=dtype or t.dtype, device=device or t.device)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


def as_field(x, grid: Grid, name: str, like: torch.Tensor | None = None) -> tuple[torch.Tensor, bool]:
    """``(B, *S)`` tensor and whether the input had a batch axis."""
    t = as_tensor(x, name, None if like is None else like.dtype, None if like is None else like.device)
    grid.check_field(t, name)
    nd = grid.spatial_ndim
    batched = t.dim() > nd
    if t.dim() > nd + 1:
        raise ValueError(f"{name} must have shape (*S) or (batch, *S) on grid '{grid.name}' "
                         f"({nd} spatial axes); got {tuple(t.shape)}")
    return (t if batched else t.unsqueeze(0)), batched


def as_mask(mask, spatial_shape: tuple[int, ...], like: torch.Tensor, name: str = "mask") -> torch.Tensor:
    """Non-negative weights ``(K, *S)`` from a mask ``(*S)`` or ``(K, *S)``."""
    w = as_tensor(mask, name, like.dtype, like.device)
    nd = len(spatial_shape)
    if w.dim() == nd:
        w = w.unsqueeze(0)
    if w.dim() != nd + 1 or tuple(w.shape[1:]) != tuple(spatial_shape):
        raise ValueError(f"{name} must have shape {tuple(spatial_shape)} or (K, *{tuple(spatial_shape)}) "
                         f"to match the field; got {tuple(w.shape)}")
    if bool((w < 0).any()):
        raise ValueError(f"{name} must be non-negative")
    empty = (w.flatten(1).sum(1) <= 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"{name} number(s) {empty} are all zero: no pixel to average over")
    return w


def check_positive_int(name: str, v) -> int:
    """``v`` as an int, or ValueError naming ``name`` unless it is an integer >= 1."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive integer; got {v!r}")
    return int(v)
