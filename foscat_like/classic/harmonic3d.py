"""3D solid-harmonic scattering (Eickenberg et al. 2018), numerically equal to Kymatio 0.3.

For every ``l = 0..L`` and scale ``j = 0..J`` the wavelets are the solid harmonics
``psi_{j,l,m}(r) ~ |r|^l exp(-|r|^2 / 2 sigma_j^2) Y_l^m(r/|r|)``, ``sigma_j = sigma_0 2^j``
(``m = -l..l``), defined in Fourier space on the periodic grid. First order:
``U_1[j,l] = sqrt(sum_m |x * psi_{j,l,m}|^2)`` (rotation covariant); second order, for
``j2 > j1`` and the same ``l``: ``U_2 = sqrt(sum_m |U_1[j1,l] * psi_{j2,l,m}|^2)``. Each ``U``
is summarised by its integrals ``sum_r U(r)^q`` for ``q`` in ``integral_powers``.

Output ``(..., n, L + 1, P)``: ``n = J + 1`` first-order scales, then (``max_order=2``) the
pairs ``(j1, j2 > j1)`` in lexicographic order; ``P = len(integral_powers)``. Kymatio's
coefficient order, filters (float32 / complex64) and periodic convolutions.
"""
from __future__ import annotations

from math import factorial

import numpy as np
import torch

from ..checks import ShapeError, check_bool, check_int
from ..ops import modulus
from .frontend import ScatteringBase

CHUNK_ELEMENTS = 2 ** 25   # complex values held at once by one wavelet product (256 MiB in complex64)


def _sph_harm(m: int, l: int, azimuthal: np.ndarray, polar: np.ndarray) -> np.ndarray:
    """``Y_l^m`` (SciPy convention) with the new ``sph_harm_y`` or the old ``sph_harm``."""
    import scipy.special as sp
    if hasattr(sp, "sph_harm_y"):
        return sp.sph_harm_y(l, m, polar, azimuthal)
    return sp.sph_harm(m, l, azimuthal, polar)          # pragma: no cover - SciPy < 1.15


