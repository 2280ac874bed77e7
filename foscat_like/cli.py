"""``foscat-like``: synthesis, statistics, comparisons and figures from files.

    foscat-like synth INPUT -o OUT [--grid auto|1d|2d|healpix] [--mask M] [--inpaint] ...
                      [--inpaint --samples K --std S --lo LO --hi HI --draws D.npy]
    foscat-like separate INPUT -o OUT (--noise-std S|MAP | --noise DRAWS.npy) [--mask M]
                         [--samples K --std S --lo LO --hi HI --level 0.95] ...
    foscat-like stats INPUT -o stats.npz [--mask M] [--plot stats.png]
    foscat-like compare A B -o report.png
    foscat-like scatter IMAGE -o disk.png
    foscat-like demo [--out out]

Errors (missing file, unknown format, NaN, wrong mask size...) exit with
code 2 and a one-line message.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

import numpy as np

from . import cli_posterior

log = logging.getLogger("foscat_like")


_GRID_OF_KIND = {"healpix": "healpix", "image": "2d", "signal": "1d"}


def _grid(name: str, x: np.ndarray, kind: str) -> str:
    """The grid for a field of this kind: ``auto`` picks it; an explicit one must fit the field
    (a HEALPix map may be analysed as a 1D signal, nothing else crosses kinds)."""
    if name == "auto":
        return _GRID_OF_KIND[kind]
    if name != _GRID_OF_KIND[kind] and not (name == "1d" and kind == "healpix"):
        raise ValueError(f"--grid {name} does not fit the input, a {kind} of shape {x.shape} "
                         f"(use --grid {_GRID_OF_KIND[kind]} or auto)")
    return name


def _outputs(a, kind: str, *attrs: str) -> None:
    """Check every output the command will write before any work (format, directory, not an input)."""
    from .io import check_output
    inputs = [getattr(a, k, None) for k in ("input", "a", "b", "image", "mask", "reference", "noise", "noise_std")]
    inputs = [q for q in inputs if isinstance(q, str) and os.path.exists(q)]
    for attr in attrs:
        if getattr(a, attr, None):
            check_output(getattr(a, attr), kind if attr in ("output", "residual", "std", "lo", "hi") else "image",
                         inputs)


def _at_least(name: str, v: int, minimum: int) -> None:
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {v}")


def _read_input(a, path: str) -> tuple[np.ndarray, dict]:
    """A command's input field: a HEALPix map with UNSEEN pixels (or a cut-sky file) is read as the
    values of its seen cells, processed as a ``cell_ids`` patch and written back with UNSEEN."""
    from .io import read_field
    x, info = read_field(path, partial=True)
    if "cells" in info and a.grid not in ("auto", "healpix"):
        raise ValueError(f"{path} is a partial HEALPix map ({info['cells'].size} of {info['npix']} pixels "
                         f"seen): it takes --grid healpix or auto, not {a.grid}")
    return x, info


def _cells(info: dict) -> dict:
    """The ``cell_ids``/``nside`` keywords of a partial map's patch (``{}`` for a whole field)."""
    if "cells" not in info:
        return {}
    from .healpix.geometry import nside_of
    return {"cell_ids": info["cells"], "nside": nside_of(info["npix"])}


def _load_mask(path: str | None, x: np.ndarray, info: dict) -> np.ndarray | None:
    if path is None:
        return None
    from .io import read_beside
    m = read_beside(path, info, f"mask {path}")
    if m.shape != x.shape:
        raise ValueError(f"mask {path} has shape {m.shape}; the input has {x.shape}")
    return (m > 0).astype(np.float64)


def _fresh_checkpoint(a) -> None:
    """``--checkpoint`` starts a fresh run (its file removed) unless ``--resume``."""
    if a.checkpoint and not a.resume and os.path.exists(a.checkpoint):
        os.remove(a.checkpoint)


