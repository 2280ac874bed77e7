"""Fidelity of full-sky HEALPix syntheses, each figure next to its sample-variance floor.

For every target the synthesis runs with and without the C_l band-power term
(``spectrum=``, differentiable ducc0 transforms, on by default), over several seeds. Metrics
against the target: C_l error (RMS log10 ratio, l >= 10), pixel-histogram KS, sphere Minkowski
functionals (12 base faces), and the pixel correlation with the target (a copy would be 1).
The floor is the same metrics for independent realisations of the target's process: Gaussian
skies with the target's C_l for WMAP (a floor for C_l only: the Galaxy is not Gaussian), and
independent lognormal skies for the lognormal target (a floor for every metric).

    python benchmarks/healpix_fidelity.py [--seeds 3] [--nside 32] [--epochs 300] [--polarisation]
                                          [--foscat-python PY [--foscat-seeds 1]]

``--foscat-python``: also FOSCAT's HEALPix synthesis of the same targets (its own venv, a fresh
child each, nstep 3, the same epochs); only those rows are run and merged into the results.

``--polarisation``: instead, (Q, U) syntheses (``spin=2``) of a polarised lognormal sky, the
metrics on their E and B maps, the floor from independent polarised skies; merged into the
results file.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import print_table, write_json  # noqa: E402

import foscat_like as fl  # noqa: E402
from foscat_like.datasets import load_wmap  # noqa: E402
from foscat_like.healpix.spectra import cl_error, cl_nest  # noqa: E402
from foscat_like.metrics import histogram_ks, minkowski_error  # noqa: E402


def _nest(m_ring: np.ndarray) -> np.ndarray:
    import healpy as hp
    return hp.reorder(m_ring, r2n=True)


def lognormal(nside: int, seed: int) -> np.ndarray:
    """exp of a Gaussian sky with a red spectrum (C_l ~ (l + 10)^-2), standardised: a
    non-Gaussian sky whose independent realisations are the other seeds."""
    import healpy as hp
    ell = np.arange(3 * nside)
    cl = 1.0 / (ell + 10.0) ** 2
    np.random.seed(seed)
    g = hp.synfast(cl, nside, lmax=3 * nside - 1)
    x = np.exp(g / g.std())
    return _nest((x - x.mean()) / x.std())


def polarised(nside: int, seed: int) -> np.ndarray:
    """(Q, U) NEST, std 1: a lognormal intensity with a smooth, coherent polarisation angle (a
    non-Gaussian polarised sky; other seeds are independent realisations)."""
    import healpy as hp
    np.random.seed(seed)
    cl = 1.0 / (np.arange(3 * nside) + 5.0) ** 2
    g = hp.synfast(cl, nside)
    p = 0.2 * np.exp(g / g.std())
    psi = 2 * hp.synfast(0.5 * cl, nside)
    qu = np.stack([_nest(p * np.cos(2 * psi)), _nest(p * np.sin(2 * psi))])
    return qu / qu.std()


def gaussian_like(target: np.ndarray, seed: int) -> np.ndarray:
    import healpy as hp
    nside = int(np.sqrt(target.size / 12))
    np.random.seed(seed)
    g = _nest(hp.synfast(cl_nest(target), nside, lmax=3 * nside - 1))
    return (g - g.mean()) / g.std() * target.std() + target.mean()


def metrics(y: np.ndarray, t: np.ndarray) -> dict:
    std = lambda v: (v - v.mean()) / v.std()
    return {"cl_err": cl_error(y, t, lmin=10), "ks": histogram_ks(std(y), std(t)),
            "minkowski": minkowski_error(std(y), std(t)), "corr": float(np.corrcoef(y, t)[0, 1])}


def median_rows(rows: list[dict]) -> dict:
    return {k: float(np.median([r[k] for r in rows])) for k in rows[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--nside", type=int, default=32, help="of the lognormal target (WMAP is nside 32)")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--polarisation", action="store_true")
    ap.add_argument("--foscat-python", default=None)
    ap.add_argument("--foscat-seeds", type=int, default=1)
    a = ap.parse_args()
    if a.polarisation:
        return polarisation(a)
    if a.foscat_python:
        return foscat_rows(a)
    I, _ = load_wmap()
    cases = {"wmap_w_nside32": (I, lambda k: gaussian_like(I, 100 + k), "Gaussian skies, same C_l"),
             f"lognormal_nside{a.nside}": (lognormal(a.nside, 0), lambda k: lognormal(a.nside, 100 + k),
                                           "independent lognormal skies")}
    table, payload = [], {}
    for name, (target, realisation, floor_kind) in cases.items():
        floor = median_rows([metrics(realisation(k), target) for k in range(max(a.seeds, 5))])
        table.append({"case": name, "method": f"floor: {floor_kind}", **floor, "time_s": ""})
        payload[name] = {"floor": floor, "floor_kind": floor_kind}
        for spectrum in (True, False):
            rows, times = [], []
            for seed in range(a.seeds):
                t0 = time.perf_counter()
                y = fl.funct().synthesis(target, nstep=3, NUM_EPOCHS=a.epochs, seed=seed, progress=False,
                                         spectrum=spectrum)
                times.append(time.perf_counter() - t0)
                rows.append(metrics(y, target))
            med = median_rows(rows)
            label = "foscat_like" + ("" if spectrum else " spectrum=False")
            table.append({"case": name, "method": label, **med, "time_s": float(np.median(times))})
            payload[name][label] = {"median": med, "per_seed": rows, "times_s": times}
        print_table([r for r in table if r["case"] == name], ["case", "method", "cl_err", "ks", "minkowski",
                                                               "corr", "time_s"])
        print()
    write_json("healpix_fidelity", {"args": vars(a), "cases": {**_stored().get("cases", {}), **payload}})


# run by FOSCAT's interpreter (which has no foscat_like): its synthesis of a .npy map
FOSCAT_CHILD = """
import sys
import numpy as np
import foscat.scat_cov as sc
m = np.load(sys.argv[1]).astype(np.float32)
y = sc.funct(NORIENT=4, KERNELSZ=3).synthesis(m, nstep=3, NUM_EPOCHS=int(sys.argv[3]))
np.save(sys.argv[2], np.asarray(y, dtype=np.float64).reshape(-1))
"""


def _cases(a) -> dict:
    I, _ = load_wmap()
    return {"wmap_w_nside32": I, f"lognormal_nside{a.nside}": lognormal(a.nside, 0)}


def foscat_rows(a) -> None:
    """FOSCAT's syntheses of the same targets, scored as ours (its seeds are its own)."""
    import subprocess
    import tempfile
    stored = _stored()
    cases = stored.get("cases", {})
    table = []
    for name, target in _cases(a).items():
        rows, times = [], []
        for _ in range(a.foscat_seeds):
            with tempfile.TemporaryDirectory() as tmp:
                src, dst = os.path.join(tmp, "target.npy"), os.path.join(tmp, "synthesis.npy")
                np.save(src, target)
                env = dict(os.environ, TEMPLATE_PATH=os.environ.get("TEMPLATE_PATH", tmp))
                t0 = time.perf_counter()
                subprocess.run([a.foscat_python, "-c", FOSCAT_CHILD, src, dst, str(a.epochs)],
                               check=True, env=env, capture_output=True)
                times.append(time.perf_counter() - t0)
                rows.append(metrics(np.load(dst), target))
        med = median_rows(rows)
        cases.setdefault(name, {})["FOSCAT 2026.6.1"] = {"median": med, "per_seed": rows, "times_s": times}
        table.append({"case": name, "method": "FOSCAT 2026.6.1", **med, "time_s": float(np.median(times))})
        print_table(table[-1:], ["case", "method", "cl_err", "ks", "minkowski", "corr", "time_s"])
    print()
    print_table(table, ["case", "method", "cl_err", "ks", "minkowski", "corr", "time_s"])
    write_json("healpix_fidelity", {**stored, "cases": cases})


