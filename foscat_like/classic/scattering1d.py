"""Classic 1D scattering transform, numerically equal to Kymatio 0.3.0, with its frontend.

    S0 = x * phi_T
    S1[n1] = |x * psi1_{n1}| * phi_T
    S2[n1, n2] = ||x * psi1_{n1}| * psi2_{n2}| * phi_T,   j(n2) > j(n1)

Without averaging (``T=0``) the paths are ``x``, ``|x * psi1|`` and ``||x * psi1| * psi2|``,
each at its own subsampling. Wavelets sharing a subsampling factor ``j`` are applied in one
tensor operation. Coefficients come in Kymatio's order (S0, S1 by n1, S2 by (n1, n2)).
"""
from __future__ import annotations

import math
import warnings
from collections import defaultdict

import numpy as np
import torch

from .. import fft
from ..checks import ShapeError, check_bool, check_int
from ..ops import modulus, take
from .filters1d import SIGMA0, filter_bank_1d, morlet_1d, temporal_support
from .fourier import FoldedFilter, SeparableLowpass, fold_many, reflect_index
from .frontend import ScatteringBase


def _groups(wavelets) -> dict[int, list[int]]:
    """Indices of the wavelets grouped by their subsampling exponent ``j``."""
    out: dict[int, list[int]] = defaultdict(list)
    for n, w in enumerate(wavelets):
        out[w.j].append(n)
    return dict(out)


def _parse_Q(Q) -> tuple[int, int]:
    if isinstance(Q, np.ndarray) and Q.ndim == 0:
        Q = Q[()]
    Q = (Q, 1) if not isinstance(Q, (tuple, list)) else tuple(Q) + ((1,) if len(Q) == 1 else ())
    if len(Q) != 2:
        raise ValueError(f"Q must be an integer or a tuple (Q1,) or (Q1, Q2); got {Q!r}")
    Q = tuple(check_int("Q", q) for q in Q)
    if min(Q) < 1:
        raise ValueError(f"Q should always be >= 1, got {Q}")
    return Q


def _parse_shape(shape) -> int:
    if isinstance(shape, np.ndarray) and shape.ndim == 0:
        shape = shape[()]
    if isinstance(shape, (tuple, list)):
        if len(shape) != 1:
            raise ShapeError(f"If shape is specified as a tuple, it must have exactly one element; got {shape!r}")
        shape = shape[0]
    if isinstance(shape, (bool, np.bool_)) or not isinstance(shape, (int, np.integer)):
        raise ShapeError(f"shape must be an integer or a 1-tuple; got {shape!r}")
    return check_int("shape", shape, 1)


def _resolve_T(T, average, J: int, N: int) -> tuple[int, bool]:
    """Kymatio 0.3's rule for ``T`` and the deprecated ``average``: ``(T, average)``."""
    if average is not None:
        warnings.warn("average is deprecated (as in Kymatio 0.3): use T=None or T>=1 for averaging "
                      "and T=0 for none", DeprecationWarning, stacklevel=4)
        average = check_bool("average", average)
    if T is None or T == 0:
        if 2 ** J > N:     # Kymatio 0.3 returns empty or wrong outputs here
            raise ShapeError(f"averaging length T=2**J={2 ** J} exceeds the signal length {N}: reduce J")
    if T is None:
        return 2 ** J, True if average is None else average
    T = check_int("T", T)
    if T > N:
        raise ShapeError(f"The temporal support T of the low-pass filter cannot exceed input length "
                         f"(got {T} > {N}): reduce T (or J, since T=2**J by default)")
    if T == 0:
        if average:
            raise ValueError("average must not be True if T=0 (T=0 means no averaging)")
        return 2 ** J, False
    if T < 0:
        raise ValueError(f"T must be ==0 or >=1 (got {T})")
    if average is False:
        raise ValueError(f"average=False is not permitted when T>=1 (got T={T}): use T=0")
    return T, True


