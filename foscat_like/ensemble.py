"""Ensembles of independent syntheses on Dask distributed.

Each realisation ``i`` uses seed ``seed + i`` and is written to
``pattern.format(i=i)`` by the worker as soon as it finishes (atomic rename),
so a killed ensemble loses only the realisations in flight; running it again
skips every file already on disk that is a readable field of the right shape
(an empty or corrupt one is recomputed). A manifest beside the outputs records
the ensemble's fingerprint (input bytes, grid, arguments): outputs of an ensemble
with other parameters are refused, never counted. A failed realisation is
retried once and then reported; the others are kept.
"""
from __future__ import annotations

import hashlib
import json
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
    from foscat_like.io import read_field, split_ext, write_field
    x, info = read_field(target_path)
    kwargs = dict(kwargs)
    op = fl.funct(NORIENT=kwargs.pop("NORIENT"), grid=grid)
    y = op.synthesis(x, progress=False, **kwargs)
    root, ext = split_ext(out_path)
    tmp = root + ".part" + ext
    write_field(tmp, y, info["kind"], dict(params, realisation=i))
    os.replace(tmp, out_path)
    return out_path


def _fingerprint(target_path: str, grid: str, kwargs: dict) -> str:
    h = hashlib.sha256()
    with open(target_path, "rb") as f:
        h.update(f.read())
    h.update(json.dumps({"grid": grid, **{k: kwargs[k] for k in sorted(kwargs) if k != "seed"}},
                        sort_keys=True, default=str).encode())
    h.update(str(kwargs.get("seed", 1234)).encode())
    return h.hexdigest()


def _finished(path: str, shape: tuple) -> bool:
    """A realisation on disk counts only if it reads back as a field of the expected shape."""
    from .io import read_field
    if not os.path.exists(path):
        return False
    try:
        return read_field(path)[0].shape == tuple(shape)
    except ValueError:
        log.warning("%s is empty or unreadable: recomputed", path)
        return False


def _manifest(pattern: str, n: int, fp: str, path: str) -> None:
    """Check (or create) the manifest ``path`` that ties the outputs to this ensemble's parameters."""
    existing = [pattern.format(i=i) for i in range(n) if os.path.exists(pattern.format(i=i))]
    if os.path.exists(path):
        try:
            with open(path) as f:
                old = json.load(f).get("fingerprint")
        except (OSError, ValueError, AttributeError):
            old = None
        if old != fp:
            raise ValueError(f"the outputs {pattern.format(i=0)}... belong to an ensemble with another input "
                             f"or other arguments ({path}); choose another -o or remove them")
    elif existing:
        raise ValueError(f"{existing[0]} exists but was not written by this ensemble (no {path}); "
                         "choose another -o or remove it")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"fingerprint": fp}, f)
    os.replace(tmp, path)


def run_ensemble(target_path: str, pattern: str, n: int, grid: str, kwargs: dict, params: dict,
                 scheduler: str | None = None, n_workers: int = 2, progress: bool = True,
                 shape: tuple | None = None, manifest: str | None = None) -> EnsembleReport:
    """Run ``n`` realisations (seeds ``kwargs['seed'] + i``) of the synthesis of ``target_path``.

    kwargs : ``funct.synthesis`` arguments plus ``NORIENT``; shape : the expected output shape;
    manifest : the fingerprint file (default: beside the first output)."""
    from dask.distributed import Client, LocalCluster, as_completed

    from .io import read_field, split_ext
    if shape is None:
        shape = read_field(target_path)[0].shape
    manifest = manifest or split_ext(pattern.format(i=0))[0] + ".ensemble.json"
    _manifest(pattern, n, _fingerprint(target_path, grid, kwargs), manifest)
    report = EnsembleReport()
    todo = []
    for i in range(n):
        path = pattern.format(i=i)
        (report.skipped.append(path) if _finished(path, shape) else todo.append((i, path)))
    if not todo:
        return report
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:    # loopback only, no dashboard, Dask's logs only for errors
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.ERROR,
                               scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
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
