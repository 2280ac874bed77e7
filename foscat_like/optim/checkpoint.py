"""Checkpoints of the coarse-to-fine loop: atomic writes, exact fingerprints, clear errors.

A checkpoint records the run's fingerprint: a SHA-256 of the configuration, the grid
(its kind, orientations, stencil, patch cells) and the *bytes* of every input that
shapes the result (target, masks, reference, noise draws, warm start). A checkpoint
written by any other run is refused with a ``ValueError`` (never resumed into a wrong
map); an empty, truncated or foreign file likewise.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np
import torch


def fingerprint(grid, cfg, inputs: dict) -> str:
    """SHA-256 over ``grid.key()``, ``cfg.fingerprint()`` and the inputs' dtypes, shapes and bytes
    (``inputs``: name -> tensor, array, callable-free value or ``None``)."""
    h = hashlib.sha256()
    h.update(repr(grid.key()).encode())
    h.update(repr(sorted(cfg.fingerprint().items())).encode())
    for name in sorted(inputs):
        v = inputs[name]
        h.update(name.encode())
        if isinstance(v, torch.Tensor):
            v = v.detach().cpu().contiguous().numpy()
        if isinstance(v, np.ndarray):
            h.update(f"{v.dtype}{v.shape}".encode())
            h.update(np.ascontiguousarray(v).tobytes())
        else:
            h.update(repr(v).encode())
    return h.hexdigest()


def check_writable(path: str | None) -> None:
    """Refuse, before any work, a checkpoint path whose directory does not exist."""
    if path is None:
        return
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be a file path; got {type(path).__name__}")
    d = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(d):
        raise ValueError(f"checkpoint {os.fspath(path)!r}: directory {d!r} does not exist")
    if os.path.isdir(os.fspath(path)):
        raise ValueError(f"checkpoint {os.fspath(path)!r} is a directory, not a file")


def save(path: str | None, fp: str, state: dict, version: str | None = None) -> None:
    """Write ``state`` with the run's fingerprint ``fp`` (and the ``version`` of the method that
    wrote it, named by ``load`` when it refuses a checkpoint of another version)."""
    if not path:
        return
    path = os.fspath(path)
    tmp = path + ".tmp"
    torch.save(dict(state, fingerprint=fp, format="foscat_like-checkpoint-1", version=version), tmp)
    os.replace(tmp, path)       # atomic: a kill never leaves a half-written checkpoint


def load(path: str | None, fp: str, version: str | None = None) -> dict | None:
    """The saved state, ``None`` if there is no file, ``ValueError`` if it cannot be resumed: the
    message names the versions when ``version`` (the method's now) is not the one that wrote it."""
    if not path or not os.path.exists(os.fspath(path)):
        return None
    path = os.fspath(path)
    try:
        d = torch.load(path, weights_only=False, map_location="cpu")
    except Exception as exc:    # empty, truncated, garbage
        raise ValueError(f"checkpoint {path!r} cannot be read ({type(exc).__name__}); "
                         "remove it to start afresh") from None
    if not isinstance(d, dict) or d.get("format") != "foscat_like-checkpoint-1":
        raise ValueError(f"checkpoint {path!r} is not a foscat_like checkpoint; remove it or use another path")
    if d.get("fingerprint") != fp and version is not None and d.get("version") != version:
        raise ValueError(f"checkpoint {path!r} was written by another version of this method "
                         f"({d.get('version') or 'an earlier one, unnamed'}; this is {version}), whose "
                         "results would differ; remove it to start afresh")
    if d.get("fingerprint") != fp:
        raise ValueError(f"checkpoint {path!r} was written by a run with other arguments or data; "
                         "remove it or pass the same arguments")
    return d