def _funct(a, grid: str):
    """The ``funct`` of one command: NORIENT, the grid, ``--max-memory`` and, for one map,
    the Dask ``--scheduler`` whose workers evaluate its blocks."""
    import foscat_like as fl
    client = None
    if getattr(a, "scheduler", None):
        from distributed import Client
        client = Client(a.scheduler, timeout=30)
    return fl.funct(NORIENT=a.norient, grid=grid, max_memory=getattr(a, "max_memory", None), client=client)


def cmd_synth(a) -> int:
    from .io import read_beside, sky, write_field
    x, info = _read_input(a, a.input)
    grid = _grid(a.grid, x, info["kind"])
    if "cells" in info and (a.realizations > 1 or a.report):
        raise ValueError(f"{a.input} is a partial HEALPix map: --realizations and --report need a whole one")
    _at_least("--realizations", a.realizations, 1)
    _at_least("--workers", a.workers, 1)
    if a.realizations > 1:
        from .io import split_ext
        root, ext = split_ext(a.output)
        a.pattern = root + "_{i:04d}" + ext
        from .io import check_output
        check_output(a.output, info["kind"], [a.input] + [q for q in (a.mask, a.reference) if q])
    else:
        _outputs(a, info["kind"], "output")
    _outputs(a, info["kind"], "report", "std", "lo", "hi")
    cli_posterior.check_outputs(a)
    mask = _load_mask(a.mask, x, info)
    kw = dict(nstep=a.nstep, NUM_EPOCHS=a.epochs, seed=a.seed, iso_ang=a.iso_ang, fft_ang=a.fft_ang,
              n_up=a.n_up, **_cells(info))
    if mask is not None:
        kw["in_mask"] = mask
        if a.inpaint:
            kw["grd_mask"] = 1.0 - mask
    elif a.inpaint:
        raise ValueError("--inpaint needs --mask (1 = observed pixel, 0 = pixel to fill)")
    if a.samples is not None:
        return _inpaint_posterior(a, x, info, grid, mask)
    if a.reference:
        kw["reference"] = read_beside(a.reference, info, "--reference")
    params = {"creator": "foscat_like", "grid": grid, "nstep": a.nstep, "epochs": a.epochs,
              "seed": a.seed, "source": os.path.basename(a.input)}
    if a.realizations > 1:
        if a.mask or a.reference:
            raise ValueError("--realizations does not combine with --mask/--reference yet")
        if not a.verbose:   # Dask's own logs (scheduler, nannies, workers) only for errors
            os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
        from .ensemble import run_ensemble
        kw = {k: v for k, v in kw.items() if v is not None}
        _validate_synthesis(x, grid, a.norient, kw)       # bad input: exit 2 here, not inside Dask
        rep = run_ensemble(a.input, a.pattern, a.realizations, grid, dict(kw, NORIENT=a.norient), params,
                           scheduler=a.scheduler, n_workers=a.workers, progress=not a.quiet, shape=x.shape,
                           manifest=split_ext(a.output)[0] + ".ensemble.json")
        print(f"realisations: {len(rep.written)} written, {len(rep.skipped)} already on disk, "
              f"{len(rep.failed)} failed")
        for i, msg in sorted(rep.failed.items()):
            print(f"  realisation {i}: {msg}")
        return 1 if rep.failed else 0
    _fresh_checkpoint(a)
    op = _funct(a, grid)
    y = op.synthesis(x, checkpoint=a.checkpoint, progress=not a.quiet, **kw)
    write_field(a.output, y, info["kind"], params, **sky(info))
    print(f"wrote {a.output}")
    if a.report:
        _report(y if y.ndim == x.ndim else y[0], x, a.report)
    return 0


