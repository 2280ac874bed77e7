"""Keep freed memory mapped between evaluations (glibc's ``malloc``, Linux).

One evaluation allocates and frees tens of MB of temporaries (40 MB for a 128² float64
eval+grad). With glibc's defaults the top of the heap is given back to the system as soon
as more than 2x the current mmap threshold is free (128 kB at start, raised by glibc itself
after the first large free, up to 32 MB), and arrays above that threshold are fresh ``mmap``
pages; either way the next evaluation takes a page fault per 4 kB page it touches (470-1065
a call for a 128² float64 eval+grad, 21,000-31,000 for a 16x128² ``Scattering2D`` forward) and spends
the time in the kernel zeroing pages. ``keep_freed_memory`` fixes the two thresholds where
glibc's own heuristic would end after a large free (mmap above 32 MB) and lets up to
256 MB of free heap stay mapped: page faults fall to 0-100 a call, the 128² float64 eval+grad
runs 1.20x faster (1.15-1.30) and a 16x128² ``Scattering2D`` forward 1.41x (1.39-1.48)
(``benchmarks/heap.py``). The cost: up to 256 MB of freed memory stays with the process.

It also keeps every thread on glibc's one main heap (``M_ARENA_MAX`` 1). The classic
transforms run batch chunks on worker threads (``threads.side_by_side``); each worker thread
otherwise gets its own arena, whose heaps (64 MB at most) are unmapped when they empty, so a
256² ``Scattering2D`` forward+backward on two workers took 64,000-104,000 page faults a call
(2,600-2,900 on one thread, remeasured) and ran 0.79x the speed of torch's own threads; on the
main heap 3,000-11,000 with chunks of 2^20 values, and 1.05x. (With today's 2^22-value chunks,
two signals each, the same call takes 19,000-65,000 on the main heap against 88,000-98,000 with
``FOSCAT_LIKE_MALLOC=0``: fewer faults, not none; at 256² the two chunk sizes ran alike, paired
1.00x forward and 1.05x fwd+bwd.) Torch allocates few, large blocks, so one heap's lock costs nothing
measurable (1D, 128² and 256² transforms alternated in fresh processes: equal or faster).

Arrays above glibc's mmap ceiling (32 MB, which ``mallopt`` cannot raise; a HEALPix map's level-0
temporaries at nside 256 and beyond, 100 MB and more) are still fresh pages each time: an nside
512 eval+grad took 5 million page faults. torch's own switch ``THP_MEM_ALLOC_ENABLE=1`` (in the
environment; torch reads it at its first large allocation) puts its arrays of 2 MB and more on
memory advised for transparent huge pages: 54x fewer faults there and 1.13x (0.88-1.21) faster,
but the planar 128² float64 eval+grad ran 0.86x (0.76-0.88) and it is one setting per process,
so it is left to the user (``benchmarks/heap.py --env THP_MEM_ALLOC_ENABLE``, README).

``empty``: the library's own large CPU arrays (above ``MMAP_BYTES``) come from numpy, which
advises them for huge pages (the HEALPix stencils' outputs and the level products: nside 512
eval+grad 1.21-1.23x, README).
The setting is the process's (``malloc`` has one), made by ``funct`` and the classic
transforms when they are built; ``FOSCAT_LIKE_MALLOC=0`` leaves ``malloc`` (and torch's huge
pages) as they are. Where the C library is not glibc nothing is done.
"""
from __future__ import annotations

import ctypes
import math
import os
import sys

import numpy as np
import torch

ENV = "FOSCAT_LIKE_MALLOC"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8    # glibc's mallopt parameters
TRIM_BYTES = 256 << 20     # free heap kept mapped
MMAP_BYTES = 32 << 20      # arrays above this are mmapped (glibc's own ceiling for its heuristic)


def _glibc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)        # this process's symbols, libc's among them (no ldconfig call)
        libc.gnu_get_libc_version       # glibc only (musl has mallopt as a stub)
        libc.mallopt
        return libc
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return None


def keep_freed_memory() -> bool:
    """Set glibc's trim and mmap thresholds and its one arena (module docstring); ``True`` if set.
    ``FOSCAT_LIKE_MALLOC`` = ``0`` skips it; any other value than ``0``/``1`` is a ``ValueError``."""
    v = os.environ.get(ENV, "1").strip()
    if v not in ("0", "1"):
        raise ValueError(f"{ENV} must be 0 (leave malloc alone) or 1 (the default); got {v!r}")
    if v == "0":
        return False
    libc = _glibc()
    if libc is None:  # pragma: no cover - not glibc
        return False
    return all(bool(libc.mallopt(k, v)) for k, v in ((M_MMAP_THRESHOLD, MMAP_BYTES),
                                                     (M_TRIM_THRESHOLD, TRIM_BYTES), (M_ARENA_MAX, 1)))


def empty(shape: tuple[int, ...], dtype: torch.dtype, device="cpu", zero: bool = False) -> torch.Tensor:
    """``torch.empty`` (``zero``: ``torch.zeros``), except that a CPU array above glibc's mmap
    threshold (``MMAP_BYTES``: fresh pages at every call, whatever ``keep_freed_memory`` does) is a
    numpy array shared with torch: numpy advises its large arrays for transparent huge pages, torch
    only under ``THP_MEM_ALLOC_ENABLE=1``. First touch of a ``(4, 8, 786432)`` float32 array: 560
    page faults and 6-10 ms from numpy, 24,600 and 30-50 ms from torch (measured). For the large
    arrays the library allocates itself (the HEALPix stencils' outputs, the level products'
    rows and gradients); torch's own temporaries are out of its reach."""
    one = torch.empty((), dtype=dtype)
    if torch.device(device).type == "cpu" and math.prod(shape) * one.element_size() > MMAP_BYTES:
        try:
            npdt = one.numpy().dtype
        except TypeError:          # a dtype numpy has not (bfloat16): torch's memory
            npdt = None
        if npdt is not None:
            return torch.from_numpy((np.zeros if zero else np.empty)(shape, dtype=npdt))
    return (torch.zeros if zero else torch.empty)(shape, dtype=dtype, device=device)


def contiguous(t: torch.Tensor) -> torch.Tensor:
    """``t.contiguous()``, its copy (if one is needed) from ``empty``."""
    if t.is_contiguous():
        return t
    return empty(tuple(t.shape), t.dtype, t.device).copy_(t)
