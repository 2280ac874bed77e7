"""The blocks of a split evaluation on the workers of a Dask cluster (``funct(client=...)``).

A grid's blocks (on the full sky, a base pixel's block and its three quarter turns) go in one
task, or in a few when there are fewer than two grids per worker: the worker rebuilds the
patch grid from its cells (a few arrays, not its operators), computes, for each block of the
task (on one build of the operators), its moments and
core state (forward) or the gradient of its pixels (backward), and sends them back; the client
adds them up exactly as the local loop does, so the results are the same numbers. A task whose
worker is lost is recomputed by Dask on another worker (its inputs travel with the task).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

PROBE_TIMEOUT = 60.0      # seconds a worker may take to answer the import check
START_TIMEOUT = 10.0      # seconds to wait for a first worker


def _probe() -> str:
    import foscat_like
    return foscat_like.__version__ if hasattr(foscat_like, "__version__") else "ok"


def check_workers(client, timeout: float = PROBE_TIMEOUT) -> None:
    """``ValueError`` unless every worker of ``client`` imports foscat_like within ``timeout`` s."""
    from distributed import wait
    try:                          # a cluster may still be starting (or restarting one)
        client.wait_for_workers(1, timeout=min(timeout, START_TIMEOUT))
    except TimeoutError:
        raise ValueError("client has no workers: start some (e.g. LocalCluster(n_workers=2)) first") from None
    workers = list(client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.workers)))
    futs = [client.submit(_probe, workers=[w], allow_other_workers=False, pure=False) for w in workers]
    try:
        wait(futs, timeout=timeout)
    except TimeoutError:
        late = [f for f in futs if not f.done()]
        client.cancel(late)
        raise ValueError(f"{len(late)} of {len(workers)} Dask workers did not answer within {timeout:.0f} s") from None
    for f in futs:
        if f.status != "finished":
            raise ValueError(f"the Dask workers cannot run foscat_like ({f.exception()!r}); install it "
                             "in the workers' environment")


@dataclass
class BlockSpec:
    """What a worker needs to rebuild a block: its grid's cells and its core positions."""
    L: int
    KERNELSZ: int
    nside: int
    cells: np.ndarray
    core_local: np.ndarray


def spec(block) -> BlockSpec:
    g = block.grid
    return BlockSpec(g.L, g.KERNELSZ, g.patch.nsides[0], g.patch.cells[0], block.core_local)


def _block(s: BlockSpec):
    from ..healpix.blocks import Block
    from ..healpix.grid import HealpixGrid
    return Block(HealpixGrid(s.L, s.KERNELSZ, cell_ids=s.cells, nside=s.nside), None, None, s.core_local, None)


def remote_forward(s: BlockSpec, args: list) -> list:
    """``split._Run._forward`` on a worker, for each block's ``args`` of one grid."""
    from .split import _Run
    block = _block(s)
    with torch.no_grad():
        return [_Run._forward(block, *a) for a in args]


def remote_backward(s: BlockSpec, args: list) -> list:
    """``split._Run._backward`` on a worker, for each block's ``args`` of one grid."""
    from .split import _Run
    block = _block(s)
    return [_Run._backward(block, *a) for a in args]