class Scattering1D(ScatteringBase):
    """1D scattering transform, Kymatio 0.3's ``Scattering1D`` (same arguments, same order).

    Parameters
    ----------
    J : int >= 1, log2 of the largest wavelet scale.
    shape : int or (N,), signal length.
    Q : int or (Q1, Q2), wavelets per octave at first (and second) order.
    T : averaging length (default ``2**J``); ``T=0``: no averaging (``out_type`` 'list' or 'dict').
    max_order : 1 or 2.
    average : deprecated (Kymatio 0.3): ``False`` is ``T=0``.
    oversampling : int >= 0, subsample ``2**oversampling`` times less.
    out_type : 'array', 'list' or 'dict'; backend, frontend : Kymatio's (see ``frontend``).

    Call with ``(..., N)``; returns ``(..., P, N_out)``, ``N_out ~ N / 2**(log2(T) - oversampling)``.
    ``max_order``, ``out_type``, ``oversampling`` and ``average`` may be changed after construction.
    """
    _out_types = ("array", "list", "dict")
    _numpy_compute = torch.float64       # Kymatio 0.3's numpy frontend computes in float64
    _numpy_out = np.float64
    # side by side (the chunks' compiled loops; 2 threads): forward + backward 1.14x (1.02-1.18)
    # faster than on torch's own threads, the forward 0.91x (0.81-0.97) on a quiet machine; with
    # one core busy, torch's threads wait for each other: forward 0.67 s against 0.10 s
    _side_by_side = True

    def __init__(self, J: int, shape, Q=1, T=None, max_order: int = 2, average=None,
                 oversampling: int = 0, out_type: str = "array", backend=None, frontend=None):
        self._init_frontend(frontend, backend, out_type)
        self.J = check_int("J", J, 1)
        self.Q = _parse_Q(Q)
        N = _parse_shape(shape)
        self.shape = (N,)
        self.T, self.average = _resolve_T(T, average, self.J, N)
        self.max_order, self.oversampling = max_order, oversampling
        self.log2_T = int(math.floor(math.log2(self.T)))
        # padding as Kymatio: 3x the low-pass support, to a power of 2, at most 3N-2
        min_to_pad = 3 * temporal_support(morlet_1d(N, None, SIGMA0 / self.T))
        J_pad = min(int(np.ceil(np.log2(N + 2 * min_to_pad))), int(np.floor(np.log2(3 * N - 2))))
        self.N_padded = self._N_padded = 2 ** J_pad
        self.pad_left = (self.N_padded - N) // 2
        self.pad_right = self.N_padded - N - self.pad_left
        self._index = torch.from_numpy(reflect_index(N, self.pad_left, self.pad_right))
        self.filters = filter_bank_1d(self.N_padded, self.J, self.Q, self.T)
        self._g1, self._g2 = _groups(self.filters.psi1), _groups(self.filters.psi2)
        self._ops: dict = {}
        self._perms: dict = {}        # (max_order, average, oversampling) -> path order
        self._check_runtime()

    def _check_runtime(self) -> None:
        super()._check_runtime()
        if self.max_order not in (1, 2):
            raise ValueError(f"max_order must be 1 or 2; got {self.max_order!r}")
        if isinstance(self.oversampling, (bool, np.bool_)) or not isinstance(self.oversampling, (int, np.integer)):
            raise ValueError(f"oversampling must be integer. Got: {self.oversampling!r}")
        if self.oversampling < 0:
            raise ValueError(f"oversampling must be nonnegative. Got: {self.oversampling}")
        check_bool("average", self.average)
        if not self.average and self.out_type == "array":
            raise ValueError("Cannot convert to out_type='array' with average=False (T=0): the paths "
                             "have different lengths. Please set out_type to 'dict' or 'list'.")

    # ------------------------------------------------------------------ operators
    def _crop(self, k: int) -> slice:
        """The unpadded signal after subsampling by ``2**k`` (Kymatio's border indices)."""
        start, end = self.pad_left, self.pad_left + self.shape[0]
        for _ in range(k):
            start, end = start // 2 + start % 2, end // 2 + end % 2
        return slice(start, end)

    def _subsampling(self, average: bool, os: int):
        """``k1(j1)``, ``k2(j1, j2)`` and the final ``k`` of averaged paths (Kymatio 0.3)."""
        lT = self.log2_T
        if average:
            k1 = lambda j1: max(min(j1, lT) - os, 0)
            k2 = lambda j1, j2: max(min(j2, lT) - k1(j1) - os, 0)
        else:
            k1 = lambda j1: max(j1 - os, 0)
            k2 = lambda j1, j2: max(j2 - k1(j1) - os, 0)
        return k1, k2, max(lT - os, 0)

    def _operators(self, average: bool, os: int) -> dict:
        key = (bool(average), int(os))
        if key not in self._ops:
            fb = self.filters
            k1, k2, kT = self._subsampling(*key)
            psi1 = {j1: (k1(j1), FoldedFilter(np.stack([fb.psi1[n].levels[0] for n in ns]), 2 ** k1(j1), 1))
                    for j1, ns in self._g1.items()}
            psi2 = {}
            for j1 in self._g1:
                for j2, ns in self._g2.items():
                    if j2 > j1:
                        bank = np.stack([fb.psi2[n].levels[k1(j1)] for n in ns])
                        psi2[j1, j2] = (k2(j1, j2), FoldedFilter(bank, 2 ** k2(j1, j2), 1))
            levels = range(min(kT + 1, len(fb.phi))) if average else ()
            phi = {k: FoldedFilter(fb.phi[k], 2 ** (kT - k), 1) for k in levels}
            # the same low-pass as one real matrix on the signal (``u @ A.T``, cropped): for
            # the order-2 paths, whose spectrum is not otherwise needed (no FFT)
            phi_mat = {k: SeparableLowpass([fb.phi[k]], 2 ** (kT - k), [self._crop(kT)]) for k in levels}
            self._ops[key] = dict(psi1=psi1, psi2=psi2, phi=phi, phi_mat=phi_mat, kT=kT)
        return self._ops[key]

    # ------------------------------------------------------------------ transform
    def _coefficients(self, x: torch.Tensor):
        """``x (B, N)`` -> ``(B, P, N_out)`` (averaged) or a list of ``(B, N_k)`` (T=0)."""
        average, os = bool(self.average), int(self.oversampling)
        ops = self._operators(average, os)
        kT = ops["kT"]
        U0 = torch.fft.fft(take(x, self._index))

        def out(U: torch.Tensor, u: torch.Tensor, k: int) -> torch.Tensor:
            # averaged: low-pass from resolution 2^k to 2^kT; else the modulus itself
            if average:
                return fft.ifft(ops["phi"][k](U)).real[..., self._crop(kT)]
            return u[..., self._crop(k)]

        # the paths in the order computed: blocks (B, n, N_k) and their keys
        blocks = [out(U0, None, 0)[:, None] if average else x[:, None]]
        order: list[tuple] = [()]
        # every band of one spectrum in one node (one gradient buffer for the spectrum)
        V1 = dict(zip(self._g1, fold_many(U0[:, None], [ops["psi1"][j1][1] for j1 in self._g1])))
        for j1, ns1 in self._g1.items():
            k1 = ops["psi1"][j1][0]
            u1 = modulus(fft.ifft(V1.pop(j1)))                # (B, n1, N/2^k1)
            U1 = torch.fft.fft(u1) if average or self.max_order == 2 else None
            blocks.append(out(U1, u1, k1))
            order += [(n1,) for n1 in ns1]
            if self.max_order < 2:
                continue
            j2s = [j2 for j2 in self._g2 if (j1, j2) in ops["psi2"]]
            V2 = fold_many(U1[:, :, None], [ops["psi2"][j1, j2][1] for j2 in j2s])
            for j2, v2 in zip(j2s, V2):
                ns2, k2 = self._g2[j2], ops["psi2"][j1, j2][0]
                u2 = modulus(fft.ifft(v2))                    # (B, n1, n2, N')
                S2 = ops["phi_mat"][k1 + k2](u2) if average else u2[..., self._crop(k1 + k2)]
                blocks.append(S2.flatten(1, 2))
                order += [(n1, n2) for n1 in ns1 for n2 in ns2]
        pkey = (self.max_order, average, os)
        if pkey not in self._perms:                            # Kymatio's order (meta: ~1 ms)
            where = {k: i for i, k in enumerate(order)}
            perm = [where[k] for k in self.meta()["key"]]
            self._perms[pkey] = None if perm == sorted(perm) else perm     # None: already in order
        perm = self._perms[pkey]
        if average:
            # one gather: its backward is one scatter, not a full-size zero tensor per path
            S = torch.cat(blocks, dim=1)
            return S if perm is None else S[:, perm]
        paths = [b[:, i] for b in blocks for i in range(b.shape[1])]
        return paths if perm is None else [paths[i] for i in perm]

    def _input_shape(self) -> tuple[int]:
        return self.shape

    def _paths(self) -> list[dict]:
        j = [tuple(int(v) for v in row if not np.isnan(v)) for row in self.meta()["j"]]
        return [{"j": jj, "n": k} for jj, k in zip(j, self.meta()["key"])]

    def extra_repr(self) -> str:
        return f"J={self.J}, shape={self.shape}, Q={self.Q}, T={self.T}, max_order={self.max_order}"

    # ------------------------------------------------------------------ description
    def output_size(self, detail: bool = False):
        """Number of channels P, or with ``detail=True`` the list of counts per order."""
        order = self.meta()["order"]
        sizes = [int((order == m).sum()) for m in range(self.max_order + 1)]
        return sizes if detail else sum(sizes)

    def meta(self) -> dict:
        """Per channel (Kymatio's ``meta``): ``order`` (P,), ``j``, ``n``, ``xi``, ``sigma``
        (P, max_order; NaN where unused), and ``key`` (the (n1[, n2]) tuple)."""
        fb, width = self.filters, self.max_order
        keys = [()] + [(n1,) for n1 in range(len(fb.psi1))]
        if self.max_order == 2:
            keys += [(n1, n2) for n1 in range(len(fb.psi1)) for n2 in range(len(fb.psi2))
                     if fb.psi2[n2].j > fb.psi1[n1].j]

        def col(attr):
            rows = []
            for k in keys:
                ws = [fb.psi1[k[0]]] + ([fb.psi2[k[1]]] if len(k) == 2 else []) if k else []
                rows.append([getattr(w, attr) for w in ws] + [np.nan] * (width - len(ws)))
            return np.array(rows, dtype=float)
        return {"order": np.array([len(k) for k in keys]), "key": keys,
                "n": np.array([list(k) + [np.nan] * (width - len(k)) for k in keys], dtype=float),
                "j": col("j"), "xi": col("xi"), "sigma": col("sigma")}

    @property
    def phi_f(self) -> dict:
        """Kymatio's low-pass filter dict: ``levels`` (Fourier, padded length / 2^k), ``xi``, ``sigma``, ``j``."""
        return {"levels": list(self.filters.phi), "xi": 0.0, "sigma": SIGMA0 / self.T, "j": self.log2_T}

    @property
    def psi1_f(self) -> list[dict]:
        """Kymatio's first-order wavelet dicts (``levels``, ``xi``, ``sigma``, ``j``)."""
        return [{"levels": list(w.levels), "xi": w.xi, "sigma": w.sigma, "j": w.j} for w in self.filters.psi1]

    @property
    def psi2_f(self) -> list[dict]:
        """Kymatio's second-order wavelet dicts."""
        return [{"levels": list(w.levels), "xi": w.xi, "sigma": w.sigma, "j": w.j} for w in self.filters.psi2]

    @property
    def ind_start(self) -> dict[int, int]:
        return {k: self._crop(k).start for k in range(max(self.log2_T, self.J) + 1)}

    @property
    def ind_end(self) -> dict[int, int]:
        return {k: self._crop(k).stop for k in range(max(self.log2_T, self.J) + 1)}
