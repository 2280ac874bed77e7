"""Fuzz the API and the CLI with bad input; count the cases answered well.

A case is answered well when the API raises ``ValueError``/``TypeError`` with a message that
names what is wrong (the expected fragment), or the CLI exits with code 2, one line on stderr
naming it, and writes nothing. Anything else (a silent answer, another exception, a traceback,
a file written) is counted against us and listed.

    python benchmarks/robustness.py [--no-cli]     # table + benchmarks/results/robustness.json
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from _common import print_table, write_json  # noqa: E402

import foscat_like as fl  # noqa: E402
from foscat_like.datasets import load_texture  # noqa: E402


def api_cases(tmp: str):
    x = load_texture("gravel", 32)
    op2, ophp = fl.funct(grid="2d"), fl.funct()
    draws = np.random.default_rng(0).standard_normal((4, 32, 32))
    syn = lambda **k: op2.synthesis(x, progress=False, NUM_EPOCHS=1, nstep=1, **k)
    sep = lambda d=x, n=draws, **k: op2.separate(d, n, progress=False, NUM_EPOCHS=1, n_iter=1, **k)
    ck = os.path.join(tmp, "c.pt")
    yield "keywords", "funct(NORIENTS=8)", lambda: fl.funct(NORIENTS=8), "NORIENT"
    yield "keywords", "funct(client=...)", lambda: fl.funct(client=object()), "client"
    yield "keywords", "funct(slope=2)", lambda: fl.funct(slope=2.0), "slope"
    yield "keywords", "funct(NORIENT=0)", lambda: fl.funct(NORIENT=0), "NORIENT"
    yield "keywords", "funct(KERNELSZ=4)", lambda: fl.funct(KERNELSZ=4), "KERNELSZ"
    yield "keywords", "funct(grid='3d')", lambda: fl.funct(grid="3d"), "grid"
    yield "keywords", "eval(norm='none')", lambda: op2.eval(x, norm="none"), "norm"
    yield "keywords", "eval(spin=1)", lambda: op2.eval(x, spin=1), "spin"
    yield "keywords", "eval(Jmax=9)", lambda: op2.eval(x, Jmax=9), "Jmax"
    for k, v in [("seed", None), ("seed", "1"), ("seed", 1.5), ("seed", np.random.default_rng()),
                 ("seed", 2 ** 70), ("n_up", 1.0), ("n_up", -1), ("nstep", 0), ("nstep", 2.0),
                 ("NUM_EPOCHS", 0), ("synthesised_N", 0), ("precision", "half"), ("histogram", "no"),
                 ("fft_nharm", 0), ("EVAL_FREQUENCY", -1)]:
        yield "synthesis arguments", f"synthesis({k}={v!r})", (lambda k=k, v=v: syn(**{k: v})), k
    yield "synthesis arguments", "synthesis(iso_ang, fft_ang)", lambda: syn(iso_ang=True, fft_ang=True), "iso_ang"
    for k, v in [("n_iter", 0), ("n_noise", 1), ("precision", 32)]:
        yield "separation arguments", f"separate({k}={v!r})", (lambda k=k, v=v: sep(**{k: v})), k
    yield "separation arguments", "separate(noise shape)", lambda: sep(n=draws[:, :16]), "noise"
    yield "separation arguments", "separate(noise = 0)", lambda: sep(n=0 * draws), "noise"
    # checkpoints
    def run_then(other):
        syn(checkpoint=ck)
        return other()
    yield "checkpoints", "other NORIENT", lambda: run_then(lambda: fl.funct(NORIENT=2, grid="2d").synthesis(
        x, progress=False, NUM_EPOCHS=1, nstep=1, checkpoint=ck)), "checkpoint"
    yield "checkpoints", "other target (same sums)", lambda: run_then(lambda: op2.synthesis(
        x.T.copy(), progress=False, NUM_EPOCHS=1, nstep=1, checkpoint=ck)), "checkpoint"
    for content in (b"", b"garbage"):
        def bad(content=content):
            open(ck, "wb").write(content)
            return syn(checkpoint=ck)
        yield "checkpoints", f"checkpoint file {content!r}", bad, "checkpoint"
    yield "checkpoints", "missing directory", lambda: syn(checkpoint=os.path.join(tmp, "no", "c.pt")), "checkpoint"
    # degenerate fields
    for name, f in [("zeros", np.zeros((32, 32))), ("constant", np.full((32, 32), 3.0))]:
        yield "degenerate fields", f"eval({name}, norm='self')", (lambda f=f: op2.eval(f, norm="self")), "constant"
        yield "degenerate fields", f"synthesis({name})", (lambda f=f: op2.synthesis(f, progress=False)), "constant"
        yield "degenerate fields", f"separate({name})", (lambda f=f: sep(d=f)), "constant"
    yield "degenerate fields", "huge float32", lambda: op2.eval((1e30 * x).astype(np.float32), norm="self"), "float32"
    one = np.zeros((32, 32)); one[3, 3] = 1
    yield "degenerate fields", "one-pixel in_mask", lambda: syn(in_mask=one), "in_mask"
    yield "degenerate fields", "constant reference", lambda: syn(reference=np.ones((32, 32))), "reference"
    # normalisation references
    yield "normalisation", "norm=ScatCov of other J", lambda: op2.eval(x, norm=op2.eval(x, Jmax=1)), "norm"
    yield "normalisation", "norm=normalised ScatCov", lambda: op2.eval(x, norm=op2.eval(x, norm="self")), "norm"
    yield "normalisation", "norm=dict without P2", lambda: op2.eval(x, norm={"P1": 1}), "P2"
    # HEALPix
    yield "HEALPix", "float cell_ids", lambda: ophp.eval(np.ones(8), cell_ids=np.arange(8) + 0.5, nside=4), "cell_ids"
    yield "HEALPix", "empty cell_ids", lambda: ophp.eval(np.ones(0), cell_ids=np.array([], int), nside=4), "cell_ids"
    yield "HEALPix", "duplicate cell_ids", lambda: ophp.eval(np.ones(8), cell_ids=np.zeros(8, int), nside=4), "cell_ids"
    yield "HEALPix", "cell_ids out of range", lambda: ophp.eval(np.ones(8), cell_ids=np.arange(8) + 10 ** 6, nside=4), "cell_ids"
    yield "HEALPix", "cell_ids on 2d", lambda: op2.eval(x, cell_ids=np.arange(4)), "cell_ids"
    yield "HEALPix", "npix not 12 nside^2", lambda: ophp.eval(np.ones(100)), "npix"
    yield "HEALPix", "spin=2 with one map", lambda: ophp.eval(np.ones(192), spin=2), "spin"
    unseen = np.ones(192)
    unseen[5] = -1.6375e30
    yield "HEALPix", "UNSEEN pixels", lambda: ophp.eval(unseen), "UNSEEN"
    yield "HEALPix", "inpainting with nothing observed", (lambda: ophp.synthesis(
        np.arange(192.0), grd_mask=np.ones(192), nstep=1, NUM_EPOCHS=2, progress=False)), "grd_mask"
    # types
    for name, v in [("complex", x.astype(complex)), ("torch int", torch.ones(32, 32, dtype=torch.int64)),
                    ("strings", np.array([["a"] * 32] * 32)), ("empty batch", np.zeros((0, 32, 32))),
                    ("object", object()), ("NaN", np.full((32, 32), np.nan))]:
        yield "types", f"eval({name})", (lambda v=v: op2.eval(v)), "image1"
        yield "types", f"Scattering2D({name})", (lambda v=v: fl.planar.Scattering2D(2, (32, 32), L=4)(v)), "x"
    yield "types", "mask of wrong shape", lambda: op2.eval(x, mask=np.ones((16, 16))), "mask"
    yield "types", "negative mask", lambda: op2.eval(x, mask=-np.ones((32, 32))), "mask"


def cli_cases(tmp: str):
    tex = os.path.join(tmp, "tex.npy")
    zero = os.path.join(tmp, "zero.npy")
    np.save(tex, load_texture("gravel", 32)); np.save(zero, np.zeros((32, 32)))
    o = os.path.join(tmp, "out")
    yield "files", "synth X -o X", ["synth", tex, "-o", tex], "also an input"
    yield "files", "unknown output extension", ["synth", tex, "-o", o + ".txt"], "unknown output format"
    yield "files", "missing output directory", ["synth", tex, "-o", os.path.join(tmp, "no", "x.npy")], "does not exist"
    yield "files", "stats -o st.txt", ["stats", tex, "-o", o + ".txt"], "unknown output format"
    yield "files", "separate --residual X", ["separate", tex, "-o", o + ".npy", "--noise-std", "0.1",
                                              "--residual", tex], "also an input"
    yield "files", "missing input", ["synth", os.path.join(tmp, "none.npy"), "-o", o + ".npy"], "no such file"
    yield "ensembles", "--workers 0", ["synth", tex, "-o", o + ".npy", "--realizations", "2", "--workers", "0"], "--workers"
    yield "ensembles", "--realizations 0", ["synth", tex, "-o", o + ".npy", "--realizations", "0"], "--realizations"
    yield "ensembles", "bad --nstep in an ensemble", ["synth", tex, "-o", o + ".npy", "--realizations", "2",
                                                      "--nstep", "9"], "nstep"
    yield "ensembles", "constant input in an ensemble", ["synth", zero, "-o", o + ".npy", "--realizations", "2"], "constant"
    yield "grids", "--grid 1d on an image", ["synth", tex, "-o", o + ".npy", "--grid", "1d"], "--grid 1d"
    yield "grids", "--grid healpix on an image", ["stats", tex, "-o", o + ".npz", "--grid", "healpix"], "--grid healpix"
    yield "degenerate fields", "--noise-std 0", ["separate", tex, "-o", o + ".npy", "--noise-std", "0"], "noise"


def classify_api(fn, expect: str) -> tuple[bool, str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    except (ValueError, TypeError) as exc:
        ok = expect.lower() in str(exc).lower()
        return ok, f"{type(exc).__name__}: {str(exc)[:90]}"
    except Exception as exc:        # noqa: BLE001 - counted as a bad answer
        return False, f"{type(exc).__name__}: {str(exc)[:90]}"
    return False, "no error (silent answer)"


def classify_cli(args, expect: str, tmp: str) -> tuple[bool, str]:
    before = set(os.listdir(tmp))
    try:
        r = subprocess.run([sys.executable, "-m", "foscat_like.cli", *args, "--quiet"], capture_output=True,
                           text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False, "hang (killed after 120 s)"
    lines = r.stderr.strip().splitlines()
    new = set(os.listdir(tmp)) - before
    ok = r.returncode == 2 and len(lines) == 1 and expect in r.stderr and not new
    return ok, f"exit {r.returncode}: {lines[-1][:90] if lines else ''}{' (wrote ' + str(sorted(new)) + ')' if new else ''}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-cli", action="store_true", help="API cases only (the CLI ones start a process each)")
    a = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for cls, name, fn, expect in api_cases(tmp):
            ok, msg = classify_api(fn, expect)
            results.append({"surface": "api", "class": cls, "case": name, "ok": ok, "answer": msg})
        if not a.no_cli:
            for cls, name, args, expect in cli_cases(tmp):
                ok, msg = classify_cli(args, expect, tmp)
                results.append({"surface": "cli", "class": cls, "case": name, "ok": ok, "answer": msg})
    rows = {}
    for r in results:
        row = rows.setdefault((r["surface"], r["class"]), {"surface": r["surface"], "class": r["class"],
                                                          "cases": 0, "answered well": 0})
        row["cases"] += 1
        row["answered well"] += int(r["ok"])
    table = list(rows.values())
    print_table(table, ["surface", "class", "cases", "answered well"])
    bad = [r for r in results if not r["ok"]]
    print(f"\n{len(results) - len(bad)} of {len(results)} cases answered well")
    for r in bad:
        print(f"  NOT WELL [{r['surface']}] {r['case']}: {r['answer']}")
    write_json("robustness", {"summary": table, "cases": results,
                              "answered_well": len(results) - len(bad), "total": len(results)})


if __name__ == "__main__":
    main()