def _stored() -> dict:
    import json
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "healpix_fidelity.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def polarisation(a) -> None:
    """E and B of ``synthesis(qu, spin=2)`` against the target's, next to independent skies'."""
    import torch
    grid = fl.funct().grid
    eb = lambda qu: grid.spin_to_scalars(torch.as_tensor(qu)).numpy()
    target = polarised(a.nside, 0)
    t_eb = eb(target)
    name = f"polarised_nside{a.nside}"
    table, payload = [], {name: {"floor_kind": "independent polarised skies"}}
    skies = [eb(polarised(a.nside, 100 + k)) for k in range(max(a.seeds, 5))]
    syn, times = [], []
    for seed in range(a.seeds):
        t0 = time.perf_counter()
        syn.append(eb(fl.funct().synthesis(target, spin=2, nstep=3, NUM_EPOCHS=a.epochs, seed=seed,
                                           progress=False)))
        times.append(time.perf_counter() - t0)
    for c, comp in enumerate("EB"):
        floor = median_rows([metrics(x[c], t_eb[c]) for x in skies])
        rows = [metrics(y[c], t_eb[c]) for y in syn]
        med = median_rows(rows)
        table += [{"case": f"{name} {comp}", "method": "floor: independent polarised skies", **floor, "time_s": ""},
                  {"case": f"{name} {comp}", "method": "foscat_like spin=2", **med, "time_s": float(np.median(times))}]
        payload[name][comp] = {"floor": floor, "median": med, "per_seed": rows}
    payload[name]["times_s"] = times
    print_table(table, ["case", "method", "cl_err", "ks", "minkowski", "corr", "time_s"])
    stored = _stored()
    write_json("healpix_fidelity", {**stored, "cases": {**stored.get("cases", {}), **payload}})


if __name__ == "__main__":
    main()
