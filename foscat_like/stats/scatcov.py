"""``ScatCov``: the statistics object returned by ``funct.eval``.

Attributes are torch tensors whose leading axes are ``(batch, mask)`` and
whose trailing axes are orientation axes:

    S0   (B, K, 2)                 [mean, variance] (cross: [mean of x1, covariance])
    S1   (B, K, J, L)              S2 (B, K, J, L)
    S3   (B, K, n3, L, L) complex  index ``idx3[n] = (j2, j3)``; S3P likewise (cross only)
    S4   (B, K, n4, L, L, L) complex, index ``idx4[n] = (j1, j2, j3)``

After ``iso_mean()`` the orientation axes shrink (S1 ``[...]``, S3 ``[..., L]``,
S4 ``[..., L, L]``); after ``fft_ang()`` the absolute axis becomes ``nout``
harmonics. An object with ``is_sigma=True`` holds per-coefficient standard
deviations (real everywhere) and propagates them correctly.
"""
from __future__ import annotations

import numbers

import numpy as np
import torch

from .angular import fourier_basis, reduce_field

FIELDS = ("S0", "S1", "S2", "S3", "S3P", "S4")
NAXES = {"S1": 1, "S2": 1, "S3": 2, "S3P": 2, "S4": 3}
COMPLEX = ("S3", "S3P", "S4")


