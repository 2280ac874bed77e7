"""scipy L-BFGS-B on a float64 parameter vector with torch gradients.

Sane defaults on a shared machine: BLAS runs single-threaded during the
optimisation (scipy's OpenBLAS threads otherwise busy-wait against torch's), and
torch uses the threads ``threads.choose_threads`` picks for the problem's size and
the cores other processes leave free (``FOSCAT_LIKE_THREADS`` overrides it).
The objective is scaled so that stopping tolerances are relative, not absolute.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.optimize
import torch

from .threads import choose_threads, torch_threads

log = logging.getLogger("foscat_like")


@dataclass
class LevelResult:
    x: torch.Tensor
    loss: float
    nit: int
    history: list = field(default_factory=list)
    message: str = ""


def minimize(loss_fn: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor, maxiter: int,
             free: torch.Tensor | None = None, on_iter: Callable[[int, float, torch.Tensor], None] | None = None,
             ftol: float = 1e-10, gtol: float = 1e-9, threads: int | None = None) -> LevelResult:
    """Minimise ``loss_fn(x)`` from ``x0`` with L-BFGS-B.

    free : boolean tensor like ``x0``; ``False`` entries are frozen (their gradient is zeroed).
    on_iter(it, loss, x) is called after every iteration (progress, logging, checkpoints).
    threads : torch threads during the run (default: ``threads.choose_threads(x0.numel())``).
    """
    shape, dtype, device = x0.shape, x0.dtype, x0.device
    free_np = None if free is None else free.detach().cpu().numpy().reshape(-1).astype(bool)
    cache: dict = {}
    scale: list = []

    def fg(v: np.ndarray):
        x = torch.tensor(v.reshape(shape), dtype=dtype, device=device, requires_grad=True)
        loss = loss_fn(x)
        (g,) = torch.autograd.grad(loss, x)
        f = float(loss.detach())
        if not np.isfinite(f):
            raise FloatingPointError(f"the loss is not finite ({f}) at this point")
        if not scale:       # make tolerances relative to the starting loss
            scale.append(1.0 / max(abs(f), 1e-30))
        g = g.detach().cpu().numpy().astype(np.float64).reshape(-1)
        if free_np is not None:
            g[~free_np] = 0.0
        cache["f"] = f
        return f * scale[0], g * scale[0]

    history: list = []

    def callback(v: np.ndarray):
        history.append(cache.get("f", np.nan))
        if on_iter is not None:
            on_iter(len(history), history[-1], torch.as_tensor(v.reshape(shape), dtype=dtype, device=device))

    v0 = x0.detach().cpu().numpy().astype(np.float64).reshape(-1)
    try:
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(limits=1, user_api="blas")
    except Exception:  # pragma: no cover - threadpoolctl missing
        limiter = None
    n_threads = choose_threads(x0.numel()) if threads is None else int(threads)
    try:
        with torch_threads(n_threads):
            res = scipy.optimize.minimize(fg, v0, jac=True, method="L-BFGS-B", callback=callback,
                                          options={"maxiter": int(maxiter), "ftol": ftol, "gtol": gtol,
                                                   "maxcor": 20, "maxls": 40})
    finally:
        if limiter is not None:
            limiter.unregister() if hasattr(limiter, "unregister") else limiter.restore_original_limits()
    x = torch.as_tensor(res.x.reshape(shape), dtype=dtype, device=device)
    final = float(res.fun / scale[0]) if scale else float("nan")
    return LevelResult(x, final, int(res.nit), history, str(res.message))
