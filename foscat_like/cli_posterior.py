"""The posterior's options and outputs on the command line (``separate --samples``, ``synth
--inpaint --samples``): ``--std``, ``--lo`` / ``--hi`` (the ``--level`` interval), ``--draws``."""
from __future__ import annotations

import numpy as np


def check_outputs(a) -> None:
    """``--std``, ``--draws``, ``--lo``, ``--hi`` need ``--samples``; ``--samples >= 1``, ``--level`` in (0, 1)."""
    if (a.std or a.draws or a.lo or a.hi) and a.samples is None:
        raise ValueError("--std, --draws, --lo and --hi need --samples K (the posterior's samples)")
    if a.samples is not None and a.samples < 1:
        raise ValueError(f"--samples must be >= 1; got {a.samples}")
    if not 0 < a.level < 1:
        raise ValueError(f"--level must be in (0, 1); got {a.level}")
    if a.draws and not a.draws.endswith(".npy"):
        raise ValueError(f"--draws must be a .npy path; got {a.draws}")


def write(a, post, info: dict, params: dict) -> None:
    """A posterior's ``--std`` map, ``--lo`` / ``--hi`` bounds of its ``--level`` interval and
    ``--draws`` (the samples, ``.npy``), each where asked (a partial map's: UNSEEN off its cells)."""
    from .io import on_sky, sky, write_field
    kind, at = info["kind"], sky(info)
    if a.std:
        write_field(a.std, post.std, kind, dict(params, content="posterior std", samples=a.samples), **at)
        print(f"wrote {a.std}")
    if a.lo or a.hi:
        bounds = post.interval(a.level)
        for path, bound, side in zip((a.lo, a.hi), bounds, ("lower", "upper")):
            if path:
                write_field(path, bound, kind, dict(params, content=f"posterior {side} bound",
                                                    level=a.level, samples=a.samples), **at)
                print(f"wrote {path}")
    if a.draws:
        np.save(a.draws, on_sky(post.samples, **at) if at else post.samples)
        print(f"wrote {a.draws}")


def arguments(s, what: str) -> None:
    """The posterior's options of a command (``separate``, ``synth --inpaint``)."""
    s.add_argument("--samples", type=int, help=f"K posterior samples {what}: -o gets their mean")
    s.add_argument("--std", help="with --samples: the posterior std map here")
    s.add_argument("--draws", help="with --samples: the samples (K, *shape) as .npy here")
    s.add_argument("--lo", help="with --samples: the per-pixel interval's lower bound map here")
    s.add_argument("--hi", help="with --samples: the per-pixel interval's upper bound map here")
    s.add_argument("--level", type=float, default=0.68, help="the interval's probability (default 0.68)")
