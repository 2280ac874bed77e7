"""Classic 1D scattering transform, numerically equal to Kymatio 0.3.0.

    S0 = x * phi_T
    S1[n1] = |x * psi1_{n1}| * phi_T
    S2[n1, n2] = ||x * psi1_{n1}| * psi2_{n2}| * phi_T,   j(n2) > j(n1)

Wavelets sharing a subsampling factor ``j`` are applied in one tensor
operation. Coefficients come in Kymatio's order (S0, S1 by n1, S2 by (n1, n2)).
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import torch

from .filters1d import SIGMA0, filter_bank_1d, morlet_1d, temporal_support
from ..ops import modulus
from .fourier import FoldedFilter, reflect_index
from .frontend import run_batched
from .scattering2d import _check_int


def _groups(wavelets) -> dict[int, list[int]]:
    """Indices of the wavelets grouped by their subsampling exponent ``j``."""
    out: dict[int, list[int]] = defaultdict(list)
    for n, w in enumerate(wavelets):
        out[w.j].append(n)
    return dict(out)


class Scattering1D:
    """1D scattering transform.

    Parameters
    ----------
    J : int >= 1, log2 of the largest wavelet scale.
    shape : int or (N,), signal length.
    Q : int or (Q1, Q2), wavelets per octave at first (and second) order.
    max_order : 1 or 2.
    T : int, optional, averaging length (default ``2**J``).

    Call with ``(..., N)``; returns ``(..., P, N_out)``, ``N_out ~ N / 2**log2(T)``.
    """

    def __init__(self, J: int, shape, Q=1, max_order: int = 2, T: int | None = None):
        self.J = _check_int("J", J, 1)
        if max_order not in (1, 2):
            raise ValueError(f"max_order must be 1 or 2; got {max_order!r}")
        self.max_order = int(max_order)
        Q = (Q, 1) if isinstance(Q, (int, np.integer)) else tuple(Q)
        if len(Q) == 1:
            Q = Q + (1,)
        if len(Q) != 2 or any(isinstance(q, bool) or not isinstance(q, (int, np.integer)) or q < 1 for q in Q):
            raise ValueError(f"Q must be an integer >= 1 or a pair of them; got {Q!r}")
        self.Q = (int(Q[0]), int(Q[1]))
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        if len(shape) != 1:
            raise ValueError(f"shape must be an integer or a 1-tuple; got {shape!r}")
        N = int(shape[0])
        self.shape = (N,)
        self.T = 2 ** self.J if T is None else _check_int("T", T, 1)
        if self.T > N:
            raise ValueError(f"averaging length T={self.T} (2**J by default) exceeds the signal "
                             f"length {N}: reduce J or T")
        self.log2_T = int(math.floor(math.log2(self.T)))
        # padding as Kymatio: 3x the low-pass support, to a power of 2, at most 3N-2
        min_to_pad = 3 * temporal_support(morlet_1d(N, None, SIGMA0 / self.T))
        J_pad = min(int(np.ceil(np.log2(N + 2 * min_to_pad))), int(np.floor(np.log2(3 * N - 2))))
        self.N_padded = 2 ** J_pad
        self.pad_left = (self.N_padded - N) // 2
        self.pad_right = self.N_padded - N - self.pad_left
        start, end = self.pad_left, self.pad_left + N
        for _ in range(self.log2_T):
            start, end = start // 2 + start % 2, end // 2 + end % 2
        self._crop = slice(start, end)
        self._index = torch.from_numpy(reflect_index(N, self.pad_left, self.pad_right))
        self.filters = filter_bank_1d(self.N_padded, self.J, self.Q, self.T)
        self._build_operators()

    def _build_operators(self) -> None:
        fb, lT = self.filters, self.log2_T
        self._phi = [FoldedFilter(fb.phi[k], 2 ** (lT - k), 1) for k in range(len(fb.phi))]
        self._g1 = _groups(fb.psi1)
        self._g2 = _groups(fb.psi2)
        self._psi1 = {}
        for j1, ns in self._g1.items():
            k1 = min(j1, lT)
            self._psi1[j1] = (k1, FoldedFilter(np.stack([fb.psi1[n].levels[0] for n in ns]), 2 ** k1, 1))
        self._psi2 = {}
        for j1 in self._g1:
            k1 = min(j1, lT)
            for j2, ns in self._g2.items():
                if j2 > j1:
                    k2 = max(min(j2, lT) - k1, 0)
                    bank = np.stack([fb.psi2[n].levels[k1] for n in ns])
                    self._psi2[j1, j2] = (k2, FoldedFilter(bank, 2 ** k2, 1))

    @property
    def output_size(self) -> int:
        """Number of channels P."""
        return len(self.meta()["order"])

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        xp = x.index_select(-1, self._index.to(x.device))
        U0 = torch.fft.fft(xp)

        def lowpass(U: torch.Tensor, k: int) -> torch.Tensor:
            return torch.fft.ifft(self._phi[k](U)).real[..., self._crop]

        out = {(): lowpass(U0, 0)[:, None]}
        for j1, ns1 in self._g1.items():
            k1, op1 = self._psi1[j1]
            u1 = modulus(torch.fft.ifft(op1(U0[:, None])))           # (B, n1, N/2^k1)
            U1 = torch.fft.fft(u1)
            S1 = lowpass(U1, k1)
            for i, n1 in enumerate(ns1):
                out[(n1,)] = S1[:, i:i + 1]
            if self.max_order < 2:
                continue
            for j2, ns2 in self._g2.items():
                if (j1, j2) not in self._psi2:
                    continue
                k2, op2 = self._psi2[j1, j2]
                u2 = modulus(torch.fft.ifft(op2(U1[:, :, None])))   # (B, n1, n2, N')
                S2 = lowpass(torch.fft.fft(u2), k1 + k2)
                for i, n1 in enumerate(ns1):
                    for m, n2 in enumerate(ns2):
                        out[(n1, n2)] = S2[:, i, m:m + 1]
        keys = self.meta()["key"]
        return torch.cat([out[k] for k in keys], dim=1)

    def __call__(self, x):
        """Scattering coefficients of ``x`` ``(..., N)`` -> ``(..., P, N_out)``."""
        return run_batched(self._forward, x, 1, self.shape)

    scattering = __call__
    forward = __call__

    def meta(self) -> dict:
        """Per channel: ``order`` (P,), ``j``, ``n``, ``xi``, ``sigma`` (P, 2; NaN where
        unused), and ``key`` (the (n1[, n2]) tuple)."""
        fb = self.filters
        keys = [()] + [(n1,) for n1 in range(len(fb.psi1))]
        if self.max_order == 2:
            keys += [(n1, n2) for n1 in range(len(fb.psi1)) for n2 in range(len(fb.psi2))
                     if fb.psi2[n2].j > fb.psi1[n1].j]
        # Kymatio order: S0, all S1, then S2 by (n1, n2)
        def col(attr):
            rows = []
            for k in keys:
                ws = [fb.psi1[k[0]]] + ([fb.psi2[k[1]]] if len(k) == 2 else []) if k else []
                rows.append([getattr(w, attr) for w in ws] + [np.nan] * (2 - len(ws)))
            return np.array(rows, dtype=float)
        return {"order": np.array([len(k) for k in keys]), "key": keys,
                "n": np.array([list(k) + [np.nan] * (2 - len(k)) for k in keys], dtype=float),
                "j": col("j"), "xi": col("xi"), "sigma": col("sigma")}