def _inpaint_posterior(a, x: np.ndarray, info: dict, grid: str, mask: np.ndarray | None) -> int:
    """``synth --inpaint --samples K``: the posterior of the masked pixels given the others
    (``funct.inpaint``: kriging plus simulated kriging errors). -o gets the mean (the data where
    observed, kriging in the holes); ``--std``, ``--lo``/``--hi``, ``--draws`` as for ``separate``."""
    from .io import sky, write_field
    if not a.inpaint:
        raise ValueError("--samples needs --inpaint and --mask (the posterior of the masked pixels)")
    other = [flag for flag, on in (("--reference", a.reference), ("--realizations", a.realizations > 1),
                                   ("--n-up", a.n_up), ("--iso-ang", a.iso_ang), ("--fft-ang", a.fft_ang)) if on]
    if other:
        raise ValueError(f"--samples takes no {', '.join(other)} (the posterior's draws are plain syntheses)")
    _fresh_checkpoint(a)
    post = _funct(a, grid).inpaint(x, 1.0 - mask, n_samples=a.samples, nstep=a.nstep, seed=a.seed,
                                   NUM_EPOCHS=a.epochs, progress=not a.quiet, checkpoint=a.checkpoint,
                                   **_cells(info))
    params = {"creator": "foscat_like", "method": "inpaint", "grid": grid, "nstep": a.nstep, "epochs": a.epochs,
              "seed": a.seed, "source": os.path.basename(a.input)}
    write_field(a.output, post.mean, info["kind"], dict(params, content="posterior mean", samples=a.samples),
                **sky(info))
    print(f"wrote {a.output}")
    cli_posterior.write(a, post, info, params)
    if a.report:
        _report(post.mean, x, a.report)
    return 0


def _validate_synthesis(x: np.ndarray, grid: str, norient: int, kw: dict) -> None:
    """The checks ``synthesis`` makes before its first step, run here (cheaply) for an ensemble."""
    import torch

    import foscat_like as fl
    from .inputs import as_field, check_varies
    from .optim.config import SynthesisConfig
    from .optim.plan import level_scales
    cfg = SynthesisConfig(**kw)
    g = fl.funct(NORIENT=norient, grid=grid).grid
    t, _ = as_field(x, g, "input", like=torch.zeros((), dtype=torch.float64))
    check_varies(t, g, "input")
    level_scales(g, g.spatial_shape(t), cfg.nstep, cfg.Jmax, cfg.edge)


def _noise_draws(a, x: np.ndarray, info: dict) -> np.ndarray:
    """``(K, *shape)`` noise realisations from ``--noise`` (a .npy of draws) or ``--noise-std``
    (a number, or a map of per-pixel standard deviations: white, heteroscedastic noise)."""
    if (a.noise is None) == (a.noise_std is None):
        raise ValueError("give exactly one of --noise (a .npy of noise realisations) and --noise-std")
    from .io import on_cells
    shape = x.shape
    if a.noise is not None:
        if not a.noise.endswith(".npy"):
            raise ValueError(f"--noise must be a .npy array of realisations (K, *shape); got {a.noise}")
        n = on_cells(np.load(a.noise), info, f"--noise {a.noise}")
        if n.shape[1:] != tuple(shape) or n.shape[0] < 2:
            raise ValueError(f"--noise {a.noise} has shape {n.shape}; expected (K >= 2, *{tuple(shape)})")
        return n.astype(np.float64)
    try:
        sigma = np.full(shape, float(a.noise_std))
    except ValueError:
        from .io import read_beside
        sigma = read_beside(a.noise_std, info, f"--noise-std map {a.noise_std}")
        if sigma.shape != tuple(shape):
            raise ValueError(f"--noise-std map {a.noise_std} has shape {sigma.shape}; the input has {tuple(shape)}")
    if not (np.isfinite(sigma).all() and (sigma >= 0).all()):
        raise ValueError("--noise-std must be finite and non-negative")
    rng = np.random.default_rng(a.seed)
    return sigma * rng.standard_normal((a.n_noise,) + tuple(shape))


