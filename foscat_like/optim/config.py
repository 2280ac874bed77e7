"""Keyword-only, self-validating configurations of the synthesis and the separation.

A config is frozen: nothing downstream can change it (the level plan is computed from
it, never written back). Unknown keywords are a ``TypeError`` naming the closest valid
one; every value is checked once, here, with one message per kind of argument.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from ..checks import (check_bool, check_choice, check_int, check_optional_int, check_positive_int,
                      check_seed, unknown_keyword)


class _KeywordConfig:
    """Base: ``Config(name=value, ...)`` only; validates in ``_check``."""

    def __init__(self, *args, **kwargs):
        name = type(self).__name__
        if args:
            raise TypeError(f"{name} takes keyword arguments only (got {len(args)} positional)")
        names = [f.name for f in dataclasses.fields(self)]
        for k in kwargs:
            if k not in names:
                raise unknown_keyword(name, k, names)
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, kwargs.get(f.name, f.default))
        self._check()

    def _check(self) -> None:
        """Booleans are checked by type; every other field by the ``RULES`` of its class
        (``name -> check(name, value) -> value``); then ``_extra_checks``."""
        for f in dataclasses.fields(self):
            rule = next((c.RULES[f.name] for c in type(self).__mro__ if f.name in getattr(c, "RULES", {})), None)
            if rule is None and f.type in ("bool", bool):
                rule = check_bool
            if rule is not None:
                object.__setattr__(self, f.name, rule(f.name, getattr(self, f.name)))
        self._extra_checks()

    def _extra_checks(self) -> None:
        pass

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    @property
    def cdtype(self) -> torch.dtype:
        """dtype of the statistics in the loss."""
        return torch.float64 if self.precision == "double" else torch.float32

    def fingerprint(self) -> dict:
        """What changes the result (progress display and logging do not)."""
        d = dataclasses.asdict(self)
        d.pop("progress", None); d.pop("EVAL_FREQUENCY", None)
        return d


@dataclass(frozen=True, init=False)
class LevelConfig(_KeywordConfig):
    """What every coarse-to-fine run shares."""
    nstep: int | None = None          # levels (None: up to 4, as many as the size allows)
    Jmax: int | None = None           # scales at full resolution (None: the grid's default)
    edge: bool = False
    NUM_EPOCHS: int = 300             # L-BFGS-B iterations per level
    EVAL_FREQUENCY: int = 100         # log every this many iterations (0: never)
    progress: bool = True
    precision: str = "double"         # "single": statistics in float32

    RULES = {"nstep": check_optional_int, "Jmax": check_optional_int, "NUM_EPOCHS": check_positive_int,
             "EVAL_FREQUENCY": lambda k, v: check_int(k, v, minimum=0),
             "precision": lambda k, v: check_choice(k, v, ("double", "single"))}


@dataclass(frozen=True, init=False)
class SynthesisConfig(LevelConfig):
    """Arguments of ``funct.synthesis`` that shape the run (see its docstring)."""
    seed: int = 1234
    to_gaussian: bool = False
    use_variance: bool = True
    synthesised_N: int = 1
    iso_ang: bool = False
    fft_ang: bool = False
    fft_nharm: int = 1
    fft_imaginary: bool = True
    n_up: int = 0
    histogram: bool = True
    spectrum: bool = True
    spin: int = 0                     # 2: the field is (Q, U), analysed as its E and B maps

    RULES = {"spin": lambda k, v: check_choice(k, v, (0, 2)), "seed": check_seed, "synthesised_N": check_positive_int, "fft_nharm": check_positive_int,
             "n_up": lambda k, v: check_int(k, v, minimum=0)}

    def _extra_checks(self) -> None:
        if self.iso_ang and self.fft_ang:
            raise ValueError("iso_ang and fft_ang cannot both be True")

    def angular(self):
        return "iso" if self.iso_ang else ("fft", self.fft_nharm, self.fft_imaginary) if self.fft_ang else "full"


@dataclass(frozen=True, init=False)
class SeparationConfig(LevelConfig):
    """Arguments of ``funct.separate`` that shape the run (see its docstring)."""
    nstep: int | None = 1
    NUM_EPOCHS: int = 100             # L-BFGS-B iterations per bias iteration
    n_iter: int = 3                   # bias iterations at full resolution
    n_noise: int = 16                 # draws taken from a callable noise model
    spin: int = 0                     # 2: the data are (Q, U), analysed as their E and B maps

    RULES = {"n_iter": check_positive_int, "n_noise": lambda k, v: check_int(k, v, minimum=2),
             "spin": lambda k, v: check_choice(k, v, (0, 2))}
