"""The coarse-to-fine loop shared by synthesis and component separation.

Each ``Level`` says how to build its loss; the loop runs L-BFGS-B on it from
the previous level's upsampled result, keeps frozen pixels, reports progress
(tqdm, logging), records the loss history and writes a checkpoint after every
level (atomically, see ``checkpoint``), from which a killed run resumes to the same map.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..grid import Grid
from ..lbfgs import minimize
from . import checkpoint as ckpt

log = logging.getLogger("foscat_like")


@dataclass
class Level:
    k: int                                   # resolution level (0 = full, < 0 = n_up levels)
    J: int                                   # scales used at this level
    make_loss: Callable[[torch.Tensor], Callable]   # builds loss(u) from the level's starting u
    free: torch.Tensor | None = None         # pixels the optimiser may move (None: all)
    frozen: torch.Tensor | None = None       # values of the other pixels


@dataclass
class SynthesisResult:
    maps: np.ndarray
    history: list = field(default_factory=list)     # [(level, iteration, loss)]
    levels: list = field(default_factory=list)      # [(level, J, nit, final loss, message)]


def run_levels(grid: Grid, steps: list[Level], init: Callable[[], torch.Tensor], cfg,
               checkpoint: str | None, fp: str) -> tuple[torch.Tensor, SynthesisResult]:
    """Run every level; returns the final field (float64) and the history.

    fp : the run's fingerprint (``checkpoint.fingerprint``), checked against a checkpoint."""
    state = ckpt.load(checkpoint, fp)
    if state is not None:
        log.info("resuming from %s at step %d", checkpoint, state["next_level"])
        u, start = state["u"], state["next_level"]
        result = SynthesisResult(np.zeros(0), list(state["history"]), list(state["levels"]))
    else:
        u, start, result = init(), 0, SynthesisResult(np.zeros(0))
    bar = _progress(cfg, len(steps))
    for step in range(start, len(steps)):
        lv = steps[step]
        free = None
        if lv.free is not None:
            free = lv.free.expand(u.shape)
            u = torch.where(free, u, lv.frozen.expand(u.shape))
        loss = lv.make_loss(u)

        def on_iter(it, f, x, k=lv.k):
            result.history.append((k, it, f))
            if bar is not None:
                bar.update(1); bar.set_postfix(level=k, loss=f"{f:.3g}")
            if cfg.EVAL_FREQUENCY and it % cfg.EVAL_FREQUENCY == 0:
                log.info("level %d iteration %d loss %.4g", k, it, f)
        res = minimize(lambda v: loss(v.to(cfg.cdtype)), u, cfg.NUM_EPOCHS, free=free, on_iter=on_iter)
        if bar is not None:
            bar.update(cfg.NUM_EPOCHS - res.nit)
        result.levels.append((lv.k, lv.J, res.nit, res.loss, res.message))
        log.info("level %d (J=%d) done: %d iterations, loss %.4g (%s)", lv.k, lv.J, res.nit, res.loss, res.message)
        u = res.x
        if step + 1 < len(steps) and steps[step + 1].k != lv.k:   # repeated levels: same resolution
            u = grid.upsample(u)
        ckpt.save(checkpoint, fp, {"u": u, "next_level": step + 1, "history": result.history,
                                   "levels": result.levels})
    if bar is not None:
        bar.close()
    return u, result


def _progress(cfg, nlevels: int):
    if not cfg.progress:
        return None
    from tqdm.auto import tqdm
    # disable=None: no bar when stderr is not a terminal (logs, CI)
    return tqdm(total=nlevels * cfg.NUM_EPOCHS, desc="synthesis", leave=False, disable=None)