def _fourier_grid(shape: tuple[int, int, int]) -> np.ndarray:
    """``(3, M, N, O)`` angular frequencies ``2 pi k / n`` in FFT order (float32, as Kymatio)."""
    M, N, O = shape
    g = np.fft.ifftshift(np.mgrid[-M // 2:-M // 2 + M, -N // 2:-N // 2 + N, -O // 2:-O // 2 + O]
                         .astype(np.float32), axes=(1, 2, 3))
    for i, n in enumerate(shape):
        g[i] *= 2 * np.pi / n
    return g


def solid_harmonic_fourier(shape: tuple[int, int, int], sigma: float, l: int) -> np.ndarray:
    """``(2l+1, M, N, O)`` complex64 Fourier transforms of ``psi_{l,m}`` at width ``sigma``."""
    g = _fourier_grid(shape)
    s = 1.0 / sigma
    r2 = (g ** 2).sum(0)
    gauss = np.exp(-0.5 * r2 / s ** 2).astype(np.complex64)
    if l == 0:
        return gauss[None]
    poly = np.sqrt(r2 ** l) * gauss / s ** l
    z, y, x = g
    azimuthal = np.arctan2(y, x)
    polar = np.arctan2(z, np.sqrt(x ** 2 + y ** 2)) + np.pi / 2
    out = np.stack([_sph_harm(m, l, azimuthal, polar) * poly for m in range(-l, l + 1)]).astype(np.complex64)
    if l % 2 == 0:
        norm = 1.0 / (2 * np.pi * np.sqrt(l + 0.5) * np.prod(np.arange(l + 1, 0, -2)))
    else:
        norm = 1.0 / (2 ** (0.5 * (l + 3)) * np.sqrt(np.pi * (2 * l + 1)) * factorial((l + 1) // 2))
    return (out * (norm * (2 * np.pi) ** 1.5 * (-1j) ** l)).astype(np.complex64)


class HarmonicScattering3D(ScatteringBase):
    """Solid-harmonic scattering of volumes ``(..., M, N, O)``; see the module docstring.

    Kymatio 0.3's ``HarmonicScattering3D`` (same arguments, same order; ``points`` is only
    used by Kymatio's 'local' method, which 0.3 does not have). numpy in -> numpy out
    (float32, as Kymatio's numpy frontend); torch in -> torch out on the input's device.
    """
    _numpy_out = np.float32

    def __init__(self, J: int, shape, L: int = 3, sigma_0: float = 1, max_order: int = 2,
                 rotation_covariant: bool = True, method: str = "integral", points=None,
                 integral_powers=(0.5, 1.0, 2.0), backend=None, frontend=None):
        self._init_frontend(frontend, backend)
        J, L = check_int("J", J, 0), check_int("L", L, 0)
        shape = tuple(check_int("shape", s, 1) for s in np.atleast_1d(shape))
        if len(shape) != 3:
            raise ShapeError(f"shape must be (M, N, O) with positive sizes; got {shape}")
        if max_order not in (1, 2):
            raise ValueError(f"max_order must be 1 or 2; got {max_order!r}")
        if method != "integral":
            raise ValueError(f"method must be 'integral' (the only one Kymatio 0.3 has); got {method!r}")
        if points is not None:
            raise ValueError("points is only used by method='local', which Kymatio 0.3 does not have; "
                             "pass points=None")
        rotation_covariant = check_bool("rotation_covariant", rotation_covariant)
        if not float(sigma_0) > 0:
            raise ValueError(f"sigma_0 must be positive; got {sigma_0!r}")
        powers = tuple(float(q) for q in np.atleast_1d(integral_powers))
        if not powers or min(powers) <= 0:
            raise ValueError(f"integral_powers must be positive numbers; got {integral_powers!r}")
        self.J, self.shape, self.L, self.sigma_0 = J, shape, L, float(sigma_0)
        self.max_order, self.rotation_covariant, self.integral_powers = max_order, rotation_covariant, powers
        self.method, self.points = method, points
        # filters[l]: (J+1, 2l+1, M, N, O) complex64
        self._bank = [np.stack([solid_harmonic_fourier(shape, self.sigma_0 * 2 ** j, l) for j in range(J + 1)])
                      for l in range(L + 1)]
        self._cache: dict = {}

    def output_size(self) -> int:
        """Number of scale entries ``n``: ``J + 1`` (+ ``J (J + 1) / 2`` at order 2)."""
        return self.J + 1 + (self.J * (self.J + 1) // 2 if self.max_order == 2 else 0)

    def _filters(self, l: int, like: torch.Tensor) -> torch.Tensor:
        cdtype = torch.complex128 if like.dtype == torch.float64 else torch.complex64
        key = (l, like.device, cdtype)
        if key not in self._cache:
            f = self._bank[l] if self.rotation_covariant else self._bank[l][:, :1]
            self._cache[key] = torch.from_numpy(f).to(device=like.device, dtype=cdtype)
        return self._cache[key]

    def _modulus(self, Xf: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        """``sqrt(sum_m |ifft(Xf psi_m)|^2)`` for ``Xf (B, M, N, O)``, ``psi (k, m, M, N, O)``
        -> ``(B, k, M, N, O)`` (without rotation covariance: ``|ifft(Xf psi_0)|``).
        Scales are processed in chunks of at most ``CHUNK_ELEMENTS`` complex values."""
        per = Xf.shape[0] * psi[0].numel()
        step = max(1, CHUNK_ELEMENTS // max(per, 1))
        out = []
        for k in range(0, psi.shape[0], step):
            y = torch.fft.ifftn(Xf[:, None, None] * psi[None, k:k + step], dim=(-3, -2, -1))
            out.append(modulus(y, dim=2))                   # sqrt(sum_m |y_m|^2)
        return torch.cat(out, dim=1)

    def _integrals(self, U: torch.Tensor) -> torch.Tensor:
        """``(..., M, N, O) -> (..., P)`` sums of ``U^q``."""
        flat = U.flatten(-3)
        return torch.stack([(flat ** q).sum(-1) for q in self.integral_powers], dim=-1)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        X = torch.fft.fftn(x.to(torch.complex128 if x.dtype == torch.float64 else torch.complex64),
                           dim=(-3, -2, -1))
        per_l = []
        for l in range(self.L + 1):
            psi = self._filters(l, x)
            U1 = self._modulus(X, psi)                                      # (B, J+1, M, N, O)
            S = [self._integrals(U1)]                                       # (B, J+1, P)
            if self.max_order == 2:
                U1f = torch.fft.fftn(U1.to(X.dtype), dim=(-3, -2, -1))
                for j1 in range(self.J):
                    U2 = self._modulus(U1f[:, j1], psi[j1 + 1:])            # (B, J-j1, M, N, O)
                    S.append(self._integrals(U2))
            per_l.append(torch.cat(S, dim=1))                               # (B, n, P)
        return torch.stack(per_l, dim=2)                                    # (B, n, L+1, P)

    _coefficients = _forward

    def _input_shape(self) -> tuple[int, int, int]:
        return self.shape

    def extra_repr(self) -> str:
        return f"J={self.J}, shape={self.shape}, L={self.L}, max_order={self.max_order}"
