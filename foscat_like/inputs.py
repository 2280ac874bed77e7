"""Validation and conversion of user fields and masks (numpy or torch) to tensors."""
from __future__ import annotations

import numpy as np
import torch

from .grid import Grid

UNSEEN = -1.6375e30      # healpy.UNSEEN: the HEALPix convention for a missing pixel


def as_tensor(x, name: str, dtype: torch.dtype | None = None, device=None) -> torch.Tensor:
    """The one input rule of the package: a finite, real, floating, non-empty tensor.

    numpy: float32 / float64 kept, integers and booleans become float32, float16 becomes
    float32; torch: float32 / float64 kept, float16 / bfloat16 become float32, integer
    tensors are a ``TypeError`` (convert explicitly). Complex values, strings and objects
    are a ``TypeError``; NaN / inf and empty arrays a ``ValueError``.
    """
    if isinstance(x, torch.Tensor):
        t = x
        if t.is_complex():
            raise TypeError(f"{name} must be real-valued; got a complex tensor ({t.dtype})")
        if not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor; got {t.dtype} (convert with {name}.float())")
        if t.dtype in (torch.float16, torch.bfloat16):
            t = t.float()
    else:
        try:
            a = np.asarray(x)
        except Exception:
            raise TypeError(f"{name} must be a numpy array or a torch tensor; got {type(x).__name__}") from None
        if np.iscomplexobj(a):
            raise TypeError(f"{name} must be real-valued; got complex dtype {a.dtype}")
        if a.dtype.kind in "iub":
            a = a.astype(np.float32)
        elif a.dtype.kind != "f":
            raise TypeError(f"{name} must hold numbers; got {type(x).__name__} of dtype {a.dtype}")
        elif a.dtype not in (np.float32, np.float64):
            a = a.astype(np.float32 if a.dtype.itemsize < 4 else np.float64)
        t = torch.from_numpy(np.ascontiguousarray(a))
    if t.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
    if dtype is not None or device is not None:
        t = t.to(dtype=dtype or t.dtype, device=device or t.device)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    if bool((t == UNSEEN).any()):
        raise ValueError(f"{name} contains HEALPix UNSEEN pixels ({UNSEEN:g}): give them any value and "
                         "mark them missing with a mask (in_mask= / mask=; grd_mask= to fill them)")
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


def check_varies(x: torch.Tensor, grid: Grid, name: str, valid: torch.Tensor | None = None,
                 mask_name: str = "mask") -> None:
    """``ValueError`` naming ``name`` if a field of ``x (B, *S)`` is constant (on the ``valid``
    pixels): it has no power at any scale, so its normalised statistics are undefined."""
    f = x.flatten(-grid.spatial_ndim) if valid is None else x[..., valid]
    if f.shape[-1] < 2:
        raise ValueError(f"{mask_name} leaves {name} {f.shape[-1]} valid pixel(s): statistics need a region")
    spread, size = f.std(-1), f.abs().amax(-1)
    flat = (spread <= 1e-10 * size) | (spread == 0)
    if bool(flat.any()):
        i = int(flat.nonzero()[0, 0])
        raise ValueError(f"{name} is constant (field {i}{f' on the valid pixels of {mask_name}' if valid is not None else ''}): "
                         "it has no power at any scale, so its normalised statistics are undefined")