def cmd_separate(a) -> int:
    from .io import read_beside, sky, write_field
    x, info = _read_input(a, a.input)
    grid = _grid(a.grid, x, info["kind"])
    _outputs(a, info["kind"], "output", "residual", "std", "lo", "hi")
    _at_least("--n-noise", a.n_noise, 2)
    cli_posterior.check_outputs(a)
    noise = _noise_draws(a, x, info)
    kw = dict(mask=_load_mask(a.mask, x, info), NUM_EPOCHS=a.epochs, n_iter=a.n_iter, nstep=a.nstep,
              progress=not a.quiet, **_cells(info))
    if a.reference:
        kw["reference"] = read_beside(a.reference, info, "--reference")
    _fresh_checkpoint(a)
    post = None
    if a.samples is not None:
        if a.reference:
            raise ValueError("--samples takes no --reference")
        kw.update(n_samples=a.samples, seed=a.seed)
        post = _funct(a, grid).separate(x, noise, checkpoint=a.checkpoint, **kw)
        s = post.mean
    else:
        s = _funct(a, grid).separate(x, noise, checkpoint=a.checkpoint, **kw)
    params = {"creator": "foscat_like", "method": "separate", "grid": grid, "epochs": a.epochs,
              "n_iter": a.n_iter, "n_noise": int(noise.shape[0]), "source": os.path.basename(a.input)}
    write_field(a.output, s, info["kind"], dict(params, content="posterior mean") if post else params, **sky(info))
    print(f"wrote {a.output}")
    if post is not None:
        cli_posterior.write(a, post, info, params)
    if a.residual:
        write_field(a.residual, x - s, info["kind"], dict(params, content="data - separated"), **sky(info))
        print(f"wrote {a.residual}")
    return 0


