"""Ensembles of independent syntheses on Dask distributed.

Each realisation ``i`` uses seed ``seed + i`` and is written to
``pattern.format(i=i)`` by the worker as soon as it finishes (atomic rename),
so a killed ensemble loses only the realisations in flight; running it again
skips every file already on disk. A failed realisation is retried once and
then reported; the others are kept.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

log = logging.getLogger("foscat_like")


@dataclass
class EnsembleReport:
    written: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)     # index -> error message


def _one(i: int, target_path: str, out_path: str, grid: str, kwargs: dict, params: dict) -> str:
    """Worker task: one synthesis written to ``out_path``."""
    import foscat_like as fl
    from foscat_like.io import read_field, write_field
    x, info = read_field(target_path)
    op = fl.funct(NORIENT=kwargs.pop("NORIENT", 4), grid=grid)
    y = op.synthesis(x, progress=False, **kwargs)
    ext = next((e for e in (".fits.gz", ".fits", ".npy", ".png") if out_path.endswith(e)), ".npy")
    tmp = out_path[: -len(ext)] + ".part" + ext
    write_field(tmp, y, info["kind"], dict(params, realisation=i))
    os.replace(tmp, out_path)
    return out_path


def run_ensemble(target_path: str, pattern: str, n: int, grid: str, kwargs: dict, params: dict,
                 scheduler: str | None = None, n_workers: int = 2, progress: bool = True) -> EnsembleReport:
    """Run ``n`` realisations (seeds ``kwargs['seed'] + i``) of the synthesis of ``target_path``."""
    from dask.distributed import Client, LocalCluster, as_completed

    report = EnsembleReport()
    todo = []
    for i in range(n):
        path = pattern.format(i=i)
        if os.path.exists(path):
            report.skipped.append(path)
        else:
            todo.append((i, path))
    if not todo:
        return report
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        seed = int(kwargs.get("seed", 1234))
        futures = {}
        for i, path in todo:
            kw = dict(kwargs, seed=seed + i)
            fut = client.submit(_one, i, os.path.abspath(target_path), os.path.abspath(path), grid, kw,
                                params, retries=1, pure=False, key=f"realisation-{i}-{os.getpid()}")
            futures[fut] = (i, path)
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(futures), desc="realisations", disable=None)
        for fut in as_completed(futures):
            i, path = futures[fut]
            try:
                fut.result()
                report.written.append(path)
            except Exception as exc:   # reported, the others are kept
                report.failed[i] = f"{type(exc).__name__}: {exc}"
                log.error("realisation %d failed after a retry: %s", i, exc)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return report