class ScatCov:
    """Scattering-covariance statistics (see module docstring for shapes)."""

    def __init__(self, S0, S1, S2, S3, S4, S3P=None, idx3=None, idx4=None, *,
                 is_sigma: bool = False, angular: str = "full", norm: str | None = None,
                 cross: bool = False):
        self.S0, self.S1, self.S2, self.S3, self.S4, self.S3P = S0, S1, S2, S3, S4, S3P
        self.idx3 = np.asarray(idx3 if idx3 is not None else [], dtype=int).reshape(-1, 2)
        self.idx4 = np.asarray(idx4 if idx4 is not None else [], dtype=int).reshape(-1, 3)
        self.is_sigma, self.angular, self.norm, self.cross = is_sigma, angular, norm, cross

    @classmethod
    def from_raw(cls, raw: dict, sigma: bool = False, norm: str | None = None) -> "ScatCov":
        pre = "var_" if sigma else ""
        return cls(*(raw.get(pre + f) for f in ("S0", "S1", "S2", "S3", "S4", "S3P")),
                   idx3=raw["idx3"], idx4=raw["idx4"], is_sigma=sigma, norm=norm, cross=raw["cross"])

    # -- structure ----------------------------------------------------------------
    def _fields(self):
        return [(f, getattr(self, f)) for f in FIELDS if getattr(self, f) is not None]

    def _new(self, **values) -> "ScatCov":
        kw = {f: getattr(self, f) for f in FIELDS}
        kw.update(values)
        return ScatCov(kw["S0"], kw["S1"], kw["S2"], kw["S3"], kw["S4"], kw["S3P"], self.idx3, self.idx4,
                       is_sigma=self.is_sigma, angular=self.angular, norm=self.norm, cross=self.cross)

    def map(self, fn) -> "ScatCov":
        """Apply ``fn`` to every statistic tensor."""
        return self._new(**{f: fn(v) for f, v in self._fields()})

    @property
    def L(self) -> int:
        return int(self.S2.shape[-1]) if self.angular == "full" else 0

    @property
    def J(self) -> int:
        return int(self.idx3[:, 1].max()) + 1 if len(self.idx3) else 0

    def __repr__(self) -> str:
        shapes = ", ".join(f"{f}={tuple(v.shape)}" for f, v in self._fields())
        kind = "sigma" if self.is_sigma else "stats"
        return f"ScatCov({kind}, {self.angular}, norm={self.norm}, {shapes})"

    # -- arithmetic ---------------------------------------------------------------
    def _binary(self, other, op) -> "ScatCov":
        if isinstance(other, ScatCov):
            if [f for f, _ in self._fields()] != [f for f, _ in other._fields()]:
                raise ValueError("other must hold the same statistics (auto vs cross mismatch?)")
            return self._new(**{f: op(v, getattr(other, f)) for f, v in self._fields()})
        if isinstance(other, (numbers.Number, torch.Tensor, np.ndarray)):
            return self._new(**{f: op(v, other) for f, v in self._fields()})
        return NotImplemented

    def __add__(self, o): return self._binary(o, lambda a, b: a + b)
    def __radd__(self, o): return self._binary(o, lambda a, b: b + a)
    def __sub__(self, o): return self._binary(o, lambda a, b: a - b)
    def __rsub__(self, o): return self._binary(o, lambda a, b: b - a)
    def __mul__(self, o): return self._binary(o, lambda a, b: a * b)
    def __rmul__(self, o): return self._binary(o, lambda a, b: b * a)
    def __truediv__(self, o): return self._binary(o, lambda a, b: a / b)
    def __rtruediv__(self, o): return self._binary(o, lambda a, b: b / a)
    def __neg__(self): return self.map(lambda a: -a)

    # -- angular reductions ---------------------------------------------------------
    def _reduce(self, kind: str, A, sigma: bool) -> "ScatCov":
        if self.angular != "full":
            raise ValueError(f"statistics are already reduced ('{self.angular}'); reduce the full ones")
        new = self._new(**{f: reduce_field(v, kind, NAXES[f], A, sigma=sigma)
                           for f, v in self._fields() if f != "S0"})
        new.angular = kind
        return new

    def iso_mean(self, sigma: bool | None = None) -> "ScatCov":
        """Mean over absolute orientation, keeping relative angles
        (S1,S2 ``[...,L]->[...]``; S3 ``->[...,L]``; S4 ``->[...,L,L]``)."""
        return self._reduce("iso", None, self.is_sigma if sigma is None else sigma)

    def fft_ang(self, nharm: int = 1, imaginary: bool = False) -> "ScatCov":
        """First angular harmonics of the absolute orientation (k=0 equals ``iso_mean``).

        S1,S2 ``[...,L]->[...,nout]``; S3,S3P ``->[...,L,nout]``; S4 ``->[...,L,L,nout]``,
        ``nout = 1 + nharm`` (``1 + 2 nharm`` with ``imaginary``)."""
        if self.is_sigma:
            return self.fft_ang_sigma(nharm, imaginary)
        return self._reduce("fft", fourier_basis(self.S2.shape[-1], nharm, imaginary), False)

    def fft_ang_sigma(self, nharm: int = 1, imaginary: bool = False) -> "ScatCov":
        """Standard deviations through ``fft_ang``: ``sigma_k = sqrt(sum_j A_jk^2 sigma_j^2)``."""
        return self._reduce("fft", fourier_basis(self.S2.shape[-1], nharm, imaginary), True)

    # -- vectors and distances ------------------------------------------------------------
    def flatten(self) -> torch.Tensor:
        """All coefficients as one real 1D tensor: ``vectors()`` of every batch element in turn."""
        return self.vectors().reshape(-1)

    def vectors(self) -> torch.Tensor:
        """``(B, M)``: each batch element's coefficients as one real vector (complex ones as
        real then imaginary parts, field by field; sigma objects repeat their real spread)."""
        parts = []
        for f, v in self._fields():
            v = v.reshape(v.shape[0], -1)
            if f in COMPLEX and (self.is_sigma or v.is_complex()):
                parts += [v.real, v.imag] if v.is_complex() else [v, v]
            else:
                parts.append(v)
        return torch.cat(parts, dim=1)

    def check_finite(self, name: str = "image1", dtype=None) -> "ScatCov":
        """``ValueError`` if any coefficient is NaN or infinite (values that under- or
        overflow in their dtype, or a field without power at some scale)."""
        fields = self._fields()
        with torch.no_grad():     # one test of all the fields (a sum of finite values is finite
            # unless it overflows, which the field-by-field test below then clears)
            total = sum((torch.view_as_real(v) if v.is_complex() else v).sum() for _, v in fields)
            if bool(torch.isfinite(total)):
                return self
        for f, v in fields:
            if not bool(torch.isfinite(v).all()):
                raise ValueError(f"the statistics of {name} are not finite ({f}): its values under- or "
                                 f"overflow in {dtype or v.dtype}, or it has no power at some scale; "
                                 "rescale it or pass float64")
        return self

    def reduce_distance(self, other: "ScatCov", sigma: "ScatCov | None" = None) -> torch.Tensor:
        """Mean squared difference of all coefficients, in units of ``sigma`` if given."""
        d = self.flatten() - other.flatten()
        if sigma is not None:
            d = d / sigma.flatten()
        return (d * d).mean()

    def numpy(self) -> dict:
        """Every statistic as a numpy array, plus ``idx3`` and ``idx4``."""
        out = {f: v.detach().cpu().numpy() for f, v in self._fields()}
        out.update(idx3=self.idx3, idx4=self.idx4)
        return out

    def detach(self) -> "ScatCov":
        return self.map(lambda a: a.detach())

    # -- files -------------------------------------------------------------------------
    def save(self, path: str) -> None:
        """Write to a ``.npz`` file."""
        meta = np.array([self.is_sigma, self.cross], dtype=bool)
        np.savez(path, **self.numpy(), _flags=meta, _angular=self.angular, _norm=str(self.norm))

    @classmethod
    def load(cls, path: str) -> "ScatCov":
        d = np.load(path, allow_pickle=False)
        t = {f: torch.from_numpy(d[f]) if f in d.files else None for f in FIELDS}
        norm = str(d["_norm"])
        return cls(t["S0"], t["S1"], t["S2"], t["S3"], t["S4"], t["S3P"], d["idx3"], d["idx4"],
                   is_sigma=bool(d["_flags"][0]), cross=bool(d["_flags"][1]),
                   angular=str(d["_angular"]), norm=None if norm == "None" else norm)

    def plot(self, other: "ScatCov | None" = None, path: str | None = None, labels=("this", "other")):
        """S1..S4 against scale (isotropic means), optionally against ``other``."""
        from .plot import plot_scatcov
        return plot_scatcov([self] + ([other] if other is not None else []), labels=labels, path=path)