def _report(a_, b_, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    from .report import compare_numbers, comparison_figure
    comparison_figure(a_, b_, path=path)
    for k, v in compare_numbers(a_, b_).items():
        print(f"{k:>14s}  {v:.4g}")
    print(f"wrote {path}")


def cmd_stats(a) -> int:
    x, info = _read_input(a, a.input)
    grid = _grid(a.grid, x, info["kind"])
    from .io import check_output
    check_output(a.output, None, [a.input], formats=(".npz",))     # ScatCov.save writes .npz
    _outputs(a, info["kind"], "plot")
    op = _funct(a, grid)
    st = op.eval(x, mask=_load_mask(a.mask, x, info), norm=a.norm, **_cells(info))
    st.save(a.output)
    print(f"wrote {a.output}: {st}")
    if a.plot:
        import matplotlib
        matplotlib.use("Agg")
        st.plot(path=a.plot)
        print(f"wrote {a.plot}")
    return 0


def cmd_compare(a) -> int:
    from .io import read_field
    x, _ = read_field(a.a)
    y, _ = read_field(a.b)
    _outputs(a, "image", "output")
    if x.shape != y.shape:
        raise ValueError(f"{a.a} has shape {x.shape} but {a.b} has {y.shape}")
    _report(x, y, a.output)
    return 0


def cmd_scatter(a) -> int:
    import matplotlib
    matplotlib.use("Agg")
    from .io import read_field
    from .classic import Scattering2D
    from .classic.figures import plot_scattering_disk
    x, info = read_field(a.image)
    _outputs(a, "image", "output")
    if x.ndim != 2:
        raise ValueError(f"{a.image} is not a 2D image (shape {x.shape})")
    if a.size and min(x.shape) > a.size:                 # block-average to about size x size
        f = min(x.shape) // a.size
        x = x[: x.shape[0] // f * f, : x.shape[1] // f * f]
        x = x.reshape(x.shape[0] // f, f, x.shape[1] // f, f).mean((1, 3))
    S = Scattering2D(a.J, x.shape, L=a.L)
    plot_scattering_disk(S(x.astype(np.float32)), a.J, a.L, image=x, path=a.output)
    print(f"wrote {a.output}")
    return 0


def cmd_demo(a) -> int:
    from .demo import main as demo_main
    return demo_main(["--out", a.out] + (["--quick"] if a.quick else []))


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="log progress")
    common.add_argument("--quiet", action="store_true", help="no progress bars")
    p = argparse.ArgumentParser(prog="foscat-like", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    add = lambda name, **kw: sub.add_parser(name, parents=[common], **kw)
    s = add("synth", help="synthesise a field with the statistics of INPUT")
    s.add_argument("input"); s.add_argument("-o", "--output", required=True)
    s.add_argument("--grid", default="auto", choices=["auto", "1d", "2d", "healpix"])
    s.add_argument("--mask", help="valid-pixel mask (1 = observed)")
    s.add_argument("--inpaint", action="store_true", help="fill the masked pixels, keep the others")
    s.add_argument("--reference", help="second field for cross statistics")
    s.add_argument("--nstep", type=int, default=None); s.add_argument("--epochs", type=int, default=300)
    s.add_argument("--seed", type=int, default=1234); s.add_argument("--norient", type=int, default=4)
    g = s.add_mutually_exclusive_group()
    g.add_argument("--iso-ang", action="store_true"); g.add_argument("--fft-ang", action="store_true")
    s.add_argument("--n-up", type=int, default=0)
    s.add_argument("--realizations", type=int, default=1)
    s.add_argument("--scheduler", help="address of an existing Dask scheduler (realisations; or, for "
                                       "one map, the workers that evaluate its blocks)")
    s.add_argument("--workers", type=int, default=2, help="LocalCluster workers")
    s.add_argument("--max-memory", help="memory one evaluation may use, e.g. 8GB (default: half the free memory)")
    s.add_argument("--checkpoint"); s.add_argument("--resume", action="store_true")
    s.add_argument("--report", help="PNG comparing the synthesis with the input")
    cli_posterior.arguments(s, "of the masked pixels (with --inpaint)")
    s.set_defaults(fn=cmd_synth)
    s = add("stats", help="scattering-covariance statistics of INPUT")
    s.add_argument("input"); s.add_argument("-o", "--output", required=True)
    s.add_argument("--grid", default="auto", choices=["auto", "1d", "2d", "healpix"])
    s.add_argument("--mask"); s.add_argument("--plot"); s.add_argument("--norient", type=int, default=4)
    s.add_argument("--norm", choices=["self"], default=None)
    s.add_argument("--max-memory", help="memory one evaluation may use, e.g. 8GB")
    s.set_defaults(fn=cmd_stats)
    s = add("compare", help="compare two fields (spectra, histograms, Minkowski)")
    s.add_argument("a"); s.add_argument("b"); s.add_argument("-o", "--output", required=True)
    s.set_defaults(fn=cmd_compare)
    s = add("scatter", help="classic 2D scattering and its scattering-disk figure")
    s.add_argument("image"); s.add_argument("-o", "--output", required=True)
    s.add_argument("--J", type=int, default=3); s.add_argument("--L", type=int, default=6)
    s.add_argument("--size", type=int, default=32, help="block-average the image to about this size")
    s.set_defaults(fn=cmd_scatter)
    s = add("separate", help="separate a non-Gaussian signal from noise (data = s + n)")
    s.add_argument("input"); s.add_argument("-o", "--output", required=True)
    s.add_argument("--grid", default="auto", choices=["auto", "1d", "2d", "healpix"])
    s.add_argument("--noise", help=".npy of noise realisations (K, *shape)")
    s.add_argument("--noise-std", help="white-noise std: a number or a map of per-pixel std")
    s.add_argument("--n-noise", type=int, default=16, help="draws made from --noise-std")
    s.add_argument("--mask"); s.add_argument("--reference", help="template correlated with the signal")
    s.add_argument("--residual", help="also write data - separated signal here")
    cli_posterior.arguments(s, "of the signal")
    s.add_argument("--epochs", type=int, default=100); s.add_argument("--n-iter", type=int, default=3)
    s.add_argument("--nstep", type=int, default=1); s.add_argument("--norient", type=int, default=4)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--max-memory", help="memory one evaluation may use, e.g. 8GB")
    s.add_argument("--scheduler", help="address of an existing Dask scheduler: with --samples the posterior's "
                                       "simulations are its tasks")
    s.add_argument("--checkpoint"); s.add_argument("--resume", action="store_true")
    s.set_defaults(fn=cmd_separate)
    s = add("demo", help="the embedded demo: texture + WMAP synthesis, scattering disk")
    s.add_argument("--out", default="out"); s.add_argument("--quick", action="store_true")
    s.set_defaults(fn=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING, format="%(message)s")
    try:
        return a.fn(a)
    except (ValueError, TypeError, FileNotFoundError, OSError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"foscat-like: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
