"""Classic 2D scattering transform, numerically equal to Kymatio 0.3.0.

    S0 = x * phi_J
    S1[j1, l1] = |x * psi_{j1,l1}| * phi_J
    S2[j1, l1, j2, l2] = ||x * psi_{j1,l1}| * psi_{j2,l2}| * phi_J,   j2 > j1

Reflect padding to Kymatio's padded size, convolutions as Fourier products,
subsampling by Fourier periodisation, and Kymatio's coefficient order
(S0, then S1 by (j1, l1), then S2 by (j1, l1, j2, l2)). All L orientations of
a scale are processed in one tensor operation.
"""
from __future__ import annotations

import numpy as np
import torch

from ..checks import ShapeError, check_bool, check_int
from ..ops import modulus, take
from .filters2d import filter_bank_2d
from .fourier import FoldedFilter, SeparableLowpass, fold_many, reflect_index, separable_factors
from .frontend import ScatteringBase

CHUNK_ELEMENTS = 2 ** 22  # complex values in the largest second-order tensor of a chunk (2^18-2^23
#   measured: 2^22 fastest, 1.04x forward and 1.07-1.11x forward+backward over 2^20 at 128² and 256²)


class Scattering2D(ScatteringBase):
    """2D scattering transform, Kymatio 0.3's ``Scattering2D`` (same arguments, same order).

    Parameters
    ----------
    J : int >= 1, log2 of the averaging scale; ``2**J <= min(shape)``.
    shape : (M, N) spatial size of the inputs.
    L : int >= 1, number of orientations in [0, pi).
    max_order : 1 or 2 (may be changed after construction, as ``out_type``).
    pre_pad : if True, inputs come already padded to ``(M_padded, N_padded)``.
    backend, out_type ('array', 'list' or 'dict'), frontend : Kymatio's (see ``frontend``).

    Call with an array ``(..., M, N)``; returns ``(..., C, M // 2**J, N // 2**J)``
    with ``C = 1 + J L + L^2 J (J-1) / 2`` (order 2) or ``1 + J L`` (order 1).
    """
    _out_types = ("array", "list", "dict")

    def __init__(self, J: int, shape: tuple[int, int], L: int = 8, max_order: int = 2,
                 pre_pad: bool = False, backend=None, out_type: str = "array", frontend=None):
        self._init_frontend(frontend, backend, out_type)
        self.J = check_int("J", J, 1)
        self.L = check_int("L", L, 1)
        self.max_order = max_order
        self.pre_pad = check_bool("pre_pad", pre_pad)
        if isinstance(shape, (int, np.integer)) or len(tuple(shape)) != 2:
            raise ShapeError(f"shape must be a pair (M, N); got {shape!r}")
        M, N = (check_int("shape", s, 1) for s in shape)
        if 2 ** self.J > min(M, N):
            raise ShapeError(f"The smallest dimension should be larger than 2^J: J={J} too large for "
                             f"shape {(M, N)}, need 2**J <= {min(M, N)}")
        self.shape = (M, N)
        self.M_padded = self._M_padded = ((M + 2 ** J) // 2 ** J + 1) * 2 ** J
        self.N_padded = self._N_padded = ((N + 2 ** J) // 2 ** J + 1) * 2 ** J
        pm, pn = self.M_padded - M, self.N_padded - N
        self._rows = torch.from_numpy(reflect_index(M, pm // 2, (pm + 1) // 2))
        self._cols = torch.from_numpy(reflect_index(N, pn // 2, (pn + 1) // 2))
        self.filters = filter_bank_2d(self.M_padded, self.N_padded, self.J, self.L)
        fb, J = self.filters, self.J
        # fused "multiply + subsample" operators, one per (filter, resolution) used
        self._phi = [SeparableLowpass(separable_factors(fb.phi[j]), 2 ** (J - j), [slice(1, -1)] * 2)
                     for j in range(J)]
        self._psi1 = [FoldedFilter(fb.psi[j][0], 2 ** j, 2) for j in range(J)]
        self._psi2 = {(j1, j2): FoldedFilter(fb.psi[j2][j1], 2 ** (j2 - j1), 2)
                      for j1 in range(J) for j2 in range(j1 + 1, J)}
        self._check_runtime()

    def _check_runtime(self) -> None:
        super()._check_runtime()
        if self.max_order not in (1, 2):
            raise ValueError(f"max_order must be 1 or 2; got {self.max_order!r}")

    def _input_shape(self) -> tuple[int, int]:
        return (self.M_padded, self.N_padded) if self.pre_pad else self.shape

    def extra_repr(self) -> str:
        return f"J={self.J}, shape={self.shape}, L={self.L}, max_order={self.max_order}"

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """(C, M // 2**J, N // 2**J)."""
        return (self.output_size(), self.M_padded // 2 ** self.J - 2, self.N_padded // 2 ** self.J - 2)

    def output_size(self, detail: bool = False):
        """Number of channels C, or with ``detail=True`` the counts per order."""
        J, L = self.J, self.L
        sizes = [1, J * L] + ([L * L * J * (J - 1) // 2] if self.max_order == 2 else [])
        return sizes if detail else sum(sizes)

    # ------------------------------------------------------------------ transform
    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        J = self.J
        # reflect padding: index_select on the rows, a gather on the columns (the faster pair,
        # forward and backward, of the measured combinations; see ops.take)
        xp = x if self.pre_pad else \
            take(x.index_select(-2, self._rows.to(x.device)), self._cols)
        U0 = torch.fft.fft2(xp)

        def lowpass(u: torch.Tensor, j: int) -> torch.Tensor:
            # real signal at resolution 2^j -> average at 2^J, unpadded
            return self._phi[j](u)

        def bands(U: torch.Tensor, ops: list[FoldedFilter]):
            # |ifft(U * psi)| subsampled (real, spatial), for each psi; all the folds of U
            # in one node, so that U's gradient is gathered in one buffer
            Vs = fold_many(U, ops)
            while Vs:                                   # each fold freed once used
                yield modulus(torch.fft.ifft2(Vs.pop(0)))

        B = x.shape[0]
        out = [lowpass(xp, 0)[:, None]]     # (B, 1, h, w)
        order2 = []
        for j1, u1 in enumerate(bands(U0[:, None], self._psi1)):  # (B, L, M/2^j1, N/2^j1)
            out.append(lowpass(u1, j1))                            # (B, L, h, w)
            if self.max_order < 2 or j1 == J - 1:
                continue
            U1 = torch.fft.fft2(u1)
            rows_j2 = [lowpass(u2, j2) for j2, u2 in zip(
                range(j1 + 1, J), bands(U1[:, :, None], [self._psi2[j1, j2] for j2 in range(j1 + 1, J)]))]
            S2 = torch.stack(rows_j2, dim=2)                       # (B, L1, nj2, L2, h, w)
            order2.append(S2.reshape((B, -1) + S2.shape[-2:]))
        return torch.cat(out + order2, dim=1)

    _coefficients = _forward

    def _chunk(self, B: int) -> int:
        # memory-bound stages run faster on cache-sized batch chunks
        return max(1, CHUNK_ELEMENTS // (self.L * self.L * self.M_padded * self.N_padded // 4))

    def _paths(self) -> list[dict]:
        """Kymatio's per-path meta: ``j``, ``theta`` and ``n`` (wavelet index ``j L + theta``)."""
        m = self.meta()
        rows = []
        for js, ths in zip(m["j"], m["theta"]):
            j = tuple(int(v) for v in js if not np.isnan(v))
            th = tuple(int(v) for v in ths if not np.isnan(v))
            rows.append({"j": j, "n": tuple(a * self.L + b for a, b in zip(j, th)), "theta": th})
        return rows

    @property
    def phi(self) -> dict:
        """Kymatio's low-pass dict: ``levels`` (Fourier, padded size / 2^res) and ``j``."""
        return {"levels": [p.astype(np.float32) for p in self.filters.phi], "j": self.J}

    @property
    def psi(self) -> list[dict]:
        """Kymatio's wavelet dicts, by (j, theta): ``levels``, ``j``, ``theta``."""
        return [{"levels": [lev[t].astype(np.float32) for lev in self.filters.psi[j]], "j": j, "theta": t}
                for j in range(self.J) for t in range(self.L)]

    # ------------------------------------------------------------------ metadata
    def meta(self) -> dict:
        """Per output channel: ``order``, ``j`` (C, 2) and ``theta`` (C, 2) indices
        (NaN where unused), and ``angle`` (C, 2) in radians of each wavelet."""
        J, L = self.J, self.L
        order, js, ths = [0], [(np.nan, np.nan)], [(np.nan, np.nan)]
        for j1 in range(J):
            for l1 in range(L):
                order.append(1); js.append((j1, np.nan)); ths.append((l1, np.nan))
        if self.max_order == 2:
            for j1 in range(J):
                for l1 in range(L):
                    for j2 in range(j1 + 1, J):
                        for l2 in range(L):
                            order.append(2); js.append((j1, j2)); ths.append((l1, l2))
        theta = np.array(ths, dtype=float)
        angle = (int(L - L / 2 - 1) - theta) * np.pi / L
        return {"order": np.array(order), "j": np.array(js, dtype=float),
                "theta": theta, "angle": angle}
