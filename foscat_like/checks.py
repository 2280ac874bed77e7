"""Argument checks shared by every entry point: one rule, one message per kind of argument.

Each check returns the normalised value or raises ``TypeError`` (wrong kind of value) /
``ValueError`` (right kind, out of range), naming the argument and what was expected.
"""
from __future__ import annotations

import difflib
import numbers
from typing import Iterable

import numpy as np


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def check_int(name: str, v, minimum: int | None = None, maximum: int | None = None) -> int:
    """``v`` as an ``int``: ``TypeError`` unless an integer (bools, floats, strings refused),
    ``ValueError`` outside ``[minimum, maximum]``. 0-d integer arrays are accepted."""
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v[()]
    if not _is_int(v):
        raise TypeError(f"{name} must be an integer; got {v!r} ({type(v).__name__})")
    v = int(v)
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be <= {maximum}; got {v}")
    return v


def check_positive_int(name: str, v) -> int:
    """``v`` as an int >= 1 (``TypeError`` for non-integers, ``ValueError`` below 1)."""
    return check_int(name, v, minimum=1)


def check_optional_int(name: str, v, minimum: int = 1) -> int | None:
    return None if v is None else check_int(name, v, minimum=minimum)


class ShapeError(ValueError, RuntimeError):
    """A shape that does not fit. Both ``ValueError`` (this package's rule) and
    ``RuntimeError`` (what Kymatio raises for shapes), so either ``except`` clause catches it."""


def check_bool(name: str, v) -> bool:
    """``v`` as a ``bool`` (numpy bools and 0-d bool arrays accepted)."""
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v[()]
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {v!r} ({type(v).__name__})")
    return bool(v)


def check_choice(name: str, v, choices: Iterable):
    choices = tuple(choices)
    if not any(v is c or (type(v) is type(c) and v == c) for c in choices):
        raise ValueError(f"{name} must be one of {choices}; got {v!r}")
    return v


def check_seed(name: str, v) -> int:
    """A reproducible seed: an integer in ``[0, 2**63)``."""
    return check_int(name, v, minimum=0, maximum=2 ** 63 - 1)


def check_number(name: str, v, minimum: float | None = None) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {v!r} ({type(v).__name__})")
    v = float(v)
    if not np.isfinite(v) or (minimum is not None and v < minimum):
        raise ValueError(f"{name} must be a finite number >= {minimum}; got {v}")
    return v


def unknown_keyword(where: str, name: str, valid: Iterable[str]) -> TypeError:
    """The error for an unknown keyword, naming the closest valid one."""
    valid = sorted(valid)
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    if not close:   # case-insensitive second try (NORIENTS vs norient)
        low = {v.lower(): v for v in valid}
        close = [low[c] for c in difflib.get_close_matches(name.lower(), list(low), n=1, cutoff=0.6)]
    hint = f"; did you mean {close[0]!r}?" if close else f"; valid keywords: {', '.join(valid)}"
    return TypeError(f"{where} got an unexpected keyword argument {name!r}{hint}")
